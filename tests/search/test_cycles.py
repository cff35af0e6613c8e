"""The cycle index: which cycles exist, where they start, and which run through each pool."""

from __future__ import annotations

import numpy as np
import pytest

from mevbot.market.graph import TokenGraph
from mevbot.search.cycles import CycleIndex
from tests.search.test_kernels import random_graph


def test_cycles_through_a_pool_are_exactly_those_trading_on_it() -> None:
    graph = random_graph(7, tokens=9, pools=20)
    index = CycleIndex.build(graph, [0, 1, 2])
    assert len(index) > 0
    pools_of = [{e >> 1 for e in index.hops(k)} for k in range(len(index))]
    for pool in range(graph.pool_count):
        assert sorted(index.through(pool).tolist()) == [
            k for k, pools in enumerate(pools_of) if pool in pools
        ]


def test_the_rows_through_pools_copy_those_cycles_side_by_side() -> None:
    graph = random_graph(7, tokens=9, pools=20)
    index = CycleIndex.build(graph, [0, 1, 2])
    pools = [3, graph.pool_count + 5, 0]  # a pool the index does not know is skipped
    starts, ends = index.rows_through(pools)
    assert len(starts) == len(ends) == 2
    for pool, start, end in zip((3, 0), starts, ends, strict=True):
        cycles = index.through(pool)
        assert end - start == len(cycles)
        assert np.array_equal(index.pool_cycles[start:end], cycles)
        assert np.array_equal(index.through_edges[start:end], index.edges[cycles])
        assert np.array_equal(index.through_length[start:end], index.length[cycles])
        assert [index.through_hops(row) for row in range(start, end)] == [index.hops(c) for c in cycles]
    single = index.rows_through({0})
    assert (single[0].tolist(), single[1].tolist()) == ([starts[1]], [ends[1]])


def test_a_cycle_starts_at_its_highest_priority_base_token() -> None:
    graph = random_graph(8, tokens=7, pools=16)
    bases = [2, 0, 5]
    index = CycleIndex.build(graph, bases)
    for k in range(len(index)):
        tokens = [int(graph.edge_src[e]) for e in index.hops(k)]
        assert index.start_token[k] == tokens[0]
        assert min(bases.index(t) for t in tokens if t in bases) == bases.index(tokens[0])
        assert index.length[k] == len(tokens) and len(set(tokens)) == len(tokens)


def test_two_pools_of_one_pair_make_two_hop_cycles_and_one_pool_makes_none() -> None:
    graph = TokenGraph.from_pools(np.array([0, 0, 1], np.int32), np.array([1, 1, 2], np.int32), 3)
    index = CycleIndex.build(graph, [0])
    assert sorted(tuple(index.hops(k)) for k in range(len(index))) == [(0, 3), (2, 1)]
    assert len(CycleIndex.build(graph, [2])) == 0  # token 2 has a single pool


def test_max_hops_is_checked() -> None:
    graph = random_graph(1, tokens=4, pools=4)
    with pytest.raises(ValueError):
        CycleIndex.build(graph, [0], max_hops=5)
