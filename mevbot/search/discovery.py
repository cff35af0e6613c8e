"""Whole-graph negative-cycle discovery: Bellman-Ford on −log(marginal rate after fees).

A cycle whose rates multiply to more than 1 has negative total weight. The enumerated cycles
(`CycleIndex`) cover 2–4 hops through base tokens; this pass finds profitable loops of any length
anywhere in the graph, for `mevbot scan`. Parallel pools collapse to the best-rate edge per
ordered token pair, since only that one can be on a most-negative path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mevbot.market.graph import TokenGraph
from mevbot.market.hot_state import HotState
from mevbot.search import kernels


@dataclass(frozen=True, slots=True)
class RateGraph:
    """Edges with finite weight, one per ordered token pair; `edge_ids` maps them to pool edges."""

    token_count: int
    src: np.ndarray  # int64
    dst: np.ndarray  # int64
    weight: np.ndarray  # float64: −log rate
    edge_ids: np.ndarray  # int64 pool edge ids (2·pool + direction)


@dataclass(frozen=True, slots=True)
class NegativeCycle:
    edges: tuple[int, ...]  # pool edge ids in travel order
    log_gain: float  # −(sum of weights): log of the product of marginal rates

    @property
    def gain(self) -> float:
        return float(np.expm1(self.log_gain))


def rate_graph(graph: TokenGraph, hot: HotState) -> RateGraph:
    pools = graph.pool_count
    reserve_a, reserve_b, fee = hot.reserve_a[:pools], hot.reserve_b[:pools], hot.fee[:pools]
    r_in = np.empty(2 * pools)
    r_out = np.empty(2 * pools)
    r_in[0::2], r_out[0::2] = reserve_a, reserve_b
    r_in[1::2], r_out[1::2] = reserve_b, reserve_a
    gamma = np.repeat(1.0 - fee, 2)
    usable = (r_in > 0) & (r_out > 0) & (gamma > 0)
    edge_ids = np.nonzero(usable)[0]
    weight = -(np.log(gamma[edge_ids]) + np.log(r_out[edge_ids]) - np.log(r_in[edge_ids]))
    src, dst = graph.edge_src[edge_ids].astype(np.int64), graph.edge_dst[edge_ids].astype(np.int64)
    order = np.lexsort((weight, dst, src))
    first = np.ones(order.shape[0], bool)
    first[1:] = (src[order][1:] != src[order][:-1]) | (dst[order][1:] != dst[order][:-1])
    keep = order[first]
    return RateGraph(graph.token_count, src[keep], dst[keep], weight[keep], edge_ids[keep].astype(np.int64))


def find_negative_cycles(
    rates: RateGraph, max_cycles: int = 32, max_passes: int | None = None
) -> list[NegativeCycle]:
    """Up to `max_cycles` negative cycles, each found by a fresh Bellman-Ford run after the edges of
    the ones already found are removed. Deterministic for a given graph."""
    weight = rates.weight  # copied before the first edge is removed
    passes = rates.token_count if max_passes is None else max_passes
    out_edges = np.empty(max(rates.token_count, 1), np.int64)
    out_ptr = np.empty(max(rates.token_count, 1) + 1, np.int64)
    found: list[NegativeCycle] = []
    while len(found) < max_cycles:
        count = kernels.negative_cycles(
            rates.token_count, rates.src, rates.dst, weight, passes, out_edges, out_ptr
        )
        cycles = [out_edges[out_ptr[j] : out_ptr[j + 1]] for j in range(count)]
        found += [
            NegativeCycle(tuple(rates.edge_ids[c].tolist()), -float(rates.weight[c].sum())) for c in cycles
        ]
        if not count or len(found) >= max_cycles:
            break
        if weight is rates.weight:
            weight = weight.copy()
        for cycle in cycles:
            weight[cycle] = np.inf
    return found[:max_cycles]
