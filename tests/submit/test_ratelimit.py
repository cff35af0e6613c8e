"""Token buckets and backoff, on an injected clock."""

from __future__ import annotations

import random

from mevbot.retry import Backoff
from mevbot.submit.jito import InflightStatus
from mevbot.submit.ratelimit import TokenBucket
from mevbot.submit.tracker import Outcome, classify


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=2.0, burst=3.0, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    assert bucket.seconds_until_token() == 0.5
    clock.now = 0.5
    assert bucket.try_take() and not bucket.try_take()
    clock.now = 100.0
    assert sum(bucket.try_take() for _ in range(10)) == 3  # never more than the burst


def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(base_s=0.1, cap_s=0.4, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(6)]
    assert all(0 <= d <= 0.4 for d in delays)
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0 and backoff.next_delay() <= 0.1


def test_classify_outcomes() -> None:
    def status(s: str, reason: str | None = None) -> InflightStatus:
        return InflightStatus("id", s, 5 if s == "Landed" else None, reason)

    assert classify(status("Landed")) is Outcome.LANDED
    assert classify(status("Failed", "lost auction to a higher tip")) is Outcome.LOST_AUCTION
    assert classify(status("Invalid", "blockhash expired")) is Outcome.EXPIRED_BLOCKHASH
    assert classify(status("Failed", "transaction 0 failed: AmountOutBelowMinimum")) is Outcome.SIMULATION_FAILURE
    assert classify(status("Invalid")) is Outcome.DROPPED
    assert classify(None) is Outcome.DROPPED
