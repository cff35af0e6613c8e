"""Integer arithmetic as the on-chain programs do it: u64/u128 bounds, ceil/floor division, panics.

Python ints never overflow, so every bound the Rust code enforces (a ``checked_*`` op followed by
``unwrap``, an ``as_u64`` cast, a failed ``?`` on an ``Option``) is restated here explicitly. A
quote that would panic on chain raises `QuoteError` with code ``ProgramFailedToComplete``, the
name the transaction reports; a refused ``Option`` is left to the caller, who knows which program
error it becomes.
"""

from __future__ import annotations

from mevbot.dex.base import U64_MAX, U128_MAX, QuoteError

PANIC = "ProgramFailedToComplete"
INSUFFICIENT_FUNDS = "InsufficientFunds"


def panic(detail: str) -> QuoteError:
    """The error a Rust panic (unwrap of a failed checked op, overflow, division by zero) reports."""
    return QuoteError(PANIC, detail)


def ceil_div(numerator: int, denominator: int) -> int:
    """Ceiling of numerator / denominator for non-negative ints; the caller rules out a zero divisor."""
    return -(-numerator // denominator)


def u64(value: int, what: str) -> int:
    """`value`, or the panic of an unwrapped u64 conversion (`as_u64`, `u64::try_from(..).unwrap()`)."""
    if not 0 <= value <= U64_MAX:
        raise panic(f"{what} = {value} does not fit in u64")
    return value


def u128(value: int, what: str) -> int:
    """`value`, or the panic of an unwrapped u128 checked op (`checked_mul(..).unwrap()` and kin)."""
    if not 0 <= value <= U128_MAX:
        raise panic(f"{what} = {value} does not fit in u128")
    return value


def constant_product_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Output of x·y=k for a net input: floor(amount_in · reserve_out / (reserve_in + amount_in)).

    Both programs compute exactly this in u128 and unwrap every step (AMM v4
    `swap_token_amount_base_in`, CPMM `swap_base_input_without_fees`).
    """
    numerator = u128(amount_in * reserve_out, "amount_in * reserve_out")
    denominator = u128(reserve_in + amount_in, "reserve_in + amount_in")
    if denominator == 0:
        raise panic("constant product: division by zero (empty input reserve, zero input)")
    return numerator // denominator


def constant_product_in(amount_out: int, reserve_in: int, reserve_out: int) -> int:
    """Net input x·y=k needs for an output: ceil(reserve_in · amount_out / (reserve_out - amount_out)).

    Panics like the programs do when the output reaches the reserve (underflow, or a zero divisor
    in `checked_ceil_div`) or the product leaves u128.
    """
    numerator = u128(reserve_in * amount_out, "reserve_in * amount_out")
    if amount_out > reserve_out:
        raise panic(f"reserve_out - amount_out underflows (amount_out {amount_out} > reserve {reserve_out})")
    if amount_out == reserve_out:
        raise panic("ceil division by zero (amount_out == reserve_out)")
    return ceil_div(numerator, reserve_out - amount_out)


def max_source_balance(input_vault_amount: int) -> int:
    """The most a trader's input account can hold: the mint's supply is a u64 and the vault holds the rest."""
    return U64_MAX - input_vault_amount


def check_source_balance(amount_in: int, source_balance: int | None, reserve_in: int) -> None:
    """Refuse an input above what the trader holds (both programs fail with InsufficientFunds).

    `source_balance` None stands for the most any account can hold besides a vault of `reserve_in`
    (`max_source_balance`, the vectors' assumption), so every curve defaults the same way.
    """
    if source_balance is None:
        source_balance = max_source_balance(reserve_in)
    if amount_in > source_balance:
        raise QuoteError(INSUFFICIENT_FUNDS, f"input {amount_in} exceeds the source balance {source_balance}")


def net_of_owed(vault_amount: int, owed: int, code: str, what: str) -> int:
    """A vault's tradable amount: its balance minus what the pool owes out of it (u64 checked_sub)."""
    if owed > vault_amount:
        raise QuoteError(code, f"{what}: vault holds {vault_amount}, pool owes {owed}")
    return vault_amount - owed
