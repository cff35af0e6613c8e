"""Per-client token buckets, as the block engine limits requests (N per second per IP, or per auth UUID)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

MAX_CLIENTS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`rate` requests per second per client, with bursts up to `burst` (default: one second's worth)."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}

    def allow(self, client: Hashable) -> bool:
        """Take one token for `client`; False when its bucket is empty."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_CLIENTS:
                self._forget_full(now)
            bucket = self._buckets[client] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _forget_full(self, now: float) -> None:
        """Drop clients whose buckets have refilled: they lose nothing by being forgotten."""
        for key in [
            k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst
        ]:
            del self._buckets[key]
