"""What a landed transaction's meta says the wallet made and now holds, and the holdings a restart reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from mevbot.observe.pnl import MetaError, realised_pnl, token_balances, transaction_fee
from mevbot.observe.recorder import Recorder, load_holdings
from mevbot.observe.store import Store, StoreWriter

OWNER, OTHER = "Owner111111111111111111111111111111111111111", "Other111111111111111111111111111111111111111"
WSOL, USDC = "So11111111111111111111111111111111111111112", "EPjFWJd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def _balance(index: int, mint: str, owner: str, amount: int) -> dict[str, object]:
    return {"accountIndex": index, "mint": mint, "owner": owner,
            "uiTokenAmount": {"amount": str(amount), "decimals": 9, "uiAmountString": "0"}}  # fmt: skip


def _landed() -> dict[str, object]:
    """A getTransaction (json) reply: 1 SOL of wrapped SOL in, 1.002 out through USDC, 5,000 fee + 1,000 tip."""
    return {
        "slot": 9,
        "transaction": {"message": {"accountKeys": [OWNER, "WsolAta", "UsdcAta", "Pool"]}, "signatures": ["s"]},
        "meta": {
            "err": None, "fee": 5_000, "preBalances": [10_000_000, 2_039_280, 2_039_280, 0],
            "postBalances": [9_994_000, 2_039_280, 2_039_280, 0],
            "preTokenBalances": [_balance(1, WSOL, OWNER, 1_000_000_000), _balance(2, USDC, OWNER, 3),
                                 _balance(3, USDC, OTHER, 500)],
            "postTokenBalances": [_balance(1, WSOL, OWNER, 1_002_000_000), _balance(2, USDC, OWNER, 3),
                                  _balance(3, USDC, OTHER, 400)],
        },
    }  # fmt: skip


def test_pnl_fee_and_holdings_come_from_the_meta() -> None:
    tx = _landed()
    assert realised_pnl(tx, OWNER, WSOL) == 2_000_000 - 6_000
    assert transaction_fee(tx) == 5_000
    assert token_balances(tx, OWNER) == {WSOL: 1_002_000_000, USDC: 3}  # another owner's account is not ours


def test_a_closed_token_account_holds_nothing() -> None:
    tx = _landed()
    tx["meta"]["postTokenBalances"] = []  # type: ignore[index]
    assert token_balances(tx, OWNER) == {WSOL: 0, USDC: 0}


def test_a_meta_without_balances_is_refused() -> None:
    with pytest.raises(MetaError):
        token_balances({"meta": None}, OWNER)


async def test_the_last_holding_of_each_token_is_what_a_restart_reads(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.duckdb")
    writer = StoreWriter(store)
    recorder = Recorder(store, writer)
    recorder.holding(USDC, 7, slot=1, ts=1.0)
    recorder.holding(USDC, 2**70, slot=2, ts=2.0)  # u64 sums overflow nothing
    recorder.holding("Bonk", 0, slot=2, ts=2.0)
    await writer.stop()
    assert load_holdings(store) == {USDC: 2**70, "Bonk": 0}
    store.close()
