"""Checks for one case of the Whirlpool vector files (called once per case by test_vectors.py).

Program cases (Orca's `swap_test_cases*.json`) rebuild the program's own test set-up
(`swap_integration_tests.rs`): the pool priced exactly at `sqrt_price(currTickIndex)`, no initialized
ticks, three tick arrays from the one holding the current tick in the swap direction, and an explicit
price limit at the far end of those arrays (clamped to the tick bounds). That limit is why some cases
fill only part of `tradeAmount`, and why exact-out partial fills are not `PartialFillError` there.

Quote cases come from the SDK (whirlpools-core 1.0.2), which differs from the program in two ways,
and the program wins (`venue_quote`): (1) the SDK walks all five supplied tick arrays, a transaction
at most three (`TickArraySequenceInvalidIndex`); (2) an exact-out quote that reaches the price bound
returns a partial fill, while a swap without a price limit fails with `PartialFillError`. For those
lines the program's refusal is asserted, and the SDK's numbers are still matched exactly by the same
engine told to walk all supplied arrays with an explicit bound limit, so the math is checked on
every line.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from solders.pubkey import Pubkey

from mevbot.dex.base import Quote, QuoteError
from mevbot.dex.clmm_math import (
    MAX_SQRT_PRICE_X64,
    MAX_TICK_INDEX,
    MIN_SQRT_PRICE_X64,
    MIN_TICK_INDEX,
    sqrt_price_from_tick,
)
from mevbot.dex.whirlpool import (
    VENUE,
    RewardInfo,
    SwapResult,
    Tick,
    TickArray,
    WhirlpoolPool,
    WhirlpoolState,
    empty_tick_array,
    swap,
    swap_tick_array_starts,
    tick_array_start_index,
)
from mevbot.dex.whirlpool_accounts import EMPTY_TICK, TICK_ARRAY_SIZE

POOL_ADDRESS = Pubkey.from_string("HJPjoWUrhoZzkNfRpHuieeFk9WcZWjwy6PBjZ81ngndJ")
SDK_DIFFERENCES: Counter[str] = Counter()
"""How many quote lines the program refuses while the SDK quotes, by the program's error code."""


def make_pool(
    *,
    tick_spacing: int,
    fee_rate: int,
    protocol_fee_rate: int,
    liquidity: int,
    sqrt_price: int,
    tick_current_index: int,
    address: Pubkey = POOL_ADDRESS,
    fee_tier_index_seed: int | None = None,
) -> WhirlpoolPool:
    """A Whirlpool with the fields a swap reads; the rest zero (as in the program's test builder)."""
    zero = Pubkey.default()
    return WhirlpoolPool(
        address=address,
        whirlpools_config=zero,
        whirlpool_bump=255,
        tick_spacing=tick_spacing,
        fee_tier_index_seed=tick_spacing if fee_tier_index_seed is None else fee_tier_index_seed,
        fee_rate=fee_rate,
        protocol_fee_rate=protocol_fee_rate,
        liquidity=liquidity,
        sqrt_price=sqrt_price,
        tick_current_index=tick_current_index,
        protocol_fee_owed_a=0,
        protocol_fee_owed_b=0,
        mint_a=zero,
        vault_a=zero,
        fee_growth_global_a=0,
        mint_b=zero,
        vault_b=zero,
        fee_growth_global_b=0,
        reward_last_updated_timestamp=0,
        reward_infos=(RewardInfo(zero, zero, zero, 0, 0),) * 3,
    )


def check_whirlpool_program_case(case: dict[str, Any]) -> None:
    spacing = case["tickSpacing"]
    tick = case["currTickIndex"]
    a_to_b = case["aToB"]
    pool = make_pool(
        tick_spacing=spacing,
        fee_rate=case["feeRate"],
        protocol_fee_rate=case["protocolFeeRate"],
        liquidity=int(case["liquidity"]),
        sqrt_price=sqrt_price_from_tick(tick),
        tick_current_index=tick,
    )
    span = TICK_ARRAY_SIZE * spacing
    start = tick_array_start_index(tick, spacing)
    direction = -1 if a_to_b else 1
    arrays = [empty_tick_array(POOL_ADDRESS, start + i * span * direction) for i in range(3)]
    last_tick = start - 2 * span if a_to_b else start + 3 * span - 1
    limit = sqrt_price_from_tick(min(max(last_tick, MIN_TICK_INDEX), MAX_TICK_INDEX))
    state = WhirlpoolState.of(pool, arrays)

    expected = case["expectation"]
    kwargs = {"amount_specified_is_input": case["amountIsInput"], "a_to_b": a_to_b, "sqrt_price_limit": limit}
    if expected["exception"]:
        try:
            result = swap(state, int(case["tradeAmount"]), **kwargs)
        except QuoteError as error:
            assert error.code == expected["exception"], (
                f"{case['testId']}: {error} != {expected['exception']}"
            )
            return
        raise AssertionError(f"{case['testId']}: expected {expected['exception']}, got {result}")
    result = swap(state, int(case["tradeAmount"]), **kwargs)
    got = {
        "amountA": result.amount_a,
        "amountB": result.amount_b,
        "nextLiquidity": result.next_liquidity,
        "nextTickIndex": result.next_tick_index,
        "nextSqrtPrice": result.next_sqrt_price,
        "nextFeeGrowthGlobal": result.next_fee_growth_global,
        "nextProtocolFee": result.next_protocol_fee,
    }
    want = {key: int(expected[key]) for key in got}
    assert got == want, f"{case['testId']} {case['description']}: {got} != {want}"


def _quote_state(case: dict[str, Any]) -> WhirlpoolState:
    spacing = case["tick_spacing"]
    pool = make_pool(
        tick_spacing=spacing,
        fee_rate=case["fee_rate"],
        protocol_fee_rate=case["protocol_fee_rate"],
        liquidity=int(case["liquidity"]),
        sqrt_price=int(case["sqrt_price"]),
        tick_current_index=case["tick_current_index"],
    )
    arrays = []
    for spec in case["tick_arrays"]:
        ticks = [EMPTY_TICK] * TICK_ARRAY_SIZE
        for entry in spec["ticks"]:
            net, gross = int(entry["liquidity_net"]), int(entry["liquidity_gross"])
            ticks[entry["offset"]] = Tick(True, net, gross, 0, 0, (0, 0, 0))
        arrays.append(TickArray(spec["start_tick_index"], POOL_ADDRESS, tuple(ticks)))
    return WhirlpoolState.of(pool, arrays)


def _program_swap(state: WhirlpoolState, case: dict[str, Any]) -> SwapResult:
    """What a swap_v2 without a price limit does (the venue's quote), checked against `VENUE` itself."""
    amount, a_to_b = int(case["amount"]), case["a_to_b"]
    try:
        quote = (VENUE.quote_exact_in if case["exact_in"] else VENUE.quote_exact_out)(state, amount, a_to_b)
    except QuoteError as refusal:
        try:
            swap(state, amount, amount_specified_is_input=case["exact_in"], a_to_b=a_to_b)
        except QuoteError as same:
            assert same.code == refusal.code
            raise
        raise AssertionError("the venue refuses what swap() accepts") from refusal
    result = swap(state, amount, amount_specified_is_input=case["exact_in"], a_to_b=a_to_b)
    assert result.to_quote() == quote
    return result


def _sdk_like_quote(state: WhirlpoolState, case: dict[str, Any]) -> Quote:
    """The program's arithmetic over every supplied array, with an explicit bound limit: the SDK's view."""
    limit = MIN_SQRT_PRICE_X64 if case["a_to_b"] else MAX_SQRT_PRICE_X64
    result = swap(
        state,
        int(case["amount"]),
        amount_specified_is_input=case["exact_in"],
        a_to_b=case["a_to_b"],
        sqrt_price_limit=limit,
        max_tick_arrays=len(case["tick_arrays"]) + 1,
    )
    return result.to_quote()


def _third_array_edge(state: WhirlpoolState, a_to_b: bool) -> int | None:
    """Sqrt price where the program's walk ends: the far edge of the third array of the sequence."""
    pool = state.pool
    starts = swap_tick_array_starts(pool.tick_current_index, pool.tick_spacing, a_to_b)
    if len(starts) < 3 or any(start not in state.tick_arrays for start in starts):
        return None
    edge = starts[-1] if a_to_b else starts[-1] + TICK_ARRAY_SIZE * pool.tick_spacing - 1
    return sqrt_price_from_tick(edge)


def check_whirlpool_quote_case(case: dict[str, Any]) -> None:
    state = _quote_state(case)
    a_to_b = case["a_to_b"]
    error = case.get("error")
    if error is not None:
        try:
            result = _program_swap(state, case)
        except QuoteError as refusal:
            if error == "tick_arrays_exhausted":
                assert refusal.code == "TickArraySequenceInvalidIndex", refusal
            return
        raise AssertionError(f"SDK error {error!r}, but the program swaps: {result}")

    expected = case["expected"]
    if case["exact_in"]:
        want = (int(expected["token_in"]), int(expected["token_est_out"]), int(expected["trade_fee"]))
    else:
        want = (int(expected["token_est_in"]), int(expected["token_out"]), int(expected["trade_fee"]))

    bound = MIN_SQRT_PRICE_X64 if a_to_b else MAX_SQRT_PRICE_X64
    if state.pool.sqrt_price == bound:
        # Already at the bound: the SDK quotes nothing; the program (since the adaptive-fee release,
        # 2025-04-30) refuses a limit equal to the price.
        assert want == (0, 0, 0)
        try:
            _program_swap(state, case)
        except QuoteError as refusal:
            assert refusal.code == "InvalidSqrtPriceLimitDirection", refusal
            SDK_DIFFERENCES[refusal.code] += 1
            return
        raise AssertionError("the program swaps from the price bound")

    sdk_like = _sdk_like_quote(state, case)
    assert (sdk_like.amount_in, sdk_like.amount_out, sdk_like.fee) == want, f"{sdk_like} != {want}"
    try:
        result = _program_swap(state, case)
    except QuoteError as refusal:
        assert refusal.code in ("TickArraySequenceInvalidIndex", "PartialFillError"), refusal
        if refusal.code == "PartialFillError":
            assert not case["exact_in"] and sdk_like.amount_out < int(case["amount"])
        SDK_DIFFERENCES[refusal.code] += 1
        return
    if result.to_quote() != sdk_like:
        # The program's last array ends a step at its edge (an uninitialized tick), which the SDK,
        # walking on into a fourth array, does not; the split step rounds differently.
        assert result.next_sqrt_price == _third_array_edge(state, a_to_b), f"{result} vs SDK {sdk_like}"
        SDK_DIFFERENCES["StepEndsAtThirdArrayEdge"] += 1
