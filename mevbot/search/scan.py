"""`mevbot scan`: every opportunity in a set of accounts, best first.

Builds a market model from the accounts, evaluates every enumerated cycle with the float kernel,
adds the base-token loops the Bellman-Ford discovery finds beyond them, then sizes candidates on
the exact quotes (best float estimate first) until `top` opportunities with exact profit ≥
`min_profit` are found or the candidates run out. Discovered loops no longer than the enumerated
cycles are already in the index; longer ones through a base token join the candidates.

Opportunities in a report share no pool: cycles through one mispriced pool compete for the same
price gap, so after the best of them the others would mostly be gone. The report lists
independent trades instead of ten variants of one.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from solders.pubkey import Pubkey

from mevbot.events import Account, Opportunity
from mevbot.market.model import MarketModel, Rejected
from mevbot.search import kernels
from mevbot.search.discovery import NegativeCycle, find_negative_cycles, rate_graph
from mevbot.search.engine import DEFAULT_BASE_MINTS, CycleSearch, SearchSettings

SIZING_BUDGET_PER_RESULT = 8  # candidates sized per opportunity asked for, at most


@dataclass(frozen=True, slots=True)
class ScanStats:
    accounts: int
    pools: int
    tokens: int
    cycles: int
    float_profitable: int  # cycles the float model calls profitable
    negative_cycles: int  # loops the whole-graph discovery found
    sized: int  # candidates sized on the exact quotes
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage


@dataclass(frozen=True, slots=True)
class ScanReport:
    opportunities: tuple[Opportunity, ...]  # best valued profit first, each exact profit > 0
    rejected: tuple[Rejected, ...]  # accounts that are broken pools, or pools that cannot be loaded
    negative_cycles: tuple[NegativeCycle, ...]
    stats: ScanStats


def scan(
    accounts: Iterable[Account],
    base_mints: Sequence[Pubkey] = DEFAULT_BASE_MINTS,
    top: int = 10,
    min_profit: int = 1,
    max_hops: int = kernels.MAX_HOPS,
) -> ScanReport:
    """Model the accounts, then `search_all`. `min_profit` is in raw units of the first base mint."""
    clock = time.perf_counter()
    accounts = list(accounts)
    model, rejected = MarketModel.from_accounts(accounts)
    model_seconds, clock = time.perf_counter() - clock, time.perf_counter()
    search = CycleSearch(model, SearchSettings(tuple(base_mints), max_hops, min_profit))
    cycles_seconds = time.perf_counter() - clock
    found = search_all(search, top)
    stats = ScanStats(
        accounts=len(accounts),
        pools=len(model.registry),
        tokens=model.registry.token_count,
        cycles=len(search.cycles),
        float_profitable=found.float_profitable,
        negative_cycles=len(found.negative_cycles),
        sized=found.sized,
        seconds={"model": model_seconds, "cycles": cycles_seconds, **found.seconds},
    )
    return ScanReport(found.opportunities, tuple(rejected), found.negative_cycles, stats)


@dataclass(frozen=True, slots=True)
class SearchAll:
    opportunities: tuple[Opportunity, ...]
    negative_cycles: tuple[NegativeCycle, ...]
    float_profitable: int
    sized: int
    seconds: dict[str, float]


def search_all(search: CycleSearch, top: int) -> SearchAll:
    """Every cycle of the index and every longer discovered loop, ranked by float profit, then the
    best `top` that share no pool, sized on the exact quotes."""
    clock = time.perf_counter()
    ranked, float_profitable = _ranked_cycles(search)
    discovered = find_negative_cycles(rate_graph(search.graph, search.model.hot))
    longer = sorted(_longer_routes(search, discovered), key=_by_value)
    candidates = heapq.merge(ranked, longer, key=_by_value)
    evaluate_seconds, clock = time.perf_counter() - clock, time.perf_counter()

    found: list[Opportunity] = []
    used: set[int] = set()
    sized = 0
    for candidate in candidates:
        if len(found) >= top or sized >= SIZING_BUDGET_PER_RESULT * max(top, 1):
            break
        pools = {edge >> 1 for edge in candidate.edges}
        if pools & used:
            continue
        sized += 1
        opportunity = search.size(candidate.edges, candidate.guess, candidate.profit, search.model)
        if opportunity is not None:
            found.append(opportunity)
            used |= pools
    registry = search.model.registry
    found.sort(key=lambda o: -o.profit * search.token_value[registry.find_token(o.mint)])
    seconds = {"evaluate": evaluate_seconds, "size": time.perf_counter() - clock}
    return SearchAll(tuple(found), tuple(discovered), float_profitable, sized, seconds)


class Candidate(NamedTuple):
    edges: list[int]
    guess: float  # the float model's best input
    profit: float  # its float profit, in start-token units
    value: float  # that profit in units of the first base token, for ranking


def _by_value(candidate: Candidate) -> float:
    return -candidate.value


def _ranked_cycles(search: CycleSearch) -> tuple[Iterator[Candidate], int]:
    """The enumerated cycles the float model calls profitable, best first, built as consumed."""
    cycles = search.cycles
    count = len(cycles)
    guess, profit = np.zeros(count), np.zeros(count)
    hot = search.model.hot
    ids = np.arange(count, dtype=np.int32)
    kernels.evaluate_cycles(
        ids, cycles.edges, cycles.length, hot.reserve_a, hot.reserve_b, hot.fee, guess, profit
    )
    value = profit * search.cycle_value
    profitable = np.nonzero(value > 0)[0]
    order = profitable[np.argsort(-value[profitable], kind="stable")]
    lazy = (Candidate(cycles.hops(int(k)), float(guess[k]), float(profit[k]), float(value[k])) for k in order)
    return lazy, len(order)


def _longer_routes(search: CycleSearch, discovered: list[NegativeCycle]) -> list[Candidate]:
    """Discovered loops through a base token that are longer than the enumerated cycles (the
    shorter ones are in the index already), rotated to start at their highest-priority base."""
    rank = {token: i for i, token in enumerate(search.base_tokens)}
    hot = search.model.hot
    routes = []
    for cycle in discovered:
        if len(cycle.edges) <= search.settings.max_hops:
            continue
        starts = [int(search.graph.edge_src[e]) for e in cycle.edges]
        in_base = [i for i, t in enumerate(starts) if t in rank]
        if not in_base:
            continue
        first = min(in_base, key=lambda i: rank[starts[i]])
        edges = list(cycle.edges[first:] + cycle.edges[:first])
        # One route: the Python originals, sparing a compile for this call signature.
        a, c = kernels.cycle_mobius.py_func(
            edges, len(edges), hot.reserve_a, hot.reserve_b, hot.fee,
            kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES,
        )  # fmt: skip
        guess, profit = kernels.optimum.py_func(a, c)
        if profit > 0:
            routes.append(Candidate(edges, guess, profit, profit * search.token_value[starts[first]]))
    return routes
