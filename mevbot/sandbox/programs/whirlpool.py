"""Orca Whirlpool swap_v2, run on the bank's accounts with `dex.whirlpool`.

Checks follow the Anchor `SwapV2` context and `swap_v2_handler`: the authority signs, mints,
vaults and oracle are the pool's, the passed tick arrays belong to the pool (missing ones read as
zero ticks when their address is the right PDA), then the venue's swap and the threshold. Tokens
move between the trader and the vaults; the pool takes the swap's post state (price, tick,
liquidity, input-side fee growth and protocol fee owed).

Not modelled, as they change no price or balance: the fee-growth-outside flips of crossed ticks,
reward growth (pools here emit no rewards; only the timestamp moves) and the memo program.
"""

from __future__ import annotations

import dataclasses

from solders.pubkey import Pubkey

from mevbot.dex import whirlpool as wp
from mevbot.dex.base import DecodeError
from mevbot.dex.swap_data import InstructionDataError, SwapArgs, SwapKind
from mevbot.sandbox.native import InstructionContext, ProgramError
from mevbot.sandbox.programs.common import (
    check_threshold,
    quote_errors,
    read_pool,
    read_token_account,
    read_trader_accounts,
    require_signer,
    transfer,
    venue_error,
    write_data,
)

# orca whirlpools `ErrorCode` (Anchor, from 6000) — the ones a swap can raise.
ERROR_CODES = {
    "InvalidEnum": 6000, "DivideByZero": 6006, "NumberCastError": 6007, "NumberDownCastError": 6008,
    "TickNotFound": 6009, "InvalidTickIndex": 6010, "SqrtPriceOutOfBounds": 6011, "LiquidityZero": 6012,
    "LiquidityTooHigh": 6013, "LiquidityOverflow": 6014, "LiquidityUnderflow": 6015, "LiquidityNetError": 6016,
    "InvalidTickArraySequence": 6023, "MultiplicationShiftRightOverflow": 6030, "MulDivOverflow": 6031,
    "MulDivInvalidInput": 6032, "MultiplicationOverflow": 6033, "InvalidSqrtPriceLimitDirection": 6034,
    "ZeroTradableAmount": 6035, "AmountOutBelowMinimum": 6036, "AmountInAboveMaximum": 6037,
    "TickArraySequenceInvalidIndex": 6038, "AmountCalcOverflow": 6039, "AmountRemainingOverflow": 6040,
    "RemainingAccountsInvalidSlice": 6048, "RemainingAccountsInsufficient": 6049,
    "RemainingAccountsDuplicatedAccountsType": 6053, "TooManySupplementalTickArrays": 6055,
    "DifferentWhirlpoolTickArrayAccount": 6056, "PartialFillError": 6057,
}  # fmt: skip
(_TOKEN_PROGRAM_A, _TOKEN_PROGRAM_B, _MEMO, _AUTHORITY, _WHIRLPOOL, _MINT_A, _MINT_B, _OWNER_A, _VAULT_A,
 _OWNER_B, _VAULT_B) = range(11)  # fmt: skip


def _error(name: str, detail: str = "") -> ProgramError:
    return venue_error(name, ERROR_CODES, detail)


class WhirlpoolSwapProgram:
    """The Whirlpool program's swap_v2 instruction."""

    program_id: Pubkey = wp.PROGRAM_ID
    compute_units: int = 60_000

    def execute(self, context: InstructionContext) -> list[str]:
        if context.data[:8] != wp.SWAP_V2_DISCRIMINATOR:
            raise _error("InstructionFallbackNotFound", "only swap_v2 is modelled")
        try:
            args = wp.parse_swap_v2_args(context.data)
            keys = wp.parse_swap_v2_accounts([ref.pubkey for ref in context.instruction.accounts])
            tick_array_keys = keys.tick_arrays(args)
        except InstructionDataError as exc:
            if len(context.instruction.accounts) < wp.SWAP_V2_ACCOUNTS_LEN:
                raise _error("AccountNotEnoughKeys", str(exc)) from None
            raise _error("RemainingAccountsInvalidSlice", str(exc)) from None
        authority = require_signer(context, _AUTHORITY, _error("AccountNotSigner", "token authority"))
        pool: wp.WhirlpoolPool = read_pool(context, keys.whirlpool, wp.VENUE, ERROR_CODES,
                                           owner_error=_error("AccountOwnedByWrongProgram"),
                                           decode_error="AccountDiscriminatorMismatch")  # fmt: skip
        if (keys.token_mint_a, keys.token_mint_b) != (pool.mint_a, pool.mint_b):
            raise _error("ConstraintAddress", "token mints")
        for program_key, mint in ((keys.token_program_a, pool.mint_a), (keys.token_program_b, pool.mint_b)):
            minted = context.read(mint)  # `address = *token_mint.owner`
            if minted is None or program_key != minted.owner:
                raise _error("ConstraintAddress", f"token program {program_key} does not own mint {mint}")
        if (keys.token_vault_a, keys.token_vault_b) != (pool.vault_a, pool.vault_b):
            raise _error("ConstraintAddress", "token vaults")
        if keys.oracle != wp.oracle_address(pool.address):
            raise _error("ConstraintSeeds", "oracle")
        owner_a, owner_b = read_trader_accounts(
            context,
            (keys.token_owner_account_a, keys.token_owner_account_b),
            (pool.mint_a, pool.mint_b),
            (_error("ConstraintTokenMint", "account a"), _error("ConstraintTokenMint", "account b")),
            _error("ConstraintTokenMint", "owner token accounts do not hold the pool's mints"),
        )
        vault_a = read_token_account(context, pool.vault_a, _error("ConstraintAddress", "vault a"))
        vault_b = read_token_account(context, pool.vault_b, _error("ConstraintAddress", "vault b"))
        state = wp.WhirlpoolState.of(pool, self._tick_arrays(context, pool, tick_array_keys, args.a_to_b))
        with quote_errors(ERROR_CODES):
            result = wp.swap(state, args.amount, amount_specified_is_input=args.amount_specified_is_input,
                             a_to_b=args.a_to_b, sqrt_price_limit=args.sqrt_price_limit)  # fmt: skip
        kind = SwapKind.EXACT_IN if args.amount_specified_is_input else SwapKind.EXACT_OUT
        guard = _error("AmountOutBelowMinimum" if kind is SwapKind.EXACT_IN else "AmountInAboveMaximum")
        check_threshold(SwapArgs(kind, args.amount, args.other_amount_threshold), result.amount_in,
                        result.amount_out, guard)  # fmt: skip
        if args.a_to_b:
            transfer(context, owner_a, vault_a, result.amount_a, authority)
            transfer(context, vault_b, owner_b, result.amount_b, pool.address)
        else:
            transfer(context, owner_b, vault_b, result.amount_b, authority)
            transfer(context, vault_a, owner_a, result.amount_a, pool.address)
        write_data(
            context, pool.address, wp.encode_whirlpool(_post_swap(pool, result, context.clock.unix_timestamp))
        )
        return ["Instruction: SwapV2", f"a {result.amount_a} b {result.amount_b} fee {result.fee_amount}"]

    def _tick_arrays(self, context: InstructionContext, pool: wp.WhirlpoolPool, addresses: tuple[Pubkey, ...],
                     a_to_b: bool) -> list[wp.TickArray]:  # fmt: skip
        """The passed tick arrays, deduplicated; an absent PDA of a needed start reads as zero ticks."""
        needed = {wp.tick_array_address(pool.address, s): s
                  for s in wp.swap_tick_array_starts(pool.tick_current_index, pool.tick_spacing, a_to_b)}  # fmt: skip
        arrays = []
        for address in dict.fromkeys(addresses):
            account = context.read(address)
            if account is None:
                if address in needed:
                    arrays.append(wp.empty_tick_array(pool.address, needed[address]))
                continue
            if account.owner != wp.PROGRAM_ID:
                raise _error("AccountOwnedByWrongProgram", f"tick array {address}")
            try:
                array = wp.decode_tick_array(bytes(account.data), account.owner)
            except DecodeError as exc:
                raise _error("AccountDiscriminatorMismatch", str(exc)) from None
            if array.whirlpool != pool.address:
                raise _error("DifferentWhirlpoolTickArrayAccount", str(address))
            arrays.append(array)
        return arrays


def _post_swap(pool: wp.WhirlpoolPool, result: wp.SwapResult, now: int) -> wp.WhirlpoolPool:
    """`Whirlpool::update_after_swap`: the new price state, and the input side's fee growth and protocol fee."""
    side = "a" if result.a_to_b else "b"
    return dataclasses.replace(
        pool,
        liquidity=result.next_liquidity,
        sqrt_price=result.next_sqrt_price,
        tick_current_index=result.next_tick_index,
        reward_last_updated_timestamp=max(pool.reward_last_updated_timestamp, now),
        **{
            f"fee_growth_global_{side}": result.next_fee_growth_global,
            f"protocol_fee_owed_{side}": getattr(pool, f"protocol_fee_owed_{side}")
            + result.next_protocol_fee,
        },
    )
