"""Q64.64 concentrated-liquidity math: tick ↔ sqrt price, token deltas, one swap step."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mevbot.dex.base import QuoteError
from mevbot.dex.clmm_math import (
    MAX_SQRT_PRICE_X64,
    MAX_TICK_INDEX,
    MIN_SQRT_PRICE_X64,
    MIN_TICK_INDEX,
    Q64,
    amount_delta_a,
    amount_delta_b,
    compute_swap_step,
    next_sqrt_price_from_a,
    next_sqrt_price_from_b,
    sqrt_price_from_tick,
    tick_from_sqrt_price,
    try_amount_delta_b,
)

_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)


def test_tick_bounds_map_to_price_bounds() -> None:
    assert sqrt_price_from_tick(MIN_TICK_INDEX) == MIN_SQRT_PRICE_X64
    assert sqrt_price_from_tick(MAX_TICK_INDEX) == MAX_SQRT_PRICE_X64
    assert sqrt_price_from_tick(0) == Q64
    # Bit 0 alone: the program's starting ratios (Q96 >> 32 for +1, Q64 for -1).
    assert sqrt_price_from_tick(1) == 79232123823359799118286999567 >> 32
    assert sqrt_price_from_tick(-1) == 18445821805675392311
    with pytest.raises(ValueError):
        sqrt_price_from_tick(MAX_TICK_INDEX + 1)


def test_tick_from_sqrt_price_edges() -> None:
    # The program's own unit cases (tick_math.rs).
    assert tick_from_sqrt_price(MAX_SQRT_PRICE_X64) == MAX_TICK_INDEX
    assert tick_from_sqrt_price(MIN_SQRT_PRICE_X64) == MIN_TICK_INDEX
    assert tick_from_sqrt_price(MIN_SQRT_PRICE_X64 + 1) == MIN_TICK_INDEX
    assert tick_from_sqrt_price(MAX_SQRT_PRICE_X64 - 1) == MAX_TICK_INDEX - 1
    assert tick_from_sqrt_price(Q64) == 0
    assert tick_from_sqrt_price(Q64 + 1) == 0
    assert tick_from_sqrt_price(Q64 - 1) == -1
    with pytest.raises(ValueError):
        tick_from_sqrt_price(MIN_SQRT_PRICE_X64 - 1)


@_SETTINGS
@given(st.integers(MIN_TICK_INDEX, MAX_TICK_INDEX - 1))
def test_ticks_round_trip_and_increase(tick: int) -> None:
    price = sqrt_price_from_tick(tick)
    assert tick_from_sqrt_price(price) == tick
    assert sqrt_price_from_tick(tick + 1) > price
    assert tick_from_sqrt_price(sqrt_price_from_tick(tick + 1) - 1) == tick


@_SETTINGS
@given(st.integers(MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64 - 1))
def test_tick_from_sqrt_price_is_the_floor_tick(price: int) -> None:
    tick = tick_from_sqrt_price(price)
    assert sqrt_price_from_tick(tick) <= price < sqrt_price_from_tick(tick + 1)


@_SETTINGS
@given(
    st.integers(MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64),
    st.integers(MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64),
    st.integers(0, 2**80),
)
def test_rounding_up_adds_at_most_one(p0: int, p1: int, liquidity: int) -> None:
    for delta in (amount_delta_a, amount_delta_b):
        try:
            down, up = delta(p0, p1, liquidity, False), delta(p0, p1, liquidity, True)
        except QuoteError:
            continue
        assert up - down in (0, 1)
        assert delta(p1, p0, liquidity, True) == up  # the order of the prices does not matter


def test_delta_errors_carry_the_program_names() -> None:
    assert try_amount_delta_b(MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64, 2**128 - 1, False) == (
        "MultiplicationShiftRightOverflow"
    )
    with pytest.raises(QuoteError) as failed:
        amount_delta_b(MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64, 2**128 - 1, False)
    assert failed.value.code == "MultiplicationShiftRightOverflow"
    with pytest.raises(QuoteError) as failed:
        amount_delta_a(MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64, 2**127, True)
    assert failed.value.code == "MultiplicationOverflow"
    with pytest.raises(QuoteError) as failed:
        amount_delta_a(MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64, 2**64, True)
    assert failed.value.code == "TokenMaxExceeded"
    with pytest.raises(QuoteError) as failed:
        next_sqrt_price_from_a(Q64, 10, 11, add=False)  # takes out more A than the liquidity holds
    assert failed.value.code == "DivideByZero"
    with pytest.raises(QuoteError) as failed:
        next_sqrt_price_from_b(Q64, 0, 1, add=True)
    assert failed.value.code == "DivideByZero"


def test_a_hand_computed_step() -> None:
    # L = 2^64 at price 1: 1000 B in moves sqrt price by 1000/2^64 and buys floor(1000 * 2^64 / (2^64 + 1000)) A.
    target = sqrt_price_from_tick(10)
    step = compute_swap_step(1000, 0, Q64, Q64, target, amount_is_input=True, a_to_b=False)
    assert step == (1000, 999, Q64 + 1000, 0)
    # A 1% fee: 990 reach the curve, the other 10 are the fee (the step stops short of its target).
    step = compute_swap_step(1000, 10_000, Q64, Q64, target, amount_is_input=True, a_to_b=False)
    assert (step.amount_in, step.fee_amount, step.next_sqrt_price) == (990, 10, Q64 + 990)
    # Exact-out of 999 A needs the 1000 B back, plus the fee rounded up: ceil(1000 * 1% / 99%) = 11.
    step = compute_swap_step(999, 10_000, Q64, Q64, target, amount_is_input=False, a_to_b=False)
    assert (step.amount_in, step.amount_out, step.fee_amount) == (1000, 999, 11)
