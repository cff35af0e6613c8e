"""The numba kernels against their pure-Python originals and against brute force."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from mevbot.market.graph import TokenGraph
from mevbot.search import kernels


def random_graph(seed: int, tokens: int, pools: int) -> TokenGraph:
    rng = random.Random(seed)
    pairs = [rng.sample(range(tokens), 2) for _ in range(pools)]
    token_a = np.array([p[0] for p in pairs], np.int32)
    token_b = np.array([p[1] for p in pairs], np.int32)
    return TokenGraph.from_pools(token_a, token_b, tokens)


def enumerate_both(graph: TokenGraph, bases: list[int], max_hops: int = 4) -> tuple[np.ndarray, np.ndarray]:
    base_array = np.array(bases, np.int32)
    rank = np.full(graph.token_count, len(bases), np.int32)
    rank[base_array] = np.arange(len(bases), dtype=np.int32)
    args = (graph.out_ptr, graph.edges_out, graph.edge_dst, base_array, rank, max_hops)
    results = []
    for fn in (kernels.enumerate_cycles, kernels.enumerate_cycles.py_func):
        count = fn(*args, np.empty((0, 4), np.int32))
        out = np.full((count, 4), -1, np.int32)
        assert fn(*args, out) == count
        results.append(out)
    return results[0], results[1]


def brute_force_cycles(graph: TokenGraph, bases: list[int], max_hops: int) -> set[tuple[int, ...]]:
    """Every simple cycle of 2..max_hops edges from its highest-priority base token."""
    rank = {t: i for i, t in enumerate(bases)}
    edges = range(2 * graph.pool_count)
    found = set()
    for hops in range(2, max_hops + 1):
        for path in itertools.product(edges, repeat=hops):
            tokens = [int(graph.edge_src[e]) for e in path]
            if any(graph.edge_dst[path[i]] != graph.edge_src[path[(i + 1) % hops]] for i in range(hops)):
                continue
            if len(set(tokens)) != hops or len({e >> 1 for e in path}) != hops:
                continue
            start = tokens[0]
            if start in rank and all(rank.get(t, len(bases)) > rank[start] for t in tokens[1:]):
                found.add(path)
    return found


@pytest.mark.parametrize("seed", range(4))
def test_enumeration_matches_brute_force_and_python(seed: int) -> None:
    graph = random_graph(seed, tokens=6, pools=9)
    compiled, python = enumerate_both(graph, [0, 1], max_hops=4)
    assert np.array_equal(compiled, python)
    listed = [tuple(int(e) for e in row if e >= 0) for row in compiled]
    assert len(listed) == len(set(listed)), "a cycle is listed twice"
    assert set(listed) == brute_force_cycles(graph, [0, 1], 4)


def test_enumeration_respects_max_hops() -> None:
    graph = random_graph(5, tokens=6, pools=10)
    compiled, _ = enumerate_both(graph, [0], max_hops=3)
    assert {tuple(int(e) for e in row if e >= 0) for row in compiled} == brute_force_cycles(graph, [0], 3)


def compose_numerically(hops: list[tuple[float, float, float]], x: float) -> float:
    for r_in, r_out, fee in hops:
        x = (1 - fee) * x * r_out / (r_in + (1 - fee) * x)
    return x


def test_mobius_optimum_is_the_maximum_of_the_composed_curve() -> None:
    # pools 0..2 form the cycle 0 -> 1 -> 2 -> 0 along a->b edges, mispriced by ~5 %.
    reserve_a = np.array([1_000_000.0, 2_000_000.0, 500_000.0])
    reserve_b = np.array([2_100_000.0, 500_000.0, 1_000_000.0])
    fee = np.array([0.0025, 0.003, 0.0001])
    edges = np.array([0, 2, 4, -1], np.int32)
    a, c = kernels.cycle_mobius(
        edges, 3, reserve_a, reserve_b, fee, kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES
    )
    x, profit = kernels.optimum(a, c)
    hops = [(reserve_a[i], reserve_b[i], fee[i]) for i in range(3)]
    assert compose_numerically(hops, x) - x == pytest.approx(profit, rel=1e-9)
    for probe in (x * 0.99, x * 1.01, x * 0.5, x * 2):
        assert compose_numerically(hops, probe) - probe < profit
    assert a == pytest.approx(math.prod((1 - f) * rb / ra for ra, rb, f in hops))


def test_unprofitable_and_empty_cycles_give_nothing() -> None:
    reserve_a = np.array([1000.0, 1000.0])
    reserve_b = np.array([1000.0, 0.0])
    fee = np.array([0.003, 0.003])
    fair = np.array([0, 1, -1, -1], np.int32)  # a->b then b->a on the same-priced pool pair
    a, c = kernels.cycle_mobius(
        fair,
        2,
        reserve_a,
        np.array([1000.0, 1000.0]),
        fee,
        kernels.NO_PATCH,
        kernels.NO_RESERVES,
        kernels.NO_RESERVES,
    )
    assert kernels.optimum(a, c) == (0.0, 0.0)
    empty = np.array([0, 3, -1, -1], np.int32)
    assert kernels.cycle_mobius(
        empty, 2, reserve_a, reserve_b, fee, kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES
    ) == (0.0, 0.0)


def random_market(seed: int) -> tuple[TokenGraph, np.ndarray, np.ndarray, np.ndarray]:
    graph = random_graph(seed, tokens=8, pools=16)
    rng = np.random.default_rng(seed)
    reserve_a = rng.uniform(1e5, 1e7, graph.pool_count)
    reserve_b = reserve_a * rng.uniform(0.9, 1.1, graph.pool_count)
    fee = rng.choice([0.0001, 0.0025, 0.003, 0.01], graph.pool_count)
    return graph, reserve_a, reserve_b, fee


def random_cycles(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A random market's cycles from bases 0, 1, 2: (edges, lengths, ids, (reserve_a, reserve_b, fee))."""
    graph, reserve_a, reserve_b, fee = random_market(seed)
    cycles, _ = enumerate_both(graph, [0, 1, 2])
    length = (cycles >= 0).sum(axis=1).astype(np.int8)
    return cycles, length, np.arange(len(cycles), dtype=np.int32), (reserve_a, reserve_b, fee)


@pytest.mark.parametrize("seed", range(3))
def test_evaluation_kernels_agree_with_python(seed: int) -> None:
    cycles, length, ids, (reserve_a, reserve_b, fee) = random_cycles(seed)
    outputs = []
    for fn in (kernels.evaluate_cycles, kernels.evaluate_cycles.py_func):
        x, profit = np.zeros(len(ids)), np.zeros(len(ids))
        fn(ids, cycles, length, reserve_a, reserve_b, fee, x, profit)
        outputs.append((x, profit))
    assert np.allclose(outputs[0][0], outputs[1][0], rtol=1e-12)
    assert np.allclose(outputs[0][1], outputs[1][1], rtol=1e-12)
    assert (outputs[0][1] > 0).any(), "the random market should hold some profitable cycle"

    value = np.ones(len(ids))
    patch = (np.array([3], np.int64), np.array([reserve_a[3] * 2]), np.array([reserve_b[3]]))
    every = (np.array([0]), np.array([len(ids)]))
    compiled = kernels.best_cycle(*every, cycles, length, value, reserve_a, reserve_b, fee, *patch)
    python = kernels.best_cycle.py_func(*every, cycles, length, value, reserve_a, reserve_b, fee, *patch)
    assert compiled[0] == python[0]
    assert compiled[1:] == pytest.approx(python[1:], rel=1e-12)
    best = compiled[0]  # its jitter is read from the arrays, not the patch
    assert compiled[3] == kernels.route_jitter(cycles[best], length[best], reserve_a, reserve_b, fee)
    third = len(ids) // 3  # overlapping ranges, listed out of order: the same best
    ranges = (np.array([third, 0]), np.array([len(ids), 2 * third]))
    assert kernels.best_cycle(*ranges, cycles, length, value, reserve_a, reserve_b, fee, *patch) == compiled
    above, below = (np.array([best + 1]), np.array([len(ids)])), (np.array([0]), np.array([best]))
    for part in (above, below):  # a range without the best row finds some other one, or none
        assert kernels.best_cycle(*part, cycles, length, value, reserve_a, reserve_b, fee, *patch)[0] != best


def test_route_jitter_sums_a_unit_of_each_intermediate_token_in_start_token_units() -> None:
    # Pool 0 (a→b) gives 0.001 b per a after its 1 % fee; pool 1 (b→c) 4 c per b, fee-free; pool 2
    # closes the loop. A unit of b is worth 1000 a, a unit of c 250 a; the last hop's unit is 1 a.
    reserve_a = np.array([1e6, 1e3, 1e6])
    reserve_b = np.array([1e6 / 990, 4e3, 1e6])
    fee = np.array([0.01, 0.0, 0.003])
    edges = np.array([0, 2, 5, -1], np.int32)
    for fn in (kernels.route_jitter, kernels.route_jitter.py_func):
        assert fn(edges, 3, reserve_a, reserve_b, fee) == pytest.approx(1 + 1000 + 250, rel=1e-12)
        assert fn(edges, 2, reserve_a, reserve_b, fee) == pytest.approx(1 + 1000, rel=1e-12)
        assert fn(edges, 1, reserve_a, reserve_b, fee) == 1.0
    cheap = np.array([1, 0, -1, -1], np.int32)  # b→a: a unit of a is worth under one b, so it counts 1
    assert kernels.route_jitter(cheap, 2, reserve_a, reserve_b, fee) == 2.0


@pytest.mark.parametrize("seed", range(3))
def test_cycle_rates_are_the_composed_rate_and_above_one_exactly_when_a_cycle_profits(seed: int) -> None:
    cycles, length, ids, (reserve_a, reserve_b, fee) = random_cycles(seed)
    _, profit = np.zeros(len(ids)), np.zeros(len(ids))
    kernels.evaluate_cycles(ids, cycles, length, reserve_a, reserve_b, fee, _, profit)
    for fn in (kernels.cycle_rates, kernels.cycle_rates.py_func):
        rates = np.full(len(ids), -1.0)
        fn(1, len(ids), cycles, length, reserve_a, reserve_b, fee, rates)
        assert rates[0] == -1.0  # only cycles 1.. were asked for
        assert np.array_equal(rates[1:] > 1.0, profit[1:] > 0)
        for k in ids[1:]:
            a, _c = kernels.cycle_mobius(
                cycles[k], length[k], reserve_a, reserve_b, fee, kernels.NO_PATCH, kernels.NO_RESERVES,
                kernels.NO_RESERVES,
            )  # fmt: skip
            assert rates[k] == pytest.approx(a, rel=1e-12)


def test_best_cycle_reads_the_patch_instead_of_the_arrays() -> None:
    graph, reserve_a, reserve_b, fee = random_market(1)
    cycles, _ = enumerate_both(graph, [0, 1, 2])
    length = (cycles >= 0).sum(axis=1).astype(np.int8)
    every = (np.array([0]), np.array([len(cycles)]))
    arrays = (cycles, length, np.ones(len(cycles)), reserve_a, reserve_b, fee)
    best, _, _, _ = kernels.best_cycle(*every, *arrays, kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES)
    pool = int(cycles[best, 0]) >> 1
    emptied = kernels.best_cycle(*every, *arrays, np.array([pool], np.int64), np.zeros(1), np.zeros(1))
    assert emptied[0] != best
    if emptied[0] >= 0:  # whatever wins now cannot trade on the emptied pool
        assert pool not in {int(e) >> 1 for e in cycles[emptied[0]] if e >= 0}


def test_negative_cycle_kernel_agrees_with_python_and_finds_the_loop() -> None:
    # 0 -> 1 -> 2 -> 0 gains 1 % in total; everything else loses.
    src = np.array([0, 1, 2, 1, 3, 0], np.int64)
    dst = np.array([1, 2, 0, 0, 0, 3], np.int64)
    weight = np.array([-math.log(1.2), -math.log(0.9), -math.log(1.01 / 1.08), -math.log(0.5), 0.1, 0.1])
    results = []
    for fn in (kernels.negative_cycles, kernels.negative_cycles.py_func):
        out, ptr = np.empty(4, np.int64), np.empty(5, np.int64)
        count = fn(4, src, dst, weight, 4, out, ptr)
        results.append([tuple(out[ptr[j] : ptr[j + 1]]) for j in range(count)])
    assert results[0] == results[1]
    (cycle,) = results[0]
    rotations = {cycle[i:] + cycle[:i] for i in range(len(cycle))}
    assert (0, 1, 2) in rotations
    assert weight[list(cycle)].sum() < 0


def test_negative_cycle_kernel_reports_none_on_a_fair_graph() -> None:
    src = np.array([0, 1, 1, 2], np.int64)
    dst = np.array([1, 0, 2, 1], np.int64)
    weight = np.array([0.001, 0.001, -0.5, 0.6])
    out, ptr = np.empty(3, np.int64), np.empty(4, np.int64)
    assert kernels.negative_cycles(3, src, dst, weight, 3, out, ptr) == 0
