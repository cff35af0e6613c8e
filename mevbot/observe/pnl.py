"""Realised PnL of a landed transaction, from the balances its RPC meta reports.

For a cycle that starts and ends in wrapped SOL, what the trader made is the change of the fee payer's
lamports (tip and fee leave from there) plus the change of its token balance in the start mint.
"""

from __future__ import annotations

from typing import Any


class MetaError(ValueError):
    """A getTransaction reply without the balances PnL needs."""


def realised_pnl(transaction: dict[str, Any], owner: str, mint: str) -> int:
    try:
        meta = transaction["meta"]
        keys = transaction["transaction"]["message"]["accountKeys"]
        keys = [k if isinstance(k, str) else k["pubkey"] for k in keys]
        payer = keys.index(owner)
        lamports = int(meta["postBalances"][payer]) - int(meta["preBalances"][payer])
        tokens = _owned(meta["postTokenBalances"], owner, mint) - _owned(meta["preTokenBalances"], owner, mint)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise MetaError(f"transaction meta lacks balances ({type(exc).__name__}: {exc})") from None
    return lamports + tokens


def token_balances(transaction: dict[str, Any], owner: str) -> dict[str, int]:
    """The owner's balance of each mint the transaction touched, after it (0 for a closed account)."""
    try:
        meta = transaction["meta"]
        mints = {e["mint"] for e in (*meta["preTokenBalances"], *meta["postTokenBalances"]) if e["owner"] == owner}
        return {mint: _owned(meta["postTokenBalances"], owner, mint) for mint in mints}
    except (KeyError, TypeError, ValueError) as exc:
        raise MetaError(f"transaction meta lacks token balances ({type(exc).__name__}: {exc})") from None


def transaction_fee(transaction: dict[str, Any]) -> int:
    """The fee the transaction paid (base plus priority); already inside `realised_pnl`, booked apart."""
    try:
        return int(transaction["meta"]["fee"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MetaError(f"transaction meta lacks the fee ({type(exc).__name__})") from None


def _owned(balances: list[dict[str, Any]], owner: str, mint: str) -> int:
    return sum(
        int(entry["uiTokenAmount"]["amount"]) for entry in balances if entry["owner"] == owner and entry["mint"] == mint
    )
