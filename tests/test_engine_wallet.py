"""Live decisions the wallet cannot carry are refused with the reason: a token of the route it has
no account for, or too few lamports for the tip and the fee (the transaction would fail on chain)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from mevbot.decide.wallet import PAYER_RENT_RESERVE_LAMPORTS, Wallet
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import Engine
from mevbot.observe.store import Store
from tests.planted_engine import planted_engine


@pytest.fixture
def live(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine, store = planted_engine(tmp_path / "wallet.duckdb", dry_run=False, warm_interval_ms=0.0)
    assert not engine.dry_run
    yield engine, store
    store.close()


def _decide(engine: Engine, store: Store) -> tuple[bool, str, int]:
    """(sent, reason, tip) of the decision on the best planted cycle, refused before anything is sent."""
    opportunity = engine.search.on_pools_changed(range(len(engine.model.registry)))
    assert opportunity is not None

    async def run() -> None:
        await engine.execute(opportunity, time.perf_counter_ns())
        await engine.writer.flush()

    asyncio.run(run())
    send, reason, tip = store.query("SELECT send, reason, tip_lamports FROM decisions ORDER BY seq DESC LIMIT 1")[0]
    return send, reason, int(tip)


def test_a_route_through_a_token_without_an_account_is_refused(live) -> None:  # type: ignore[no-untyped-def]
    engine, store = live
    engine.wallet = Wallet(token_accounts=frozenset({NATIVE_MINT}))  # the wrapped SOL account only
    send, reason, _ = _decide(engine, store)
    assert not send and reason.startswith("wallet: no token account for ")
    assert engine.telemetry.counters.refused == 1


def test_a_tip_the_payer_cannot_pay_is_refused(live) -> None:  # type: ignore[no-untyped-def]
    engine, store = live
    engine.wallet = Wallet(lamports=PAYER_RENT_RESERVE_LAMPORTS + 5_000)  # the fee, and not one lamport of tip
    send, reason, tip = _decide(engine, store)
    assert not send and tip > 0 and "cannot pay tip" in reason and "rent-exempt" in reason
    assert engine.telemetry.counters.refused == 1
