"""Jito bundles: up to five transactions that land together, in order, or not at all."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from solders.transaction import VersionedTransaction

from mevbot.package.transaction import PackageError

MAX_BUNDLE_TRANSACTIONS = 5


@dataclass(frozen=True, slots=True)
class Bundle:
    transactions: tuple[VersionedTransaction, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.transactions) <= MAX_BUNDLE_TRANSACTIONS:
            raise PackageError(
                "bundle_size", f"{len(self.transactions)} transactions; a bundle holds 1 to {MAX_BUNDLE_TRANSACTIONS}"
            )

    @property
    def bundle_id(self) -> str:
        """The id the block engine returns for this bundle."""
        return bundle_id(self.transactions)

    def encoded(self) -> list[str]:
        """The base64 wire form sendBundle takes."""
        return [base64.b64encode(bytes(tx)).decode() for tx in self.transactions]


def bundle_id(transactions: Sequence[VersionedTransaction]) -> str:
    """Hex SHA-256 of the first signatures in base58, joined by commas (jito-solana `derive_bundle_id`)."""
    return hashlib.sha256(",".join(str(tx.signatures[0]) for tx in transactions).encode()).hexdigest()


def backrun(target: VersionedTransaction, ours: VersionedTransaction) -> Bundle:
    """Place our transaction right after the one it follows, so it sees the target's state."""
    return Bundle((target, ours))
