"""One line of constant_product.jsonl: Raydium AMM v4 / CPMM quotes against what the program does.

Each line is checked twice: with the pure quote functions on plain ints, and through the venue
(encoded pool, config and vault bytes → decode → load → quote), so the account plumbing and the
direction mapping are held to the same numbers. Only `expected` / `error` count, never `sdk`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm
from mevbot.dex.base import Quote, QuoteError
from mevbot.dex.spl_token import encode_token_account

_POOL, _CONFIG = Pubkey.new_unique(), Pubkey.new_unique()
_MINT_IN, _MINT_OUT = Pubkey.new_unique(), Pubkey.new_unique()
_VAULT_IN, _VAULT_OUT = Pubkey.new_unique(), Pubkey.new_unique()
_AUTHORITY = Pubkey.new_unique()


def _vaults(case: dict[str, Any]) -> dict[Pubkey, bytes]:
    """Vaults holding exactly the reserves (the lines assume no fees or pnl owed)."""
    return {
        _VAULT_IN: encode_token_account(_MINT_IN, _AUTHORITY, int(case["reserve_in"])),
        _VAULT_OUT: encode_token_account(_MINT_OUT, _AUTHORITY, int(case["reserve_out"])),
    }


def _amm_v4(case: dict[str, Any]) -> tuple[Callable[[], Quote], Callable[[], Quote]]:
    amount, reserve_in, reserve_out = int(case["amount"]), int(case["reserve_in"]), int(case["reserve_out"])
    numerator, denominator = int(case["swap_fee_numerator"]), int(case["swap_fee_denominator"])
    pure_fn = raydium_amm_v4.swap_base_in if case["mode"] == "exact_in" else raydium_amm_v4.swap_base_out

    def pure() -> Quote:
        return pure_fn(amount, reserve_in, reserve_out, numerator, denominator)

    def venue() -> Quote:
        pool = raydium_amm_v4.AmmV4Pool(
            address=_POOL, mint_a=_MINT_IN, mint_b=_MINT_OUT, coin_vault=_VAULT_IN, pc_vault=_VAULT_OUT,
            swap_fee_numerator=numerator, swap_fee_denominator=denominator,
        )  # fmt: skip
        v = raydium_amm_v4.VENUE
        state = v.load(
            v.decode_pool(_POOL, raydium_amm_v4.encode_amm_info(pool), v.program_id), _vaults(case)
        )
        quote = v.quote_exact_in if case["mode"] == "exact_in" else v.quote_exact_out
        return quote(state, amount, True)

    return pure, venue


def _cpmm(case: dict[str, Any]) -> tuple[Callable[[], raydium_cpmm.CpmmSwap], Callable[[], Quote]]:
    amount, reserve_in, reserve_out = int(case["amount"]), int(case["reserve_in"]), int(case["reserve_out"])
    rates = raydium_cpmm.FeeRates(
        trade_fee_rate=int(case["trade_fee_rate"]),
        protocol_fee_rate=int(case["protocol_fee_rate"]),
        fund_fee_rate=int(case["fund_fee_rate"]),
        creator_fee_rate=int(case["creator_fee_rate"]),
    )
    on_input: bool = case["creator_fee_on_input"]
    pure_fn = raydium_cpmm.swap_base_input if case["mode"] == "exact_in" else raydium_cpmm.swap_base_output

    def pure() -> raydium_cpmm.CpmmSwap:
        return pure_fn(amount, reserve_in, reserve_out, rates, on_input)

    def venue() -> Quote:
        # Token 0 is the input; ONLY_TOKEN_1 puts the creator fee on the output for 0 → 1.
        fee_on = raydium_cpmm.CreatorFeeOn.BOTH_TOKEN if on_input else raydium_cpmm.CreatorFeeOn.ONLY_TOKEN_1
        pool = raydium_cpmm.CpmmPool(
            address=_POOL, amm_config=_CONFIG, mint_a=_MINT_IN, mint_b=_MINT_OUT,
            token_0_vault=_VAULT_IN, token_1_vault=_VAULT_OUT, creator_fee_on=int(fee_on), enable_creator_fee=True,
        )  # fmt: skip
        config = raydium_cpmm.CpmmConfig(
            address=_CONFIG, trade_fee_rate=rates.trade_fee_rate, protocol_fee_rate=rates.protocol_fee_rate,
            fund_fee_rate=rates.fund_fee_rate, creator_fee_rate=rates.creator_fee_rate,
        )  # fmt: skip
        accounts = {_CONFIG: raydium_cpmm.encode_amm_config(config), **_vaults(case)}
        v = raydium_cpmm.VENUE
        state = v.load(v.decode_pool(_POOL, raydium_cpmm.encode_pool_state(pool), v.program_id), accounts)
        quote = v.quote_exact_in if case["mode"] == "exact_in" else v.quote_exact_out
        return quote(state, amount, True)

    return pure, venue


def _expect_error(run: Callable[[], object], code: str) -> None:
    with pytest.raises(QuoteError) as info:
        run()
    assert info.value.code == code, f"raised {info.value!r}, the program fails with {code}"


def check_constant_product_case(case: dict[str, Any]) -> None:
    """Assert the quote equals the line's `expected` to the unit, or raises its `error` by name."""
    pure, venue = _amm_v4(case) if case["dex"] == "raydium_amm_v4" else _cpmm(case)
    if "error" in case:
        _expect_error(pure, case["error"])
        _expect_error(venue, case["error"])
        return
    expected = {key: int(value) for key, value in case["expected"].items()}
    result = pure()
    got = {"trade_fee": result.fee if isinstance(result, Quote) else result.trade_fee}
    if case["mode"] == "exact_in":
        assert result.amount_in == int(case["amount"])
        got["amount_out"] = result.amount_out
    else:
        assert result.amount_out == int(case["amount"])
        got["amount_in"] = result.amount_in
    if isinstance(result, raydium_cpmm.CpmmSwap):
        got.update(protocol_fee=result.protocol_fee, fund_fee=result.fund_fee, creator_fee=result.creator_fee)
        assert result.creator_fee_on_input is case["creator_fee_on_input"]
        result = result.quote()
    assert got == expected
    assert venue() == result
