"""The cluster clock: the Clock sysvar's bytes, and the time carried forward between readings."""

from __future__ import annotations

import pytest
from solders.clock import Clock
from solders.litesvm import LiteSVM

from mevbot.dex.base import DecodeError
from mevbot.ingest.cluster_clock import CLOCK_SYSVAR, ClusterClock, decode_clock


def test_the_clock_sysvar_decodes_as_the_runtime_writes_it() -> None:
    svm = LiteSVM()
    svm.set_clock(Clock(4_321, 1_699_999_000, 9, 10, 1_700_000_123))
    account = svm.get_account(CLOCK_SYSVAR)
    assert account is not None
    assert decode_clock(bytes(account.data)) == ClusterClock(4_321, 1_700_000_123)
    with pytest.raises(DecodeError):
        decode_clock(bytes(account.data)[:39])


def test_time_is_carried_forward_at_the_shortest_slot_and_never_back() -> None:
    clock = ClusterClock(slot=1_000, unix_timestamp=1_700_000_000)
    assert clock.at(1_000) == clock.at(990) == 1_700_000_000  # an older slot: the reading, a time the cluster has reached
    assert clock.at(1_005) == 1_700_000_002  # 2 s after 5 slots of 400 ms, rounded down
    assert clock.at(1_250) == 1_700_000_100
