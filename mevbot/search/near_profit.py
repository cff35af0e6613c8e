"""The cycles nearest to profit: the routes worth compiling before they pay.

A cycle's rate at zero size (`kernels.cycle_rates`, fees included) is above 1 exactly when it
profits, and every update moves it a little, so the cycles rated highest now are the ones the
next updates are likeliest to open. Compiling a route's transaction costs ~60–100 µs the first
time, a quarter of a decision; done ahead for these in the engine's idle time, most first bundles
skip it.

`NearProfit` rates the cycles a chunk at a time (~10 ns a cycle, so a chunk fits in an idle
rehearsal) and queues the ones of each chunk that rank among the best `count` in this sweep and
in the one before (one that flickers in for a sweep is not worth its compile: this saves ~12 %
of them in the benchmark, and no first bundle). A sweep's bar is the `count`-th highest rate of
a sample of the sweep before it, since partitioning every rate takes ~0.7 ms at 70,000 cycles,
longer than an update should wait.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from mevbot.search import kernels
from mevbot.search.cycles import CycleIndex

NEAREST = 2_048  # routes kept compiled ahead: half of what the builder keeps (`TEMPLATES_KEPT`)
CHUNK = 2_048  # cycles rated per step (~20 µs)
SAMPLE = 4_096  # rates the bar is estimated from


class NearProfit:
    """Cycles to compile ahead, queued chunk by chunk; `eligible` (a bool per cycle) says which
    may be queued at all (those a bundle can start from)."""

    def __init__(
        self, eligible: np.ndarray, *, count: int = NEAREST, chunk: int = CHUNK, sample: int = SAMPLE, seed: int = 0
    ) -> None:
        self.count, self.chunk, self.sample = count, chunk, sample
        self.eligible = eligible
        self._eligible_ids = np.flatnonzero(eligible)
        self.rates = np.zeros(len(eligible))
        self._above = np.zeros(len(eligible), bool)  # at or above the bar in the sweep before
        self.bar = math.inf  # nothing is above it before a first sweep has rated every cycle
        self.cursor = 0
        self.waiting: deque[int] = deque()
        self._rng = np.random.default_rng(seed)

    def step(self, cycles: CycleIndex, reserve_a: np.ndarray, reserve_b: np.ndarray, fee: np.ndarray) -> None:
        """Rate the next chunk of cycles on these reserves and queue those of it at or above the bar
        now and in the sweep before; at the end of a sweep, set the bar from its rates."""
        total = len(self.rates)
        if not total:
            return
        lo = self.cursor
        hi = min(lo + self.chunk, total)
        kernels.cycle_rates(lo, hi, cycles.edges, cycles.length, reserve_a, reserve_b, fee, self.rates)
        above = self.rates[lo:hi] >= self.bar
        near = above & self._above[lo:hi] & self.eligible[lo:hi]
        self._above[lo:hi] = above
        self.waiting.extend((lo + np.flatnonzero(near)).tolist())
        self.cursor = hi % total
        if hi == total:
            self.bar = self._bar()

    def _bar(self) -> float:
        """The `count`-th highest eligible rate, estimated from a sample; never at or below 0 (a
        cycle with an empty side rates 0 and cannot trade)."""
        ids = self._eligible_ids
        floor = math.nextafter(0.0, 1.0)
        if len(ids) <= self.count:
            return floor
        sample = self.rates[ids if len(ids) <= self.sample else self._rng.choice(ids, self.sample)]
        rank = min(len(sample), math.ceil(len(sample) * self.count / len(ids)))
        return max(float(np.partition(sample, len(sample) - rank)[len(sample) - rank]), floor)
