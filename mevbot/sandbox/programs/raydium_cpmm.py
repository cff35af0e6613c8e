"""Raydium CPMM swap_base_input / swap_base_output, run on the bank's accounts with `dex.raydium_cpmm`.

Checks follow the Anchor `Swap` context and `swap_base_input.rs`: the payer signs, authority,
config and vaults are the pool's, the vault pair picks the direction, the pool must be open for
swaps, then the venue's booking and the slippage guard. Tokens move user → input vault and
output vault → user; the pool's owed-fee counters grow by the protocol, fund and creator fees
(`update_fees`), so the next quote nets them out of the vaults exactly as the program does. The
observation account (an oracle, no effect on prices) is not updated.
"""

from __future__ import annotations

import dataclasses

from solders.pubkey import Pubkey

from mevbot.dex import raydium_cpmm as cpmm
from mevbot.dex.base import DecodeError
from mevbot.dex.swap_data import InstructionDataError, SwapKind
from mevbot.sandbox.native import InstructionContext, ProgramError
from mevbot.sandbox.programs.common import (
    check_threshold,
    quote_errors,
    read_pool,
    read_token_account,
    read_trader_accounts,
    require_signer,
    swap_direction,
    transfer,
    venue_error,
    write_data,
)

# raydium-cp-swap `ErrorCode` (Anchor, from 6000).
ERROR_CODES = {
    "NotApproved": 6000, "InvalidOwner": 6001, "EmptySupply": 6002, "InvalidInput": 6003,
    "IncorrectLpMint": 6004, "ExceededSlippage": 6005, "ZeroTradingTokens": 6006, "NotSupportMint": 6007,
    "InvalidVault": 6008, "InitLpAmountTooLess": 6009, "TransferFeeCalculateNotMatch": 6010,
    "MathOverflow": 6011, "InsufficientVault": 6012, "InvalidFeeModel": 6013, "NoFeeCollect": 6014,
}  # fmt: skip


def _error(name: str, detail: str = "") -> ProgramError:
    return venue_error(name, ERROR_CODES, detail)


class CpmmSwapProgram:
    """The CPMM program's two swap instructions."""

    program_id: Pubkey = cpmm.PROGRAM_ID
    compute_units: int = 40_000

    def execute(self, context: InstructionContext) -> list[str]:
        try:
            args = cpmm.parse_swap(context.data)
        except InstructionDataError as exc:
            raise _error("InstructionFallbackNotFound", str(exc)) from None
        if len(context.instruction.accounts) < cpmm.SWAP_OBSERVATION_STATE + 1:
            raise _error("AccountNotEnoughKeys")
        payer = require_signer(context, cpmm.SWAP_PAYER, _error("AccountNotSigner", "payer must sign"))
        pool: cpmm.CpmmPool = read_pool(
            context, context.key(cpmm.SWAP_POOL_STATE), cpmm.VENUE, ERROR_CODES,
            owner_error=_error("AccountOwnedByWrongProgram"), decode_error="AccountDiscriminatorMismatch",
        )  # fmt: skip
        if context.key(cpmm.SWAP_AUTHORITY) != cpmm.AUTHORITY:
            raise _error("ConstraintSeeds", "authority")
        if context.key(cpmm.SWAP_AMM_CONFIG) != pool.amm_config:
            raise _error("ConstraintAddress", "amm_config")
        vaults = (context.key(cpmm.SWAP_INPUT_VAULT), context.key(cpmm.SWAP_OUTPUT_VAULT))
        a_to_b = swap_direction(vaults, pool.token_0_vault, pool.token_1_vault, _error("InvalidVault"))
        mint_in, mint_out = (pool.mint_a, pool.mint_b) if a_to_b else (pool.mint_b, pool.mint_a)
        if (context.key(cpmm.SWAP_INPUT_TOKEN_MINT), context.key(cpmm.SWAP_OUTPUT_TOKEN_MINT)) != (
            mint_in,
            mint_out,
        ):
            raise _error("ConstraintAddress", "token mints do not match the vaults")
        if pool.status & cpmm.STATUS_DISABLE_SWAP or context.clock.unix_timestamp < pool.open_time:
            raise _error("NotApproved", "swaps are disabled or the pool has not opened")
        source, destination = read_trader_accounts(
            context,
            (context.key(cpmm.SWAP_INPUT_TOKEN_ACCOUNT), context.key(cpmm.SWAP_OUTPUT_TOKEN_ACCOUNT)),
            (mint_in, mint_out),
            (_error("ConstraintTokenMint", "input token account"),
             _error("ConstraintTokenMint", "output token account")),
            _error("ConstraintTokenMint", "user token accounts do not hold the swapped mints"),
        )  # fmt: skip
        config_account = context.read(pool.amm_config)
        vault_in = read_token_account(context, vaults[0], _error("InvalidVault"))
        vault_out = read_token_account(context, vaults[1], _error("InvalidVault"))
        if config_account is None:
            raise _error("AccountNotInitialized", "amm_config")
        if config_account.owner != cpmm.PROGRAM_ID:
            raise _error("AccountOwnedByWrongProgram", "amm_config")
        accounts = {
            pool.amm_config: bytes(config_account.data),
            vaults[0]: bytes(vault_in.account.data),
            vaults[1]: bytes(vault_out.account.data),
        }
        with quote_errors(ERROR_CODES):
            try:
                state = cpmm.VENUE.load(pool, accounts)
            except DecodeError as exc:  # the vaults were read above: it is the config (Anchor's Account<AmmConfig>)
                raise _error("AccountDiscriminatorMismatch", f"amm_config: {exc}") from None
            if args.kind is SwapKind.EXACT_IN:
                booked = cpmm.VENUE.swap_exact_in(state, args.amount, a_to_b)
            else:
                booked = cpmm.VENUE.swap_exact_out(state, args.amount, a_to_b)
        check_threshold(args, booked.amount_in, booked.amount_out, _error("ExceededSlippage"))
        transfer(context, source, vault_in, booked.amount_in, payer)
        transfer(context, vault_out, destination, booked.amount_out, cpmm.AUTHORITY)
        write_data(context, pool.address, cpmm.encode_pool_state(_book_fees(pool, booked, a_to_b)))
        return [
            f"Instruction: {'SwapBaseInput' if args.kind is SwapKind.EXACT_IN else 'SwapBaseOutput'}",
            f"in {booked.amount_in} out {booked.amount_out} trade_fee {booked.trade_fee}",
        ]


def _book_fees(pool: cpmm.CpmmPool, booked: cpmm.CpmmSwap, a_to_b: bool) -> cpmm.CpmmPool:
    """`PoolState::update_fees`: protocol and fund fees in the input token, the creator fee where taken."""
    side_in, side_out = ("0", "1") if a_to_b else ("1", "0")
    creator_side = side_in if booked.creator_fee_on_input else side_out
    changes = {
        f"protocol_fees_token_{side_in}": getattr(pool, f"protocol_fees_token_{side_in}")
        + booked.protocol_fee,
        f"fund_fees_token_{side_in}": getattr(pool, f"fund_fees_token_{side_in}") + booked.fund_fee,
    }
    creator_field = f"creator_fees_token_{creator_side}"
    changes[creator_field] = getattr(pool, creator_field) + booked.creator_fee
    return dataclasses.replace(pool, **changes)
