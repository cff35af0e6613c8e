"""The few types that cross stage boundaries. Stages exchange these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """An account's bytes as seen at `slot` (from a snapshot, a PubSub notification or a replay)."""

    pubkey: Pubkey
    owner: Pubkey
    lamports: int
    data: bytes
    slot: int


@dataclass(frozen=True, slots=True)
class SlotTick:
    slot: int
