"""Which cycles are compiled ahead (`NearProfit`): the best-rated ones, a chunk at a time."""

from __future__ import annotations

import numpy as np

from mevbot.search import kernels
from mevbot.search.cycles import CycleIndex
from mevbot.search.near_profit import RECHECK_SWEEPS, NearProfit
from tests.search.test_kernels import random_graph


def _market(seed: int, tokens: int, pools: int) -> tuple[CycleIndex, np.ndarray, np.ndarray, np.ndarray]:
    graph = random_graph(seed, tokens=tokens, pools=pools)
    rng = np.random.default_rng(seed)
    reserve_a = rng.uniform(1e5, 1e7, graph.pool_count)
    reserve_b = reserve_a * rng.uniform(0.97, 1.03, graph.pool_count)
    fee = rng.choice([0.0001, 0.0025, 0.003], graph.pool_count)
    cycles = CycleIndex.build(graph, [0, 1])
    for base in (0, 1):  # empty a pool on a cycle from each base: its cycles rate 0, never queued
        first = np.flatnonzero(cycles.start_token == base)[0]
        reserve_b[cycles.edges[first, 0] >> 1] = 0.0
    return cycles, reserve_a, reserve_b, fee


def _sweep(near: NearProfit, market: tuple[CycleIndex, np.ndarray, np.ndarray, np.ndarray]) -> list[int]:
    """Step through every cycle once; what was queued, in order."""
    cycles = market[0]
    for _ in range(-(-len(cycles) // near.chunk)):
        near.step(*market)
    queued = list(near.waiting)
    near.waiting.clear()
    return queued


def test_the_second_sweep_queues_the_best_rated_eligible_cycles_chunk_by_chunk() -> None:
    market = _market(3, tokens=8, pools=24)
    cycles, reserve_a, reserve_b, fee = market
    eligible = cycles.start_token == 0
    near = NearProfit(eligible, count=25, chunk=16, sample=10_000, sweep_interval_s=0)
    assert _sweep(near, market) == []  # the first sweep only rates: there is no bar yet
    queued = _sweep(near, market)  # the second queues those at or above the bar it set

    rates = np.zeros(len(cycles))
    kernels.cycle_rates(0, len(cycles), cycles.edges, cycles.length, reserve_a, reserve_b, fee, rates)
    assert np.array_equal(near.rates, rates)
    ranked = sorted(np.flatnonzero(eligible & (rates > 0)), key=lambda k: -rates[k])
    assert len(ranked) > 25 and (rates[eligible] == 0).any() and (~eligible).any()
    assert queued == sorted(ranked[:25])  # every one of the 25 best, in cycle order, and nothing else


def test_few_eligible_cycles_are_all_queued_but_those_that_cannot_trade() -> None:
    market = _market(4, tokens=6, pools=12)
    cycles = market[0]
    eligible = cycles.start_token == 1
    near = NearProfit(eligible, count=10_000, chunk=7, sweep_interval_s=0)
    _sweep(near, market)
    _sweep(near, market)
    queued = _sweep(near, market)
    assert queued == [int(k) for k in np.flatnonzero(eligible & (near.rates > 0))]
    assert len(queued) < eligible.sum()


def test_with_many_cycles_the_bar_comes_from_a_sample_and_queues_about_count() -> None:
    market = _market(5, tokens=14, pools=70)
    cycles = market[0]
    eligible = np.ones(len(cycles), bool)
    count = len(cycles) // 4
    near = NearProfit(eligible, count=count, chunk=512, sample=256, seed=1, sweep_interval_s=0)
    _sweep(near, market)
    queued = _sweep(near, market)
    assert len(cycles) > 4 * 256  # the bar is a sample's
    assert abs(len(queued) - count) < 0.1 * len(cycles)
    assert near.rates[queued].min() >= np.sort(near.rates)[-len(queued)]  # the best ones


def test_a_cycle_that_drops_out_of_the_set_is_queued_again_when_it_returns() -> None:
    market = _market(6, tokens=8, pools=24)
    cycles, _, reserve_b, _ = market
    near = NearProfit(cycles.start_token == 0, count=10, chunk=64, sweep_interval_s=0)
    _sweep(near, market)
    best = _sweep(near, market)
    assert len(best) == 10
    flicker = best[0]
    pool = cycles.edges[flicker, 0] >> 1
    saved = reserve_b[pool]
    reserve_b[pool] = 0.0  # the cycle drops out for one sweep
    assert flicker not in _sweep(near, market)
    reserve_b[pool] = saved
    assert flicker in _sweep(near, market)  # back above the bar: queued again (its message may be gone)


def test_a_cycle_that_stays_near_profit_is_queued_once_then_again_every_recheck() -> None:
    market = _market(7, tokens=8, pools=24)
    near = NearProfit(market[0].start_token == 0, count=10, chunk=64, sweep_interval_s=0)
    sweeps = [_sweep(near, market) for _ in range(2 + 2 * RECHECK_SWEEPS)]
    assert len(sweeps[1]) == 10  # joined the set: queued
    queued_again = [index for index, queued in enumerate(sweeps) if queued == sweeps[1]]
    assert queued_again == [1, RECHECK_SWEEPS, 2 * RECHECK_SWEEPS]  # then only at each recheck
    assert all(queued == [] for index, queued in enumerate(sweeps) if index not in queued_again)


def test_a_sweep_begins_at_most_every_sweep_interval() -> None:
    market = _market(8, tokens=8, pools=24)
    now = [0.0]
    near = NearProfit(market[0].start_token == 0, count=10, chunk=64, sweep_interval_s=0.4, clock=lambda: now[0])
    steps = -(-len(market[0]) // 64)
    for _ in range(steps):  # the first sweep
        near.step(*market)
    assert near.sweeps == 1 and near.cursor == 0
    now[0] = 0.3
    near.step(*market)  # too soon: nothing rated
    assert near.cursor == 0 and near.sweeps == 1
    now[0] = 0.4
    for _ in range(steps):
        near.step(*market)
    assert near.sweeps == 2
