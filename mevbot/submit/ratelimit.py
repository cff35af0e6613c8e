"""Token buckets: how fast we may talk to a block engine."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`rate_per_s` sends per second with bursts up to `burst`; the clock is injectable for tests."""

    def __init__(self, rate_per_s: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate = rate_per_s
        self.capacity = burst if burst is not None else max(1.0, rate_per_s)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def seconds_until_token(self) -> float:
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate
