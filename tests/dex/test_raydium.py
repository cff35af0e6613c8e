"""Raydium AMM v4 and CPMM: account decoding, load(), and quote properties.

The layouts are pinned by offsets read off the programs' structs (raydium-amm `state.rs` AmmInfo,
raydium-cp-swap `states/pool.rs` PoolState and `states/config.rs` AmmConfig), independently of the
`struct` formats the decoders use.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4 as amm
from mevbot.dex import raydium_cpmm as cpmm
from mevbot.dex.base import (
    U64_MAX,
    OversizedAccount,
    Quote,
    QuoteError,
    TruncatedAccount,
    UnsupportedPool,
    Venue,
    WrongAccountType,
    WrongOwner,
)
from mevbot.dex.spl_token import TOKEN_2022_PROGRAM_ID, encode_token_account

KEYS = [Pubkey.new_unique() for _ in range(16)]
POOL, CONFIG, MINT_A, MINT_B, VAULT_A, VAULT_B, AUTH = KEYS[:7]


def vault(mint: Pubkey, amount: int) -> bytes:
    return encode_token_account(mint, AUTH, amount)


# --- AMM v4: decoding ---------------------------------------------------------------------------


def amm_pool(**changes: object) -> amm.AmmV4Pool:
    pool = amm.AmmV4Pool(
        address=POOL, mint_a=MINT_A, mint_b=MINT_B, coin_vault=VAULT_A, pc_vault=VAULT_B,
        lp_mint=KEYS[7], open_orders=KEYS[8], market=KEYS[9], market_program=KEYS[10],
        target_orders=KEYS[11], amm_owner=KEYS[12],
        coin_decimals=9, pc_decimals=6, swap_fee_numerator=30, swap_fee_denominator=10_000,
        need_take_pnl_coin=11, need_take_pnl_pc=22, pool_open_time=1_700_000_000,
        lp_amount=123_456, client_order_id=7, recent_epoch=600,
    )  # fmt: skip
    return replace(pool, **changes)


def test_amm_info_round_trip() -> None:
    pool = amm_pool()
    data = amm.encode_amm_info(pool)
    assert len(data) == amm.AMM_INFO_LEN == 752
    assert amm.VENUE.decode_pool(POOL, data, amm.PROGRAM_ID) == pool


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, U64_MAX), min_size=40, max_size=40), st.integers(0, 7))
def test_amm_info_round_trip_any_values(values: list[int], status: int) -> None:
    names = [name for name in amm._LAYOUT_FIELDS if name not in amm._PUBKEY_FIELDS]
    pool = amm_pool(**{**dict(zip(names, values, strict=False)), "status": status})
    assert amm.decode_amm_info(POOL, amm.encode_amm_info(pool)) == pool


def test_amm_info_offsets() -> None:
    """Offsets summed by hand from state.rs: 16 u64, Fees (8 u64), StateData (144 bytes), 9 keys…"""
    data = amm.encode_amm_info(amm_pool())
    u64_at = {0: 6, 8: amm.AUTHORITY_NONCE, 32: 9, 40: 6, 176: 30, 184: 10_000, 192: 11, 200: 22,
              224: 1_700_000_000, 720: 123_456, 728: 7, 736: 600}  # fmt: skip
    for offset, value in u64_at.items():
        assert struct.unpack_from("<Q", data, offset)[0] == value, offset
    keys_at = {336: VAULT_A, 368: VAULT_B, 400: MINT_A, 432: MINT_B, 464: KEYS[7], 496: KEYS[8],
               528: KEYS[9], 560: KEYS[10], 592: KEYS[11], 688: KEYS[12]}  # fmt: skip
    for offset, key in keys_at.items():
        assert data[offset : offset + 32] == bytes(key), offset


@pytest.mark.parametrize(
    ("data", "owner", "error"),
    [
        (bytes(751), None, TruncatedAccount),
        (bytes(753), None, OversizedAccount),
        (bytes(0), None, TruncatedAccount),
        (bytes(752), cpmm.PROGRAM_ID, WrongOwner),
        (b"\x08" + bytes(751), None, WrongAccountType),  # status 8 is no AmmStatus
    ],
)
def test_amm_info_refused(data: bytes, owner: Pubkey | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        amm.VENUE.decode_pool(POOL, data, owner)


def test_amm_load_nets_need_take_pnl() -> None:
    pool = amm_pool()
    assert amm.VENUE.dependencies(pool) == (VAULT_A, VAULT_B)
    state = amm.VENUE.load(pool, {VAULT_A: vault(MINT_A, 1_000), VAULT_B: vault(MINT_B, 5_000)})
    assert (state.reserve_coin, state.reserve_pc) == (1_000 - 11, 5_000 - 22)
    quote = amm.VENUE.quote_exact_in(state, 100, a_to_b=True)
    assert quote == amm.swap_base_in(100, 989, 4_978, 30, 10_000)
    assert amm.VENUE.quote_exact_out(state, 100, a_to_b=False) == amm.swap_base_out(
        100, 4_978, 989, 30, 10_000
    )


def test_amm_load_refuses_pnl_above_vault() -> None:
    with pytest.raises(QuoteError) as info:
        amm.VENUE.load(amm_pool(), {VAULT_A: vault(MINT_A, 10), VAULT_B: vault(MINT_B, 5_000)})
    assert info.value.code == "CheckedSubOverflow"


def test_amm_balance_cap_counts_pnl_in_the_vault() -> None:
    """The trader can hold at most 2^64 − 1 − vault (not − reserve): pnl sits in the vault too."""
    pool = amm_pool(need_take_pnl_coin=1_000)
    state = amm.VENUE.load(pool, {VAULT_A: vault(MINT_A, 2_000), VAULT_B: vault(MINT_B, 10**12)})
    amm.VENUE.quote_exact_in(state, U64_MAX - 2_000, a_to_b=True)
    with pytest.raises(QuoteError, match="InsufficientFunds"):
        amm.VENUE.quote_exact_in(state, U64_MAX - 1_999, a_to_b=True)


@pytest.mark.parametrize("status", [0, 2, 3, 4, 5])
def test_amm_status_without_swap_permission(status: int) -> None:
    state = amm.VENUE.load(
        amm_pool(status=status), {VAULT_A: vault(MINT_A, 10**9), VAULT_B: vault(MINT_B, 10**9)}
    )
    with pytest.raises(QuoteError) as info:
        amm.VENUE.quote_exact_in(state, 1_000, a_to_b=True)
    assert info.value.code == "InvalidStatus"


# --- CPMM: decoding -----------------------------------------------------------------------------


def cpmm_pool(**changes: object) -> cpmm.CpmmPool:
    pool = cpmm.CpmmPool(
        address=POOL, amm_config=CONFIG, mint_a=MINT_A, mint_b=MINT_B, token_0_vault=VAULT_A,
        token_1_vault=VAULT_B, pool_creator=KEYS[7], lp_mint=KEYS[8], token_1_program=TOKEN_2022_PROGRAM_ID,
        observation_key=KEYS[9], status=0, lp_mint_decimals=9, mint_0_decimals=6, mint_1_decimals=9,
        lp_supply=10**12, protocol_fees_token_0=1, protocol_fees_token_1=2, fund_fees_token_0=3,
        fund_fees_token_1=4, open_time=1_700_000_000, recent_epoch=700, creator_fee_on=2,
        enable_creator_fee=True, creator_fees_token_0=5, creator_fees_token_1=6,
    )  # fmt: skip
    return replace(pool, **changes)


def cpmm_config(**changes: object) -> cpmm.CpmmConfig:
    config = cpmm.CpmmConfig(
        address=CONFIG, trade_fee_rate=2_500, protocol_fee_rate=120_000, fund_fee_rate=40_000,
        creator_fee_rate=1_000, bump=254, index=3, create_pool_fee=150_000_000,
        protocol_owner=KEYS[10], fund_owner=KEYS[11],
    )  # fmt: skip
    return replace(config, **changes)


def test_pool_state_round_trip_and_offsets() -> None:
    pool = cpmm_pool()
    data = cpmm.encode_pool_state(pool)
    assert len(data) == cpmm.POOL_STATE_LEN == 637
    assert cpmm.VENUE.decode_pool(POOL, data, cpmm.PROGRAM_ID) == pool
    assert data[:8] == bytes([247, 237, 227, 245, 215, 195, 222, 70])
    keys_at = {8: CONFIG, 40: KEYS[7], 72: VAULT_A, 104: VAULT_B, 136: KEYS[8], 168: MINT_A, 200: MINT_B,
               232: cpmm.spl_token.TOKEN_PROGRAM_ID, 264: TOKEN_2022_PROGRAM_ID, 296: KEYS[9]}  # fmt: skip
    for offset, key in keys_at.items():
        assert data[offset : offset + 32] == bytes(key), offset
    assert data[328:333] == bytes([cpmm.AUTHORITY_BUMP, 0, 9, 6, 9])
    u64_at = {333: 10**12, 341: 1, 349: 2, 357: 3, 365: 4, 373: 1_700_000_000, 381: 700, 397: 5, 405: 6}
    for offset, value in u64_at.items():
        assert struct.unpack_from("<Q", data, offset)[0] == value, offset
    assert data[389:391] == bytes([2, 1])


def test_amm_config_round_trip_and_offsets() -> None:
    config = cpmm_config()
    data = cpmm.encode_amm_config(config)
    assert len(data) == cpmm.AMM_CONFIG_LEN == 236
    assert cpmm.decode_amm_config(CONFIG, data, cpmm.PROGRAM_ID) == config
    assert data[:8] == bytes([218, 244, 33, 104, 203, 203, 43, 111])
    assert data[8:12] == bytes([254, 0, 3, 0])
    u64_at = {12: 2_500, 20: 120_000, 28: 40_000, 36: 150_000_000, 108: 1_000}
    for offset, value in u64_at.items():
        assert struct.unpack_from("<Q", data, offset)[0] == value, offset
    assert data[44:76] == bytes(KEYS[10]) and data[76:108] == bytes(KEYS[11])


def _pool_bytes() -> bytes:
    return cpmm.encode_pool_state(cpmm_pool())


def _config_bytes() -> bytes:
    return cpmm.encode_amm_config(cpmm_config())


@pytest.mark.parametrize(
    ("decode", "data", "owner", "error"),
    [
        (cpmm.decode_pool_state, lambda: _pool_bytes()[:-1], None, TruncatedAccount),
        (cpmm.decode_pool_state, lambda: _pool_bytes() + b"\0", None, OversizedAccount),
        (cpmm.decode_pool_state, _pool_bytes, amm.PROGRAM_ID, WrongOwner),
        (cpmm.decode_pool_state, lambda: _config_bytes()[:8] + _pool_bytes()[8:], None, WrongAccountType),
        (cpmm.decode_amm_config, lambda: _config_bytes()[:100], None, TruncatedAccount),
        (cpmm.decode_amm_config, lambda: _config_bytes() + bytes(8), None, OversizedAccount),
        (cpmm.decode_amm_config, _config_bytes, amm.PROGRAM_ID, WrongOwner),
        (cpmm.decode_amm_config, lambda: _pool_bytes()[:8] + _config_bytes()[8:], None, WrongAccountType),
    ],
)
def test_cpmm_accounts_refused(
    decode: Callable[..., object], data: Callable[[], bytes], owner: Pubkey | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        decode(POOL, data(), owner)


def cpmm_accounts(amount_0: int = 10**9, amount_1: int = 2 * 10**9, **config: object) -> dict[Pubkey, bytes]:
    return {
        CONFIG: cpmm.encode_amm_config(cpmm_config(**config)),
        VAULT_A: vault(MINT_A, amount_0),
        VAULT_B: vault(MINT_B, amount_1),
    }


def test_cpmm_load_nets_owed_fees() -> None:
    pool = cpmm_pool()
    assert cpmm.VENUE.dependencies(pool) == (CONFIG, VAULT_A, VAULT_B)
    state = cpmm.VENUE.load(pool, cpmm_accounts())
    assert (state.reserve_0, state.reserve_1) == (10**9 - (1 + 3 + 5), 2 * 10**9 - (2 + 4 + 6))
    assert state.rates == cpmm.FeeRates(2_500, 120_000, 40_000, 1_000)
    # creator_fee_on = OnlyToken1: on the input when token 1 goes in, on the output otherwise.
    assert (state.creator_fee_on_input_a_to_b, state.creator_fee_on_input_b_to_a) == (False, True)
    swap = cpmm.swap_base_input(10**6, state.reserve_0, state.reserve_1, state.rates, False)
    assert cpmm.VENUE.quote_exact_in(state, 10**6, a_to_b=True) == swap.quote()
    assert swap.creator_fee > 0


def test_cpmm_creator_fee_off_unless_enabled() -> None:
    state = cpmm.VENUE.load(cpmm_pool(enable_creator_fee=False), cpmm_accounts())
    assert state.rates.creator_fee_rate == 0
    assert cpmm.VENUE.swap_exact_in(state, 10**6, a_to_b=True).creator_fee == 0


@pytest.mark.parametrize(
    ("fee_on", "a_to_b", "b_to_a"), [(0, True, True), (1, True, False), (2, False, True)]
)
def test_cpmm_creator_fee_side(fee_on: int, a_to_b: bool, b_to_a: bool) -> None:
    state = cpmm.VENUE.load(cpmm_pool(creator_fee_on=fee_on), cpmm_accounts())
    assert (state.creator_fee_on_input_a_to_b, state.creator_fee_on_input_b_to_a) == (a_to_b, b_to_a)


@pytest.mark.parametrize(
    ("pool", "accounts", "code"),
    [
        (cpmm_pool(), cpmm_accounts(amount_0=8), "InsufficientVault"),
        (cpmm_pool(fund_fees_token_1=U64_MAX), cpmm_accounts(), "MathOverflow"),
        (cpmm_pool(creator_fee_on=3), cpmm_accounts(), "InvalidFeeModel"),
    ],
)
def test_cpmm_load_refused(pool: cpmm.CpmmPool, accounts: dict[Pubkey, bytes], code: str) -> None:
    with pytest.raises(QuoteError) as info:
        cpmm.VENUE.load(pool, accounts)
    assert info.value.code == code


def test_cpmm_transfer_fee_mint_unsupported() -> None:
    accounts = cpmm_accounts()
    # A Token-2022 account: account-type byte 2, then a TransferFeeAmount TLV (type 2, 8 bytes).
    accounts[VAULT_B] = accounts[VAULT_B] + b"\x02" + struct.pack("<HHQ", 2, 8, 0)
    with pytest.raises(UnsupportedPool):
        cpmm.VENUE.load(cpmm_pool(), accounts)
    accounts[VAULT_B] = accounts[VAULT_B][:166] + struct.pack("<HH", 7, 0)  # ImmutableOwner only
    cpmm.VENUE.load(cpmm_pool(), accounts)


def test_cpmm_swap_disabled() -> None:
    state = cpmm.VENUE.load(cpmm_pool(status=cpmm.STATUS_DISABLE_SWAP), cpmm_accounts())
    for quote in (cpmm.VENUE.quote_exact_in, cpmm.VENUE.quote_exact_out):
        with pytest.raises(QuoteError) as info:
            quote(state, 1_000, True)
        assert info.value.code == "NotApproved"
    deposit_only_off = cpmm.VENUE.load(cpmm_pool(status=cpmm.STATUS_DISABLE_DEPOSIT), cpmm_accounts())
    cpmm.VENUE.quote_exact_in(deposit_only_off, 1_000, True)


def test_venues_implement_the_protocol() -> None:
    assert isinstance(amm.VENUE, Venue) and amm.VENUE.name == "raydium_amm_v4"
    assert isinstance(cpmm.VENUE, Venue) and cpmm.VENUE.name == "raydium_cpmm"


# --- quote properties ---------------------------------------------------------------------------

Quoter = Callable[[int, int, int, object], Quote]


def _amm_in(amount: int, r_in: int, r_out: int, fees: object) -> Quote:
    return amm.swap_base_in(amount, r_in, r_out, *fees)  # type: ignore[misc]


def _amm_out(amount: int, r_in: int, r_out: int, fees: object) -> Quote:
    return amm.swap_base_out(amount, r_in, r_out, *fees)  # type: ignore[misc]


def _cpmm_in(amount: int, r_in: int, r_out: int, fees: object) -> Quote:
    rates, on_input = fees  # type: ignore[misc]
    return cpmm.swap_base_input(amount, r_in, r_out, rates, on_input).quote()


def _cpmm_out(amount: int, r_in: int, r_out: int, fees: object) -> Quote:
    rates, on_input = fees  # type: ignore[misc]
    return cpmm.swap_base_output(amount, r_in, r_out, rates, on_input).quote()


amm_fees = st.integers(1, 10**6).flatmap(lambda den: st.tuples(st.integers(0, den - 1), st.just(den)))
# Rates `create_amm_config` accepts: trade + creator below 100%, protocol + fund at most 100%.
cpmm_fees = st.tuples(
    st.integers(0, 200_000).flatmap(
        lambda trade: st.builds(
            cpmm.FeeRates,
            st.just(trade),
            st.integers(0, 500_000),
            st.integers(0, 500_000),
            st.integers(0, 200_000).filter(lambda creator: trade + creator > 0),
        )
    ),
    st.booleans(),
)
amounts = st.one_of(st.integers(1, 10**6), st.integers(1, U64_MAX), st.integers(1, 2**40))
VENUES = [
    pytest.param(_amm_in, _amm_out, amm_fees, id="raydium_amm_v4"),
    pytest.param(_cpmm_in, _cpmm_out, cpmm_fees, id="raydium_cpmm"),
]
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


def _try(quote: Quoter, amount: int, r_in: int, r_out: int, fees: object) -> Quote | None:
    try:
        return quote(amount, r_in, r_out, fees)
    except QuoteError:
        return None


@pytest.mark.parametrize(("quote_in", "quote_out", "fees"), VENUES)
def test_exact_in_never_empties_the_pool(
    quote_in: Quoter, quote_out: Quoter, fees: st.SearchStrategy
) -> None:
    @PROPERTY_SETTINGS
    @given(amounts, amounts, amounts, fees)
    def check(amount: int, r_in: int, r_out: int, fee: object) -> None:
        quote = _try(quote_in, amount, r_in, r_out, fee)
        assume(quote is not None)
        assert quote is not None
        assert 0 < quote.amount_out < r_out
        assert quote.amount_in == amount
        assert r_in + amount <= U64_MAX

    check()


@pytest.mark.parametrize(("quote_in", "quote_out", "fees"), VENUES)
def test_exact_out_pays_at_least_the_exact_in_price(
    quote_in: Quoter, quote_out: Quoter, fees: st.SearchStrategy
) -> None:
    """Paying what exact-out asks for y buys at least y on the exact-in path."""

    @PROPERTY_SETTINGS
    @given(amounts, amounts, amounts, fees)
    def check(amount: int, r_in: int, r_out: int, fee: object) -> None:
        wanted = amount % r_out or 1
        quote = _try(quote_out, wanted, r_in, r_out, fee)
        assume(quote is not None)
        assert quote is not None and quote.amount_out == wanted
        assert quote_in(quote.amount_in, r_in, r_out, fee).amount_out >= wanted

    check()


@pytest.mark.parametrize(("quote_in", "quote_out", "fees"), VENUES)
def test_exact_in_is_monotone(quote_in: Quoter, quote_out: Quoter, fees: st.SearchStrategy) -> None:
    @PROPERTY_SETTINGS
    @given(amounts, amounts, amounts, amounts, fees)
    def check(a: int, b: int, r_in: int, r_out: int, fee: object) -> None:
        small, large = sorted((a, b))
        assume(r_in + large <= U64_MAX)
        quote_large = _try(quote_in, large, r_in, r_out, fee)
        assume(quote_large is not None)
        assert quote_large is not None
        quote_small = _try(quote_in, small, r_in, r_out, fee)
        assert (quote_small.amount_out if quote_small else 0) <= quote_large.amount_out

    check()
