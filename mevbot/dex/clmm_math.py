"""Concentrated-liquidity math in Q64.64 fixed point: tick ↔ sqrt price, token deltas, one swap step.

Prices are ``sqrt(price) * 2**64`` as Python ints; liquidity is a u128, token amounts are u64. Every
rounding direction and every bound follows the Orca Whirlpool program (its `tick_math`,
`token_math`, `bit_math` and `swap_math` modules), because a quote one unit off fails the swap's
slippage check. Raydium CLMM shares the tick ↔ price map and the token-delta formulas; where its
program names an error differently, its venue module renames the `QuoteError`.

Failures carry the program's error name. Where the program only *notes* an oversized delta (its
``AmountDeltaU64::ExceedsMax``) and decides later whether that is fatal, the ``try_`` functions
return the error name as a ``str`` instead of raising, so the swap step can make the same decision.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from mevbot.dex.base import U64_MAX, U128_MAX, QuoteError
from mevbot.dex.intmath import panic

Q64 = 1 << 64
Q64_MASK = Q64 - 1
U192_LIMIT = 1 << 192

MIN_TICK_INDEX = -443636
MAX_TICK_INDEX = 443636
MIN_SQRT_PRICE_X64 = 4295048016
MAX_SQRT_PRICE_X64 = 79226673515401279992447579055

FEE_RATE_MUL_VALUE = 1_000_000
"""Fee rates are hundredths of a basis point: fee = amount * fee_rate / 1_000_000."""

# sqrt(1.0001)^(2^k) for k = 1..18 in Q96 (positive ticks) and its inverse in Q64 (negative ticks):
# the program's constants for sqrt_price_from_tick_index. Bit 0 picks the starting ratio.
_POS_BIT0 = 79232123823359799118286999567
_POS_ONE = 1 << 96
_POS_FACTORS = (
    79236085330515764027303304731,
    79244008939048815603706035061,
    79259858533276714757314932305,
    79291567232598584799939703904,
    79355022692464371645785046466,
    79482085999252804386437311141,
    79736823300114093921829183326,
    80248749790819932309965073892,
    81282483887344747381513967011,
    83390072131320151908154831281,
    87770609709833776024991924138,
    97234110755111693312479820773,
    119332217159966728226237229890,
    179736315981702064433883588727,
    407748233172238350107850275304,
    2098478828474011932436660412517,
    55581415166113811149459800483533,
    38992368544603139932233054999993551,
)
_NEG_BIT0 = 18445821805675392311
_NEG_ONE = 1 << 64
_NEG_FACTORS = (
    18444899583751176498,
    18443055278223354162,
    18439367220385604838,
    18431993317065449817,
    18417254355718160513,
    18387811781193591352,
    18329067761203520168,
    18212142134806087854,
    17980523815641551639,
    17526086738831147013,
    16651378430235024244,
    15030750278693429944,
    12247334978882834399,
    8131365268884726200,
    3584323654723342297,
    696457651847595233,
    26294789957452057,
    37481735321082,
)
_TICKS_PER_LOG2_X32 = 59543866431248
"""log base sqrt(1.0001) of 2, times 2^32: turns a log2 into ticks."""
_LOG2_FRACTION_BITS = 16


@lru_cache(maxsize=1 << 16)
def sqrt_price_from_tick(tick: int) -> int:
    """The Q64.64 sqrt price at `tick`, bit for bit as the program computes it (truncating products).

    Positive ticks multiply Q96 ratios and drop 32 bits at the end; negative ticks multiply Q64
    inverses. The truncation order matters: this is not ``round(1.0001 ** (tick / 2) * 2**64)``.
    """
    if not MIN_TICK_INDEX <= tick <= MAX_TICK_INDEX:
        raise ValueError(f"tick {tick} outside [{MIN_TICK_INDEX}, {MAX_TICK_INDEX}]")
    if tick >= 0:
        ratio = _POS_BIT0 if tick & 1 else _POS_ONE
        for bit, factor in enumerate(_POS_FACTORS, start=1):
            if tick >> bit & 1:
                ratio = ratio * factor >> 96
        return ratio >> 32
    magnitude = -tick
    ratio = _NEG_BIT0 if magnitude & 1 else _NEG_ONE
    for bit, factor in enumerate(_NEG_FACTORS, start=1):
        if magnitude >> bit & 1:
            ratio = ratio * factor >> 64
    return ratio


def _log2_x32(value: int) -> int:
    """floor-ish log2(value / 2^64) in Q32 (16 fractional bits resolved), by repeated squaring."""
    msb = value.bit_length() - 1
    mantissa = value << (63 - msb) if msb < 63 else value >> (msb - 63)  # in [2^63, 2^64): [1, 2) in Q63
    fraction = 0
    for bit in range(31, 31 - _LOG2_FRACTION_BITS, -1):
        mantissa = mantissa * mantissa >> 63
        if mantissa >> 64:
            mantissa >>= 1
            fraction |= 1 << bit
    return ((msb - 64) << 32) + fraction


def tick_from_sqrt_price(sqrt_price: int) -> int:
    """The largest tick whose sqrt price is at most `sqrt_price` (the program's floor tick).

    The program estimates a log2 and settles between two candidate ticks; for every price in
    [MIN_SQRT_PRICE_X64, MAX_SQRT_PRICE_X64] that yields exactly this floor (its property tests
    assert it). Here an integer log2 gives a guess within a tick or two, and exact comparisons with
    `sqrt_price_from_tick` settle it, so the answer never depends on the estimate's precision.
    """
    if not MIN_SQRT_PRICE_X64 <= sqrt_price <= MAX_SQRT_PRICE_X64:
        raise ValueError(f"sqrt price {sqrt_price} outside [{MIN_SQRT_PRICE_X64}, {MAX_SQRT_PRICE_X64}]")
    guess = _log2_x32(sqrt_price) * _TICKS_PER_LOG2_X32 >> 64
    tick = min(max(guess, MIN_TICK_INDEX), MAX_TICK_INDEX)
    while tick > MIN_TICK_INDEX and sqrt_price_from_tick(tick) > sqrt_price:
        tick -= 1
    while tick < MAX_TICK_INDEX and sqrt_price_from_tick(tick + 1) <= sqrt_price:
        tick += 1
    return tick


def _ordered(p0: int, p1: int) -> tuple[int, int]:
    return (p0, p1) if p0 <= p1 else (p1, p0)


def try_amount_delta_a(p0: int, p1: int, liquidity: int, round_up: bool) -> int | str:
    """Token A between two sqrt prices: ``L * (upper - lower) * 2**64 / (upper * lower)``.

    Raises ``MultiplicationOverflow`` when the numerator needs more than 256 bits (the program
    fails outright); returns ``NumberDownCastError`` / ``TokenMaxExceeded`` as a str when the result
    needs more than 128 / 64 bits (the program only notes it).
    """
    lower, upper = _ordered(p0, p1)
    product = liquidity * (upper - lower)
    if product >= U192_LIMIT:
        raise QuoteError("MultiplicationOverflow", "amount delta A numerator exceeds 256 bits")
    quotient, remainder = divmod(product << 64, upper * lower)
    if round_up and remainder:
        quotient += 1
    if quotient > U128_MAX:
        return "NumberDownCastError"
    if quotient > U64_MAX:
        return "TokenMaxExceeded"
    return quotient


def try_amount_delta_b(p0: int, p1: int, liquidity: int, round_up: bool) -> int | str:
    """Token B between two sqrt prices: ``L * (upper - lower) / 2**64``.

    Returns ``MultiplicationShiftRightOverflow`` when the u128 product overflows, and
    ``MultiplicationOverflow`` when rounding up would pass u64::MAX (both only noted by the program).
    """
    lower, upper = _ordered(p0, p1)
    diff = upper - lower
    if liquidity == 0 or diff == 0:
        return 0
    product = liquidity * diff
    if product > U128_MAX:
        return "MultiplicationShiftRightOverflow"
    result = product >> 64
    if round_up and product & Q64_MASK:
        if result == U64_MAX:
            return "MultiplicationOverflow"
        result += 1
    return result


def _raise_if_error(value: int | str, what: str) -> int:
    if isinstance(value, str):
        raise QuoteError(value, what)
    return value


def amount_delta_a(p0: int, p1: int, liquidity: int, round_up: bool) -> int:
    """`try_amount_delta_a` where an oversized result is an error, as the program's getter does."""
    return _raise_if_error(try_amount_delta_a(p0, p1, liquidity, round_up), "amount delta A")


def amount_delta_b(p0: int, p1: int, liquidity: int, round_up: bool) -> int:
    """`try_amount_delta_b` where an oversized result is an error, as the program's getter does."""
    return _raise_if_error(try_amount_delta_b(p0, p1, liquidity, round_up), "amount delta B")


def next_sqrt_price_from_a(sqrt_price: int, liquidity: int, amount: int, add: bool) -> int:
    """The sqrt price after adding (`add`) or removing `amount` of token A, rounded up.

    Rounding up keeps the price on the pool's side: adding A lowers the price a little less than
    exact, removing A raises it a little more.
    """
    if amount == 0:
        return sqrt_price
    product = sqrt_price * amount
    numerator = liquidity * sqrt_price
    if numerator >= U192_LIMIT:
        raise QuoteError("MultiplicationOverflow", "next sqrt price from A: L * sqrt_price exceeds 192 bits")
    liquidity_x64 = liquidity << 64
    if not add and liquidity_x64 <= product:
        raise QuoteError("DivideByZero", "next sqrt price from A: the output drains the liquidity")
    denominator = liquidity_x64 + product if add else liquidity_x64 - product
    price = -(-(numerator << 64) // denominator)
    if price > U128_MAX:
        raise QuoteError("NumberDownCastError", "next sqrt price from A exceeds u128")
    if price < MIN_SQRT_PRICE_X64:
        raise QuoteError("TokenMinSubceeded", f"next sqrt price {price} below the minimum")
    if price > MAX_SQRT_PRICE_X64:
        raise QuoteError("TokenMaxExceeded", f"next sqrt price {price} above the maximum")
    return price


def next_sqrt_price_from_b(sqrt_price: int, liquidity: int, amount: int, add: bool) -> int:
    """The sqrt price after adding (`add`) or removing `amount` of token B, rounded down.

    The price delta is ``amount * 2**64 / L``, rounded down when B comes in and up when B goes out,
    so the resulting price never favours the trader. Not bounded to [MIN, MAX] here: the swap step
    only calls it for a move short of a target that is itself in bounds.
    """
    if liquidity == 0:
        raise QuoteError("DivideByZero", "next sqrt price from B with zero liquidity")
    quotient, remainder = divmod(amount << 64, liquidity)
    if not add and remainder:
        quotient += 1
    price = sqrt_price + quotient if add else sqrt_price - quotient
    if not 0 <= price <= U128_MAX:
        raise QuoteError("SqrtPriceOutOfBounds", "next sqrt price from B leaves u128")
    return price


def next_sqrt_price(sqrt_price: int, liquidity: int, amount: int, amount_is_input: bool, a_to_b: bool) -> int:
    """The sqrt price after `amount` of the specified token: A moves when input A or output A."""
    if amount_is_input == a_to_b:
        return next_sqrt_price_from_a(sqrt_price, liquidity, amount, amount_is_input)
    return next_sqrt_price_from_b(sqrt_price, liquidity, amount, amount_is_input)


class SwapStep(NamedTuple):
    """One step of a swap between the current price and a target (the next tick or the limit)."""

    amount_in: int
    amount_out: int
    next_sqrt_price: int
    fee_amount: int


def _try_fixed_delta(p0: int, p1: int, liquidity: int, amount_is_input: bool, a_to_b: bool) -> int | str:
    # The "fixed" token is the one the trader specified: A for A-in or A-out, else B.
    if a_to_b == amount_is_input:
        return try_amount_delta_a(p0, p1, liquidity, amount_is_input)
    return try_amount_delta_b(p0, p1, liquidity, amount_is_input)


def _unfixed_delta(p0: int, p1: int, liquidity: int, amount_is_input: bool, a_to_b: bool) -> int:
    # The other token, rounded the other way: output rounds down, input rounds up.
    if a_to_b == amount_is_input:
        return amount_delta_b(p0, p1, liquidity, not amount_is_input)
    return amount_delta_a(p0, p1, liquidity, not amount_is_input)


def compute_swap_step(
    amount_remaining: int,
    fee_rate: int,
    liquidity: int,
    sqrt_price_current: int,
    sqrt_price_target: int,
    amount_is_input: bool,
    a_to_b: bool,
) -> SwapStep:
    """Swap as far as `amount_remaining` allows towards `sqrt_price_target`, with Whirlpool's fee rules.

    Exact-in spends ``amount * (1e6 - fee_rate) / 1e6`` (floored) on the curve. A step that reaches
    the target pays ``ceil(amount_in * fee_rate / (1e6 - fee_rate))``; one that stops short keeps
    the whole remainder as fee, so no input is ever left unaccounted. Exact-out caps the output at
    what was asked.
    """
    initial_fixed = _try_fixed_delta(
        sqrt_price_current, sqrt_price_target, liquidity, amount_is_input, a_to_b
    )
    amount_calc = amount_remaining
    if amount_is_input:
        amount_calc = amount_remaining * (FEE_RATE_MUL_VALUE - fee_rate) // FEE_RATE_MUL_VALUE
    if not isinstance(initial_fixed, str) and initial_fixed <= amount_calc:
        next_price = sqrt_price_target
    else:
        next_price = next_sqrt_price(sqrt_price_current, liquidity, amount_calc, amount_is_input, a_to_b)
    is_max_swap = next_price == sqrt_price_target

    unfixed = _unfixed_delta(sqrt_price_current, next_price, liquidity, amount_is_input, a_to_b)
    if not is_max_swap or isinstance(initial_fixed, str):
        fixed = _raise_if_error(
            _try_fixed_delta(sqrt_price_current, next_price, liquidity, amount_is_input, a_to_b),
            "fixed delta",
        )
    else:
        fixed = initial_fixed

    if amount_is_input:
        amount_in, amount_out = fixed, unfixed
    else:
        amount_in, amount_out = unfixed, min(fixed, amount_remaining)

    if amount_is_input and not is_max_swap:
        fee_amount = amount_remaining - amount_in
        if fee_amount < 0:
            raise panic("swap step: amount_in exceeds the remaining input")
    else:
        denominator = FEE_RATE_MUL_VALUE - fee_rate
        fee_amount = -(-(amount_in * fee_rate) // denominator)
        if fee_amount > U64_MAX:
            raise QuoteError("NumberCastError", "swap step fee exceeds u64")
    return SwapStep(amount_in, amount_out, next_price, fee_amount)
