"""Raydium AMM v4 SwapBaseInV2 / SwapBaseOutV2, run on the bank's accounts with `dex.raydium_amm_v4`.

Checks follow `processor.rs` `process_swap_base_in_v2` / `_out_v2`: the owner signs, the authority
and vaults are the pool's, the user's mints pick the direction, the quote is the venue's, then the
slippage guard; tokens move user → input vault and output vault → user. A swap leaves AmmInfo as
it was (need_take_pnl only moves on deposits and withdrawals), so only the four token accounts change.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4 as amm
from mevbot.dex import spl_token
from mevbot.dex.swap_data import InstructionDataError, SwapKind
from mevbot.sandbox.native import InstructionContext, ProgramError
from mevbot.sandbox.programs.common import (
    check_threshold,
    quote_errors,
    read_pool,
    read_token_account,
    require_signer,
    swap_direction,
    transfer,
    venue_error,
)

# raydium-amm `AmmError` (program/src/error.rs).
ERROR_CODES = {
    "InvalidProgramAddress": 1, "InvalidCoinVault": 4, "InvalidPCVault": 5, "InvalidOwner": 18,
    "InvalidSignAccount": 21, "InvalidStatus": 22, "InvalidInstruction": 23, "WrongAccountsNumber": 24,
    "InvalidInput": 29, "ExceededSlippage": 30, "CheckedSubOverflow": 32, "InvalidSplTokenProgram": 38,
    "InsufficientFunds": 40, "InvalidUserToken": 42, "NotAllowed": 59,
}  # fmt: skip


def _error(name: str, detail: str = "") -> ProgramError:
    return venue_error(name, ERROR_CODES, detail)


class AmmV4SwapProgram:
    """The AMM v4 program's swap instructions (v2 account layout)."""

    program_id: Pubkey = amm.PROGRAM_ID
    compute_units: int = 30_000

    def execute(self, context: InstructionContext) -> list[str]:
        try:
            args = amm.parse_swap(context.data)
        except InstructionDataError as exc:
            raise _error("InvalidInstruction", str(exc)) from None
        if len(context.instruction.accounts) < amm.V2_USER_OWNER + 1:
            raise _error("WrongAccountsNumber", f"{len(context.instruction.accounts)} accounts, need 8")
        if context.key(0) != spl_token.TOKEN_PROGRAM_ID:
            raise _error("InvalidSplTokenProgram")
        owner = require_signer(
            context, amm.V2_USER_OWNER, _error("InvalidSignAccount", "user owner must sign")
        )
        pool: amm.AmmV4Pool = read_pool(context, context.key(amm.V2_POOL), amm.VENUE, ERROR_CODES,
                                        owner_error=_error("InvalidOwner", "AmmInfo owner"),
                                        decode_error="InvalidAccountData")  # fmt: skip
        if context.key(amm.V2_AUTHORITY) != amm.authority_address(pool.nonce):
            raise _error("InvalidProgramAddress", "amm authority")
        if context.key(amm.V2_COIN_VAULT) != pool.coin_vault:
            raise _error("InvalidCoinVault")
        if context.key(amm.V2_PC_VAULT) != pool.pc_vault:
            raise _error("InvalidPCVault")
        user_in_error = _error("InvalidUserToken", "user token accounts do not match the pool's mints")
        source = read_token_account(context, context.key(amm.V2_USER_SOURCE), user_in_error)
        destination = read_token_account(context, context.key(amm.V2_USER_DESTINATION), user_in_error)
        a_to_b = swap_direction(
            (source.token.mint, destination.token.mint), pool.coin_mint, pool.pc_mint, user_in_error
        )
        if pool.status == amm.AmmStatus.WAITING_TRADE and context.clock.unix_timestamp < pool.pool_open_time:
            raise _error("InvalidStatus", "the pool has not opened yet")
        coin_vault = read_token_account(context, pool.coin_vault, _error("InvalidCoinVault"))
        pc_vault = read_token_account(context, pool.pc_vault, _error("InvalidPCVault"))
        accounts = {
            pool.coin_vault: bytes(coin_vault.account.data),
            pool.pc_vault: bytes(pc_vault.account.data),
        }
        with quote_errors(ERROR_CODES):
            state = amm.VENUE.load(pool, accounts)
            if args.kind is SwapKind.EXACT_IN:
                quote = amm.VENUE.quote_exact_in(state, args.amount, a_to_b)
            else:
                quote = amm.VENUE.quote_exact_out(state, args.amount, a_to_b)
        check_threshold(args, quote.amount_in, quote.amount_out, _error("ExceededSlippage"))
        if source.token.amount < quote.amount_in:
            raise _error("InsufficientFunds", f"source holds {source.token.amount}, needs {quote.amount_in}")
        vault_in, vault_out = (coin_vault, pc_vault) if a_to_b else (pc_vault, coin_vault)
        transfer(context, source, vault_in, quote.amount_in, owner)
        transfer(context, vault_out, destination, quote.amount_out, amm.authority_address(pool.nonce))
        return [
            f"Instruction: {'SwapBaseInV2' if args.kind is SwapKind.EXACT_IN else 'SwapBaseOutV2'}",
            f"in {quote.amount_in} out {quote.amount_out} fee {quote.fee}",
        ]
