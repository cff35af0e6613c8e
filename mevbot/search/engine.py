"""The incremental cycle search: on a pool update, re-evaluate the cycles through it and size the best.

Floats (the kernels) pick the candidate and guess its size; the exact integer quotes size it and
price it. An opportunity is returned only when its exact profit is positive and, valued in the
first base token, at least `min_profit`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from solders.pubkey import Pubkey

from mevbot.config import SOL_MINT, USDC_MINT, USDT_MINT
from mevbot.dex.base import U64_MAX
from mevbot.events import Opportunity
from mevbot.market.graph import TokenGraph, edge_id
from mevbot.market.model import MarketModel, MarketView
from mevbot.market.overlay import PendingOverlay
from mevbot.search import kernels
from mevbot.search.cycles import CycleIndex
from mevbot.search.near_profit import NearProfit
from mevbot.search.route import RouteQuoter, make_opportunity
from mevbot.search.sizing import float_model, maximize_profit

DEFAULT_BASE_MINTS = tuple(Pubkey.from_string(mint) for mint in (SOL_MINT, USDC_MINT, USDT_MINT))
REHEARSED_CYCLES = 32  # a rehearsal's share of the cycles through a pool: enough to run the kernel, short


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """`base_mints` in priority order: a cycle starts at the first one it passes through, and
    profits are valued in raw units of the first (lamports for SOL) against `min_profit`."""

    base_mints: tuple[Pubkey, ...] = DEFAULT_BASE_MINTS
    max_hops: int = kernels.MAX_HOPS
    min_profit: int = 1
    max_amount_in: int = U64_MAX


class CycleSearch:
    def __init__(self, model: MarketModel, settings: SearchSettings | None = None) -> None:
        self.model = model
        self.settings = settings or SearchSettings()
        self._last: tuple[Opportunity, tuple[Any, ...]] | None = None  # the last sized, and its states
        self.rebuild()
        self._load_kernels()

    def rebuild(self) -> None:
        """Re-enumerate the cycles (after pools were added) and re-value the base tokens."""
        registry = self.model.registry
        self.graph = TokenGraph.from_pools(*registry.token_pairs(), registry.token_count)
        self.base_tokens = [
            t for t in (registry.find_token(m) for m in self.settings.base_mints) if t is not None
        ]
        self.cycles = CycleIndex.build(self.graph, self.base_tokens, self.settings.max_hops)
        self.token_value = self._token_values()
        self.cycle_value = self.token_value[self.cycles.start_token] if len(self.cycles) else np.empty(0)
        self.through_value = self.cycle_value[self.cycles.pool_cycles]  # beside `CycleIndex.through_edges`
        first_base = self.base_tokens[0] if self.base_tokens else -1
        self.near_profit = NearProfit(self.cycles.start_token == first_base)
        self.topology_version = self.model.topology_version

    def _load_kernels(self) -> None:
        """Compile, or load from numba's cache, every kernel the search calls, with the argument
        types it passes, on no work. Left to their first calls they compiled in the middle of the
        first decisions and idle steps (~0.3 s each on a fresh install; a cache load, ~ms, every
        start after)."""
        no_rows = np.zeros(0, np.int64)
        self._float_best(no_rows, no_rows, kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES)
        self.rounding_jitter([])
        hot, cycles = self.model.hot, self.cycles
        kernels.cycle_rates(0, 0, cycles.edges, cycles.length, hot.reserve_a, hot.reserve_b, hot.fee, self.near_profit.rates)

    def _token_values(self) -> np.ndarray:
        """Raw units of the first base token per raw unit of each base token, at the mid price of
        their deepest direct pool (1.0 where there is none); 0 for other tokens. Ranking only."""
        values = np.zeros(self.graph.token_count)
        if not self.base_tokens:
            return values
        numeraire = self.base_tokens[0]
        values[self.base_tokens] = 1.0
        hot = self.model.hot
        for token in self.base_tokens[1:]:
            best_depth = 0.0
            for edge in self.graph.edges_out[self.graph.out_ptr[token] : self.graph.out_ptr[token + 1]]:
                if self.graph.edge_dst[edge] != numeraire:
                    continue
                r_in, r_out, _ = hot.sides(int(edge))
                depth = math.sqrt(r_in * r_out)
                if r_in > 0 and depth > best_depth:
                    best_depth, values[token] = depth, r_out / r_in
        return values

    # --- incremental -----------------------------------------------------------------------------

    def on_pools_changed(self, pool_ids: Iterable[int]) -> Opportunity | None:
        """The best opportunity among the cycles through the changed pools, sized exactly."""
        if self.model.topology_version != self.topology_version:
            self.rebuild()
        return self._best(pool_ids, self.model, kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES)

    def backrun(self, overlay: PendingOverlay) -> Opportunity | None:
        """The best opportunity once the overlay's pending swaps have landed (base state untouched)."""
        pools, reserve_a, reserve_b = overlay.patches()
        return self._best(overlay.changed_pools, overlay, pools, reserve_a, reserve_b)

    def _best(
        self,
        pool_ids: Iterable[int],
        view: MarketView,
        pools: np.ndarray,
        reserve_a: np.ndarray,
        reserve_b: np.ndarray,
    ) -> Opportunity | None:
        starts, ends = self.cycles.rows_through(pool_ids)
        row, guess, profit, jitter = self._float_best(starts, ends, pools, reserve_a, reserve_b)
        if row < 0 or profit * self.through_value[row] < self.settings.min_profit:
            return None
        return self.size(self.cycles.through_hops(row), guess, profit, view, jitter)

    def _float_best(
        self, starts: np.ndarray, ends: np.ndarray, pools: np.ndarray, reserve_a: np.ndarray, reserve_b: np.ndarray
    ) -> tuple[int, float, float, float]:
        """`kernels.best_cycle` over those rows of the per-pool cycle copies (`CycleIndex.through_edges`)."""
        hot, cycles = self.model.hot, self.cycles
        return kernels.best_cycle(
            starts, ends, cycles.through_edges, cycles.through_length, self.through_value,
            hot.reserve_a, hot.reserve_b, hot.fee, pools, reserve_a, reserve_b,
        )  # fmt: skip

    def rehearse(self, pool_id: int, route: Opportunity | None) -> None:
        """Run the search's code on live data and keep nothing: the float kernel over (some of) the
        cycles through `pool_id`, then `route`'s exact quotes at its size on the pools' current
        states and the opportunity they make. While the feed is quiet this keeps the search in the
        CPU's caches (`Engine.keep_warm`); an update that comes during a rehearsal waits for it, so
        a hub pool's thousands of cycles are not all evaluated."""
        if self.model.topology_version != self.topology_version:
            return  # the next real pass rebuilds the cycles first
        starts, ends = self.cycles.rows_through((pool_id,))
        ends = np.minimum(ends, starts + REHEARSED_CYCLES)
        self._float_best(starts, ends, kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES)
        if route is not None:
            edges = [edge_id(hop.pool_id, hop.a_to_b) for hop in route.hops]
            quotes = RouteQuoter(self.model, edges).quotes(route.amount_in)
            if quotes is not None:
                make_opportunity(self.model, edges, quotes)

    def route_near_profit(self) -> list[int] | None:
        """The edges of the next cycle near profit (`NearProfit`) that starts at the first base
        token, rating the next chunk of cycles first if none waits; None when none does. For
        compiling routes ahead, between updates."""
        if self.model.topology_version != self.topology_version:
            return None  # the next real pass rebuilds the cycles first
        near = self.near_profit
        if not near.waiting:
            hot = self.model.hot
            near.step(self.cycles, hot.reserve_a, hot.reserve_b, hot.fee)
        return self.cycles.hops(near.waiting.popleft()) if near.waiting else None

    # --- exact sizing ----------------------------------------------------------------------------

    def size(
        self, edges: Sequence[int], guess: float, float_profit: float, view: MarketView, jitter: float | None = None
    ) -> Opportunity | None:
        """Size a route on the exact quotes from the float `guess`; None unless it clears
        `min_profit`. `jitter`: the route's `kernels.route_jitter`, if the caller has it."""
        quoter = RouteQuoter(view, edges)
        if jitter is None:
            jitter = self.rounding_jitter(edges)
        model = float_model(guess, float_profit, len(edges), jitter)
        best = maximize_profit(quoter, guess, self.settings.max_amount_in, model)
        if best.profit <= 0:
            return None
        start = self.graph.edge_src[edges[0]]
        if best.profit * self.token_value[start] < self.settings.min_profit:
            return None
        quotes = quoter.quotes(best.amount_in)
        if quotes is None:  # pragma: no cover - the search only keeps accepted inputs
            return None
        opportunity = make_opportunity(view, edges, quotes)
        self._last = (opportunity, quoter.states)
        return opportunity

    def quoted_states(self, opportunity: Opportunity) -> tuple[Any, ...]:
        """The pool states whose quotes priced `opportunity`, hop by hop, if it is the last one this
        search sized (else empty): a replay need not quote again a hop whose state is still that
        object (`replay_route`'s `quoted_states`)."""
        last = self._last
        return last[1] if last is not None and last[0] is opportunity else ()

    def rounding_jitter(self, edges: Sequence[int]) -> float:
        """`kernels.route_jitter` of a route on the current state."""
        hot = self.model.hot
        return kernels.route_jitter(np.asarray(edges, np.int32), len(edges), hot.reserve_a, hot.reserve_b, hot.fee)
