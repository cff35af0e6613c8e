"""Orca Whirlpool: the venue. Exact swaps over the tick arrays a swap_v2 instruction would read.

The swap walks initialized ticks exactly as the program's `swap_manager::swap` does (same steps,
same rounding, same error names and order of checks), over the tick-array sequence that
`SparseSwapTickSequenceBuilder` assembles: at most three arrays starting at the current tick, each
either a supplied account or an address known to have no account (read as all-zero ticks). A swap
that needs a fourth array fails with ``TickArraySequenceInvalidIndex``, as on chain.

Adaptive-fee pools are refused (`UnsupportedPool`): their fee depends on an oracle account and on
the clock, which this venue does not model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from mevbot.dex.base import (
    U64_MAX,
    U128_MAX,
    DecodeError,
    Quote,
    QuoteError,
    UnsupportedPool,
    make_quote,
    positional_constructor,
)
from mevbot.dex.clmm_math import (
    MAX_SQRT_PRICE_X64,
    MAX_TICK_INDEX,
    MIN_SQRT_PRICE_X64,
    MIN_TICK_INDEX,
    SwapStep,
    compute_swap_step,
    sqrt_price_from_tick,
    tick_from_sqrt_price,
)
from mevbot.dex.intmath import panic
from mevbot.dex.spl_token import TOKEN_PROGRAM_ID
from mevbot.dex.whirlpool_accounts import (
    DYNAMIC_TICK_ARRAY_DISCRIMINATOR,
    FIXED_TICK_ARRAY_DISCRIMINATOR,
    FULL_RANGE_ONLY_TICK_SPACING_THRESHOLD,
    PROGRAM_ID,
    TICK_ARRAY_SIZE,
    WHIRLPOOL_DISCRIMINATOR,
    WHIRLPOOL_LEN,
    RewardInfo,
    Tick,
    TickArray,
    WhirlpoolPool,
    decode_tick_array,
    decode_whirlpool,
    empty_tick_array,
    encode_tick_array,
    encode_whirlpool,
    is_valid_start_tick,
    oracle_address,
    swap_tick_array_starts,
    tick_array_address,
    tick_array_start_index,
    whirlpool_address,
)
from mevbot.dex.whirlpool_ix import (
    MAX_SUPPLEMENTAL_TICK_ARRAYS,
    MEMO_PROGRAM_ID,
    SWAP_V2_ACCOUNTS_LEN,
    SWAP_V2_DISCRIMINATOR,
    AccountsType,
    RemainingAccountsSlice,
    SwapV2Accounts,
    SwapV2Args,
    build_swap_v2,
    encode_swap_v2_args,
    parse_swap_v2,
    parse_swap_v2_accounts,
    parse_swap_v2_args,
    swap_v2_tick_arrays,
)

__all__ = [
    "DYNAMIC_TICK_ARRAY_DISCRIMINATOR",
    "FIXED_TICK_ARRAY_DISCRIMINATOR",
    "FULL_RANGE_ONLY_TICK_SPACING_THRESHOLD",
    "MAX_SUPPLEMENTAL_TICK_ARRAYS",
    "MAX_SWAP_TICK_ARRAYS",
    "MEMO_PROGRAM_ID",
    "NO_EXPLICIT_SQRT_PRICE_LIMIT",
    "PROGRAM_ID",
    "PROTOCOL_FEE_RATE_MUL_VALUE",
    "SWAP_V2_ACCOUNTS_LEN",
    "SWAP_V2_DISCRIMINATOR",
    "VENUE",
    "WHIRLPOOL_DISCRIMINATOR",
    "WHIRLPOOL_LEN",
    "AccountsType",
    "RemainingAccountsSlice",
    "RewardInfo",
    "SwapResult",
    "SwapV2Accounts",
    "SwapV2Args",
    "Tick",
    "TickArray",
    "WhirlpoolPool",
    "WhirlpoolState",
    "WhirlpoolVenue",
    "build_swap_v2",
    "decode_tick_array",
    "decode_whirlpool",
    "dependency_starts",
    "empty_tick_array",
    "encode_swap_v2_args",
    "encode_tick_array",
    "encode_whirlpool",
    "is_valid_start_tick",
    "oracle_address",
    "parse_swap_v2",
    "parse_swap_v2_accounts",
    "parse_swap_v2_args",
    "post_swap_pool",
    "swap",
    "swap_tick_array_starts",
    "swap_v2_tick_arrays",
    "tick_array_address",
    "tick_array_start_index",
    "whirlpool_address",
]

NO_EXPLICIT_SQRT_PRICE_LIMIT = 0
"""A swap's `sqrt_price_limit` of 0 means MIN (a→b) or MAX (b→a), and forbids partial exact-out fills."""
MAX_SWAP_TICK_ARRAYS = 3
"""swap_v2 takes up to 6 tick-array accounts (3 + 3 supplemental) but walks at most 3 of them."""
PROTOCOL_FEE_RATE_MUL_VALUE = 10_000
I128_MAX = (1 << 127) - 1


@dataclass(frozen=True, slots=True)
class WhirlpoolState:
    """A pool and the tick arrays a quote may read, keyed by start tick index.

    An entry made by `empty_tick_array` stands for a tick-array address with no account, which the
    program reads as all-zero ticks. A start that is absent is *unknown*: the swap stops there.

    The state is immutable, so the tick-array sequence a swap walks from it (and the initialized
    ticks found on it) is worked out once per direction and kept with it: the search quotes one
    state many times, for every route through the pool.
    """

    pool: WhirlpoolPool
    tick_arrays: Mapping[int, TickArray]
    _sequences: dict[tuple[bool, int], _Sequence] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, pool: WhirlpoolPool, arrays: Mapping[int, TickArray] | list[TickArray]) -> WhirlpoolState:
        by_start = dict(arrays) if isinstance(arrays, Mapping) else {a.start_tick_index: a for a in arrays}
        return cls(pool, MappingProxyType(by_start))


@dataclass(frozen=True, slots=True)
class SwapResult:
    """What the program's swap computes (its `PostSwapUpdate`), plus conveniences.

    `fee_amount` is the whole fee in the input token; `next_protocol_fee` the part of it the
    protocol keeps (this swap's amount, which the program adds to `protocol_fee_owed`); `lp_fee`
    the rest. `next_fee_growth_global` is the input token's growth. `crossed_ticks` lists
    the initialized ticks crossed, in order (their fee-growth-outside flips on chain).
    """

    amount_a: int
    amount_b: int
    next_liquidity: int
    next_tick_index: int
    next_sqrt_price: int
    next_fee_growth_global: int
    next_protocol_fee: int
    fee_amount: int
    a_to_b: bool
    amount_specified_is_input: bool
    crossed_ticks: tuple[int, ...] = ()

    @property
    def lp_fee(self) -> int:
        return self.fee_amount - self.next_protocol_fee

    @property
    def amount_in(self) -> int:
        return self.amount_a if self.a_to_b else self.amount_b

    @property
    def amount_out(self) -> int:
        return self.amount_b if self.a_to_b else self.amount_a

    def to_quote(self) -> Quote:
        return Quote(self.amount_in, self.amount_out, self.fee_amount, self.next_protocol_fee)


class _Sequence:
    """The tick arrays one swap walks, with the program's search rules at their edges.

    The arrays never change, so each search's answer is kept (`found`): quoting the same state
    again finds its ticks by a dict lookup instead of a scan of up to 88 slots per array.
    """

    __slots__ = ("arrays", "found", "span", "tick_spacing")

    def __init__(self, arrays: list[TickArray], tick_spacing: int) -> None:
        self.arrays = arrays
        self.tick_spacing = tick_spacing
        self.span = TICK_ARRAY_SIZE * tick_spacing
        self.found: dict[tuple[int, bool, int], tuple[int, int]] = {}

    def next_initialized_tick(self, tick_index: int, a_to_b: bool, array_index: int) -> tuple[int, int]:
        """(array index, tick) of the next initialized tick, or of the edge of what is supplied.

        a→b includes `tick_index` itself; b→a starts above it. Past the last array the swap stops at
        its first tick (a→b) or at its last tick index (b→a), or at MIN/MAX_TICK_INDEX when the array
        holds the bound; a further step then finds no array and fails.
        """
        key = (tick_index, a_to_b, array_index)
        found = self.found.get(key)
        if found is None:
            found = self.found[key] = self._search(tick_index, a_to_b, array_index)
        return found

    def _search(self, tick_index: int, a_to_b: bool, array_index: int) -> tuple[int, int]:
        spacing = self.tick_spacing
        search = tick_index
        while True:
            if array_index >= len(self.arrays):
                raise QuoteError(
                    "TickArraySequenceInvalidIndex", "the swap needs more tick arrays than supplied"
                )
            array = self.arrays[array_index]
            start = array.start_tick_index
            low, high = (
                (start, start + self.span) if a_to_b else (start - spacing, start + self.span - spacing)
            )
            if not low <= search < high:
                raise QuoteError("InvalidTickArraySequence", f"tick {search} outside the array at {start}")
            offset = (search - start) // spacing
            ticks = array.ticks
            if a_to_b:
                for slot in range(offset, -1, -1):
                    if ticks[slot].initialized:
                        return array_index, start + slot * spacing
                if start <= MIN_TICK_INDEX:
                    return array_index, MIN_TICK_INDEX
            else:
                for slot in range(offset + 1, TICK_ARRAY_SIZE):
                    if ticks[slot].initialized:
                        return array_index, start + slot * spacing
                if start + self.span > MAX_TICK_INDEX:
                    return array_index, MAX_TICK_INDEX
            if array_index + 1 == len(self.arrays):
                return array_index, (start if a_to_b else start + self.span - 1)
            search = start - 1 if a_to_b else start + self.span - 1
            array_index += 1

    def tick(self, array_index: int, tick_index: int) -> Tick | None:
        """The tick at `tick_index`, or None where the program finds none (not a usable tick)."""
        array = self.arrays[array_index]
        spacing = self.tick_spacing
        offset, remainder = divmod(tick_index - array.start_tick_index, spacing)
        usable = MIN_TICK_INDEX <= tick_index <= MAX_TICK_INDEX and tick_index % spacing == 0
        if not usable or remainder or not 0 <= offset < TICK_ARRAY_SIZE:
            return None
        return array.ticks[offset]

    def offset(self, array_index: int, tick_index: int) -> int:
        return (tick_index - self.arrays[array_index].start_tick_index) // self.tick_spacing


_build_state = positional_constructor(WhirlpoolState)  # one per Whirlpool account change the market takes


def with_pool(state: WhirlpoolState, pool: WhirlpoolPool) -> WhirlpoolState:
    """`state` with its pool account re-decoded as `pool`, reading the same tick arrays.

    A swap's tick-array sequence, and the ticks found on it, depend only on the arrays and the
    price's array position (`array_position`); while a new price keeps that position, they are
    shared with `state` instead of worked out again for the first quote on every update.
    """
    moved = _build_state(pool, state.tick_arrays)
    old = state.pool
    if pool.tick_spacing == old.tick_spacing and _array_position(pool) == _array_position(old):
        object.__setattr__(moved, "_sequences", state._sequences)  # a frozen record's cache
    return moved


def _sequence(state: WhirlpoolState, a_to_b: bool, max_arrays: int) -> _Sequence:
    """The state's tick-array sequence for one direction, built on first use and kept."""
    key = (a_to_b, max_arrays)
    sequence = state._sequences.get(key)
    if sequence is None:
        sequence = state._sequences[key] = _build_sequence(state, a_to_b, max_arrays)
    return sequence


def _build_sequence(state: WhirlpoolState, a_to_b: bool, max_arrays: int) -> _Sequence:
    pool = state.pool
    arrays: list[TickArray] = []
    for start in swap_tick_array_starts(pool.tick_current_index, pool.tick_spacing, a_to_b, max_arrays):
        array = state.tick_arrays.get(start)
        if array is None:
            break
        arrays.append(array)
    if not arrays:
        raise QuoteError(
            "InvalidTickArraySequence", "the tick array holding the current tick is not available"
        )
    return _Sequence(arrays, pool.tick_spacing)


def _refuse_adaptive(pool: WhirlpoolPool) -> None:
    if pool.is_adaptive_fee:
        raise UnsupportedPool(
            f"Whirlpool {pool.address} has an adaptive fee (fee tier index {pool.fee_tier_index_seed} "
            f"!= tick spacing {pool.tick_spacing}); its fee depends on the oracle and the clock"
        )


class _Walk:
    """The running totals of one swap, updated step by step as the program updates its locals."""

    __slots__ = (
        "a_to_b", "calculated", "crossed", "fee_growth", "fee_sum", "is_input", "liquidity", "price",
        "protocol_fee", "protocol_fee_rate", "remaining", "tick_index",
    )  # fmt: skip

    def __init__(self, pool: WhirlpoolPool, amount: int, is_input: bool, a_to_b: bool) -> None:
        self.a_to_b = a_to_b
        self.is_input = is_input
        self.protocol_fee_rate = pool.protocol_fee_rate
        self.remaining = amount
        self.calculated = 0
        self.price = pool.sqrt_price
        self.tick_index: int | None = pool.tick_current_index  # None: the floor tick of `price`
        self.liquidity = pool.liquidity
        self.protocol_fee = 0
        self.fee_sum = 0
        self.fee_growth = pool.fee_growth_global_a if a_to_b else pool.fee_growth_global_b
        self.crossed: list[int] = []

    def current_tick(self) -> int:
        """The tick the walk stands on. After a step that stops between ticks it is the floor tick
        of the price, worked out only when read: a quote never reads it."""
        if self.tick_index is None:
            self.tick_index = tick_from_sqrt_price(self.price)
        return self.tick_index

    def count_amounts(self, step: SwapStep) -> None:
        """Move the step's amounts into `remaining` / `calculated` with the program's u64 checks."""
        if self.is_input:
            used, produced = (step.amount_in, step.fee_amount), (step.amount_out,)
        else:
            used, produced = (step.amount_out,), (step.amount_in, step.fee_amount)
        for amount in used:
            self.remaining -= amount
            if self.remaining < 0:
                raise QuoteError("AmountRemainingOverflow")
        for amount in produced:
            self.calculated += amount
            if self.calculated > U64_MAX:
                raise QuoteError("AmountCalcOverflow")
        self.fee_sum += step.fee_amount
        if self.fee_sum > U64_MAX:
            raise QuoteError("AmountCalcOverflow", "total fee exceeds u64")

    def collect_fee(self, fee_amount: int) -> None:
        """Split a step's fee: the protocol's share (rounded down), the rest grows fee_growth_global."""
        lp_fee = fee_amount
        if self.protocol_fee_rate > 0:
            delta = fee_amount * self.protocol_fee_rate // PROTOCOL_FEE_RATE_MUL_VALUE
            if delta > lp_fee:
                raise panic(f"protocol fee rate {self.protocol_fee_rate} takes more than the fee")
            lp_fee -= delta
            self.protocol_fee = (self.protocol_fee + delta) & U64_MAX  # wrapping_add in the program
        if self.liquidity > 0:
            self.fee_growth = (self.fee_growth + (lp_fee << 64) // self.liquidity) & U128_MAX

    def cross(self, tick_index: int, tick: Tick | None) -> None:
        """Arrive at a tick: an initialized one changes the active liquidity (minus its net going down)."""
        if tick is not None and tick.initialized:
            net = -tick.liquidity_net if self.a_to_b else tick.liquidity_net
            if net > I128_MAX:
                raise panic("negating liquidity_net i128::MIN")
            self.liquidity += net
            if self.liquidity < 0:
                raise QuoteError("LiquidityUnderflow", f"crossing tick {tick_index}")
            if self.liquidity > U128_MAX:
                raise QuoteError("LiquidityOverflow", f"crossing tick {tick_index}")
            self.crossed.append(tick_index)
        # Going down, the search is inclusive of the current tick: step below the one just crossed.
        self.tick_index = tick_index - 1 if self.a_to_b else tick_index


def _check_arguments(pool: WhirlpoolPool, amount: int, sqrt_price_limit: int, a_to_b: bool) -> int:
    """The program's checks before the loop, in its order; returns the effective price limit."""
    limit = sqrt_price_limit
    if limit == NO_EXPLICIT_SQRT_PRICE_LIMIT:
        limit = MIN_SQRT_PRICE_X64 if a_to_b else MAX_SQRT_PRICE_X64
    if not MIN_SQRT_PRICE_X64 <= limit <= MAX_SQRT_PRICE_X64:
        raise QuoteError("SqrtPriceOutOfBounds", f"sqrt price limit {limit}")
    if (a_to_b and limit >= pool.sqrt_price) or (not a_to_b and limit <= pool.sqrt_price):
        raise QuoteError("InvalidSqrtPriceLimitDirection", f"limit {limit}, price {pool.sqrt_price}")
    if amount == 0:
        raise QuoteError("ZeroTradableAmount")
    return limit


def swap(
    state: WhirlpoolState,
    amount: int,
    *,
    amount_specified_is_input: bool,
    a_to_b: bool,
    sqrt_price_limit: int = NO_EXPLICIT_SQRT_PRICE_LIMIT,
    max_tick_arrays: int = MAX_SWAP_TICK_ARRAYS,
) -> SwapResult:
    """The program's swap: walk initialized ticks until the amount is used or the price limit is hit.

    Each outer round targets the next initialized tick (or the edge of the supplied arrays), capped
    by the limit; steps towards it repeat until the amount is used or the target reached.
    `max_tick_arrays` is the program's 3; a larger value answers "what if the program walked
    further" (how the SDK quotes), never what a transaction does.
    """
    walk = _walk(state, amount, amount_specified_is_input, a_to_b, sqrt_price_limit, max_tick_arrays)
    filled = amount - walk.remaining
    swapped = (filled, walk.calculated) if a_to_b == amount_specified_is_input else (walk.calculated, filled)
    return SwapResult(
        amount_a=swapped[0],
        amount_b=swapped[1],
        next_liquidity=walk.liquidity,
        next_tick_index=walk.current_tick(),
        next_sqrt_price=walk.price,
        next_fee_growth_global=walk.fee_growth,
        next_protocol_fee=walk.protocol_fee,
        fee_amount=walk.fee_sum,
        a_to_b=a_to_b,
        amount_specified_is_input=amount_specified_is_input,
        crossed_ticks=tuple(walk.crossed),
    )


def _quote(state: WhirlpoolState, amount: int, is_input: bool, a_to_b: bool) -> Quote:
    """`swap(...).to_quote()` with no price limit, without building the `SwapResult` (nor working
    out the tick the swap ends on, which a quote does not report)."""
    walk = _walk(state, amount, is_input, a_to_b, NO_EXPLICIT_SQRT_PRICE_LIMIT, MAX_SWAP_TICK_ARRAYS)
    filled = amount - walk.remaining
    amount_in, amount_out = (filled, walk.calculated) if is_input else (walk.calculated, filled)
    return make_quote(amount_in, amount_out, walk.fee_sum, walk.protocol_fee)


def _quote_before_next_tick(state: WhirlpoolState, amount: int, a_to_b: bool) -> Quote | None:
    """The exact-in quote of a swap that spends all of `amount` before the price reaches the next
    initialized tick (most of the quotes sizing asks for): the walk's one step without the walk.
    None in every other case, for the walk to decide, and raise what it would.

    Whatever the step spends short of its target it keeps as fee, so nothing remains after it and
    the walk would stop there: the same step, the same checks, the same quote.
    """
    pool = state.pool
    if pool.is_adaptive_fee or not 0 < amount <= U64_MAX:
        return None
    price, limit = pool.sqrt_price, MIN_SQRT_PRICE_X64 if a_to_b else MAX_SQRT_PRICE_X64
    if price <= limit if a_to_b else price >= limit:
        return None
    sequence = _sequence(state, a_to_b, MAX_SWAP_TICK_ARRAYS)
    _, next_tick = sequence.next_initialized_tick(pool.tick_current_index, a_to_b, 0)
    tick_price = sqrt_price_from_tick(next_tick)
    target = max(limit, tick_price) if a_to_b else min(limit, tick_price)
    step = compute_swap_step(amount, pool.fee_rate, pool.liquidity, price, target, True, a_to_b)
    fee = step.fee_amount
    protocol_fee = fee * pool.protocol_fee_rate // PROTOCOL_FEE_RATE_MUL_VALUE
    if step.next_sqrt_price == target or step.amount_out > U64_MAX or protocol_fee > fee:
        return None
    return make_quote(amount, step.amount_out, fee, protocol_fee)


def _walk(
    state: WhirlpoolState, amount: int, is_input: bool, a_to_b: bool, sqrt_price_limit: int, max_tick_arrays: int
) -> _Walk:
    """The program's swap loop (see `swap`), checks included; returns the walk's final totals."""
    pool = state.pool
    _refuse_adaptive(pool)
    if not 0 <= amount <= U64_MAX:
        raise ValueError(f"amount {amount} is not a u64")
    if not 0 <= sqrt_price_limit <= U128_MAX:
        raise ValueError(f"sqrt_price_limit {sqrt_price_limit} is not a u128")
    sequence = _sequence(state, a_to_b, max_tick_arrays)
    limit = _check_arguments(pool, amount, sqrt_price_limit, a_to_b)

    walk = _Walk(pool, amount, is_input, a_to_b)
    array_index = 0
    while walk.remaining > 0 and walk.price != limit:
        found_index, next_tick = sequence.next_initialized_tick(walk.current_tick(), a_to_b, array_index)
        next_tick_price = sqrt_price_from_tick(next_tick)
        target = max(limit, next_tick_price) if a_to_b else min(limit, next_tick_price)
        while True:
            step = compute_swap_step(
                walk.remaining, pool.fee_rate, walk.liquidity, walk.price, target, is_input, a_to_b
            )
            consumed = step.amount_in + step.fee_amount if is_input else step.amount_out
            if consumed == 0 and step.next_sqrt_price == walk.price != target:
                # Nothing changes from one step to the next: the program would spin until the
                # compute budget runs out.
                raise QuoteError("ComputationalBudgetExceeded", "a swap step makes no progress")
            walk.count_amounts(step)
            walk.collect_fee(step.fee_amount)
            if step.next_sqrt_price == next_tick_price:
                walk.cross(next_tick, sequence.tick(found_index, next_tick))
                slot = sequence.offset(found_index, next_tick)
                at_edge = slot == 0 if a_to_b else slot == TICK_ARRAY_SIZE - 1
                array_index = found_index + 1 if at_edge else found_index
            elif step.next_sqrt_price != walk.price:
                walk.tick_index = None  # between ticks now: the floor tick of the new price
            walk.price = step.next_sqrt_price
            if walk.remaining == 0 or walk.price == target:
                break

    if walk.remaining > 0 and not is_input and sqrt_price_limit == NO_EXPLICIT_SQRT_PRICE_LIMIT:
        raise QuoteError("PartialFillError", f"{amount - walk.remaining} of {amount} before the price bound")
    return walk


def post_swap_pool(pool: WhirlpoolPool, result: SwapResult) -> WhirlpoolPool:
    """The pool after `result`, as the program's `update_after_swap` writes it (price, tick,
    liquidity, the input token's fee growth and protocol fee owed).

    Not updated: reward growth (it needs the clock) and the crossed ticks' fee-growth-outside
    values, neither of which changes a later quote.
    """
    update = {
        "sqrt_price": result.next_sqrt_price,
        "tick_current_index": result.next_tick_index,
        "liquidity": result.next_liquidity,
    }
    if result.a_to_b:
        update["fee_growth_global_a"] = result.next_fee_growth_global
        update["protocol_fee_owed_a"] = pool.protocol_fee_owed_a + result.next_protocol_fee
    else:
        update["fee_growth_global_b"] = result.next_fee_growth_global
        update["protocol_fee_owed_b"] = pool.protocol_fee_owed_b + result.next_protocol_fee
    return dataclasses.replace(pool, **update)


def dependency_starts(pool: WhirlpoolPool) -> tuple[int, ...]:
    """Start indexes of every tick array a swap in either direction may read, ascending."""
    return _dependency_starts(_array_position(pool), pool.tick_spacing)


def _array_position(pool: WhirlpoolPool) -> int:
    return array_position(pool.tick_current_index, pool.tick_spacing)


def array_position(tick: int, spacing: int) -> int:
    """A tick that stands for `tick` in every `swap_tick_array_starts` answer: the start of its
    array, or the array's last slot when the tick is there (b→a then starts one array up). Two
    ticks with one position read the same tick arrays.

    Swaps move the tick within an array far more often than across one, so the starts (and the
    addresses) derived from this are cached instead of recomputed on every pool update.
    """
    span = TICK_ARRAY_SIZE * spacing  # `tick_array_start_index`, inlined: this runs on every pool update
    base = tick // span * span
    last_slot = base + span - spacing
    return last_slot if tick >= last_slot else base


@lru_cache(maxsize=1 << 12)
def _dependency_starts(tick_index: int, tick_spacing: int) -> tuple[int, ...]:
    starts = set(swap_tick_array_starts(tick_index, tick_spacing, True))
    starts.update(swap_tick_array_starts(tick_index, tick_spacing, False))
    return tuple(sorted(starts))


@lru_cache(maxsize=1 << 12)
def _swap_layout(tick_index: int, tick_spacing: int, a_to_b: bool) -> tuple[int, ...]:
    return swap_tick_array_starts(tick_index, tick_spacing, a_to_b)


@lru_cache(maxsize=1 << 15)
def _dependencies(address: Pubkey, tick_index: int, tick_spacing: int) -> tuple[Pubkey, ...]:
    return tuple(tick_array_address(address, start) for start in _dependency_starts(tick_index, tick_spacing))


@lru_cache(maxsize=1024)
def _decode_tick_array_cached(data: bytes) -> TickArray:
    """`decode_tick_array` for the last thousand distinct account bytes: a pool whose price moves
    back and forth across an array boundary reads the same arrays again, and decoding one (88 ticks)
    costs ten times the rest of its update. The bytes object held by the caller hashes once and is
    then found by identity; the entries mostly share their bytes and ticks with the model's."""
    return decode_tick_array(data)


class WhirlpoolVenue:
    """The `Venue` for Orca Whirlpools. Quotes use no price limit, as a plain swap_v2 would."""

    name = "whirlpool"
    program_id = PROGRAM_ID
    pool_size = WHIRLPOOL_LEN
    mint_offsets = (101, 181)  # token_mint_a, token_mint_b

    def decode_pool(self, address: Pubkey, data: bytes, owner: Pubkey | None = None) -> WhirlpoolPool:
        """Decode, and refuse pools we cannot quote exactly (adaptive fee) before their ticks are fetched."""
        pool = decode_whirlpool(address, data, owner)
        _refuse_adaptive(pool)
        return pool

    def dependencies(self, pool: WhirlpoolPool) -> tuple[Pubkey, ...]:
        """The tick-array addresses around the current tick (vault balances do not enter a quote)."""
        return _dependencies(pool.address, _array_position(pool), pool.tick_spacing)

    def load(self, pool: WhirlpoolPool, accounts: Mapping[Pubkey, bytes]) -> WhirlpoolState:
        """Combine the pool with the tick arrays present in `accounts`.

        Empty bytes under a tick-array address mean "no such account" (all-zero ticks, as the program
        reads it); an address missing from `accounts` is unknown and ends the quotable range there.
        """
        _refuse_adaptive(pool)
        arrays: dict[int, TickArray] = {}
        for start in dependency_starts(pool):
            address = tick_array_address(pool.address, start)
            data = accounts.get(address)
            if data is None:
                continue
            if len(data) == 0:
                arrays[start] = empty_tick_array(pool.address, start)
                continue
            array = _decode_tick_array_cached(data) if type(data) is bytes else decode_tick_array(data)
            if array.whirlpool != pool.address:
                raise DecodeError(
                    f"tick array {address} belongs to Whirlpool {array.whirlpool}, not {pool.address}"
                )
            if array.start_tick_index != start:
                raise DecodeError(
                    f"tick array {address} starts at {array.start_tick_index}, its address says {start}"
                )
            arrays[start] = array
        return WhirlpoolState(pool, MappingProxyType(arrays))

    def quote_exact_in(self, state: WhirlpoolState, amount_in: int, a_to_b: bool) -> Quote:
        """Spend up to `amount_in`; less is spent only if the price reaches its bound first."""
        quote = _quote_before_next_tick(state, amount_in, a_to_b)
        return _quote(state, amount_in, True, a_to_b) if quote is None else quote

    def quote_exact_out(self, state: WhirlpoolState, amount_out: int, a_to_b: bool) -> Quote:
        """Buy exactly `amount_out` (the program refuses a partial exact-out fill without a limit)."""
        return _quote(state, amount_out, False, a_to_b)

    def swap_instruction(
        self, pool: WhirlpoolPool, *, owner: Pubkey, source: Pubkey, destination: Pubkey, a_to_b: bool,
        amount_in: int, minimum_out: int,
        token_programs: tuple[Pubkey, Pubkey] = (TOKEN_PROGRAM_ID, TOKEN_PROGRAM_ID),
    ) -> Instruction:  # fmt: skip
        """Exact-in swap_v2 with no price limit, over the three tick arrays from the current tick.

        swap_v2 names the user's accounts by token (A, B), not by role, so the source is account A
        when selling A and account B otherwise; and each mint's token program, which the program
        requires to be the mint account's owner.
        """
        account_a, account_b = (source, destination) if a_to_b else (destination, source)
        return build_swap_v2(
            pool, token_authority=owner, token_owner_account_a=account_a, token_owner_account_b=account_b,
            amount=amount_in, other_amount_threshold=minimum_out, a_to_b=a_to_b,
            token_program_a=token_programs[0], token_program_b=token_programs[1],
        )  # fmt: skip

    def swap_layout(self, pool: WhirlpoolPool, a_to_b: bool) -> tuple[int, ...]:
        """The start ticks of the tick arrays `swap_instruction` names: they follow the current tick.
        (Asked for every hop of every bundle: cached by array position, as `dependencies` is.)"""
        return _swap_layout(_array_position(pool), pool.tick_spacing, a_to_b)

    def swap_data(self, pool: WhirlpoolPool, a_to_b: bool, amount_in: int, minimum_out: int) -> bytes:
        return encode_swap_v2_args(SwapV2Args(amount_in, minimum_out, 0, True, a_to_b))


VENUE = WhirlpoolVenue()
