"""The cycles nearest to profit: the routes worth compiling before they pay.

A cycle's rate at zero size (`kernels.cycle_rates`, fees included) is above 1 exactly when it
profits, and every update moves it a little, so the cycles rated highest now are the ones the
next updates are likeliest to open. Compiling a route's transaction costs ~60–100 µs the first
time, a quarter of a decision; done ahead for these in the engine's idle time, most first bundles
skip it.

`NearProfit` rates the cycles a chunk at a time (~10 ns a cycle, so a chunk fits in an idle
rehearsal) and queues the ones that rank among the best `count`:
- as soon as a sweep finds one there. (Waiting for a second sweep in a row, so that one flickering
  in for a sweep is not compiled, saved ~17 % of the compiles ahead in the benchmark at 5,000
  pools, but a sweep takes ~0.3 s, and 164 first bundles compiled against 138);
- once when it joins that set, and again every `RECHECK_SWEEPS` sweeps while it stays: its
  message may have been dropped since, or a Whirlpool's tick may have moved to other tick
  arrays. Re-checking the whole set every sweep cost more idle time than the compiles;
- against a bar set from the sweep before: the `count`-th highest rate of a sample of its rates
  (partitioning every rate takes ~0.7 ms at 70,000 cycles, longer than an update should wait).

A sweep begins at most every `SWEEP_INTERVAL_S` (half a slot). An idle loop would otherwise
re-rate 70,000 cycles every ~90 ms and re-check the set as often: ~2 % of a core more, for about
the same first bundles (in the benchmark 15.5 % of bundles still compile unthrottled, 16 % at
0.2 s, 21 % at 0.4 s).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from mevbot.search import kernels
from mevbot.search.cycles import CycleIndex

NEAREST = 2_048  # routes kept compiled ahead: a quarter of what the builder keeps (`TEMPLATES_KEPT`)
CHUNK = 2_048  # cycles rated per step (~20 µs with the data in cache)
SAMPLE = 4_096  # rates the bar is estimated from
RECHECK_SWEEPS = 4  # a cycle that stays near profit is queued again this often (≥ 0.8 s)
SWEEP_INTERVAL_S = 0.2  # at most two sweeps begin per 400 ms slot


class NearProfit:
    """Cycles to compile ahead, queued chunk by chunk; `eligible` (a bool per cycle) says which
    may be queued at all (those a bundle can start from)."""

    def __init__(
        self, eligible: np.ndarray, *, count: int = NEAREST, chunk: int = CHUNK, sample: int = SAMPLE, seed: int = 0,
        sweep_interval_s: float = SWEEP_INTERVAL_S, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.count, self.chunk, self.sample = count, chunk, sample
        self.sweep_interval_s, self._clock = sweep_interval_s, clock
        self._sweep_began = -math.inf
        self.eligible = eligible
        self._eligible_ids = np.flatnonzero(eligible)
        self.rates = np.zeros(len(eligible))
        self._queued = np.zeros(len(eligible), bool)  # queued since it joined the set (or the last recheck)
        self.sweeps = 0
        self.bar = math.inf  # nothing is above it before a first sweep has rated every cycle
        self.cursor = 0
        self.waiting: deque[int] = deque()
        self._rng = np.random.default_rng(seed)

    def step(self, cycles: CycleIndex, reserve_a: np.ndarray, reserve_b: np.ndarray, fee: np.ndarray) -> None:
        """Rate the next chunk of cycles on these reserves and queue those of it at or above the bar
        that are not queued yet; at the end of a sweep, set the bar from its rates. Does nothing
        when a sweep would begin too soon after the last one."""
        total = len(self.rates)
        if not total:
            return
        lo = self.cursor
        if lo == 0:
            now = self._clock()
            if now - self._sweep_began < self.sweep_interval_s:
                return
            self._sweep_began = now
        hi = min(lo + self.chunk, total)
        kernels.cycle_rates(lo, hi, cycles.edges, cycles.length, reserve_a, reserve_b, fee, self.rates)
        near = (self.rates[lo:hi] >= self.bar) & self.eligible[lo:hi]
        self.waiting.extend((lo + np.flatnonzero(near & ~self._queued[lo:hi])).tolist())
        self._queued[lo:hi] = near
        self.cursor = hi % total
        if hi == total:
            self.bar = self._bar()
            self.sweeps += 1
            if self.sweeps % RECHECK_SWEEPS == 0:
                self._queued[:] = False

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
