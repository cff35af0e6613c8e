"""What the trading wallet can carry: a live trade it cannot would fail on chain, every time.

Pure: the engine reads the wallet (its SOL, its wrapped SOL, which token accounts it has) and passes
what it read; nothing here does I/O. A field not read yet (None) checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from mevbot.events import Opportunity

PAYER_RENT_RESERVE_LAMPORTS = 890_880
"""Rent-exempt minimum of a data-less account: a transaction that leaves its fee payer below it fails."""


@dataclass(frozen=True, slots=True)
class Wallet:
    lamports: int | None = None  # the payer's SOL: tips and fees
    wrapped_sol: int | None = None  # what its wrapped SOL account holds: every cycle starts there
    token_accounts: frozenset[Pubkey] | None = None  # mints it has its associated token account for


def sizing_cap(max_notional: int, wallet: Wallet) -> int:
    """The most a trade may put in: the notional limit, and no more than the wrapped SOL held (a
    swap that spends more fails, InsufficientFunds)."""
    if wallet.wrapped_sol is None:
        return max_notional
    return max(0, min(max_notional, wallet.wrapped_sol))


def wallet_refusal(wallet: Wallet, opportunity: Opportunity, tip_lamports: int, fee_lamports: int) -> str | None:
    """Why the wallet cannot carry this trade: a token of the route it has no account for (the
    swap's account would not exist), or too few lamports for the tip and the fee while staying
    rent-exempt. None if it can."""
    if wallet.token_accounts is not None:
        missing = next((mint for mint in opportunity.token_path if mint not in wallet.token_accounts), None)
        if missing is not None:
            return f"no token account for {missing}"
    if wallet.lamports is not None and tip_lamports + fee_lamports + PAYER_RENT_RESERVE_LAMPORTS > wallet.lamports:
        return (f"{wallet.lamports} lamports cannot pay tip {tip_lamports} and fee {fee_lamports} "
                "and keep the payer rent-exempt")  # fmt: skip
    return None
