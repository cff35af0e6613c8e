"""`mevbot stats` and `mevbot audit verify` on a store, including while another process holds its lock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.observe.recorder import Recorder
from mevbot.observe.stats import parse_since
from mevbot.observe.store import Store, StoreWriter
from tests.observe.test_store import _decision

runner = CliRunner()


async def _fill(path: Path) -> None:
    store = Store(path)
    writer = StoreWriter(store)
    recorder = Recorder(store, writer)
    now = time.time()
    outcomes = ["landed", "landed", "lost_auction", "simulation_failure", "landed"]
    for i, outcome in enumerate(outcomes):
        decision = _decision(200_000 + i)
        oid = recorder.opportunity(decision.opportunity, now)
        seq = recorder.decision(decision, oid, now, arm="0.5", config_hash="c")
        recorder.bundle_sent(f"b{i}", seq, now, regions=["ny"], refused=[], tip_lamports=1000 * (i + 1), dry_run=False)
        landed = outcome == "landed"
        recorder.bundle_result(
            f"b{i}", now, outcome=outcome, status="Landed" if landed else "Failed", landed_slot=10 if landed else None,
            reason=None, pnl_lamports=50_000 * (i + 1) if landed else 0, tip_paid=1000 * (i + 1) if landed else 0,
            fee_paid=5000 if landed else 0,
        )
    old = _decision(1)
    recorder.opportunity(old.opportunity, now - 7200)  # outside a 1h window
    writer.put("latencies", (now, "search", 100, 12.5, 80.0))
    await writer.stop()
    store.close()


async def test_stats_json_matches_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    await _fill(path)
    result = runner.invoke(app, ["stats", "--db", str(path), "--since", "1h", "--json", "--by", "route"])
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["opportunities"] == 5
    assert figures["bundles_sent"] == 5
    assert (figures["landed"], figures["lost"], figures["failed"]) == (3, 1, 1)
    assert figures["land_rate"] == 0.6
    assert figures["pnl_lamports"] == 50_000 * (1 + 2 + 5)
    assert figures["tips_paid_lamports"] == 1000 * (1 + 2 + 5)
    assert sum(g["bundles"] for g in figures["groups"]) == 5
    assert figures["latencies"][0]["stage"] == "search"
    table = runner.invoke(app, ["stats", "--db", str(path), "--by", "venue"])
    assert table.exit_code == 0 and "land rate" in table.stdout and "60.0%" in table.stdout


async def test_stats_reads_a_snapshot_while_the_daemon_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    await _fill(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = subprocess.run(
            [sys.executable, "-m", "mevbot.cli", "stats", "--db", str(path), "--json"], capture_output=True, text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["bundles_sent"] == 5
    finally:
        holder.kill()
        holder.wait()


async def test_audit_verify_reports_the_first_break(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    await _fill(path)
    ok = runner.invoke(app, ["audit", "verify", "--db", str(path)])
    assert ok.exit_code == 0 and "intact: 5 records" in ok.stdout
    store = Store(path)
    store.query("DELETE FROM decisions WHERE seq = 3")
    store.close()
    broken = runner.invoke(app, ["audit", "verify", "--db", str(path)])
    assert broken.exit_code == 1 and "record 3" in broken.stderr


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["stats", "--db", str(tmp_path / "none.duckdb")]).exit_code == 2
    with pytest.raises(ValueError):
        parse_since("yesterday")
    assert parse_since("15m") == 900
