"""Whole-graph negative-cycle discovery against the planted mispricings and against networkx."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from mevbot.market.graph import TokenGraph, edge_pool
from mevbot.search.discovery import find_negative_cycles, rate_graph


def test_discovery_finds_a_loop_through_every_planted_pool(small_universe) -> None:  # type: ignore[no-untyped-def]
    universe, model = small_universe
    graph = TokenGraph.from_pools(*model.registry.token_pairs(), model.registry.token_count)
    cycles = find_negative_cycles(rate_graph(graph, model.hot))
    assert cycles
    for cycle in cycles:
        assert cycle.log_gain > 0
        tokens = [int(graph.edge_src[e]) for e in cycle.edges]
        assert all(graph.edge_dst[e] == tokens[(i + 1) % len(tokens)] for i, e in enumerate(cycle.edges))
    found_pools = {model.registry.pool(edge_pool(e)).address for c in cycles for e in c.edges}
    assert {p.skewed_pool for p in universe.planted} <= found_pools


def test_rate_graph_keeps_the_best_parallel_edge(small_universe) -> None:  # type: ignore[no-untyped-def]
    _, model = small_universe
    graph = TokenGraph.from_pools(*model.registry.token_pairs(), model.registry.token_count)
    rates = rate_graph(graph, model.hot)
    pairs = set(zip(rates.src.tolist(), rates.dst.tolist(), strict=True))
    assert len(pairs) == len(rates.src), "one edge per ordered token pair"
    assert len(pairs) < 2 * graph.pool_count
    for index in np.random.default_rng(0).choice(len(rates.src), 50):
        same = (graph.edge_src == rates.src[index]) & (graph.edge_dst == rates.dst[index])
        assert rates.edge_ids[index] in np.nonzero(same)[0]


def test_networkx_agrees_a_negative_cycle_exists_and_ours_is_negative(small_universe) -> None:  # type: ignore[no-untyped-def]
    _, model = small_universe
    graph = TokenGraph.from_pools(*model.registry.token_pairs(), model.registry.token_count)
    rates = rate_graph(graph, model.hot)
    digraph = nx.DiGraph()
    source = rates.token_count
    digraph.add_weighted_edges_from(
        zip(rates.src.tolist(), rates.dst.tolist(), rates.weight.tolist(), strict=True)
    )
    digraph.add_weighted_edges_from((source, t, 0.0) for t in range(rates.token_count))
    theirs = nx.find_negative_cycle(digraph, source)
    assert sum(digraph[u][v]["weight"] for u, v in itertools.pairwise(theirs)) < 0
    ours = find_negative_cycles(rates, max_cycles=1)
    assert len(ours) == 1 and ours[0].log_gain > 0


def test_a_fair_market_has_no_negative_cycle() -> None:
    token_a = np.array([0, 1, 2, 0], np.int32)
    token_b = np.array([1, 2, 0, 1], np.int32)
    graph = TokenGraph.from_pools(token_a, token_b, 3)

    class Hot:  # consistent prices 1 : 2 : 4 with 0.3 % fees
        reserve_a = np.array([1e6, 2e6, 4e6, 5e5])
        reserve_b = np.array([2e6, 4e6, 1e6, 1e6])
        fee = np.full(4, 0.003)

    assert find_negative_cycles(rate_graph(graph, Hot)) == []  # type: ignore[arg-type]
