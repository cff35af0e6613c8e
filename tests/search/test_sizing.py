"""Exact-integer sizing against brute force over every input."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from solders.pubkey import Pubkey

from mevbot.dex import whirlpool
from mevbot.dex.base import U64_MAX, QuoteError
from mevbot.dex.clmm_math import tick_from_sqrt_price
from mevbot.dex.raydium_amm_v4 import swap_base_in
from mevbot.dex.spl_token import ACCOUNT_LEN, TOKEN_PROGRAM_ID, encode_token_account, token_amount
from mevbot.events import AccountUpdate
from mevbot.market.model import MarketModel
from mevbot.search import kernels
from mevbot.search.engine import CycleSearch, SearchSettings
from mevbot.search.route import RouteQuoter
from mevbot.search.sizing import FloatModel, _golden, _Memo, maximize_profit

UPPER = 20_000


def mispriced_route(seed: int) -> list[tuple[int, int]]:
    """2 or 3 constant-product hops with reserves of a few thousand units, 3–20 % mispriced."""
    rng = random.Random(seed)
    reserves = []
    for _ in range(rng.choice((2, 3))):
        reserve_in = rng.randint(3_000, 30_000)
        reserves.append([reserve_in, int(reserve_in * rng.uniform(0.8, 1.25))])
    rate = np.prod([out / inp for inp, out in reserves])
    reserves[-1][1] = int(reserves[-1][1] * rng.uniform(1.03, 1.2) / rate)
    return [(r_in, r_out) for r_in, r_out in reserves]


def exact_profit(reserves: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    def profit(amount_in: int) -> int | None:
        amount = amount_in
        try:
            for reserve_in, reserve_out in reserves:
                amount = swap_base_in(amount, reserve_in, reserve_out, 25, 10_000).amount_out
        except QuoteError:
            return None
        return amount - amount_in

    return profit


def float_guess(reserves: list[tuple[int, int]]) -> tuple[float, float]:
    hops = len(reserves)
    reserve_a = np.array([float(r[0]) for r in reserves])
    reserve_b = np.array([float(r[1]) for r in reserves])
    edges = np.arange(hops, dtype=np.int32) * 2  # every hop a→b
    a, c = kernels.cycle_mobius(
        edges,
        hops,
        reserve_a,
        reserve_b,
        np.full(hops, 0.0025),
        kernels.NO_PATCH,
        kernels.NO_RESERVES,
        kernels.NO_RESERVES,
    )
    return kernels.optimum(a, c)


@pytest.mark.parametrize("seed", range(40))
def test_sized_input_earns_the_brute_force_maximum(seed: int) -> None:
    reserves = mispriced_route(seed)
    profit = exact_profit(reserves)
    guess, float_profit = float_guess(reserves)
    best = maximize_profit(profit, guess, UPPER, FloatModel(guess, float_profit, len(reserves)))
    brute = max(p for p in map(profit, range(1, UPPER + 1)) if p is not None)
    assert best.profit == profit(best.amount_in)
    assert best.profit == brute
    assert best.evaluations < UPPER // 20, "sizing should not degrade into a scan"


def test_a_far_off_guess_still_reaches_the_maximum() -> None:
    def concave(x: int) -> int:
        return 10**12 - (x - 3_000_000) ** 2 // 1000

    for guess in (1.0, 50.0, 9e6):
        best = maximize_profit(concave, guess, 10**9)
        assert abs(best.amount_in - 3_000_000) <= 32
        assert best.profit >= concave(3_000_000) - 1


def test_refused_inputs_count_as_no_profit() -> None:
    def capped(x: int) -> int | None:
        return None if x > 700 or x < 5 else 1000 - abs(x - 650)

    best = maximize_profit(capped, 900.0, 10_000)
    assert best.amount_in == 650
    assert best.profit == 1000


def test_nothing_profits_on_a_fair_route() -> None:
    profit = exact_profit([(10_000, 10_000), (10_000, 10_000)])
    best = maximize_profit(profit, 100.0, UPPER)
    assert best.profit <= 0


def test_sizing_on_the_model_stays_within_rounding_of_a_full_search(small_universe) -> None:  # type: ignore[no-untyped-def]
    """Every cycle the float model calls profitable, on a universe whose prices keep moving (ticks
    crossed, refits), is sized from the model about as well as by a golden-section search over the
    exact quotes that ignores the model, in far fewer quotes. Each exact profit is the route's
    smooth curve give or take the rounding jitter, so two inputs near its peak differ by at most
    twice that."""
    universe, _ = small_universe
    model, _ = MarketModel.from_accounts(universe.accounts)  # a copy of its own: prices move here
    search = CycleSearch(model, SearchSettings(base_mints=(universe.base_mints[0],)))
    rng = random.Random(3)
    compared = fast_quotes = full_quotes = 0
    for slot in range(2, 150):
        changed = model.apply(_moved(model, rng, slot))
        for cycle in np.unique(np.concatenate([search.cycles.through(p) for p in changed])):
            edges = search.cycles.hops(int(cycle))
            a, c = kernels.cycle_mobius(
                search.cycles.edges[cycle], len(edges), model.hot.reserve_a, model.hot.reserve_b,
                model.hot.fee, kernels.NO_PATCH, kernels.NO_RESERVES, kernels.NO_RESERVES,
            )  # fmt: skip
            guess, float_profit = kernels.optimum(a, c)
            if float_profit < 1:
                continue
            jitter = search.rounding_jitter(edges)
            fast = maximize_profit(
                RouteQuoter(model, edges), guess, U64_MAX, FloatModel(guess, float_profit, len(edges), jitter)
            )
            full = maximize_profit(RouteQuoter(model, edges), guess, U64_MAX)
            assert fast.profit >= full.profit - 2 * jitter, (edges, fast, full)
            compared += 1
            fast_quotes += fast.evaluations
            full_quotes += full.evaluations
    assert compared >= 100
    assert fast_quotes * 4 < full_quotes


def _moved(model: MarketModel, rng: random.Random, slot: int) -> AccountUpdate:
    """A random pool's price moved: a Whirlpool's sqrt price by up to ±1 %, a CP pool's vault by ±2 %."""
    pool_id = rng.randrange(len(model.registry))
    info = model.registry.pool(pool_id)
    if info.venue.name == "whirlpool":
        price = int(info.pool.sqrt_price * (1 + rng.uniform(-0.01, 0.01)))
        moved = dataclasses.replace(info.pool, sqrt_price=price, tick_current_index=tick_from_sqrt_price(price))
        return AccountUpdate(info.address, whirlpool.PROGRAM_ID, 1, whirlpool.encode_whirlpool(moved), slot)
    vault = rng.choice([a for a in model.registry.dependencies(pool_id) if len(model.account_data(a) or b"") == ACCOUNT_LEN])
    data = model.account_data(vault) or b""
    amount = int(token_amount(data) * (1 + rng.uniform(-0.02, 0.02)))
    encoded = encode_token_account(Pubkey.from_bytes(data[:32]), Pubkey.from_bytes(data[32:64]), amount)
    return AccountUpdate(vault, TOKEN_PROGRAM_ID, 1, encoded, slot)


def test_golden_section_stops_once_the_bracket_is_level_within_the_jitter() -> None:
    """Once both ends and both probes of the bracket agree within the rounding jitter, narrowing on
    only chases the jitter: knowing it, the search stops there, still within twice it of the peak."""
    jitter = 10

    def jittery(x: int) -> int:  # a concave curve peaking at 2.3e9, floored by up to jitter - 1 units
        return 67_000_000 - (x - 2_300_000_000) ** 2 // 80_000_000_000 - (x * 2_654_435_761 >> 7) % jitter

    peak = max(map(jittery, range(2_300_000_000 - 50, 2_300_000_000 + 50)))
    level, chase = _Memo(jittery), _Memo(jittery)
    _golden(level, 2_100_000_000, 2_400_000_000, width=8, level=jitter)
    _golden(chase, 2_100_000_000, 2_400_000_000, width=8)
    assert level.best_y >= peak - 2 * jitter
    assert len(level.seen) + 15 < len(chase.seen)
