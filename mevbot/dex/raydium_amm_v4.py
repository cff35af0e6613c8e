"""Raydium AMM v4 (program 675kPX9M…): the 752-byte AmmInfo, its exact quotes and its v2 swaps.

Facts from raydium-io/raydium-amm@27f461dd: the layout is `state.rs` `AmmInfo` (`repr(C, packed)`,
no discriminator); the swap checks and their order are `processor.rs` `process_swap_base_in` /
`process_swap_base_out` (the v2 variants compute identically with fewer accounts); the curve is
`math.rs` `Calculator::swap_token_amount_base_in` / `_base_out`. The pool prices with its vaults
minus `need_take_pnl`; "coin" is token A and "pc" token B.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import IntEnum

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from mevbot.dex import spl_token
from mevbot.dex.base import (
    Quote,
    QuoteError,
    UnsupportedPool,
    WrongAccountType,
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
    u128,
)
from mevbot.dex.swap_data import SwapArgs, SwapKind, SwapTags

PROGRAM_ID = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
AMM_INFO_LEN = 752
_SPL_TOKEN_BOTH = (spl_token.TOKEN_PROGRAM_ID, spl_token.TOKEN_PROGRAM_ID)
AUTHORITY_SEED = b"amm authority"
# `initialize2` requires the nonce that find_program_address yields, so every pool stores this one.
AUTHORITY, AUTHORITY_NONCE = Pubkey.find_program_address([AUTHORITY_SEED], PROGRAM_ID)

# instruction.rs `AmmInstruction::unpack`: 16 SwapBaseInV2, 17 SwapBaseOutV2.
SWAP_BASE_IN_V2_TAG = 16
SWAP_BASE_OUT_V2_TAG = 17
_SWAP_TAGS = SwapTags(bytes([SWAP_BASE_IN_V2_TAG]), bytes([SWAP_BASE_OUT_V2_TAG]))


class AmmStatus(IntEnum):
    """state.rs `AmmStatus`; only Initialized, SwapOnly and WaitingTrade (once open) may swap."""

    UNINITIALIZED = 0
    INITIALIZED = 1
    DISABLED = 2
    WITHDRAW_ONLY = 3
    LIQUIDITY_ONLY = 4
    ORDER_BOOK_ONLY = 5
    SWAP_ONLY = 6
    WAITING_TRADE = 7


_ZERO_KEY = Pubkey.default()
_SWAP_STATUSES = frozenset({AmmStatus.INITIALIZED, AmmStatus.SWAP_ONLY, AmmStatus.WAITING_TRADE})


@dataclass(frozen=True, slots=True)
class AmmV4Pool:
    """The AmmInfo fields a searcher uses. `mint_a` is the coin mint, `mint_b` the pc mint.

    Deprecated statistics and padding are not kept; `encode_amm_info` writes them as zero.
    """

    address: Pubkey
    mint_a: Pubkey
    mint_b: Pubkey
    coin_vault: Pubkey
    pc_vault: Pubkey
    lp_mint: Pubkey = _ZERO_KEY
    open_orders: Pubkey = _ZERO_KEY
    market: Pubkey = _ZERO_KEY
    market_program: Pubkey = _ZERO_KEY
    target_orders: Pubkey = _ZERO_KEY
    amm_owner: Pubkey = _ZERO_KEY
    status: int = int(AmmStatus.SWAP_ONLY)
    nonce: int = AUTHORITY_NONCE
    order_num: int = 7
    depth: int = 3
    coin_decimals: int = 0
    pc_decimals: int = 0
    state: int = 1
    reset_flag: int = 1
    min_size: int = 0
    vol_max_cut_ratio: int = 500
    amount_wave: int = 0
    coin_lot_size: int = 0
    pc_lot_size: int = 0
    min_price_multiplier: int = 1
    max_price_multiplier: int = 1_000_000_000
    sys_decimal_value: int = 1
    min_separate_numerator: int = 5
    min_separate_denominator: int = 10_000
    trade_fee_numerator: int = 25
    trade_fee_denominator: int = 10_000
    pnl_numerator: int = 12
    pnl_denominator: int = 100
    swap_fee_numerator: int = 25
    swap_fee_denominator: int = 10_000
    need_take_pnl_coin: int = 0
    need_take_pnl_pc: int = 0
    pool_open_time: int = 0
    lp_amount: int = 0
    client_order_id: int = 0
    recent_epoch: int = 0

    @property
    def coin_mint(self) -> Pubkey:
        return self.mint_a

    @property
    def pc_mint(self) -> Pubkey:
        return self.mint_b


# The packed AmmInfo. The field names below follow the struct's order; "x" skips what we drop.
_LAYOUT = struct.Struct(
    "<"
    "16Q"  # status … sys_decimal_value
    "8Q"  # Fees: min_separate, trade_fee, pnl, swap_fee (numerator, denominator each)
    "2Q"  # StateData.need_take_pnl_coin, need_take_pnl_pc
    "16x"  # total_pnl_pc, total_pnl_coin (deprecated)
    "Q"  # pool_open_time
    "16x"  # padding [u64; 2]
    "8x"  # orderbook_to_init_time (deprecated)
    "80x"  # swap_{coin_in,pc_out} u128, swap_acc_pc_fee u64, swap_{pc_in,coin_out} u128, swap_acc_coin_fee u64
    # coin_vault, pc_vault, coin_vault_mint, pc_vault_mint, lp_mint, open_orders, market,
    # market_program, target_orders
    + "32s"
    * 9
    + "64x"  # padding1 [u64; 8]
    "32s"  # amm_owner
    "3Q"  # lp_amount, client_order_id, recent_epoch
    "8x"  # padding2
)
assert _LAYOUT.size == AMM_INFO_LEN, _LAYOUT.size
_LAYOUT_FIELDS = (
    "status", "nonce", "order_num", "depth", "coin_decimals", "pc_decimals", "state", "reset_flag",
    "min_size", "vol_max_cut_ratio", "amount_wave", "coin_lot_size", "pc_lot_size",
    "min_price_multiplier", "max_price_multiplier", "sys_decimal_value",
    "min_separate_numerator", "min_separate_denominator", "trade_fee_numerator", "trade_fee_denominator",
    "pnl_numerator", "pnl_denominator", "swap_fee_numerator", "swap_fee_denominator",
    "need_take_pnl_coin", "need_take_pnl_pc", "pool_open_time",
    "coin_vault", "pc_vault", "mint_a", "mint_b", "lp_mint", "open_orders", "market", "market_program",
    "target_orders", "amm_owner", "lp_amount", "client_order_id", "recent_epoch",
)  # fmt: skip
_PUBKEY_FIELDS = frozenset(f.name for f in fields(AmmV4Pool) if f.type in ("Pubkey", Pubkey))
assert set(_LAYOUT_FIELDS) == {f.name for f in fields(AmmV4Pool)} - {"address"}


def decode_amm_info(address: Pubkey, data: bytes, owner: Pubkey | None = None) -> AmmV4Pool:
    """Decode AmmInfo bytes; refuse a wrong owner, a wrong size or a status the program cannot parse."""
    check_account(data, kind="AmmInfo", size=AMM_INFO_LEN, owner=owner, expected_owner=PROGRAM_ID)
    values = unpack_fields(_LAYOUT, _LAYOUT_FIELDS, _PUBKEY_FIELDS, data)
    if values["status"] > max(AmmStatus):
        # AmmStatus::from_u64 is `unreachable!()` here: these bytes are no pool the program accepts.
        raise WrongAccountType(f"AmmInfo: status {values['status']} is not an AmmStatus")
    return AmmV4Pool(address=address, **values)


def encode_amm_info(pool: AmmV4Pool) -> bytes:
    """The 752 account bytes of `pool` (for synthetic universes and the sandbox bank)."""
    return pack_fields(_LAYOUT, _LAYOUT_FIELDS, _PUBKEY_FIELDS, pool)


@dataclass(frozen=True, slots=True)
class AmmV4State:
    """A pool with its vault balances: everything a quote reads."""

    pool: AmmV4Pool
    coin_vault_amount: int
    pc_vault_amount: int
    reserve_coin: int
    reserve_pc: int


def swap_base_in(
    amount_in: int,
    reserve_in: int,
    reserve_out: int,
    fee_numerator: int,
    fee_denominator: int,
    source_balance: int | None = None,
) -> Quote:
    """What `swap_base_in` does with `amount_in`, checks in the program's order.

    `source_balance` is the trader's input balance; by default the most any account can hold
    besides a vault of `reserve_in` (the vectors' assumption).
    """
    check_source_balance(amount_in, source_balance, reserve_in)
    if fee_denominator == 0:
        raise panic("swap fee: checked_ceil_div by a zero denominator")
    fee = ceil_div(amount_in * fee_numerator, fee_denominator)
    if fee > amount_in:
        raise panic("amount_in - swap_fee underflows (swap fee numerator above denominator)")
    amount_out = u64(constant_product_out(amount_in - fee, reserve_in, reserve_out), "swap_amount_out")
    if amount_out == 0 or amount_in == 0:
        raise QuoteError("InvalidInput", "swap_amount_out == 0 or amount_in == 0")
    if amount_out >= reserve_out:
        raise QuoteError("InsufficientFunds", "swap_amount_out >= output reserve")
    return make_quote(amount_in, amount_out, fee, 0)


def swap_base_out(
    amount_out: int,
    reserve_in: int,
    reserve_out: int,
    fee_numerator: int,
    fee_denominator: int,
    source_balance: int | None = None,
) -> Quote:
    """What `swap_base_out` charges for `amount_out`: both divisions round up (`checked_ceil_div`)."""
    before_fee = constant_product_in(amount_out, reserve_in, reserve_out)
    scaled = u128(before_fee * fee_denominator, "swap_in_before_add_fee * swap_fee_denominator")
    if fee_numerator > fee_denominator:
        raise panic("swap_fee_denominator - swap_fee_numerator underflows")
    if fee_numerator == fee_denominator:
        raise panic("checked_ceil_div by zero (swap fee numerator == denominator)")
    amount_in = u64(ceil_div(scaled, fee_denominator - fee_numerator), "swap_in_after_add_fee")
    check_source_balance(amount_in, source_balance, reserve_in)
    if amount_in == 0 or amount_out == 0:
        raise QuoteError("InvalidInput", "swap_in_after_add_fee == 0 or amount_out == 0")
    if amount_out >= reserve_out:
        raise QuoteError("InsufficientFunds", "amount_out >= output reserve")
    return make_quote(amount_in, amount_out, amount_in - before_fee, 0)


class RaydiumAmmV4:
    """The `Venue` for Raydium AMM v4."""

    name: str = "raydium_amm_v4"
    program_id: Pubkey = PROGRAM_ID
    pool_size: int = AMM_INFO_LEN
    mint_offsets: tuple[int, int] = (400, 432)  # coin_vault_mint, pc_vault_mint

    def decode_pool(self, address: Pubkey, data: bytes, owner: Pubkey | None = None) -> AmmV4Pool:
        """AmmInfo bytes → `AmmV4Pool` (see `decode_amm_info`)."""
        return decode_amm_info(address, data, owner)

    def dependencies(self, pool: AmmV4Pool) -> tuple[Pubkey, ...]:
        """The fee lives in AmmInfo itself; only the vault balances are elsewhere."""
        return (pool.coin_vault, pool.pc_vault)

    def load(self, pool: AmmV4Pool, accounts: Mapping[Pubkey, bytes]) -> AmmV4State:
        """Reserves = vault − need_take_pnl, as `calc_total_without_take_pnl_no_orderbook` computes.

        Raises QuoteError("CheckedSubOverflow") when the pool owes more than a vault holds (every
        swap fails so), KeyError when a vault is missing from `accounts`.
        """
        coin = spl_token.token_amount(accounts[pool.coin_vault])
        pc = spl_token.token_amount(accounts[pool.pc_vault])
        return state_of(pool, coin, pc)

    def quote_exact_in(self, state: AmmV4State, amount_in: int, a_to_b: bool) -> Quote:
        return _quote(swap_base_in, state, amount_in, a_to_b)

    def quote_exact_out(self, state: AmmV4State, amount_out: int, a_to_b: bool) -> Quote:
        return _quote(swap_base_out, state, amount_out, a_to_b)

    def swap_instruction(
        self, pool: AmmV4Pool, *, owner: Pubkey, source: Pubkey, destination: Pubkey, a_to_b: bool,
        amount_in: int, minimum_out: int, token_programs: tuple[Pubkey, Pubkey] = _SPL_TOKEN_BOTH,
    ) -> Instruction:  # fmt: skip
        """SwapBaseInV2. `a_to_b` is not encoded: the program reads the direction from the mints of
        the user's accounts, so it only has to agree with `source`. The program moves SPL Token only."""
        if token_programs != _SPL_TOKEN_BOTH:
            raise UnsupportedPool(f"{pool.address}: AMM v4 moves SPL Token only, not {token_programs}")
        return swap_base_in_v2(pool, source, destination, owner, amount_in, minimum_out)

    def swap_layout(self, pool: AmmV4Pool, a_to_b: bool) -> None:
        """The pool's accounts never move."""
        return None

    def swap_data(self, pool: AmmV4Pool, a_to_b: bool, amount_in: int, minimum_out: int) -> bytes:
        return swap_base_in_v2_data(amount_in, minimum_out)


_build_state = positional_constructor(AmmV4State)


def state_of(pool: AmmV4Pool, coin_vault_amount: int, pc_vault_amount: int) -> AmmV4State:
    """The state `load` gives for these vault balances; the market calls it directly when only one
    account changed and the other balance is already known."""
    return _build_state(
        pool,
        coin_vault_amount,
        pc_vault_amount,
        net_of_owed(coin_vault_amount, pool.need_take_pnl_coin, "CheckedSubOverflow", "coin vault"),
        net_of_owed(pc_vault_amount, pool.need_take_pnl_pc, "CheckedSubOverflow", "pc vault"),
    )


def _sides(state: AmmV4State, a_to_b: bool) -> tuple[int, int, int]:
    """(reserve_in, reserve_out, input vault balance) after the pool-level checks a swap makes first.

    A WaitingTrade pool also needs the clock past `pool_open_time`; the market model, which has the
    cluster's clock, holds such a pool back (`MarketModel.set_clock`).
    """
    pool = state.pool
    if pool.status == AmmStatus.UNINITIALIZED:  # `load_mut_checked`, before anything else
        raise QuoteError("InvalidStatus", "pool is not initialized")
    if pool.mint_a == pool.mint_b:
        raise QuoteError("NotAllowed", "coin and pc vault mints are equal")
    if pool.status not in _SWAP_STATUSES:
        raise QuoteError("InvalidStatus", f"status {AmmStatus(pool.status).name} does not allow swaps")
    if a_to_b:
        return state.reserve_coin, state.reserve_pc, state.coin_vault_amount
    return state.reserve_pc, state.reserve_coin, state.pc_vault_amount


def _quote(curve: Callable[[int, int, int, int, int, int], Quote], state: AmmV4State, amount: int,
           a_to_b: bool) -> Quote:  # fmt: skip
    """`curve` (`swap_base_in` or `_out`) on `state` in one direction: both venue quotes run the same
    pool checks, the pool's swap fee and the largest balance a trader can hold besides the vault."""
    reserve_in, reserve_out, vault_in = _sides(state, a_to_b)
    pool = state.pool
    return curve(
        amount, reserve_in, reserve_out, pool.swap_fee_numerator, pool.swap_fee_denominator,
        max_source_balance(vault_in),
    )  # fmt: skip


VENUE = RaydiumAmmV4()


# --- swap instructions ------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def authority_address(nonce: int = AUTHORITY_NONCE) -> Pubkey:
    """`Processor::authority_id`: create_program_address([b"amm authority", [nonce]]). Cached: the
    derivation costs ~5 µs per swap instruction and there is one nonce per pool, usually the same."""
    return Pubkey.create_program_address([AUTHORITY_SEED, bytes([nonce])], PROGRAM_ID)


def _swap_v2(
    pool: AmmV4Pool, user_source: Pubkey, user_destination: Pubkey, user_owner: Pubkey, data: bytes
) -> Instruction:
    """SwapBaseInV2 / SwapBaseOutV2 (instruction.rs), as `data` says.

    The direction follows the user's mints."""
    accounts = [
        AccountMeta(spl_token.TOKEN_PROGRAM_ID, is_signer=False, is_writable=False),
        AccountMeta(pool.address, is_signer=False, is_writable=True),
        AccountMeta(authority_address(pool.nonce), is_signer=False, is_writable=False),
        AccountMeta(pool.coin_vault, is_signer=False, is_writable=True),
        AccountMeta(pool.pc_vault, is_signer=False, is_writable=True),
        AccountMeta(user_source, is_signer=False, is_writable=True),
        AccountMeta(user_destination, is_signer=False, is_writable=True),
        AccountMeta(user_owner, is_signer=True, is_writable=False),
    ]
    return Instruction(PROGRAM_ID, data, accounts)


def swap_base_in_v2(
    pool: AmmV4Pool,
    user_source: Pubkey,
    user_destination: Pubkey,
    user_owner: Pubkey,
    amount_in: int,
    minimum_amount_out: int,
) -> Instruction:
    """SwapBaseInV2 (tag 16): spend exactly `amount_in`, fail below `minimum_amount_out`."""
    return _swap_v2(pool, user_source, user_destination, user_owner, swap_base_in_v2_data(amount_in, minimum_amount_out))


def swap_base_in_v2_data(amount_in: int, minimum_amount_out: int) -> bytes:
    """The data of `swap_base_in_v2` (its accounts depend only on the pool and the users)."""
    return _SWAP_TAGS.pack(SwapArgs(SwapKind.EXACT_IN, amount_in, minimum_amount_out))


def swap_base_out_v2(
    pool: AmmV4Pool,
    user_source: Pubkey,
    user_destination: Pubkey,
    user_owner: Pubkey,
    max_amount_in: int,
    amount_out: int,
) -> Instruction:
    """SwapBaseOutV2 (tag 17): receive exactly `amount_out`, fail above `max_amount_in`."""
    data = _SWAP_TAGS.pack(SwapArgs(SwapKind.EXACT_OUT, amount_out, max_amount_in))
    return _swap_v2(pool, user_source, user_destination, user_owner, data)


def parse_swap(data: bytes) -> SwapArgs:
    """The arguments of a SwapBaseInV2 / SwapBaseOutV2 instruction (for the sandbox bank)."""
    return _SWAP_TAGS.unpack(data)


# Positions in the v2 account list, for a bank that executes these instructions.
V2_POOL, V2_AUTHORITY, V2_COIN_VAULT, V2_PC_VAULT, V2_USER_SOURCE, V2_USER_DESTINATION, V2_USER_OWNER = range(
    1, 8
)
