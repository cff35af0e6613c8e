"""The risk engine in the running daemon: a run of losing bundles halts it, sending stops, and a
restart on the same store is still halted.

The sandbox's competitor here outbids everything (99 % of its profit as tip, in every auction the
daemon enters), so every bundle the daemon sends loses: failures in a row breach, the cooldowns of
the hour run out, and the next breach halts.
"""

from __future__ import annotations

import time
from pathlib import Path

from mevbot.config import parse_config
from mevbot.decide.risk import RiskState
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import EXIT_OK, Endpoints, Engine
from mevbot.observe.store import Store
from mevbot.package.keys import TradingKey
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.competitors import CompetitorSettings
from mevbot.sandbox.settings import settings_from_config
from tests.test_engine_e2e import sandbox_endpoints

OUTBIDDER = CompetitorSettings(name="outbidder", tip_fraction=0.99, latency_ms=None, min_profit_lamports=1)


async def test_losing_bundles_halt_trading_and_a_restart_stays_halted(tmp_path: Path) -> None:
    config = parse_config(
        {
            "sandbox": {"seed": 3, "pools": 40, "slot_ms": 25, "user_swaps_per_slot": 3.0, "rate_limit_per_s": 1000.0},
            "search": {"max_hops": 3, "min_profit_lamports": 1},
            "decide": {"tip_fractions": [0.1], "min_profit_lamports": 1, "max_failures_in_row": 3, "cooldown_s": 0.2,
                       "max_cooldowns_per_hour": 1},
            "storage": {"db_path": str(tmp_path / "risk.duckdb")},
            "control": {"emergency_stop_file": str(tmp_path / "STOP")},
            "metrics": {"port": 0},
        }
    )  # fmt: skip
    async with start_sandbox(settings_from_config(config.sandbox, competitors=(OUTBIDDER,))) as sandbox:
        endpoints = sandbox_endpoints(sandbox)
        first = await Engine(config, endpoints).run(slots=600, duration=120)
        second = await Engine(config, endpoints).run(slots=200, duration=60)

    assert first.exit_code == EXIT_OK and second.exit_code == EXIT_OK
    assert first.figures["risk"] == "HALTED", first.figures
    # bundles lost (outbid, or failed on state the winner had moved): two breaches of 3 in a row
    assert first.figures["lost"] + first.figures["failed"] >= 6, first.figures
    assert second.figures["risk"] == "HALTED" and second.figures["bundles_sent"] == 0, second.figures
    assert second.figures["decisions"] > 0, second.figures  # still deciding, refusing every one

    store = Store(config.storage.db_path, read_only=True)
    try:
        moves = store.query("SELECT ts, state, reason FROM risk_transitions ORDER BY ts")
        assert [state for _, state, _ in moves] == ["REDUCING", "ACTIVE", "HALTED"], moves
        halted_at, _, reason = moves[-1]
        assert "3 failed bundles in a row, after 1 cooldowns within the hour" in reason
        sent_after = store.query("SELECT count(*) FROM bundles WHERE NOT dry_run AND ts > ?", [halted_at])[0][0]
        assert sent_after == 0
        refused_after = store.query(
            "SELECT count(*) FROM decisions WHERE ts > ? AND NOT send AND reason LIKE 'halted:%'", [halted_at]
        )[0][0]
        assert refused_after >= second.figures["decisions"] > 0
    finally:
        store.close()


async def test_a_restart_reads_the_inventory_back_and_keeps_reducing_while_it_is_over(tmp_path: Path) -> None:
    db = tmp_path / "inventory.duckdb"
    usdc = "EPjFWJd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"

    def engine(limit: int) -> Engine:
        config = parse_config({"storage": {"db_path": str(db)}, "decide": {"max_inventory": {usdc: limit}}})
        return Engine(config, Endpoints((), (), (), tmp_path / "unused.json"))

    before = engine(limit=5)
    before.open_state(Store(db), TradingKey.generate())
    before._book_holdings({usdc: 9, str(NATIVE_MINT): 10**9}, slot=7)
    await before.writer.stop()
    before.writer.store.close()
    assert before.risk.state is RiskState.REDUCING

    still_over = engine(limit=5)
    still_over.open_state(Store(db), TradingKey.generate())
    assert still_over.risk.inventory == {usdc: 9}  # wrapped SOL is the start token, not inventory
    assert still_over.risk.refresh(time.time()) is None and still_over.risk.state is RiskState.REDUCING
    await still_over.writer.stop()
    still_over.writer.store.close()

    raised = engine(limit=10)  # the operator raised the limit in the config
    raised.open_state(Store(db), TradingKey.generate())
    moved = raised.risk.refresh(time.time())
    assert moved is not None and moved.state is RiskState.ACTIVE
    await raised.writer.stop()
    raised.writer.store.close()
