"""Who took the pools of a bundle that did not land, and whether they outbid it.

Mainnet's block engine says a bundle `Failed`, or forgets it, and never why. Whether it lost the
auction on price is read from the chain afterwards: a transaction that landed while the bundle was in
flight, named one of its pools, and paid the tip accounts more per requested compute unit (what the
auction ranks bundles by) took the state the bundle needed with a better bid. Without this the tip
bandit would learn of outbids only in the sandbox, whose statuses say why.

Only the taker's own transaction is read. A rival whose bundle tips from another of its transactions
looks like a taker that bid nothing: that loss is named, but not blamed on our tip.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from solders.compute_budget import ID as COMPUTE_BUDGET_PROGRAM_ID
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from mevbot.observe.pnl import MetaError

DEFAULT_UNITS_PER_INSTRUCTION = 200_000  # what a transaction without SetComputeUnitLimit is given
MAX_UNITS = 1_400_000
_SET_COMPUTE_UNIT_LIMIT = 2


@dataclass(frozen=True, slots=True)
class Bid:
    """What a bundle offered the auction: lamports to the tip accounts, for the compute it asked."""

    tip: int
    units: int

    def beats(self, other: Bid) -> bool:
        """More tip per requested unit; compared exactly, cross-multiplied."""
        return self.tip * max(other.units, 1) > other.tip * max(self.units, 1)

    def __str__(self) -> str:
        return f"{self.tip:,} lamports for {self.units:,} CU"


@dataclass(frozen=True, slots=True)
class Taker:
    """A landed transaction that named one of a lost bundle's pools."""

    signature: str
    slot: int
    payer: Pubkey
    bid: Bid


def requested_units(message: Message | MessageV0) -> int:
    """The compute units a transaction asks for: its SetComputeUnitLimit, else 200,000 per other
    instruction; never more than 1.4 million."""
    keys = message.account_keys
    limit, others = None, 0
    for instruction in message.instructions:
        if keys[instruction.program_id_index] != COMPUTE_BUDGET_PROGRAM_ID:
            others += 1
            continue
        data = bytes(instruction.data)
        if len(data) >= 5 and data[0] == _SET_COMPUTE_UNIT_LIMIT:
            limit = int.from_bytes(data[1:5], "little")
    return min(DEFAULT_UNITS_PER_INSTRUCTION * others if limit is None else limit, MAX_UNITS)


def taker(reply: dict[str, Any], tip_accounts: Collection[Pubkey]) -> Taker:
    """The transaction of a `getTransaction` reply (base64 encoding) and what it bid: the lamports its
    tip accounts gained, for the units it asked. Raises MetaError on a malformed reply."""
    try:
        encoded, encoding = reply["transaction"]
        if encoding != "base64":
            raise ValueError(f"transaction encoding {encoding!r}")
        transaction = VersionedTransaction.from_bytes(base64.b64decode(encoded, validate=True))
        meta = reply["meta"]
        loaded = meta.get("loadedAddresses") or {}
        keys = [
            *transaction.message.account_keys,
            *(Pubkey.from_string(key) for key in (*loaded.get("writable", ()), *loaded.get("readonly", ()))),
        ]
        before, after = meta["preBalances"], meta["postBalances"]
        if not len(keys) == len(before) == len(after):
            raise ValueError(f"{len(keys)} accounts, {len(before)} and {len(after)} balances")
        tip = sum(max(int(after[i]) - int(before[i]), 0) for i, key in enumerate(keys) if key in tip_accounts)
        bid = Bid(tip, requested_units(transaction.message))
        return Taker(str(transaction.signatures[0]), int(reply["slot"]), keys[0], bid)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise MetaError(f"transaction reply unreadable ({type(exc).__name__}: {exc})") from None


def verdict(ours: Bid, takers: Sequence[Taker]) -> tuple[bool, str] | None:
    """(outbid, why) for a bundle that did not land, given the transactions that took its pools
    while it was in flight (earliest first); None if there were none."""
    if not takers:
        return None
    better = next((t for t in takers if t.bid.beats(ours)), None)
    if better is not None:
        return True, f"outbid by {better.signature} at slot {better.slot}: {better.bid} against our {ours}"
    first = takers[0]
    return False, f"pools taken by {first.signature} at slot {first.slot}, bidding {first.bid}, no more than our {ours}"
