"""Search benchmarks on a seeded synthetic universe of P pools.

- search.incremental: one account update (a vault balance, or a Whirlpool's price) applied to the
  model, then every cycle through the changed pool re-evaluated and the best one sized exactly.
- search.full_scan: every enumerated cycle evaluated, the Bellman-Ford discovery pass, and the best
  ten independent opportunities sized exactly (`search_all`, what `mevbot scan` does after modelling).
- search.vs_networkx: the same negative-cycle discovery (Bellman-Ford from a virtual source on the
  same −log-rate graph) by mevbot's kernel and by networkx `find_negative_cycle`; ratio = their
  time ÷ ours.
- search.peak_rss: peak resident memory of a fresh process holding the universe, the model and
  the cycle index (measured in a child process so other sizes do not count).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks.feed import random_updates
from benchmarks.harness import BenchResult, peak_rss_mib, summarize, time_calls
from mevbot.market.model import MarketModel
from mevbot.sandbox.universe import Universe, generate_universe
from mevbot.search.discovery import find_negative_cycles, rate_graph
from mevbot.search.engine import CycleSearch, SearchSettings
from mevbot.search.scan import search_all

SEED = 7
ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class World:
    universe: Universe
    model: MarketModel
    search: CycleSearch

    @classmethod
    def build(cls, pools: int) -> World:
        universe = generate_universe(SEED, pools)
        model, _ = MarketModel.from_accounts(universe.accounts)
        return cls(universe, model, CycleSearch(model, SearchSettings(base_mints=universe.base_mints)))


class SearchSuite:
    name = "search."

    def run(self, pools: int, quick: bool, wanted: Callable[[str], bool]) -> Iterator[BenchResult]:
        names = ("search.incremental", "search.full_scan", "search.vs_networkx", "search.peak_rss")
        if not any(wanted(name) for name in names):
            return
        if any(wanted(name) for name in names[:3]):
            world = World.build(pools)
            if wanted("search.incremental"):
                yield incremental(world, 2_000 if quick else 20_000)
            if wanted("search.full_scan"):
                yield full_scan(world, 3 if quick else 10)
            if wanted("search.vs_networkx"):
                yield vs_networkx(world, 5 if quick else 20, 1 if quick else 3)
        if wanted("search.peak_rss"):
            yield peak_rss(pools)


# --- search.incremental --------------------------------------------------------------------------


def incremental(world: World, n: int) -> BenchResult:
    updates = random_updates(world.model, n + 3)
    found = 0
    cursor = iter(updates)

    def one_update() -> None:
        nonlocal found
        changed = world.model.apply(next(cursor))
        if world.search.on_pools_changed(changed) is not None:
            found += 1

    samples = time_calls(one_update, n, warmup=3)
    return summarize(
        "search.incremental", len(world.model.registry), samples,
        target="p50 ≤ 50 µs, p99 ≤ 500 µs @ 5,000",
        opportunities=found, cycles=len(world.search.cycles),
    )  # fmt: skip


# --- search.full_scan ----------------------------------------------------------------------------


def full_scan(world: World, n: int) -> BenchResult:
    samples = time_calls(lambda: search_all(world.search, top=10), n, warmup=1)
    return summarize(
        "search.full_scan", len(world.model.registry), samples,
        target="≤ 100 ms @ 20,000", cycles=len(world.search.cycles),
    )  # fmt: skip


# --- search.vs_networkx --------------------------------------------------------------------------


def vs_networkx(world: World, n: int, n_networkx: int) -> BenchResult:
    import networkx as nx

    rates = rate_graph(world.search.graph, world.model.hot)
    ours = time_calls(lambda: find_negative_cycles(rates, max_cycles=1), n, warmup=1)
    graph = nx.DiGraph()
    source = rates.token_count
    graph.add_weighted_edges_from(
        zip(rates.src.tolist(), rates.dst.tolist(), rates.weight.tolist(), strict=True)
    )
    graph.add_weighted_edges_from((source, t, 0.0) for t in range(rates.token_count))
    theirs = time_calls(lambda: nx.find_negative_cycle(graph, source), n_networkx, warmup=0)
    result = summarize("search.vs_networkx", len(world.model.registry), ours, target="ratio ≥ 50")
    theirs_p50 = summarize("networkx", 0, theirs).p50_us
    return dataclasses.replace(
        result,
        extra={"ratio": theirs_p50 / result.p50_us, "networkx_p50_us": theirs_p50, "edges": len(rates.src)},
    )


# --- search.peak_rss -----------------------------------------------------------------------------


def peak_rss(pools: int) -> BenchResult:
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_search", "--rss-child", str(pools)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(child.stdout.strip().splitlines()[-1])
    seconds = report["seconds"]
    return BenchResult(
        "search.peak_rss", pools, 1, seconds * 1e6, seconds * 1e6, 1 / seconds,
        target="≤ 1,024 MiB @ 20,000", extra={"rss_mib": report["rss_mib"]},
    )  # fmt: skip


def _rss_child(pools: int) -> None:
    start = time.perf_counter()
    world = World.build(pools)
    seconds = time.perf_counter() - start
    assert len(world.search.cycles) > 0
    print(json.dumps({"rss_mib": peak_rss_mib(), "seconds": seconds}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rss-child":
        _rss_child(int(sys.argv[2]))
