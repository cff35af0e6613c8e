"""What the market needs from each venue beyond the `Venue` protocol.

Per state type: its float `HotView` for the kernels, the state after a swap (for the
pending-state overlay), and a cheap refresh when one account changed (a Whirlpool's `load`
decodes every tick array again, ~0.4 ms; most updates change one account). Per pool type: a
re-decode of the fields a swap moves. Per program: whether some bytes claim to be a pool account.
All read the dataclasses the dex modules define and reuse their exact decoders and swap functions;
no layout or swap math is restated here, only which accounts a change reaches.

The refreshes compare the changed account with the pool's by identity before equality (`a is b or
a == b`): an update carries the very Pubkey objects the registry took from the pool, and a solders
Pubkey's `==` costs as much as the rest of a vault refresh.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, spl_token, whirlpool
from mevbot.dex.base import DecodeError, Quote, QuoteError, UnsupportedPool
from mevbot.dex.clmm_math import FEE_RATE_MUL_VALUE
from mevbot.dex.whirlpool_accounts import redecode_whirlpool
from mevbot.market.hot_state import CONCENTRATED, CONSTANT_PRODUCT, HotView

_Q64 = float(1 << 64)

# The type tag of each program's pool account. AMM v4 has none: its AmmInfo is known by its size.
_POOL_TAGS: dict[Pubkey, bytes] = {
    raydium_cpmm.PROGRAM_ID: raydium_cpmm.POOL_STATE_DISCRIMINATOR,
    whirlpool.PROGRAM_ID: whirlpool.WHIRLPOOL_DISCRIMINATOR,
}
_POOL_SIZES: dict[Pubkey, int] = {raydium_amm_v4.PROGRAM_ID: raydium_amm_v4.AMM_INFO_LEN}


def pool_token_programs(pool: Any) -> tuple[Pubkey | None, Pubkey | None]:
    """The token programs of a pool's (mint_a, mint_b) as the pool account itself records or its
    program requires them; None where only the mint account can tell (a Whirlpool's)."""
    if isinstance(pool, raydium_cpmm.CpmmPool):
        return pool.token_0_program, pool.token_1_program
    if isinstance(pool, raydium_amm_v4.AmmV4Pool):  # the AMM v4 program moves SPL Token only
        return spl_token.TOKEN_PROGRAM_ID, spl_token.TOKEN_PROGRAM_ID
    return None, None


def opens_at(pool: Any) -> int:
    """The cluster time (unix seconds) before which the pool's program refuses swaps; 0 if never.
    A CPMM pool refuses before its `open_time`; an AMM v4 pool waiting to trade, before its
    `pool_open_time`. Quotes leave this to whoever has the clock (the market model)."""
    if isinstance(pool, raydium_cpmm.CpmmPool):
        return pool.open_time
    if isinstance(pool, raydium_amm_v4.AmmV4Pool) and pool.status == raydium_amm_v4.AmmStatus.WAITING_TRADE:
        return pool.pool_open_time
    return 0


def claims_to_be_pool(program_id: Pubkey, data: bytes) -> bool:
    """True when bytes owned by `program_id` say they are its pool account, so a decode failure
    means a broken pool rather than another account type (a tick array, a config)."""
    tag = _POOL_TAGS.get(program_id)
    if tag is not None:
        return data[: len(tag)] == tag
    return len(data) == _POOL_SIZES.get(program_id, -1)


# Every field, positionally: `HotView.__new__` is Python code, and a view is built per update.
_hot_view = functools.partial(tuple.__new__, HotView)


def _amm_v4_view(state: raydium_amm_v4.AmmV4State) -> HotView | None:
    pool = state.pool
    if pool.status not in raydium_amm_v4._SWAP_STATUSES or not pool.swap_fee_denominator:
        return None
    fee = pool.swap_fee_numerator / pool.swap_fee_denominator
    return constant_product_view(state.reserve_coin, state.reserve_pc, fee)


def _cpmm_view(state: raydium_cpmm.CpmmState) -> HotView | None:
    if state.pool.status & raydium_cpmm.STATUS_DISABLE_SWAP:
        return None
    rates = state.rates
    fee = (rates.trade_fee_rate + rates.creator_fee_rate) / raydium_cpmm.FEE_RATE_DENOMINATOR
    return constant_product_view(state.reserve_0, state.reserve_1, fee)


def constant_product_view(reserve_a: int, reserve_b: int, fee: float) -> HotView:
    return _hot_view((CONSTANT_PRODUCT, float(reserve_a), float(reserve_b), fee, 0.0, 0.0))


def _whirlpool_view(state: whirlpool.WhirlpoolState) -> HotView | None:
    pool = state.pool
    return concentrated_view(pool.liquidity, pool.sqrt_price, pool.fee_rate / FEE_RATE_MUL_VALUE)


def concentrated_view(liquidity: int, sqrt_price_x64: int, fee: float) -> HotView | None:
    """The view of a concentrated-liquidity pool at this price and active liquidity; None when
    either is zero (nothing to trade against)."""
    if not liquidity or not sqrt_price_x64:
        return None
    sqrt_price = sqrt_price_x64 / _Q64
    float_liquidity = float(liquidity)
    reserve_a, reserve_b = float_liquidity / sqrt_price, float_liquidity * sqrt_price
    return _hot_view((CONCENTRATED, reserve_a, reserve_b, fee, sqrt_price, float_liquidity))


def _amm_v4_after(
    state: raydium_amm_v4.AmmV4State, amount_in: int, a_to_b: bool
) -> tuple[Quote, raydium_amm_v4.AmmV4State]:
    quote = raydium_amm_v4.VENUE.quote_exact_in(state, amount_in, a_to_b)
    coin, pc = state.coin_vault_amount, state.pc_vault_amount
    coin, pc = (
        (coin + quote.amount_in, pc - quote.amount_out)
        if a_to_b
        else (coin - quote.amount_out, pc + quote.amount_in)
    )
    pool = state.pool
    after = dataclasses.replace(
        state,
        coin_vault_amount=coin,
        pc_vault_amount=pc,
        reserve_coin=coin - pool.need_take_pnl_coin,
        reserve_pc=pc - pool.need_take_pnl_pc,
    )
    return quote, after


def _cpmm_after(
    state: raydium_cpmm.CpmmState, amount_in: int, a_to_b: bool
) -> tuple[Quote, raydium_cpmm.CpmmState]:
    swap = raydium_cpmm.VENUE.swap_exact_in(state, amount_in, a_to_b)
    # The input vault keeps everything paid in; the fees the pool owes stay out of its reserves.
    owed_in = swap.protocol_fee + swap.fund_fee + (swap.creator_fee if swap.creator_fee_on_input else 0)
    owed_out = 0 if swap.creator_fee_on_input else swap.creator_fee
    pool = state.pool
    if a_to_b:
        vault_0, vault_1 = state.vault_0_amount + swap.amount_in, state.vault_1_amount - swap.amount_out
        reserve_0, reserve_1 = (
            state.reserve_0 + swap.amount_in - owed_in,
            state.reserve_1 - swap.amount_out - owed_out,
        )
        pool = _owe(pool, 0, swap, on_input=True) if owed_in else pool
        pool = _owe(pool, 1, swap, on_input=False) if owed_out else pool
    else:
        vault_0, vault_1 = state.vault_0_amount - swap.amount_out, state.vault_1_amount + swap.amount_in
        reserve_0, reserve_1 = (
            state.reserve_0 - swap.amount_out - owed_out,
            state.reserve_1 + swap.amount_in - owed_in,
        )
        pool = _owe(pool, 1, swap, on_input=True) if owed_in else pool
        pool = _owe(pool, 0, swap, on_input=False) if owed_out else pool
    after = dataclasses.replace(
        state,
        pool=pool,
        vault_0_amount=vault_0,
        vault_1_amount=vault_1,
        reserve_0=reserve_0,
        reserve_1=reserve_1,
    )
    return swap.quote(), after


def _owe(
    pool: raydium_cpmm.CpmmPool, token: int, swap: raydium_cpmm.CpmmSwap, on_input: bool
) -> raydium_cpmm.CpmmPool:
    """Book the fees a swap leaves owed in `token` on the pool, as the program's counters do."""
    changes: dict[str, int] = {}
    if on_input:
        changes[f"protocol_fees_token_{token}"] = (
            getattr(pool, f"protocol_fees_token_{token}") + swap.protocol_fee
        )
        changes[f"fund_fees_token_{token}"] = getattr(pool, f"fund_fees_token_{token}") + swap.fund_fee
    if on_input == swap.creator_fee_on_input:
        changes[f"creator_fees_token_{token}"] = (
            getattr(pool, f"creator_fees_token_{token}") + swap.creator_fee
        )
    return dataclasses.replace(pool, **changes)


def _whirlpool_after(
    state: whirlpool.WhirlpoolState, amount_in: int, a_to_b: bool
) -> tuple[Quote, whirlpool.WhirlpoolState]:
    result = whirlpool.swap(state, amount_in, amount_specified_is_input=True, a_to_b=a_to_b)
    pool = state.pool
    growth = "fee_growth_global_a" if a_to_b else "fee_growth_global_b"
    owed = "protocol_fee_owed_a" if a_to_b else "protocol_fee_owed_b"
    after_pool = dataclasses.replace(
        pool,
        sqrt_price=result.next_sqrt_price,
        tick_current_index=result.next_tick_index,
        liquidity=result.next_liquidity,
        **{growth: result.next_fee_growth_global, owed: getattr(pool, owed) + result.next_protocol_fee},
    )
    return result.to_quote(), dataclasses.replace(state, pool=after_pool)


def _amm_v4_refresh(
    state: raydium_amm_v4.AmmV4State,
    pool: raydium_amm_v4.AmmV4Pool,
    account: Pubkey,
    data: bytes,
    same_reads: bool,
) -> raydium_amm_v4.AmmV4State | None:
    """A vault: read its balance, keep the other. The pool account: keep both balances."""
    if not same_reads:
        return None
    is_coin = account is pool.coin_vault or account == pool.coin_vault
    is_pc = account is pool.pc_vault or account == pool.pc_vault
    coin = spl_token.token_amount(data) if is_coin else state.coin_vault_amount
    pc = spl_token.token_amount(data) if is_pc else state.pc_vault_amount
    return raydium_amm_v4.state_of(pool, coin, pc)


def _cpmm_refresh(
    state: raydium_cpmm.CpmmState,
    pool: raydium_cpmm.CpmmPool,
    account: Pubkey,
    data: bytes,
    same_reads: bool,
) -> raydium_cpmm.CpmmState | None:
    """A vault: check and read its balance, keep the rest. The pool account: keep the config and
    both balances. Anything else (the config: it is rare, and holds the rates): None."""
    is_0 = account is pool.token_0_vault or account == pool.token_0_vault
    is_1 = account is pool.token_1_vault or account == pool.token_1_vault
    if not same_reads or not (is_0 or is_1 or account is pool.address or account == pool.address):
        return None
    if is_0:
        raydium_cpmm.refuse_transfer_fee(pool, data, "token 0")
    if is_1:
        raydium_cpmm.refuse_transfer_fee(pool, data, "token 1")
    amount_0 = spl_token.token_amount(data) if is_0 else state.vault_0_amount
    amount_1 = spl_token.token_amount(data) if is_1 else state.vault_1_amount
    if pool is state.pool:
        return raydium_cpmm.with_vault_amounts(state, amount_0, amount_1)
    return raydium_cpmm.state_of(pool, state.config, amount_0, amount_1)


def _whirlpool_refresh(
    state: whirlpool.WhirlpoolState,
    pool: whirlpool.WhirlpoolPool,
    account: Pubkey,
    data: bytes,
    same_reads: bool,
) -> whirlpool.WhirlpoolState | None:
    """The pool account, still reading the same tick arrays: keep them. One of its tick arrays:
    decode it and swap it in. Anything else: None (do a full load)."""
    if account is pool.address or account == pool.address:
        return whirlpool.with_pool(state, pool) if same_reads else None
    if not data:
        return None
    array = whirlpool.decode_tick_array(data)
    if whirlpool.tick_array_address(pool.address, array.start_tick_index) != account:
        raise DecodeError(
            f"tick array {account} holds start {array.start_tick_index}, its address says otherwise"
        )
    if array.whirlpool != pool.address:
        raise DecodeError(f"tick array {account} belongs to Whirlpool {array.whirlpool}, not {pool.address}")
    return whirlpool.WhirlpoolState.of(pool, {**state.tick_arrays, array.start_tick_index: array})


_REFRESH: dict[type, Callable[[Any, Any, Pubkey, bytes, bool], Any | None]] = {
    raydium_amm_v4.AmmV4State: _amm_v4_refresh,
    raydium_cpmm.CpmmState: _cpmm_refresh,
    whirlpool.WhirlpoolState: _whirlpool_refresh,
}
# Pool accounts that can be re-decoded from the fields that move, given the bytes they replace.
_REDECODE: dict[type, Callable[[Any, bytes, bytes], Any | None]] = {
    whirlpool.WhirlpoolPool: redecode_whirlpool,
}

_VIEWS: dict[type, Callable[[Any], HotView | None]] = {
    raydium_amm_v4.AmmV4State: _amm_v4_view,
    raydium_cpmm.CpmmState: _cpmm_view,
    whirlpool.WhirlpoolState: _whirlpool_view,
}
_AFTER: dict[type, Callable[[Any, int, bool], tuple[Quote, Any]]] = {
    raydium_amm_v4.AmmV4State: _amm_v4_after,
    raydium_cpmm.CpmmState: _cpmm_after,
    whirlpool.WhirlpoolState: _whirlpool_after,
}


def hot_view(state: Any) -> HotView | None:
    """The float view of a venue state; None when the pool cannot trade now."""
    try:
        view = _VIEWS[type(state)]
    except KeyError:
        raise UnsupportedPool(f"no hot view for {type(state).__name__}") from None
    return view(state)


def refresh(state: Any, pool: Any | None, account: Pubkey, data: bytes, same_reads: bool) -> Any | None:
    """The state `Venue.load` would give once `account` (one the pool reads) holds `data`, from the
    pool's previous `state` (loaded from the bytes every other account still holds); None when
    there is no shortcut (the caller loads in full).

    Most updates change one vault or the pool account: re-reading only that account is what keeps
    an update in microseconds. `pool` is the re-decoded pool when `account` is the pool's own, else
    None (the state's pool stands). `same_reads` says the pool still reads the same accounts (its
    dependencies did not change). Raises what `load` would raise for these bytes.
    """
    shortcut = _REFRESH.get(type(state))
    if shortcut is None:
        return None
    return shortcut(state, state.pool if pool is None else pool, account, data, same_reads)


def redecode_pool(previous: Any, old: bytes, data: bytes) -> Any | None:
    """The pool `Venue.decode_pool` would give for `data` (owner checked by the caller), from the
    `previous` pool decoded from `old`, reading only the fields that moved; None when there is no
    shortcut for these bytes (the caller decodes in full, and refuses what it must)."""
    shortcut = _REDECODE.get(type(previous))
    return None if shortcut is None else shortcut(previous, old, data)


def after_swap(state: Any, amount_in: int, a_to_b: bool) -> tuple[Quote, Any]:
    """The exact quote of an exact-in swap and the state it leaves. Raises QuoteError if refused."""
    try:
        after = _AFTER[type(state)]
    except KeyError:
        raise UnsupportedPool(f"cannot apply a swap to {type(state).__name__}") from None
    try:
        return after(state, amount_in, a_to_b)
    except ValueError as exc:  # an amount outside u64
        raise QuoteError("InvalidInput", str(exc)) from None
