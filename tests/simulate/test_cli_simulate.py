"""`mevbot simulate`: the exact replay and the LiteSVM preflight of a route named by hand."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.market.model import MarketModel
from mevbot.sandbox.universe import generate_universe
from mevbot.simulate.route_spec import parse_route, route_opportunity

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
UNIVERSE = generate_universe(7, 24)
FITS, NEEDS_TABLE = UNIVERSE.planted[0], UNIVERSE.planted[1]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "accounts.json"
    entries = [
        {"pubkey": str(a.pubkey), "owner": str(a.owner), "lamports": a.lamports,
         "data_base64": base64.b64encode(a.data).decode()}
        for a in UNIVERSE.accounts
    ]  # fmt: skip
    path.write_text(json.dumps(entries))
    return path


def _simulate(snapshot: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["simulate", "--snapshot", str(snapshot), *args], env=WIDE)
    return result.exit_code, result.output


@pytest.mark.parametrize("cycle", [FITS, NEEDS_TABLE], ids=["fits", "needs_lookup_table"])
def test_simulate_prints_the_replay_per_hop_and_the_preflight_that_agrees_with_it(
    snapshot: Path, cycle
) -> None:
    model, _ = MarketModel.from_accounts(UNIVERSE.accounts)
    amount = 10**9
    opportunity = route_opportunity(model, parse_route([str(p) for p in cycle.pools]), amount, NATIVE_MINT)
    code, out = _simulate(
        snapshot, *map(str, cycle.pools), "--amount", str(amount), "--start-mint", str(NATIVE_MINT)
    )
    assert code == 0, out
    assert "exact replay" in out and "LiteSVM preflight" in out
    for hop in opportunity.hops:
        assert f"{hop.amount_in:,}" in out and f"{hop.amount_out:,}" in out
    assert f"profit {opportunity.profit:,}" in out
    assert "NO" not in out and out.count("│    yes │") == len(set(opportunity.token_path))
    assert ("address lookup table        │         yes" in out) == (cycle is NEEDS_TABLE)


def test_a_direction_on_the_first_hop_replaces_the_start_mint(snapshot: Path) -> None:
    model, _ = MarketModel.from_accounts(UNIVERSE.accounts)
    first = model.registry.pool(model.registry.pool_id(FITS.pools[0]))
    direction = "a2b" if first.pool.mint_a == NATIVE_MINT else "b2a"
    code, out = _simulate(snapshot, f"{FITS.pools[0]}:{direction}", str(FITS.pools[1]), "--amount", "1000000")
    assert code == 0, out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nonsense", "--amount", "1", "--start-mint", str(NATIVE_MINT)], "not a base58 pool address"),
        ([str(FITS.pools[0]), "--amount", "1"], "give --start-mint"),
        ([f"{FITS.pools[0]}:sideways", "--amount", "1"], "not a2b or b2a"),
        ([str(NATIVE_MINT), "--amount", "1", "--start-mint", str(NATIVE_MINT)], "not a pool"),
        ([str(FITS.pools[0]), "--amount", "0", "--start-mint", str(NATIVE_MINT)], "must be positive"),
        ([str(FITS.pools[0]), "--amount", "1", "--start-mint", "xyz"], "--start-mint"),
        ([str(FITS.pools[0]), "--amount", "1000", "--start-mint", str(UNIVERSE.base_mints[1])], "trades"),
        ([str(FITS.pools[0]), "--amount", str(2**64), "--start-mint", str(NATIVE_MINT)], "u64"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_2(snapshot: Path, args: list[str], message: str) -> None:
    code, out = _simulate(snapshot, *args)
    assert code == 2 and message in out, out


def test_an_unreadable_snapshot_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out = _simulate(bad, str(FITS.pools[0]), "--amount", "1", "--start-mint", str(NATIVE_MINT))
    assert code == 2 and "not JSON" in out
    code, out = _simulate(tmp_path / "missing.json", str(FITS.pools[0]), "--amount", "1")
    assert code == 2


def test_a_hop_the_program_refuses_is_reported_with_exit_1(snapshot: Path) -> None:
    pool = str(FITS.pools[0])  # the second time, 1,000 units of the other token buy nothing back
    code, out = _simulate(snapshot, pool, pool, "--amount", "1000", "--start-mint", str(FITS.mints[1]))
    assert code == 1 and "replay rejected: hop_refused: hop 0" in out, out
