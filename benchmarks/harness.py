"""A small benchmark harness: time a callable n times, report p50/p99 in µs and calls per second.

A suite is any object with a `name` prefix and a `run(pools, quick, wanted)` generator of
`BenchResult`s; `run.py` lists the suites. A suite builds its expensive setup (a universe, a
model) once per pool count and times only the operation it names.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class BenchResult:
    bench: str
    pools: int
    n: int
    p50_us: float
    p99_us: float
    per_s: float
    target: str = ""
    extra: dict[str, float] = field(default_factory=dict)  # e.g. ratio, rss_mib

    def as_json(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "pools": self.pools,
            "n": self.n,
            "p50_us": round(self.p50_us, 3),
            "p99_us": round(self.p99_us, 3),
            "per_s": round(self.per_s, 3),
            **{k: round(v, 3) for k, v in self.extra.items()},
        }


class Suite(Protocol):
    name: str

    def run(self, pools: int, quick: bool, wanted: Callable[[str], bool]) -> Iterator[BenchResult]: ...


def time_calls(
    fn: Callable[[], object], n: int, warmup: int = 3, setup: Callable[[int], object] | None = None
) -> list[float]:
    """Seconds per call of `fn`, n times after `warmup` untimed calls. `setup(i)` runs untimed before call i."""
    for i in range(warmup):
        if setup is not None:
            setup(-1 - i)
        fn()
    samples = []
    clock = time.perf_counter
    for i in range(n):
        if setup is not None:
            setup(i)
        start = clock()
        fn()
        samples.append(clock() - start)
    return samples


def summarize(bench: str, pools: int, samples: list[float], target: str = "", **extra: float) -> BenchResult:
    ordered = sorted(samples)
    total = sum(ordered)
    return BenchResult(
        bench=bench,
        pools=pools,
        n=len(ordered),
        p50_us=percentile(ordered, 50) * 1e6,
        p99_us=percentile(ordered, 99) * 1e6,
        per_s=len(ordered) / total if total > 0 else float("inf"),
        target=target,
        extra=dict(extra),
    )


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def peak_rss_mib() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
