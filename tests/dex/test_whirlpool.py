"""Orca Whirlpool: decoders on real mainnet bytes, refusals of bad bytes, round trips, swap properties."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from mevbot.dex.base import (
    DecodeError,
    OversizedAccount,
    Quote,
    QuoteError,
    TruncatedAccount,
    UnsupportedPool,
    Venue,
    WrongAccountType,
    WrongOwner,
)
from mevbot.dex.clmm_math import (
    MAX_SQRT_PRICE_X64,
    MAX_TICK_INDEX,
    MIN_TICK_INDEX,
    sqrt_price_from_tick,
    tick_from_sqrt_price,
)
from mevbot.dex.registry import venue_by_name, venue_for_program
from mevbot.dex.whirlpool import (
    PROGRAM_ID,
    VENUE,
    SwapResult,
    Tick,
    TickArray,
    WhirlpoolState,
    _quote_before_next_tick,
    decode_tick_array,
    decode_whirlpool,
    dependency_starts,
    empty_tick_array,
    encode_tick_array,
    encode_whirlpool,
    post_swap_pool,
    swap,
    swap_tick_array_starts,
    tick_array_address,
    tick_array_start_index,
    whirlpool_address,
    with_pool,
)
from mevbot.dex.whirlpool_accounts import EMPTY_TICK, TICK_ARRAY_SIZE, WhirlpoolPool
from tests.conftest import fixtures_dir
from tests.dex.cases_whirlpool import make_pool

FIXTURES = "accounts/orca_whirlpool/"
WHIRLPOOL = FIXTURES + "whirlpool.CGGNcohZdLdeDBdhmQRGmUH1Viv1p4d1ds2aPLoiVWaR.json"
FIXED = FIXTURES + "tick_array.GtpDRtj3avG5kK3nTaVVNQrrfpnPaAnib5dJ5K2gmU1k.json"
DYNAMIC = FIXTURES + "dynamic_tick_array.FmnzW4qBd5fkyDtqPjA5a3vpQeqstSEG12REFb68dTZa.json"

needs_fixtures = pytest.mark.skipif(
    not (fixtures_dir() / "accounts" / "EXPECTED.json").exists(), reason="shared fixtures not found"
)


def _load(key: str) -> tuple[Pubkey, bytes, Pubkey]:
    entry = json.loads((fixtures_dir() / key).read_text())
    return (
        Pubkey.from_string(entry["pubkey"]),
        base64.b64decode(entry["data_base64"]),
        Pubkey.from_string(entry["owner"]),
    )


def _expected(key: str) -> dict[str, Any]:
    return json.loads((fixtures_dir() / "accounts" / "EXPECTED.json").read_text())[key]["decoded"]


# --- decoders on the mainnet fixtures ------------------------------------------------------------


@needs_fixtures
def test_whirlpool_fixture_matches_expected() -> None:
    address, data, owner = _load(WHIRLPOOL)
    want = _expected(WHIRLPOOL)
    pool = decode_whirlpool(address, data, owner)
    assert str(pool.whirlpools_config) == want["whirlpools_config"]
    assert pool.whirlpool_bump == want["whirlpool_bump"]
    assert pool.tick_spacing == want["tick_spacing"]
    assert pool.fee_tier_index_seed == want["fee_tier_index_seed"]
    assert pool.fee_rate == want["fee_rate"]
    assert pool.protocol_fee_rate == want["protocol_fee_rate"]
    assert pool.liquidity == int(want["liquidity"])
    assert pool.sqrt_price == int(want["sqrt_price"])
    assert pool.tick_current_index == want["tick_current_index"]
    assert pool.protocol_fee_owed_a == int(want["protocol_fee_owed_a"])
    assert pool.protocol_fee_owed_b == int(want["protocol_fee_owed_b"])
    assert str(pool.mint_a) == want["token_mint_a"]
    assert str(pool.vault_a) == want["token_vault_a"]
    assert pool.fee_growth_global_a == int(want["fee_growth_global_a"])
    assert str(pool.mint_b) == want["token_mint_b"]
    assert str(pool.vault_b) == want["token_vault_b"]
    assert pool.fee_growth_global_b == int(want["fee_growth_global_b"])
    assert pool.reward_last_updated_timestamp == int(want["reward_last_updated_timestamp"])
    for got, reward in zip(pool.reward_infos, want["reward_infos"], strict=True):
        assert (str(got.mint), str(got.vault), str(got.authority)) == (
            reward["mint"],
            reward["vault"],
            reward["authority"],
        )
        assert got.emissions_per_second_x64 == int(reward["emissions_per_second_x64"])
        assert got.growth_global_x64 == int(reward["growth_global_x64"])
    assert pool.is_splash_pool and not pool.is_adaptive_fee
    # The price and the tick agree, and the address is the PDA of the pool's seeds.
    assert tick_from_sqrt_price(pool.sqrt_price) == pool.tick_current_index
    assert whirlpool_address(pool.whirlpools_config, pool.mint_a, pool.mint_b, pool.fee_tier_index_seed) == (
        address,
        pool.whirlpool_bump,
    )


@needs_fixtures
def test_fixed_tick_array_fixture_matches_expected() -> None:
    address, data, owner = _load(FIXED)
    want = _expected(FIXED)
    array = decode_tick_array(data, owner)
    assert not array.is_dynamic
    assert array.start_tick_index == want["start_tick_index"]
    assert str(array.whirlpool) == want["whirlpool"]
    assert tick_array_address(array.whirlpool, array.start_tick_index) == address
    pool = decode_whirlpool(*_load(WHIRLPOOL))
    initialized = {i: t for i, t in enumerate(array.ticks) if t.initialized}
    assert sorted(initialized) == [t["offset"] for t in want["initialized_ticks"]]
    for entry in want["initialized_ticks"]:
        tick = initialized[entry["offset"]]
        assert array.start_tick_index + entry["offset"] * pool.tick_spacing == entry["tick_index"]
        assert tick.liquidity_net == int(entry["liquidity_net"])
        assert tick.liquidity_gross == int(entry["liquidity_gross"])
        assert tick.fee_growth_outside_a == int(entry["fee_growth_outside_a"])
        assert tick.fee_growth_outside_b == int(entry["fee_growth_outside_b"])
        assert list(tick.reward_growths_outside) == [int(v) for v in entry["reward_growths_outside"]]


@needs_fixtures
def test_dynamic_tick_array_fixture_matches_expected() -> None:
    _, data, owner = _load(DYNAMIC)
    want = _expected(DYNAMIC)
    array = decode_tick_array(data, owner)
    assert array.is_dynamic
    assert array.start_tick_index == want["start_tick_index"]
    assert str(array.whirlpool) == want["whirlpool"]
    bitmap = sum(1 << i for i, t in enumerate(array.ticks) if t.initialized)
    assert bitmap == int(want["tick_bitmap"])
    (entry,) = want["initialized_ticks"]
    tick = array.ticks[entry["offset"]]
    assert (tick.liquidity_net, tick.liquidity_gross) == (
        int(entry["liquidity_net"]),
        int(entry["liquidity_gross"]),
    )


@needs_fixtures
@pytest.mark.parametrize("key", [WHIRLPOOL, FIXED, DYNAMIC])
def test_fixture_bytes_round_trip(key: str) -> None:
    address, data, owner = _load(key)
    if key == WHIRLPOOL:
        assert encode_whirlpool(decode_whirlpool(address, data, owner)) == data
    else:
        assert encode_tick_array(decode_tick_array(data, owner)) == data


# --- bad bytes -----------------------------------------------------------------------------------


@needs_fixtures
def test_whirlpool_refuses_bad_bytes() -> None:
    address, data, owner = _load(WHIRLPOOL)
    with pytest.raises(TruncatedAccount):
        decode_whirlpool(address, data[:-1], owner)
    with pytest.raises(OversizedAccount):
        decode_whirlpool(address, data + b"\x00", owner)
    with pytest.raises(WrongOwner):
        decode_whirlpool(address, data, Pubkey.default())
    with pytest.raises(WrongAccountType):
        decode_whirlpool(address, b"\x00" * 8 + data[8:], owner)
    zero_spacing = data[:41] + b"\x00\x00" + data[43:]
    with pytest.raises(DecodeError):
        decode_whirlpool(address, zero_spacing, owner)
    # The venue refuses the same, and refuses tick arrays handed in as pools.
    _, tick_data, _ = _load(FIXED)
    with pytest.raises(DecodeError):
        VENUE.decode_pool(address, tick_data, owner)


@needs_fixtures
def test_tick_arrays_refuse_bad_bytes() -> None:
    _, fixed, _ = _load(FIXED)
    _, dynamic, _ = _load(DYNAMIC)
    with pytest.raises(WrongOwner):
        decode_tick_array(fixed, Pubkey.default())
    with pytest.raises(TruncatedAccount):
        decode_tick_array(fixed[:5])
    with pytest.raises(WrongAccountType):
        decode_tick_array(encode_whirlpool(decode_whirlpool(*_load(WHIRLPOOL))))
    with pytest.raises(TruncatedAccount):
        decode_tick_array(fixed[:-1])
    with pytest.raises(OversizedAccount):
        decode_tick_array(fixed + b"\x00")
    not_bool = bytearray(fixed)
    not_bool[12] = 2  # the first tick's `initialized` byte
    with pytest.raises(DecodeError):
        decode_tick_array(bytes(not_bool))
    with pytest.raises(TruncatedAccount):
        decode_tick_array(dynamic[:-1])
    with pytest.raises(OversizedAccount):
        decode_tick_array(dynamic + b"\x00")
    bad_tag = bytearray(dynamic)
    bad_tag[60] = 7
    with pytest.raises(DecodeError):
        decode_tick_array(bytes(bad_tag))
    bad_bitmap = bytearray(dynamic)
    bad_bitmap[44] ^= 1  # claims tick 0 is initialized; its tag says otherwise
    with pytest.raises(DecodeError):
        decode_tick_array(bytes(bad_bitmap))


def test_dynamic_encoder_refuses_data_on_uninitialized_ticks() -> None:
    ticks = list(empty_tick_array(Pubkey.default(), 0).ticks)
    ticks[3] = dataclasses.replace(EMPTY_TICK, fee_growth_outside_a=1)
    with pytest.raises(ValueError, match="uninitialized"):
        encode_tick_array(TickArray(0, Pubkey.default(), tuple(ticks), is_dynamic=True))


# --- round trips of synthetic accounts -----------------------------------------------------------

_u128 = st.integers(0, (1 << 128) - 1)
_keys = st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes)
_ticks = st.builds(
    Tick,
    initialized=st.booleans(),
    liquidity_net=st.integers(-(1 << 127), (1 << 127) - 1),
    liquidity_gross=_u128,
    fee_growth_outside_a=_u128,
    fee_growth_outside_b=_u128,
    reward_growths_outside=st.tuples(_u128, _u128, _u128),
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    spacing=st.integers(1, 65535),
    seed=st.integers(0, 65535),
    tick=st.integers(-(1 << 31), (1 << 31) - 1),
    numbers=st.tuples(_u128, _u128, _u128, _u128),
    keys=st.lists(_keys, min_size=10, max_size=10),
)
def test_whirlpool_encode_decode_round_trip(
    spacing: int, seed: int, tick: int, numbers: tuple[int, int, int, int], keys: list[Pubkey]
) -> None:
    pool = dataclasses.replace(
        make_pool(
            tick_spacing=spacing,
            fee_rate=3000,
            protocol_fee_rate=1300,
            liquidity=numbers[0],
            sqrt_price=numbers[1],
            tick_current_index=tick,
            address=keys[0],
            fee_tier_index_seed=seed,
        ),
        whirlpools_config=keys[1],
        mint_a=keys[2],
        vault_a=keys[3],
        mint_b=keys[4],
        vault_b=keys[5],
        fee_growth_global_a=numbers[2],
        fee_growth_global_b=numbers[3],
        protocol_fee_owed_a=7,
        reward_last_updated_timestamp=1_700_000_000,
    )
    pool = dataclasses.replace(
        pool,
        reward_infos=(
            dataclasses.replace(pool.reward_infos[0], mint=keys[6], authority=keys[7]),
            *pool.reward_infos[1:],
        ),
    )
    data = encode_whirlpool(pool)
    assert len(data) == 653
    assert decode_whirlpool(pool.address, data, PROGRAM_ID) == pool


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    start=st.integers(-(1 << 31), (1 << 31) - 1),
    key=_keys,
    ticks=st.lists(_ticks, min_size=88, max_size=88),
    dynamic=st.booleans(),
)
def test_tick_array_encode_decode_round_trip(
    start: int, key: Pubkey, ticks: list[Tick], dynamic: bool
) -> None:
    if dynamic:
        ticks = [t if t.initialized else EMPTY_TICK for t in ticks]
    array = TickArray(start, key, tuple(ticks), is_dynamic=dynamic)
    data = encode_tick_array(array)
    assert len(data) == (9988 if not dynamic else 148 + 112 * sum(t.initialized for t in ticks))
    assert decode_tick_array(data, PROGRAM_ID) == array


# --- the venue -----------------------------------------------------------------------------------


def test_registry_lists_the_venue() -> None:
    assert venue_by_name("whirlpool") is VENUE
    assert venue_for_program(PROGRAM_ID) is VENUE
    assert isinstance(VENUE, Venue)


@needs_fixtures
def test_fixture_pool_dependencies_load_and_quote() -> None:
    address, data, owner = _load(WHIRLPOOL)
    pool = VENUE.decode_pool(address, data, owner)
    # Splash pool (one array spans 2,894,848 ticks): the array at 0 holds the current tick, and the
    # array below MIN_TICK_INDEX holds the full-range lower tick (the fixed fixture).
    assert dependency_starts(pool) == (-2894848, 0)
    fixed_address, fixed, _ = _load(FIXED)
    assert VENUE.dependencies(pool) == (fixed_address, tick_array_address(address, 0))
    # Only the lower array known: no swap can start, the array holding the current tick is unknown.
    state = VENUE.load(pool, {fixed_address: fixed})
    assert set(state.tick_arrays) == {-2894848}
    for a_to_b in (True, False):
        with pytest.raises(QuoteError) as refused:
            VENUE.quote_exact_in(state, 10**6, a_to_b=a_to_b)
        assert refused.value.code == "InvalidTickArraySequence"
    # The array at 0 has no account: reads as zero ticks.
    state = VENUE.load(pool, {fixed_address: fixed, tick_array_address(address, 0): b""})
    sell = VENUE.quote_exact_in(state, 10**9, a_to_b=True)
    assert sell.amount_out > 0 and sell.amount_in == 10**9
    assert sell.fee == -(-sell.amount_in * pool.fee_rate // 10**6)  # one step, reaching no tick
    assert sell.protocol_fee == sell.fee * pool.protocol_fee_rate // 10_000
    buy = VENUE.quote_exact_out(state, sell.amount_out, a_to_b=True)
    assert buy.amount_out == sell.amount_out and buy.amount_in <= sell.amount_in
    assert VENUE.quote_exact_in(state, 10**6, a_to_b=False).amount_out == 0  # 1e6 units of B buy no A
    assert VENUE.quote_exact_in(state, 10**12, a_to_b=False).amount_out > 0


@needs_fixtures
def test_load_refuses_tick_arrays_of_another_pool() -> None:
    address, data, owner = _load(WHIRLPOOL)
    pool = VENUE.decode_pool(address, data, owner)
    foreign = encode_tick_array(empty_tick_array(Pubkey.default(), 0))
    with pytest.raises(DecodeError, match="belongs to"):
        VENUE.load(pool, {tick_array_address(address, 0): foreign})
    misplaced = encode_tick_array(empty_tick_array(address, -2894848))
    with pytest.raises(DecodeError, match="starts at"):
        VENUE.load(pool, {tick_array_address(address, 0): misplaced})


@needs_fixtures
def test_adaptive_fee_pools_are_refused() -> None:
    address, data, owner = _load(WHIRLPOOL)
    adaptive = bytearray(data)
    adaptive[43:45] = (1024).to_bytes(2, "little")  # an AdaptiveFeeTier index, not the tick spacing
    pool = decode_whirlpool(address, bytes(adaptive), owner)
    assert pool.is_adaptive_fee
    with pytest.raises(UnsupportedPool, match="adaptive fee"):
        VENUE.decode_pool(address, bytes(adaptive), owner)
    with pytest.raises(UnsupportedPool):
        VENUE.load(pool, {})
    with pytest.raises(UnsupportedPool):
        swap(
            WhirlpoolState.of(pool, [empty_tick_array(address, 0)]),
            1,
            amount_specified_is_input=True,
            a_to_b=True,
        )


def _pool_at_tick_100(protocol_fee_rate: int = 0) -> WhirlpoolPool:
    """Tick spacing 64, a 0.3 % fee, 10^12 liquidity, the price at tick 100 (in the array at 0)."""
    return make_pool(
        tick_spacing=64,
        fee_rate=3000,
        protocol_fee_rate=protocol_fee_rate,
        liquidity=10**12,
        sqrt_price=sqrt_price_from_tick(100),
        tick_current_index=100,
    )


def test_swap_refuses_as_the_program_does() -> None:
    pool = _pool_at_tick_100()
    state = WhirlpoolState.of(pool, [empty_tick_array(pool.address, 0)])
    with pytest.raises(QuoteError) as refused:
        VENUE.quote_exact_in(state, 0, a_to_b=True)
    assert refused.value.code == "ZeroTradableAmount"
    with pytest.raises(QuoteError) as refused:
        swap(state, 10, amount_specified_is_input=True, a_to_b=True, sqrt_price_limit=pool.sqrt_price + 1)
    assert refused.value.code == "InvalidSqrtPriceLimitDirection"
    with pytest.raises(QuoteError) as refused:
        swap(state, 10, amount_specified_is_input=True, a_to_b=True, sqrt_price_limit=1)
    assert refused.value.code == "SqrtPriceOutOfBounds"
    # Only one array is known: a big sale walks off its start.
    with pytest.raises(QuoteError) as refused:
        VENUE.quote_exact_in(state, 10**15, a_to_b=True)
    assert refused.value.code == "TickArraySequenceInvalidIndex"
    # With an explicit limit inside the array the same sale is a partial fill at the limit.
    limit = sqrt_price_from_tick(64)
    result = swap(state, 10**15, amount_specified_is_input=True, a_to_b=True, sqrt_price_limit=limit)
    assert result.next_sqrt_price == limit and result.amount_a < 10**15
    # Exact-out: a limit allows a partial fill; without one the walk runs off the known array.
    partial = swap(state, 10**12, amount_specified_is_input=False, a_to_b=True, sqrt_price_limit=limit)
    assert partial.amount_b < 10**12 and partial.next_sqrt_price == limit
    with pytest.raises(QuoteError) as refused:
        VENUE.quote_exact_out(state, 10**12, a_to_b=True)
    assert refused.value.code == "TickArraySequenceInvalidIndex"



def test_a_swap_within_a_tick_is_quoted_in_one_step_and_a_crossing_is_walked() -> None:
    """Short of the next initialized tick the quote is the walk's one step (`_quote_before_next_tick`);
    a swap that reaches it is left to the walk, which crosses it."""
    pool = _pool_at_tick_100(protocol_fee_rate=1300)
    slots = [EMPTY_TICK] * TICK_ARRAY_SIZE
    slots[1] = Tick(True, 10**11, 10**11, 0, 0, (0, 0, 0))  # tick 64: 10^11 less liquidity below it
    arrays = [TickArray(0, pool.address, tuple(slots)), empty_tick_array(pool.address, -TICK_ARRAY_SIZE * 64)]
    state = WhirlpoolState.of(pool, arrays)
    within = swap(state, 10**6, amount_specified_is_input=True, a_to_b=True)
    assert not within.crossed_ticks and within.fee_amount > 0 and within.next_protocol_fee > 0
    assert _quote_before_next_tick(state, 10**6, True) == within.to_quote() == VENUE.quote_exact_in(state, 10**6, True)
    crossing = swap(state, 10**10, amount_specified_is_input=True, a_to_b=True)
    assert crossing.crossed_ticks == (64,) and crossing.next_liquidity == 9 * 10**11
    assert _quote_before_next_tick(state, 10**10, True) is None
    assert VENUE.quote_exact_in(state, 10**10, True) == crossing.to_quote()

def test_exact_out_reaching_the_price_bound_is_a_partial_fill_error() -> None:
    # A splash pool: one array covers every tick, so the price can reach MAX_SQRT_PRICE.
    pool = make_pool(
        tick_spacing=32896,
        fee_rate=10000,
        protocol_fee_rate=1300,
        liquidity=1000,
        sqrt_price=sqrt_price_from_tick(0),
        tick_current_index=0,
    )
    state = WhirlpoolState.of(pool, [empty_tick_array(pool.address, 0)])
    with pytest.raises(QuoteError) as refused:
        VENUE.quote_exact_out(state, 10**6, a_to_b=False)
    assert refused.value.code == "PartialFillError"
    bought = swap(
        state, 10**6, amount_specified_is_input=False, a_to_b=False, sqrt_price_limit=MAX_SQRT_PRICE_X64
    )
    assert bought.amount_a < 10**6 and bought.next_sqrt_price == MAX_SQRT_PRICE_X64
    assert bought.next_tick_index == MAX_TICK_INDEX


def test_tick_array_sequence_starts() -> None:
    # The program's own examples (sparse_swap.rs tests, tick spacing 1).
    assert swap_tick_array_starts(0, 1, True) == (0, -88, -176)
    assert swap_tick_array_starts(-1, 1, True) == (-88, -176, -264)
    assert swap_tick_array_starts(-443608, 1, True) == (-443608, -443696)
    assert swap_tick_array_starts(0, 1, False) == (0, 88, 176)
    assert swap_tick_array_starts(87, 1, False) == (88, 176, 264)  # last slot: shifted
    assert swap_tick_array_starts(443600, 1, False) == (443520, 443608)
    assert tick_array_start_index(-1, 64) == -5632


# --- swap properties on random pools -------------------------------------------------------------


@st.composite
def _pools(draw: st.DrawFn) -> WhirlpoolState:
    spacing = draw(st.sampled_from([1, 8, 64, 128]))
    span = TICK_ARRAY_SIZE * spacing
    tick = draw(st.integers(-400_000, 400_000))
    base = tick_array_start_index(tick, spacing)
    ticks: dict[int, list[int]] = {}  # tick index -> [net, gross]
    liquidity = draw(st.integers(0, 10**6))  # a full-range-like position beyond the arrays
    for _ in range(draw(st.integers(0, 6))):
        lower = base + draw(st.integers(-3 * 88, 3 * 88 - 1)) * spacing
        upper = lower + draw(st.integers(1, 60)) * spacing
        amount = draw(st.integers(1, 10**18))
        for index, sign in ((lower, 1), (upper, -1)):
            entry = ticks.setdefault(index, [0, 0])
            entry[0] += sign * amount
            entry[1] += amount
        if lower <= tick < upper:
            liquidity += amount
    low = sqrt_price_from_tick(tick)
    price = low + draw(st.integers(0, sqrt_price_from_tick(tick + 1) - low - 1))
    pool = make_pool(
        tick_spacing=spacing,
        fee_rate=draw(st.sampled_from([100, 500, 3000, 10000, 60000])),
        protocol_fee_rate=draw(st.sampled_from([0, 1300, 2500])),
        liquidity=liquidity,
        sqrt_price=price,
        tick_current_index=tick,
    )
    arrays = []
    for start in range(base - 3 * span, base + 4 * span, span):
        slots = [EMPTY_TICK] * TICK_ARRAY_SIZE
        for index, (net, gross) in ticks.items():
            if start <= index < start + span and MIN_TICK_INDEX <= index <= MAX_TICK_INDEX:
                slots[(index - start) // spacing] = Tick(gross > 0, net, gross, 0, 0, (0, 0, 0))
        arrays.append(TickArray(start, pool.address, tuple(slots)))
    return WhirlpoolState.of(pool, arrays)


def _after(state: WhirlpoolState, a_to_b: bool, amount: int) -> tuple[SwapResult, WhirlpoolState]:
    result = swap(state, amount, amount_specified_is_input=True, a_to_b=a_to_b)
    return result, WhirlpoolState(post_swap_pool(state.pool, result), state.tick_arrays)


_PROPERTY = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@_PROPERTY
@given(state=_pools(), a_to_b=st.booleans(), amount=st.integers(1, 10**15))
def test_a_round_trip_never_creates_value(state: WhirlpoolState, a_to_b: bool, amount: int) -> None:
    try:
        there, after = _after(state, a_to_b, amount)
        assume(there.amount_out > 0)
        back = swap(after, there.amount_out, amount_specified_is_input=True, a_to_b=not a_to_b)
    except QuoteError:
        assume(False)
        return
    assert back.amount_in <= there.amount_out
    assert back.amount_out <= there.amount_in


def _quote(state: WhirlpoolState, amount: int, a_to_b: bool, exact_in: bool) -> Quote:
    """A venue quote, or skip the example where the program refuses (e.g. the walk leaves the arrays)."""
    try:
        if exact_in:
            return VENUE.quote_exact_in(state, amount, a_to_b)
        return VENUE.quote_exact_out(state, amount, a_to_b)
    except QuoteError:
        assume(False)
        raise


@_PROPERTY
@given(state=_pools(), a_to_b=st.booleans(), amount=st.integers(1, 10**15))
def test_exact_out_and_exact_in_are_consistent(state: WhirlpoolState, a_to_b: bool, amount: int) -> None:
    bought = _quote(state, amount, a_to_b, exact_in=False)
    assert bought.amount_out == amount and bought.fee <= bought.amount_in
    # Paying what exact-out asked buys at least the amount. (The converse, exact-out of an exact-in
    # output costing at most its input, does not hold: each step rounds its fee up, and exact-out
    # may cut the walk into more steps.)
    assert _quote(state, bought.amount_in, a_to_b, exact_in=True).amount_out >= amount


@_PROPERTY
@given(
    state=_pools(),
    a_to_b=st.booleans(),
    amounts=st.tuples(st.integers(1, 10**15), st.integers(1, 10**15)),
    exact_in=st.booleans(),
)
def test_quotes_are_monotone(
    state: WhirlpoolState, a_to_b: bool, amounts: tuple[int, int], exact_in: bool
) -> None:
    small, large = sorted(amounts)
    low = _quote(state, small, a_to_b, exact_in)
    high = _quote(state, large, a_to_b, exact_in)
    assert low.amount_in <= high.amount_in
    assert low.amount_out <= high.amount_out
    assert low.fee <= high.fee



@_PROPERTY
@given(state=_pools(), a_to_b=st.booleans(), amount=st.integers(0, 10**15))
def test_a_quote_short_of_the_next_tick_is_the_walk_s(state: WhirlpoolState, a_to_b: bool, amount: int) -> None:
    """The one-step quote answers only for a swap the walk ends before any tick, and with the
    walk's quote; where it raises, the walk raises the same."""
    walked: SwapResult | str
    try:
        walked = swap(state, amount, amount_specified_is_input=True, a_to_b=a_to_b)
    except QuoteError as exc:
        walked = exc.code
    try:
        short = _quote_before_next_tick(state, amount, a_to_b)
    except QuoteError as exc:
        assert exc.code == walked
        return
    if short is not None:
        assert isinstance(walked, SwapResult) and not walked.crossed_ticks
        assert short == walked.to_quote()

@needs_fixtures
def test_post_swap_pool_is_what_the_program_writes() -> None:
    address, data, owner = _load(WHIRLPOOL)
    pool = VENUE.decode_pool(address, data, owner)
    fixed_address, fixed, _ = _load(FIXED)
    state = VENUE.load(pool, {fixed_address: fixed, tick_array_address(address, 0): b""})
    result = swap(state, 10**9, amount_specified_is_input=True, a_to_b=True)
    after = post_swap_pool(pool, result)
    assert (after.sqrt_price, after.tick_current_index, after.liquidity) == (
        result.next_sqrt_price,
        result.next_tick_index,
        result.next_liquidity,
    )
    assert after.fee_growth_global_a == result.next_fee_growth_global > 0
    assert after.protocol_fee_owed_a == result.next_protocol_fee > 0
    assert after.fee_growth_global_b == pool.fee_growth_global_b
    assert decode_whirlpool(address, encode_whirlpool(after), owner) == after
    assert tick_from_sqrt_price(after.sqrt_price) == after.tick_current_index


def _outcome(state: WhirlpoolState, amount: int, a_to_b: bool, exact_in: bool) -> tuple[Quote, SwapResult] | str:
    """The venue's quote and the full swap, or the error code the program would fail with."""
    try:
        quote = VENUE.quote_exact_in(state, amount, a_to_b) if exact_in else VENUE.quote_exact_out(state, amount, a_to_b)
        return quote, swap(state, amount, amount_specified_is_input=exact_in, a_to_b=a_to_b)
    except QuoteError as exc:
        return exc.code


@_PROPERTY
@given(state=_pools(), asks=st.lists(st.tuples(st.integers(1, 10**15), st.booleans()), min_size=2, max_size=5))
def test_a_state_quoted_again_answers_as_a_fresh_copy(state: WhirlpoolState, asks: list[tuple[int, bool]]) -> None:
    """A state keeps its tick-array sequences and the ticks found on them; asked again, in any order
    and either way, it answers what a copy that kept nothing answers."""
    for amount, exact_in in asks + asks[::-1]:
        for a_to_b in (True, False):
            fresh = WhirlpoolState(state.pool, state.tick_arrays)
            assert _outcome(state, amount, a_to_b, exact_in) == _outcome(fresh, amount, a_to_b, exact_in)


@_PROPERTY
@given(
    state=_pools(),
    moves=st.lists(st.integers(-2 * TICK_ARRAY_SIZE, 2 * TICK_ARRAY_SIZE), min_size=1, max_size=6),
    asks=st.lists(st.tuples(st.integers(1, 10**15), st.booleans()), min_size=1, max_size=3),
)
def test_a_state_whose_price_moved_answers_as_a_fresh_one(
    state: WhirlpoolState, moves: list[int], asks: list[tuple[int, bool]]
) -> None:
    """`with_pool` keeps the swaps' walks of the state it moves when the price keeps its array
    position (and only then): quoted both ways before and after each move, within an array, to
    its last slot or across arrays, it answers what a state that kept nothing answers."""
    spacing = state.pool.tick_spacing
    for move in moves:
        for amount, exact_in in asks:  # warm the walks of the state about to be moved
            for a_to_b in (True, False):
                _outcome(state, amount, a_to_b, exact_in)
        tick = min(max(state.pool.tick_current_index + move * spacing, MIN_TICK_INDEX), MAX_TICK_INDEX - 1)
        pool = dataclasses.replace(state.pool, tick_current_index=tick, sqrt_price=sqrt_price_from_tick(tick))
        moved = with_pool(state, pool)
        fresh = WhirlpoolState(pool, state.tick_arrays)
        for amount, exact_in in asks:
            for a_to_b in (True, False):
                assert _outcome(moved, amount, a_to_b, exact_in) == _outcome(fresh, amount, a_to_b, exact_in)
        state = moved


def test_with_pool_shares_the_walks_only_within_one_array_position() -> None:
    state = WhirlpoolState.of(_pool_at_tick_100(), [])
    spacing = state.pool.tick_spacing
    span = TICK_ARRAY_SIZE * spacing
    base = tick_array_start_index(100, spacing)

    def at(tick: int) -> WhirlpoolPool:
        return dataclasses.replace(state.pool, tick_current_index=tick, sqrt_price=sqrt_price_from_tick(tick))

    assert with_pool(state, at(base + spacing))._sequences is state._sequences
    assert with_pool(state, at(base + span - spacing))._sequences is not state._sequences  # the last slot
    assert with_pool(state, at(base - 1))._sequences is not state._sequences
