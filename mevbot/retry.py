"""Exponential backoff with full jitter, shared by every client that reconnects or retries."""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with full jitter, reset by a success."""

    def __init__(self, base_s: float = 0.05, cap_s: float = 5.0, rng: random.Random | None = None):
        self.base_s, self.cap_s = base_s, cap_s
        self._rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return self._rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0
