"""`scan` on a synthetic universe and on snapshot files, and the `mevbot scan` command."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.events import Account
from mevbot.market.graph import edge_id
from mevbot.market.model import MarketModel
from mevbot.search.route import quote_route
from mevbot.search.scan import scan


def test_scan_reports_every_planted_mispricing_with_exact_positive_profit(small_universe) -> None:  # type: ignore[no-untyped-def]
    universe, _ = small_universe
    report = scan(universe.accounts, universe.base_mints, top=10)
    assert report.stats.pools == len(universe.pools)
    assert not report.rejected
    assert report.opportunities
    model, _ = MarketModel.from_accounts(universe.accounts)
    used: set[int] = set()
    for opportunity in report.opportunities:
        assert opportunity.profit > 0
        edges = [edge_id(hop.pool_id, hop.a_to_b) for hop in opportunity.hops]
        quotes = quote_route(model, edges, opportunity.amount_in)
        assert quotes is not None and quotes[-1].amount_out == opportunity.amount_out
        pools = {hop.pool_id for hop in opportunity.hops}
        assert not pools & used, "opportunities in a report share no pool"
        used |= pools
    reported = {hop.pool for o in report.opportunities for hop in o.hops}
    assert {p.skewed_pool for p in universe.planted} <= reported
    assert report.stats.negative_cycles >= len(universe.planted)


def test_min_profit_and_top_limit_the_report(small_universe) -> None:  # type: ignore[no-untyped-def]
    universe, _ = small_universe
    everything = scan(universe.accounts, universe.base_mints, top=10)
    threshold = sorted(o.profit for o in everything.opportunities)[-2]  # all start at SOL here
    assert all(o.mint == universe.base_mints[0] for o in everything.opportunities)
    strict = scan(universe.accounts, universe.base_mints, top=10, min_profit=threshold)
    assert [o.profit for o in strict.opportunities] == sorted(
        (o.profit for o in everything.opportunities), reverse=True
    )[:2]
    assert len(scan(universe.accounts, universe.base_mints, top=1).opportunities) == 1


def test_a_broken_pool_is_reported_and_the_rest_scanned(small_universe) -> None:  # type: ignore[no-untyped-def]
    universe, _ = small_universe
    victim = next(p.address for p in universe.pools if p.venue == "whirlpool")
    accounts = [
        a if a.pubkey != victim else Account(a.pubkey, a.owner, a.lamports, a.data[:100])
        for a in universe.accounts
    ]
    report = scan(accounts, universe.base_mints)
    rejected = {r.pubkey: r.reason for r in report.rejected}
    assert list(rejected) == [victim]
    assert "100 bytes" in rejected[victim]
    assert report.stats.pools == len(universe.pools) - 1
    assert report.opportunities


def entry(account) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {
        "pubkey": str(account.pubkey),
        "owner": str(account.owner),
        "lamports": account.lamports,
        "data_base64": base64.b64encode(account.data).decode(),
    }


def test_cli_scans_a_synthetic_universe() -> None:
    result = CliRunner().invoke(app, ["scan", "--synthetic", "7", "--pools", "300", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "opportunities" in result.output
    assert "SOL" in result.output and "profit" in result.output


def test_cli_prints_bad_snapshot_entries_and_scans_the_rest(small_universe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    universe, _ = small_universe
    entries = [entry(a) for a in universe.accounts]
    entries.insert(3, {"pubkey": "not-a-key", "owner": "x", "data_base64": ""})
    entries.insert(10, {"pubkey": str(universe.accounts[0].pubkey), "owner": str(universe.accounts[0].owner)})
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(entries))
    result = CliRunner().invoke(app, ["scan", "--snapshot", str(path), "--top", "2"])
    assert result.exit_code == 0, result.stderr
    assert "bad entry 3" in result.stderr and "bad entry 10" in result.stderr
    assert "pubkey" in result.stderr and "data_base64" in result.stderr
    assert "opportunities" in result.stdout and "profit" in result.stdout
    assert f"{len(universe.accounts):,}" in result.stdout  # every good entry was scanned


def test_cli_needs_exactly_one_source(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["scan"]).exit_code == 2
    assert (
        CliRunner()
        .invoke(app, ["scan", "--synthetic", "1", "--snapshot", str(tmp_path / "x.json")])
        .exit_code
        == 2
    )
    result = CliRunner().invoke(app, ["scan", "--snapshot", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
