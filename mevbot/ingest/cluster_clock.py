"""The cluster's clock as programs read it: what decides whether a new pool is open yet.

The Clock sysvar holds the unix time of the slot that wrote it (the validators' stake-weighted
vote). It is read at start and every `RESYNC_S` after; in between the time is carried forward at
400 ms a slot, the shortest a slot lasts. Real slots last at least that long, so the estimate
trails the cluster's own clock: a pool counts as open no sooner than its program lets it trade.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from mevbot.dex.base import DecodeError
from mevbot.ingest.rpc import RpcClient

CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
SLOT_MS = 400
RESYNC_S = 10.0
# slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp
_CLOCK = struct.Struct("<QqQQq")


@dataclass(frozen=True, slots=True)
class ClusterClock:
    slot: int
    unix_timestamp: int

    def at(self, slot: int) -> int:
        """The cluster time (unix seconds) at `slot`, no later than the cluster's own; for a slot
        before the reading, the reading's (a time the cluster has already reached)."""
        return self.unix_timestamp + max(0, slot - self.slot) * SLOT_MS // 1000


def decode_clock(data: bytes) -> ClusterClock:
    if len(data) < _CLOCK.size:
        raise DecodeError(f"clock sysvar: {len(data)} bytes, need {_CLOCK.size}")
    slot, _, _, _, unix_timestamp = _CLOCK.unpack_from(data)
    return ClusterClock(slot, unix_timestamp)


async def fetch_clock(rpc: RpcClient) -> ClusterClock | None:
    """The Clock sysvar from the node; None if it has none (or not a valid one)."""
    (account,) = await rpc.get_multiple_accounts([CLOCK_SYSVAR])
    if account is None:
        return None
    try:
        return decode_clock(account.data)
    except DecodeError:
        return None
