"""Bundles as the block engine keeps them: id, checks made on arrival, and status.

The id is Jito's: the lowercase hex SHA-256 of the transactions' first signatures in base58,
joined by commas (jito-solana `derive_bundle_id`). The arrival checks are the ones the block
engine can make without running anything: at most five fully signed transactions, a live
blockhash, a write lock on a tip account, and the `jitodontfront` ordering rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from mevbot.sandbox.transactions import ResolvedTransaction, TransactionRejected, resolve, verify_signatures

MAX_BUNDLE_TRANSACTIONS = 5
MIN_TIP_LAMPORTS = 1_000
DONT_FRONT_PREFIX = "jitodontfront"

# The eight mainnet tip accounts (getTipAccounts on mainnet.block-engine.jito.wtf).
TIP_ACCOUNTS: tuple[Pubkey, ...] = tuple(
    Pubkey.from_string(key)
    for key in (
        "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
        "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
        "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
        "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
        "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
        "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
        "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
        "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
    )
)


class BundleStatus(StrEnum):
    """getInflightBundleStatuses' statuses. A bundle that lost its auction is `Failed`: the engine
    marked it failed and never forwarded it, which is what Jito's `Failed` means."""

    PENDING = "Pending"
    LANDED = "Landed"
    FAILED = "Failed"
    INVALID = "Invalid"


def bundle_id(transactions: Sequence[VersionedTransaction]) -> str:
    joined = ",".join(str(tx.signatures[0]) for tx in transactions)
    return hashlib.sha256(joined.encode()).hexdigest()


@dataclass(slots=True)
class BundleRecord:
    """One received bundle and what became of it. `reason` says why it failed (a sandbox extension)."""

    id: str
    transactions: tuple[VersionedTransaction, ...]
    received_at: float
    sequence: int
    source: str
    status: BundleStatus = BundleStatus.PENDING
    landed_slot: int | None = None
    reason: str | None = None
    resolved: tuple[ResolvedTransaction, ...] = field(default=())

    def fail(self, reason: str) -> None:
        self.status = BundleStatus.FAILED
        self.reason = reason

    def locks(self) -> tuple[frozenset[Pubkey], frozenset[Pubkey]]:
        """(write-locked, all locked) accounts, tip accounts left out: every bundle writes those."""
        tips = frozenset(TIP_ACCOUNTS)
        writable = frozenset().union(*(tx.writable_accounts() for tx in self.resolved)) - tips
        every = frozenset().union(*(tx.all_accounts() for tx in self.resolved)) - tips
        return writable, every

    def conflicts_with(self, other: BundleRecord) -> bool:
        """Jito runs bundles in one auction when their locks intersect as (w, w), (w, r) or (r, w)."""
        mine_w, mine_all = self.locks()
        theirs_w, theirs_all = other.locks()
        return bool(mine_w & theirs_all or theirs_w & mine_all)

    def requested_compute_units(self) -> int:
        return sum(tx.budget.unit_limit for tx in self.resolved)


def arrival_problem(
    record: BundleRecord,
    read_account_data: Callable[[Pubkey], bytes | None],
    is_blockhash_valid: Callable[[object], bool],
) -> str | None:
    """Why the bundle cannot enter an auction, or None; fills `record.resolved` on the way."""
    resolved = []
    for position, transaction in enumerate(record.transactions):
        try:
            verify_signatures(transaction)
        except TransactionRejected as rejected:
            return f"transaction {position}: {rejected.code} ({rejected.detail})"
        if not is_blockhash_valid(transaction.message.recent_blockhash):
            return f"transaction {position}: BlockhashNotFound (expired or unknown blockhash)"
        try:
            resolved.append(resolve(transaction, read_account_data))
        except TransactionRejected as rejected:
            return f"transaction {position}: {rejected.code} ({rejected.detail})"
    record.resolved = tuple(resolved)
    tips = set(TIP_ACCOUNTS)
    if not any(tips & tx.writable_accounts() for tx in record.resolved):
        return "bundle does not tip: no transaction write-locks one of the tip accounts from getTipAccounts"
    return dont_front_problem(record.resolved)


def dont_front_problem(transactions: Sequence[ResolvedTransaction]) -> str | None:
    """Jito's sandwich mitigation: a transaction naming a `jitodontfront…` account must lead the
    bundle. Several may lead it, contiguous from index 0, each sharing a signer with the first."""
    protected = [i for i, tx in enumerate(transactions) if _names_dont_front(tx)]
    if not protected:
        return None
    if protected != list(range(len(protected))):
        first_late = next(
            i for i, expected in zip(protected, range(len(protected)), strict=False) if i != expected
        )
        return f"jitodontfront: transaction {first_late} is protected but not at the front of the bundle"
    leader_signers = _signers(transactions[0])
    for i in protected[1:]:
        if not leader_signers & _signers(transactions[i]):
            return f"jitodontfront: transaction {i} shares no signer with the protected transaction 0"
    return None


def _names_dont_front(transaction: ResolvedTransaction) -> bool:
    return any(str(ref.pubkey).startswith(DONT_FRONT_PREFIX) for ref in transaction.accounts)


def _signers(transaction: ResolvedTransaction) -> frozenset[Pubkey]:
    return frozenset(ref.pubkey for ref in transaction.accounts if ref.is_signer)
