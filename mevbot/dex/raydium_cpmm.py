"""Raydium CPMM / cp-swap (program CPMMoo8L…): PoolState, AmmConfig, exact quotes, swap instructions.

Facts from raydium-io/raydium-cp-swap@609780f1 (`programs/cp-swap/src/`): layouts in
`states/pool.rs` (zero-copy, packed) and `states/config.rs` (Borsh); the swap checks and their
order in `instructions/swap_base_input.rs` / `swap_base_output.rs`; the fee arithmetic in
`curve/calculator.rs` and `curve/fees.rs`. Token 0 is token A. The pool prices with its vaults
minus the protocol, fund and creator fees it owes; fee rates are parts per 1,000,000.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from mevbot.dex import spl_token
from mevbot.dex.base import (
    U64_MAX,
    U128_MAX,
    Quote,
    QuoteError,
    UnsupportedPool,
    anchor_discriminator,
    check_account,
    make_quote,
    pack_fields,
    positional_constructor,
    unpack_fields,
)
from mevbot.dex.intmath import (
    ceil_div,
    check_source_balance,
    constant_product_in,
    constant_product_out,
    max_source_balance,
    net_of_owed,
    panic,
    u64,
)
from mevbot.dex.swap_data import SwapArgs, SwapKind, SwapTags

PROGRAM_ID = Pubkey.from_string("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C")
POOL_STATE_LEN = 637  # PoolState::LEN
AMM_CONFIG_LEN = 236  # AmmConfig::LEN
POOL_STATE_DISCRIMINATOR = anchor_discriminator("account", "PoolState")
AMM_CONFIG_DISCRIMINATOR = anchor_discriminator("account", "AmmConfig")
SWAP_BASE_INPUT_DISCRIMINATOR = anchor_discriminator("global", "swap_base_input")
SWAP_BASE_OUTPUT_DISCRIMINATOR = anchor_discriminator("global", "swap_base_output")
FEE_RATE_DENOMINATOR = 1_000_000
AUTH_SEED = b"vault_and_lp_mint_auth_seed"
# The Swap context requires the canonical bump (`seeds = [AUTH_SEED], bump`).
AUTHORITY, AUTHORITY_BUMP = Pubkey.find_program_address([AUTH_SEED], PROGRAM_ID)

# PoolState.status bits: a set bit disables the operation.
STATUS_DISABLE_DEPOSIT = 1 << 0
STATUS_DISABLE_WITHDRAW = 1 << 1
STATUS_DISABLE_SWAP = 1 << 2

_SWAP_TAGS = SwapTags(SWAP_BASE_INPUT_DISCRIMINATOR, SWAP_BASE_OUTPUT_DISCRIMINATOR)
_ZERO_KEY = Pubkey.default()


class CreatorFeeOn(IntEnum):
    """pool.rs `CreatorFeeOn`: which token the creator fee is taken in."""

    BOTH_TOKEN = 0  # always the input token
    ONLY_TOKEN_0 = 1
    ONLY_TOKEN_1 = 2


# --- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CpmmPool:
    """PoolState. `mint_a` is token_0_mint, `mint_b` token_1_mint."""

    address: Pubkey
    amm_config: Pubkey
    mint_a: Pubkey
    mint_b: Pubkey
    token_0_vault: Pubkey
    token_1_vault: Pubkey
    pool_creator: Pubkey = _ZERO_KEY
    lp_mint: Pubkey = _ZERO_KEY
    token_0_program: Pubkey = spl_token.TOKEN_PROGRAM_ID
    token_1_program: Pubkey = spl_token.TOKEN_PROGRAM_ID
    observation_key: Pubkey = _ZERO_KEY
    auth_bump: int = AUTHORITY_BUMP
    status: int = 0
    lp_mint_decimals: int = 9
    mint_0_decimals: int = 0
    mint_1_decimals: int = 0
    lp_supply: int = 0
    protocol_fees_token_0: int = 0
    protocol_fees_token_1: int = 0
    fund_fees_token_0: int = 0
    fund_fees_token_1: int = 0
    open_time: int = 0
    recent_epoch: int = 0
    creator_fee_on: int = int(CreatorFeeOn.BOTH_TOKEN)
    enable_creator_fee: bool = False
    creator_fees_token_0: int = 0
    creator_fees_token_1: int = 0

    @property
    def token_0_mint(self) -> Pubkey:
        return self.mint_a

    @property
    def token_1_mint(self) -> Pubkey:
        return self.mint_b


_POOL_LAYOUT = struct.Struct(
    "<8s"
    # amm_config, pool_creator, token_0_vault, token_1_vault, lp_mint, token_0_mint, token_1_mint,
    # token_0_program, token_1_program, observation_key
    + "32s" * 10
    + "5B"  # auth_bump, status, lp_mint_decimals, mint_0_decimals, mint_1_decimals
    "7Q"  # lp_supply, protocol_fees_token_0/1, fund_fees_token_0/1, open_time, recent_epoch
    "2B"  # creator_fee_on, enable_creator_fee
    "6x"  # padding1
    "2Q"  # creator_fees_token_0/1
    "224x"  # padding [u64; 28]
)
assert _POOL_LAYOUT.size == POOL_STATE_LEN, _POOL_LAYOUT.size
_POOL_FIELDS = (
    "amm_config", "pool_creator", "token_0_vault", "token_1_vault", "lp_mint", "mint_a", "mint_b",
    "token_0_program", "token_1_program", "observation_key",
    "auth_bump", "status", "lp_mint_decimals", "mint_0_decimals", "mint_1_decimals",
    "lp_supply", "protocol_fees_token_0", "protocol_fees_token_1", "fund_fees_token_0", "fund_fees_token_1",
    "open_time", "recent_epoch", "creator_fee_on", "enable_creator_fee",
    "creator_fees_token_0", "creator_fees_token_1",
)  # fmt: skip
_POOL_PUBKEYS = frozenset(_POOL_FIELDS[:10])  # the first ten fields


def decode_pool_state(address: Pubkey, data: bytes, owner: Pubkey | None = None) -> CpmmPool:
    """Decode PoolState bytes; refuse a wrong owner, size or discriminator."""
    check_account(
        data, kind="PoolState", size=POOL_STATE_LEN, owner=owner, expected_owner=PROGRAM_ID,
        discriminator=POOL_STATE_DISCRIMINATOR,
    )  # fmt: skip
    values = unpack_fields(_POOL_LAYOUT, _POOL_FIELDS, _POOL_PUBKEYS, data, skip=1)  # after the discriminator
    values["enable_creator_fee"] = bool(values["enable_creator_fee"])
    return CpmmPool(address=address, **values)


def encode_pool_state(pool: CpmmPool) -> bytes:
    """The 637 account bytes of `pool` (for synthetic universes and the sandbox bank)."""
    return pack_fields(_POOL_LAYOUT, _POOL_FIELDS, _POOL_PUBKEYS, pool, prefix=(POOL_STATE_DISCRIMINATOR,))


@dataclass(frozen=True, slots=True)
class CpmmConfig:
    """AmmConfig: the fee rates a pool trades with (parts per 1,000,000; protocol and fund of the trade fee)."""

    address: Pubkey
    trade_fee_rate: int
    protocol_fee_rate: int
    fund_fee_rate: int
    creator_fee_rate: int = 0
    bump: int = 0
    disable_create_pool: bool = False
    index: int = 0
    create_pool_fee: int = 0
    protocol_owner: Pubkey = _ZERO_KEY
    fund_owner: Pubkey = _ZERO_KEY


# bump, disable_create_pool, index, trade/protocol/fund fee rates, create_pool_fee, protocol_owner,
# fund_owner, creator_fee_rate, padding [u64; 15]
_CONFIG_LAYOUT = struct.Struct("<8sBBH4Q32s32sQ120x")
assert _CONFIG_LAYOUT.size == AMM_CONFIG_LEN, _CONFIG_LAYOUT.size


def decode_amm_config(address: Pubkey, data: bytes, owner: Pubkey | None = None) -> CpmmConfig:
    """Decode AmmConfig bytes; refuse a wrong owner, size or discriminator."""
    check_account(
        data, kind="AmmConfig", size=AMM_CONFIG_LEN, owner=owner, expected_owner=PROGRAM_ID,
        discriminator=AMM_CONFIG_DISCRIMINATOR,
    )  # fmt: skip
    (_, bump, disable, index, trade, protocol, fund, create_fee, protocol_owner, fund_owner, creator) = (
        _CONFIG_LAYOUT.unpack(data)
    )
    return CpmmConfig(
        address=address,
        trade_fee_rate=trade,
        protocol_fee_rate=protocol,
        fund_fee_rate=fund,
        creator_fee_rate=creator,
        bump=bump,
        disable_create_pool=bool(disable),
        index=index,
        create_pool_fee=create_fee,
        protocol_owner=Pubkey.from_bytes(protocol_owner),
        fund_owner=Pubkey.from_bytes(fund_owner),
    )


def encode_amm_config(config: CpmmConfig) -> bytes:
    """The 236 account bytes of `config`."""
    return _CONFIG_LAYOUT.pack(
        AMM_CONFIG_DISCRIMINATOR, config.bump, int(config.disable_create_pool), config.index,
        config.trade_fee_rate, config.protocol_fee_rate, config.fund_fee_rate, config.create_pool_fee,
        bytes(config.protocol_owner), bytes(config.fund_owner), config.creator_fee_rate,
    )  # fmt: skip


# --- exact swap math --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeeRates:
    """The rates one swap uses. `creator_fee_rate` is the effective one (0 unless the pool enables it)."""

    trade_fee_rate: int
    protocol_fee_rate: int = 0
    fund_fee_rate: int = 0
    creator_fee_rate: int = 0


@dataclass(frozen=True, slots=True)
class CpmmSwap:
    """A swap as the program books it.

    `amount_in` leaves the trader, `amount_out` reaches the trader. `trade_fee` is in the input
    token and includes `protocol_fee` and `fund_fee`; `creator_fee` is in the input token if
    `creator_fee_on_input`, else in the output token (already taken out of `amount_out`).
    """

    amount_in: int
    amount_out: int
    trade_fee: int
    protocol_fee: int
    fund_fee: int
    creator_fee: int
    creator_fee_on_input: bool

    def quote(self) -> Quote:
        """The venue-neutral view: `fee` is the trade fee, `protocol_fee` its protocol share."""
        return make_quote(self.amount_in, self.amount_out, self.trade_fee, self.protocol_fee)


_cpmm_swap = positional_constructor(CpmmSwap)  # one per quote: a sizing tries many inputs

_ZERO_TRADING_TOKENS = "ZeroTradingTokens"
_REQUIRE_GT = "RequireGtViolated"


def _none(detail: str) -> QuoteError:
    """A `None` from the curve, which the instruction turns into ZeroTradingTokens."""
    return QuoteError(_ZERO_TRADING_TOKENS, detail)


def _require_positive(amount: int, name: str) -> None:
    """Anchor's `require_gt!(amount, 0)`."""
    if amount <= 0:
        raise QuoteError(_REQUIRE_GT, f"require_gt!({name}, 0): {name} is {amount}")


def _rate_sum(trade_fee_rate: int, creator_fee_rate: int) -> int:
    """`trade_fee_rate + creator_fee_rate` in u64 (overflow checks are on: an overflow panics)."""
    return u64(trade_fee_rate + creator_fee_rate, "trade_fee_rate + creator_fee_rate")


def _fee_ceil(amount: int, rate: int, what: str) -> int:
    """fees.rs `ceil_div(amount, rate, 1_000_000)`: (amount·rate + den − 1) / den, None past u128."""
    if amount * rate + FEE_RATE_DENOMINATOR > U128_MAX:
        raise _none(f"{what}: amount * rate overflows u128")
    return ceil_div(amount * rate, FEE_RATE_DENOMINATOR)


def _fee_floor(amount: int, rate: int, denominator: int, what: str) -> int:
    """fees.rs `floor_div`: None for a zero denominator or a u128 overflow."""
    if denominator == 0:
        raise _none(f"{what}: division by zero")
    if amount * rate > U128_MAX:
        raise _none(f"{what}: amount * rate overflows u128")
    return amount * rate // denominator


def _pre_fee_amount(post_fee_amount: int, rate: int) -> int | None:
    """fees.rs `calculate_pre_fee_amount`: the amount whose fee at `rate` leaves `post_fee_amount`."""
    if rate == 0:
        return post_fee_amount
    numerator = post_fee_amount * FEE_RATE_DENOMINATOR
    denominator = FEE_RATE_DENOMINATOR - rate
    if numerator > U128_MAX or denominator <= 0 or numerator + denominator > U128_MAX:
        return None
    return (numerator + denominator - 1) // denominator


def _constant_after(new_in: int, new_out: int) -> int:
    """The invariant after the swap, computed in u128 with an unwrap."""
    if new_in * new_out > U128_MAX:
        raise panic("constant_after: new vault product overflows u128")
    return new_in * new_out


def _check_constant(constant_after: int, reserve_in: int, reserve_out: int) -> None:
    """`require_gte!(constant_after, constant_before)`: the last check before the transfers."""
    if constant_after < reserve_in * reserve_out:
        raise QuoteError("RequireGteViolated", "constant_after < constant_before")


def _check_prices(reserve_in: int, reserve_out: int) -> None:
    """`token_price_x32` divides by both reserves before any curve math: an empty side panics."""
    if reserve_in == 0 or reserve_out == 0:
        raise panic("token_price_x32: division by a zero reserve")


def _split_creator_fee(total_fee: int, rates: FeeRates) -> tuple[int, int]:
    """(trade fee, creator fee) of a fee charged at trade + creator rate: the creator gets
    floor(total · creator_rate / (trade_rate + creator_rate)), both swap directions alike."""
    creator_rate = rates.creator_fee_rate
    creator_fee = _fee_floor(
        total_fee, creator_rate, _rate_sum(rates.trade_fee_rate, creator_rate), "split_creator_fee"
    )
    return total_fee - creator_fee, creator_fee


def _protocol_and_fund_fees(trade_fee: int, rates: FeeRates) -> tuple[int, int]:
    """The protocol's and the fund's shares of the trade fee, each rounded down, protocol first."""
    protocol_fee = _fee_floor(trade_fee, rates.protocol_fee_rate, FEE_RATE_DENOMINATOR, "protocol fee")
    fund_fee = _fee_floor(trade_fee, rates.fund_fee_rate, FEE_RATE_DENOMINATOR, "fund fee")
    return protocol_fee, fund_fee


def _last_checks(
    booked: CpmmSwap, constant_after: int, reserve_in: int, reserve_out: int, source_balance: int | None
) -> CpmmSwap:
    """`booked`, once it passes what both instructions check last, in their order: the invariant
    (`require_gte!`), then the transfer out of the trader's account (InsufficientFunds)."""
    _check_constant(constant_after, reserve_in, reserve_out)
    check_source_balance(booked.amount_in, source_balance, reserve_in)
    return booked


def swap_base_input(
    amount_in: int,
    reserve_in: int,
    reserve_out: int,
    rates: FeeRates,
    creator_fee_on_input: bool,
    source_balance: int | None = None,
) -> CpmmSwap:
    """What `swap_base_input` does with `amount_in` (plain SPL mints, no transfer fee).

    With the creator fee on the input, the program rounds the combined fee up once and gives the
    creator floor(total · creator_rate / (trade_rate + creator_rate)). `source_balance` is the
    trader's input balance (default: the most anyone can hold besides a vault of `reserve_in`).
    """
    _require_positive(amount_in, "actual_amount_in")
    _check_prices(reserve_in, reserve_out)
    trade_rate, creator_rate = rates.trade_fee_rate, rates.creator_fee_rate
    creator_fee = 0
    if creator_fee_on_input:
        rate_sum = _rate_sum(trade_rate, creator_rate)
        total_fee = _fee_ceil(amount_in, rate_sum, "trade + creator fee")
        trade_fee, creator_fee = _split_creator_fee(total_fee, rates)
    else:
        total_fee = trade_fee = _fee_ceil(amount_in, trade_rate, "trade fee")
    if total_fee > amount_in:
        raise _none("fees exceed the input")
    net_in = amount_in - total_fee
    protocol_fee, fund_fee = _protocol_and_fund_fees(trade_fee, rates)
    swapped_out = constant_product_out(net_in, reserve_in, reserve_out)
    amount_out = swapped_out
    if not creator_fee_on_input:
        creator_fee = _fee_ceil(swapped_out, creator_rate, "creator fee")
        if creator_fee > swapped_out:
            raise _none("creator fee exceeds the output")
        amount_out = swapped_out - creator_fee
    if swapped_out > reserve_out:
        raise _none("output exceeds the output vault")
    constant_after = _constant_after(reserve_in + net_in, reserve_out - swapped_out)
    amount_out = u64(amount_out, "output_amount")
    _require_positive(amount_out, "amount_received")
    booked = _cpmm_swap(amount_in, amount_out, trade_fee, protocol_fee, fund_fee, creator_fee, creator_fee_on_input)
    return _last_checks(booked, constant_after, reserve_in, reserve_out, source_balance)


def swap_base_output(
    amount_out: int,
    reserve_in: int,
    reserve_out: int,
    rates: FeeRates,
    creator_fee_on_input: bool,
    source_balance: int | None = None,
) -> CpmmSwap:
    """What `swap_base_output` charges for `amount_out` (plain SPL mints, no transfer fee).

    An output-side creator fee is added to the output the curve must release; the input-side
    fees are grossed up with `calculate_pre_fee_amount` (rounded up), whose failure is a panic.
    """
    _require_positive(amount_out, "amount_out_received")
    _check_prices(reserve_in, reserve_out)
    trade_rate, creator_rate = rates.trade_fee_rate, rates.creator_fee_rate
    creator_fee = 0
    released = amount_out
    if not creator_fee_on_input:
        with_creator_fee = _pre_fee_amount(amount_out, creator_rate)
        if with_creator_fee is None:
            raise _none("calculate_pre_fee_amount(output, creator_fee_rate) failed")
        creator_fee = with_creator_fee - amount_out
        released = with_creator_fee
    swapped_in = constant_product_in(released, reserve_in, reserve_out)
    if creator_fee_on_input:
        rate_sum = _rate_sum(trade_rate, creator_rate)
        amount_in = _pre_fee_amount(swapped_in, rate_sum)
        if amount_in is None:
            raise panic("calculate_pre_fee_amount(input, trade + creator rate).unwrap()")
        trade_fee, creator_fee = _split_creator_fee(amount_in - swapped_in, rates)
    else:
        amount_in = _pre_fee_amount(swapped_in, trade_rate)
        if amount_in is None:
            raise panic("calculate_pre_fee_amount(input, trade_fee_rate).unwrap()")
        trade_fee = amount_in - swapped_in
    protocol_fee, fund_fee = _protocol_and_fund_fees(trade_fee, rates)
    if reserve_in + swapped_in > U128_MAX:
        raise _none("new input vault amount overflows u128")
    constant_after = _constant_after(reserve_in + swapped_in, reserve_out - released)
    amount_in = u64(amount_in, "input_amount")
    _require_positive(amount_in, "input_amount")
    booked = _cpmm_swap(amount_in, amount_out, trade_fee, protocol_fee, fund_fee, creator_fee, creator_fee_on_input)
    return _last_checks(booked, constant_after, reserve_in, reserve_out, source_balance)


# --- the venue --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CpmmState:
    """A pool with its config and vault balances: everything a quote reads.

    `creator_fee_on_input_a_to_b` / `_b_to_a` say where the creator fee is taken for each
    direction (`PoolState::is_creator_fee_on_input`).
    """

    pool: CpmmPool
    config: CpmmConfig
    vault_0_amount: int
    vault_1_amount: int
    reserve_0: int
    reserve_1: int
    rates: FeeRates
    creator_fee_on_input_a_to_b: bool
    creator_fee_on_input_b_to_a: bool


def creator_fee_on_input(creator_fee_on: int, zero_for_one: bool) -> bool:
    """`PoolState::is_creator_fee_on_input`: BothToken always takes the input token."""
    try:
        mode = CreatorFeeOn(creator_fee_on)
    except ValueError:
        raise QuoteError(
            "InvalidFeeModel", f"creator_fee_on {creator_fee_on} is not a CreatorFeeOn"
        ) from None
    if mode is CreatorFeeOn.BOTH_TOKEN:
        return True
    return (mode is CreatorFeeOn.ONLY_TOKEN_0) == zero_for_one


_TRANSFER_FEE_AMOUNT_EXTENSION = 2  # Token-2022 ExtensionType::TransferFeeAmount


def _has_transfer_fee(vault: bytes) -> bool:
    """True when a Token-2022 vault carries TransferFeeAmount, i.e. its mint charges transfer fees."""
    # A base-size account has no extensions: most vault updates stop at the length.
    return len(vault) > spl_token.ACCOUNT_LEN and _TRANSFER_FEE_AMOUNT_EXTENSION in spl_token.extension_types(vault)


def refuse_transfer_fee(pool: CpmmPool, vault: bytes, which: str) -> None:
    """Raise UnsupportedPool when the `which` vault's mint charges a Token-2022 transfer fee (not modelled)."""
    if _has_transfer_fee(vault):
        raise UnsupportedPool(f"{pool.address}: {which} has a Token-2022 transfer fee")


def state_of(pool: CpmmPool, config: CpmmConfig, amount_0: int, amount_1: int) -> CpmmState:
    """The state `load` gives once the config is decoded and the vaults are read; the market calls
    it directly when a pool account changed and its config and vault balances are already known."""
    reserve_0, reserve_1 = _reserves(pool, amount_0, amount_1)
    return CpmmState(
        pool=pool,
        config=config,
        vault_0_amount=amount_0,
        vault_1_amount=amount_1,
        reserve_0=reserve_0,
        reserve_1=reserve_1,
        rates=FeeRates(
            trade_fee_rate=config.trade_fee_rate,
            protocol_fee_rate=config.protocol_fee_rate,
            fund_fee_rate=config.fund_fee_rate,
            creator_fee_rate=config.creator_fee_rate if pool.enable_creator_fee else 0,
        ),
        creator_fee_on_input_a_to_b=creator_fee_on_input(pool.creator_fee_on, zero_for_one=True),
        creator_fee_on_input_b_to_a=creator_fee_on_input(pool.creator_fee_on, zero_for_one=False),
    )


_build_state = positional_constructor(CpmmState)


def with_vault_amounts(state: CpmmState, amount_0: int, amount_1: int) -> CpmmState:
    """What `load` gives when only a vault balance changed: pool, config, rates and fee sides stay."""
    reserve_0, reserve_1 = _reserves(state.pool, amount_0, amount_1)
    return _build_state(
        state.pool, state.config, amount_0, amount_1, reserve_0, reserve_1, state.rates,
        state.creator_fee_on_input_a_to_b, state.creator_fee_on_input_b_to_a,
    )  # fmt: skip


def _reserves(pool: CpmmPool, amount_0: int, amount_1: int) -> tuple[int, int]:
    """The vault balances net of the fees the pool owes out of them (`vault_amount_without_fee`)."""
    owed_0 = pool.protocol_fees_token_0 + pool.fund_fees_token_0 + pool.creator_fees_token_0
    owed_1 = pool.protocol_fees_token_1 + pool.fund_fees_token_1 + pool.creator_fees_token_1
    if max(owed_0, owed_1) > U64_MAX:
        raise QuoteError("MathOverflow", f"{pool.address}: owed fees overflow u64")
    return (
        net_of_owed(amount_0, owed_0, "InsufficientVault", "token 0 vault"),
        net_of_owed(amount_1, owed_1, "InsufficientVault", "token 1 vault"),
    )


class RaydiumCpmm:
    """The `Venue` for Raydium CPMM."""

    name: str = "raydium_cpmm"
    program_id: Pubkey = PROGRAM_ID
    pool_size: int = POOL_STATE_LEN
    mint_offsets: tuple[int, int] = (168, 200)  # token_0_mint, token_1_mint, after the discriminator

    def decode_pool(self, address: Pubkey, data: bytes, owner: Pubkey | None = None) -> CpmmPool:
        """PoolState bytes → `CpmmPool` (see `decode_pool_state`)."""
        return decode_pool_state(address, data, owner)

    def dependencies(self, pool: CpmmPool) -> tuple[Pubkey, ...]:
        """The config holds the fee rates; the vaults hold the reserves."""
        return (pool.amm_config, pool.token_0_vault, pool.token_1_vault)

    def load(self, pool: CpmmPool, accounts: Mapping[Pubkey, bytes]) -> CpmmState:
        """Reserves net of owed fees, as `PoolState::vault_amount_without_fee` computes.

        Raises QuoteError when every swap would fail (``InsufficientVault``, ``MathOverflow``,
        ``InvalidFeeModel``), UnsupportedPool for a mint with a Token-2022 transfer fee (not
        modelled), KeyError when a dependency is missing from `accounts`.
        """
        config = decode_amm_config(pool.amm_config, accounts[pool.amm_config])
        vault_0, vault_1 = accounts[pool.token_0_vault], accounts[pool.token_1_vault]
        refuse_transfer_fee(pool, vault_0, "token 0")
        refuse_transfer_fee(pool, vault_1, "token 1")
        return state_of(pool, config, spl_token.token_amount(vault_0), spl_token.token_amount(vault_1))

    def swap_exact_in(self, state: CpmmState, amount_in: int, a_to_b: bool) -> CpmmSwap:
        """The full booking of an exact-in swap (fees by kind), for the sandbox bank."""
        return _book(swap_base_input, state, amount_in, a_to_b)

    def swap_exact_out(self, state: CpmmState, amount_out: int, a_to_b: bool) -> CpmmSwap:
        """The full booking of an exact-out swap (fees by kind), for the sandbox bank."""
        _require_positive(amount_out, "amount_out_received")  # checked before the pool status
        return _book(swap_base_output, state, amount_out, a_to_b)

    def quote_exact_in(self, state: CpmmState, amount_in: int, a_to_b: bool) -> Quote:
        return self.swap_exact_in(state, amount_in, a_to_b).quote()

    def quote_exact_out(self, state: CpmmState, amount_out: int, a_to_b: bool) -> Quote:
        return self.swap_exact_out(state, amount_out, a_to_b).quote()

    def swap_instruction(
        self, pool: CpmmPool, *, owner: Pubkey, source: Pubkey, destination: Pubkey, a_to_b: bool,
        amount_in: int, minimum_out: int,
        token_programs: tuple[Pubkey, Pubkey] = (spl_token.TOKEN_PROGRAM_ID, spl_token.TOKEN_PROGRAM_ID),
    ) -> Instruction:  # fmt: skip
        """swap_base_input; the vault order (and so the direction) follows `a_to_b`. The token
        programs are the pool's own (`token_0_program`, `token_1_program`): others are refused."""
        if token_programs != (pool.token_0_program, pool.token_1_program):
            raise UnsupportedPool(f"{pool.address}: its mints' token programs are not {token_programs}")
        return swap_base_input_ix(pool, owner, source, destination, a_to_b, amount_in, minimum_out)

    def swap_layout(self, pool: CpmmPool, a_to_b: bool) -> None:
        """The pool's accounts never move (the direction orders the vaults, and is in the key)."""
        return None

    def swap_data(self, pool: CpmmPool, a_to_b: bool, amount_in: int, minimum_out: int) -> bytes:
        return swap_base_input_data(amount_in, minimum_out)


def _sides(state: CpmmState, a_to_b: bool) -> tuple[int, int, int, bool]:
    """(reserve_in, reserve_out, input vault balance, creator fee on input) after the status check.

    The program also refuses before `open_time`; the market model, which has the cluster's clock,
    holds such a pool back (`MarketModel.set_clock`).
    """
    if state.pool.status & STATUS_DISABLE_SWAP:
        raise QuoteError(
            "NotApproved", f"{state.pool.address}: swaps are disabled (status {state.pool.status})"
        )
    if a_to_b:
        return state.reserve_0, state.reserve_1, state.vault_0_amount, state.creator_fee_on_input_a_to_b
    return state.reserve_1, state.reserve_0, state.vault_1_amount, state.creator_fee_on_input_b_to_a


def _book(curve: Callable[[int, int, int, FeeRates, bool, int], CpmmSwap], state: CpmmState, amount: int,
          a_to_b: bool) -> CpmmSwap:  # fmt: skip
    """`curve` (`swap_base_input` or `_output`) on `state` in one direction: both bookings run the
    same status check, the state's rates and the largest balance a trader can hold besides the vault."""
    reserve_in, reserve_out, vault_in, on_input = _sides(state, a_to_b)
    return curve(amount, reserve_in, reserve_out, state.rates, on_input, max_source_balance(vault_in))


VENUE = RaydiumCpmm()


# --- swap instructions ------------------------------------------------------------------------


def _swap(
    pool: CpmmPool,
    payer: Pubkey,
    input_token_account: Pubkey,
    output_token_account: Pubkey,
    a_to_b: bool,
    data: bytes,
) -> Instruction:
    """swap_base_input / swap_base_output (as `data` says), with the `Swap` accounts context of
    swap_base_input.rs (the two share it), in order."""
    if a_to_b:
        vaults = (pool.token_0_vault, pool.token_1_vault)
        programs = (pool.token_0_program, pool.token_1_program)
        mints = (pool.mint_a, pool.mint_b)
    else:
        vaults = (pool.token_1_vault, pool.token_0_vault)
        programs = (pool.token_1_program, pool.token_0_program)
        mints = (pool.mint_b, pool.mint_a)
    accounts = [
        AccountMeta(payer, is_signer=True, is_writable=False),
        AccountMeta(AUTHORITY, is_signer=False, is_writable=False),
        AccountMeta(pool.amm_config, is_signer=False, is_writable=False),
        AccountMeta(pool.address, is_signer=False, is_writable=True),
        AccountMeta(input_token_account, is_signer=False, is_writable=True),
        AccountMeta(output_token_account, is_signer=False, is_writable=True),
        AccountMeta(vaults[0], is_signer=False, is_writable=True),
        AccountMeta(vaults[1], is_signer=False, is_writable=True),
        AccountMeta(programs[0], is_signer=False, is_writable=False),
        AccountMeta(programs[1], is_signer=False, is_writable=False),
        AccountMeta(mints[0], is_signer=False, is_writable=False),
        AccountMeta(mints[1], is_signer=False, is_writable=False),
        AccountMeta(pool.observation_key, is_signer=False, is_writable=True),
    ]
    return Instruction(PROGRAM_ID, data, accounts)


def swap_base_input_ix(
    pool: CpmmPool,
    payer: Pubkey,
    input_token_account: Pubkey,
    output_token_account: Pubkey,
    a_to_b: bool,
    amount_in: int,
    minimum_amount_out: int,
) -> Instruction:
    """`swap_base_input(amount_in, minimum_amount_out)`; `payer` signs and owns the input account."""
    data = swap_base_input_data(amount_in, minimum_amount_out)
    return _swap(pool, payer, input_token_account, output_token_account, a_to_b, data)


def swap_base_input_data(amount_in: int, minimum_amount_out: int) -> bytes:
    """The data of `swap_base_input_ix` (its accounts depend only on the pool and the users)."""
    return _SWAP_TAGS.pack(SwapArgs(SwapKind.EXACT_IN, amount_in, minimum_amount_out))


def swap_base_output_ix(
    pool: CpmmPool,
    payer: Pubkey,
    input_token_account: Pubkey,
    output_token_account: Pubkey,
    a_to_b: bool,
    max_amount_in: int,
    amount_out: int,
) -> Instruction:
    """`swap_base_output(max_amount_in, amount_out)`; `payer` signs and owns the input account."""
    data = _SWAP_TAGS.pack(SwapArgs(SwapKind.EXACT_OUT, amount_out, max_amount_in))
    return _swap(pool, payer, input_token_account, output_token_account, a_to_b, data)


def parse_swap(data: bytes) -> SwapArgs:
    """The arguments of a swap_base_input / swap_base_output instruction (for the sandbox bank)."""
    return _SWAP_TAGS.unpack(data)


# Positions in the Swap account list, for a bank that executes these instructions.
(
    SWAP_PAYER, SWAP_AUTHORITY, SWAP_AMM_CONFIG, SWAP_POOL_STATE, SWAP_INPUT_TOKEN_ACCOUNT,
    SWAP_OUTPUT_TOKEN_ACCOUNT, SWAP_INPUT_VAULT, SWAP_OUTPUT_VAULT, SWAP_INPUT_TOKEN_PROGRAM,
    SWAP_OUTPUT_TOKEN_PROGRAM, SWAP_INPUT_TOKEN_MINT, SWAP_OUTPUT_TOKEN_MINT, SWAP_OBSERVATION_STATE,
) = range(13)  # fmt: skip
