"""What every venue swap does besides its math: read token accounts, check them, move tokens.

The swap programs move tokens by CPI into the Token program; these helpers apply the Token
program's own checks (owner, mint, balance) and report its errors (`TokenError` custom codes), so
an underfunded trader sees ``custom program error: 0x1`` just as on chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from mevbot.dex import spl_token
from mevbot.dex.base import U64, DecodeError, QuoteError, Venue
from mevbot.dex.swap_data import SwapArgs, SwapKind
from mevbot.sandbox.native import FIELDLESS_INSTRUCTION_ERRORS, InstructionContext, ProgramError

# spl-token `TokenError` codes (token/program/src/error.rs).
_TOKEN_ERRORS = {"InsufficientFunds": 1, "MintMismatch": 3, "OwnerMismatch": 4, "AccountFrozen": 17}
_ACCOUNT_STATE_FROZEN = 2

# Anchor's framework errors (anchor-lang `ErrorCode`), for the Anchor venues' account constraints.
ANCHOR_ERRORS = {
    "InstructionFallbackNotFound": 101,
    "ConstraintMut": 2000, "ConstraintHasOne": 2001, "ConstraintSigner": 2002, "ConstraintRaw": 2003,
    "ConstraintSeeds": 2006, "ConstraintAddress": 2012, "ConstraintTokenMint": 2014,
    "ConstraintTokenOwner": 2015, "RequireGtViolated": 2505, "RequireGteViolated": 2506,
    "AccountDiscriminatorMismatch": 3002, "AccountNotEnoughKeys": 3005, "AccountOwnedByWrongProgram": 3007,
    "AccountNotSigner": 3010, "AccountNotInitialized": 3012,
}  # fmt: skip


def token_error(name: str, detail: str = "") -> ProgramError:
    return ProgramError(name, _TOKEN_ERRORS[name], detail)


def venue_error(name: str, codes: Mapping[str, int], detail: str = "") -> ProgramError:
    """The program's error `name`: its custom code when it has one, else the runtime's variant."""
    if name in codes:
        return ProgramError(name, codes[name], detail)
    if name in ANCHOR_ERRORS:
        return ProgramError(name, ANCHOR_ERRORS[name], detail)
    if name in FIELDLESS_INSTRUCTION_ERRORS:
        return ProgramError(name, None, detail)
    return ProgramError("ProgramFailedToComplete", None, f"{name}: {detail}")


def from_quote_error(error: QuoteError, codes: Mapping[str, int]) -> ProgramError:
    return venue_error(error.code, codes, error.detail)


@contextmanager
def quote_errors(codes: Mapping[str, int]) -> Iterator[None]:
    """Report a venue's refusal (`QuoteError`) inside the block as the program's own error.

    The venue modules raise what the program would; this is the one place that turns it into the
    custom code the chain reports, so every swap program maps refusals the same way.
    """
    try:
        yield
    except QuoteError as exc:
        raise from_quote_error(exc, codes) from None


@dataclass(frozen=True, slots=True)
class TokenAccountView:
    """A token account as the swap sees it: its address, raw account and decoded fields."""

    address: Pubkey
    account: Account
    token: spl_token.TokenAccount


def read_token_account(
    context: InstructionContext, address: Pubkey, on_error: ProgramError
) -> TokenAccountView:
    account = context.read(address)
    if account is None:
        raise on_error
    try:
        token = spl_token.decode_token_account(bytes(account.data), account.owner)
    except DecodeError:
        raise on_error from None
    return TokenAccountView(address, account, token)


def transfer(context: InstructionContext, source: TokenAccountView, destination: TokenAccountView,
             amount: int, authority: Pubkey) -> None:  # fmt: skip
    """A Token `Transfer` from `source` to `destination` signed by `authority`, with its checks.

    Re-reads both accounts so consecutive transfers within one swap compose.
    """
    source = read_token_account(context, source.address, token_error("InsufficientFunds"))
    destination = read_token_account(context, destination.address, token_error("InsufficientFunds"))
    if source.token.state == _ACCOUNT_STATE_FROZEN or destination.token.state == _ACCOUNT_STATE_FROZEN:
        raise token_error("AccountFrozen")
    if source.token.mint != destination.token.mint:
        raise token_error("MintMismatch", f"{source.address} holds {source.token.mint}, "
                                          f"{destination.address} holds {destination.token.mint}")  # fmt: skip
    if source.token.owner != authority:
        raise token_error(
            "OwnerMismatch", f"{source.address} is owned by {source.token.owner}, not {authority}"
        )
    if source.token.amount < amount:
        raise token_error(
            "InsufficientFunds", f"{source.address} holds {source.token.amount}, needs {amount}"
        )
    if source.address == destination.address:
        return
    # Wrapped SOL carries its balance in lamports too: the Token program moves both.
    lamports = amount if source.token.is_native is not None else 0
    context.write(source.address, _with_amount(source.account, source.token.amount - amount, -lamports))
    context.write(destination.address,
                  _with_amount(destination.account, destination.token.amount + amount, lamports))  # fmt: skip


def _with_amount(account: Account, amount: int, lamport_change: int) -> Account:
    data = bytearray(account.data)
    U64.pack_into(data, 64, amount)
    return Account(account.lamports + lamport_change, bytes(data), account.owner, account.executable,
                   account.rent_epoch)  # fmt: skip


def write_data(context: InstructionContext, address: Pubkey, data: bytes) -> None:
    """Replace an account's bytes, keeping its lamports and owner (a program writing its own state)."""
    account = context.read(address)
    if account is None:
        raise ProgramError("MissingAccount", detail=f"{address} does not exist")
    context.write(
        address, Account(account.lamports, data, account.owner, account.executable, account.rent_epoch)
    )


def check_threshold(args: SwapArgs, amount_in: int, amount_out: int, error: ProgramError) -> None:
    """The slippage guard: minimum out for exact-in, maximum in for exact-out."""
    if args.kind is SwapKind.EXACT_IN and amount_out < args.other_amount_threshold:
        raise ProgramError(error.name, error.custom_code,
                           f"out {amount_out} < minimum {args.other_amount_threshold}")  # fmt: skip
    if args.kind is SwapKind.EXACT_OUT and amount_in > args.other_amount_threshold:
        raise ProgramError(error.name, error.custom_code,
                           f"in {amount_in} > maximum {args.other_amount_threshold}")  # fmt: skip


def require_signer(context: InstructionContext, position: int, error: ProgramError) -> Pubkey:
    if not context.is_signer(position):
        raise error
    return context.key(position)


def require_owner(
    context: InstructionContext, address: Pubkey, owner: Pubkey, error: ProgramError
) -> Account:
    account = context.read(address)
    if account is None or account.owner != owner:
        raise error
    return account


def read_pool(context: InstructionContext, address: Pubkey, venue: Venue, codes: Mapping[str, int], *,
              owner_error: ProgramError, decode_error: str) -> Any:  # fmt: skip
    """The pool at `address` as every swap program loads it: owned by the program, then decoded.

    Bytes the venue cannot decode fail as the program's `decode_error` with the decoder's reason;
    a pool the venue refuses to model (a `QuoteError`) fails as that refusal.
    """
    account = require_owner(context, address, venue.program_id, owner_error)
    with quote_errors(codes):
        try:
            return venue.decode_pool(address, bytes(account.data), account.owner)
        except DecodeError as exc:
            raise venue_error(decode_error, codes, str(exc)) from None


def swap_direction(named: tuple[Pubkey, Pubkey], side_a: Pubkey, side_b: Pubkey, error: ProgramError) -> bool:
    """`a_to_b` from the order an instruction names the pool's two sides in (mints or vaults).

    The constant-product programs take no direction flag: (a, b) swaps a for b, (b, a) the other
    way, and any other pair is refused with `error`.
    """
    if named == (side_a, side_b):
        return True
    if named == (side_b, side_a):
        return False
    raise error


def read_trader_accounts(
    context: InstructionContext,
    addresses: tuple[Pubkey, Pubkey],
    mints: tuple[Pubkey, Pubkey],
    unreadable: tuple[ProgramError, ProgramError],
    wrong_mints: ProgramError,
) -> tuple[TokenAccountView, TokenAccountView]:
    """The trader's two token accounts under Anchor's `token::mint` constraints, in one order.

    Each must be a readable token account (else its `unreadable` error), then both must hold
    the expected `mints` (else `wrong_mints`).
    """
    first = read_token_account(context, addresses[0], unreadable[0])
    second = read_token_account(context, addresses[1], unreadable[1])
    if (first.token.mint, second.token.mint) != mints:
        raise wrong_mints
    return first, second
