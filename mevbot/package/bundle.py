"""Jito bundles: up to five transactions that land together, in order, or not at all."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from solders.transaction import VersionedTransaction

from mevbot.package.transaction import PackageError

MAX_BUNDLE_TRANSACTIONS = 5


class Bundle:
    """Signed transactions, kept as the bytes that are sent (`wire`) and parsed only when read.

    The hot path splices and signs a message's bytes (`MessageTemplate.signed`): parsing them back
    into `VersionedTransaction`s would cost each bundle ~6 µs that nothing before the send needs.
    """

    __slots__ = ("_parsed", "wire")

    def __init__(self, transactions: Sequence[VersionedTransaction]) -> None:
        self._parsed: tuple[VersionedTransaction, ...] | None = tuple(transactions)
        self.wire = tuple(bytes(tx) for tx in self._parsed)
        _check_size(self.wire)

    @classmethod
    def from_wire(cls, wire: Sequence[bytes]) -> Bundle:
        """A bundle of serialized signed transactions, as they are (its builder vouches for them)."""
        bundle = cls.__new__(cls)
        bundle.wire, bundle._parsed = tuple(wire), None
        _check_size(bundle.wire)
        return bundle

    @property
    def transactions(self) -> tuple[VersionedTransaction, ...]:
        if self._parsed is None:
            self._parsed = tuple(map(VersionedTransaction.from_bytes, self.wire))
        return self._parsed

    @property
    def bundle_id(self) -> str:
        """The id the block engine returns for this bundle."""
        return bundle_id(self.transactions)

    def encoded(self) -> list[str]:
        """The base64 wire form sendBundle takes."""
        return [base64.b64encode(raw).decode() for raw in self.wire]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bundle) and self.wire == other.wire

    def __hash__(self) -> int:
        return hash(self.wire)

    def __repr__(self) -> str:
        return f"Bundle({len(self.wire)} transactions, id {self.bundle_id})"


def _check_size(wire: tuple[bytes, ...]) -> None:
    if not 1 <= len(wire) <= MAX_BUNDLE_TRANSACTIONS:
        raise PackageError("bundle_size", f"{len(wire)} transactions; a bundle holds 1 to {MAX_BUNDLE_TRANSACTIONS}")


def bundle_id(transactions: Sequence[VersionedTransaction]) -> str:
    """Hex SHA-256 of the first signatures in base58, joined by commas (jito-solana `derive_bundle_id`)."""
    return hashlib.sha256(",".join(str(tx.signatures[0]) for tx in transactions).encode()).hexdigest()


def backrun(target: VersionedTransaction, ours: VersionedTransaction) -> Bundle:
    """Place our transaction right after the one it follows, so it sees the target's state."""
    return Bundle((target, ours))
