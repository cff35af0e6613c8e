"""Sending what the execution path built: regions absorb a 429, outcomes are classified from the
block engine's statuses, `mevbot bundle status` shows them, and the payer's secret never leaks.

All over the sandbox's network interfaces, with our own RPC and block-engine clients.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from pathlib import Path

import pytest
from solders.keypair import Keypair
from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.package.keys import load_keypair
from mevbot.package.route import route_bundle, route_plan
from mevbot.package.transaction import Tip
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.competitors import CompetitorSettings
from mevbot.sandbox.transactions import b58encode
from mevbot.submit.jito import BlockEngineClient, RateLimited
from mevbot.submit.ratelimit import TokenBucket
from mevbot.submit.router import Region, RegionRouter
from mevbot.submit.tracker import Outcome, track
from tests.execution_flow import clients, cycle_opportunity, market_for, prepare
from tests.sandbox.conftest import settings

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
TIP = Tip(TIP_ACCOUNTS[5], 20_000)


async def _exhaust(client: BlockEngineClient) -> None:
    """Spend the client's server-side bucket until the engine answers 429."""
    for _ in range(50):
        try:
            await client.inflight_statuses(["00" * 32])
        except RateLimited:
            return
    raise AssertionError("the block engine never rate limited")


async def _cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=WIDE)
    return result.exit_code, result.output


async def _landed_and_failed(sandbox, outputs: list[str]) -> tuple[str, str]:
    """One bundle through two regions (the first one exhausted), one with a minimum out above its
    quote; both tracked to their outcome. Returns their ids."""
    async with clients(sandbox, auth_uuid="tracker") as (rpc, tracker):
        key = load_keypair(sandbox.payer_keypair_path)
        cycle = sandbox.universe.planted[0]
        model = await market_for(rpc, cycle.pools)
        opportunity = cycle_opportunity(model, cycle, 10**13)
        prepared = await prepare(rpc, key, opportunity, model, TIP)

        greedy_last = dataclasses.replace(
            opportunity.hops[-1], amount_out=opportunity.hops[-1].amount_out + 1
        )
        greedy = dataclasses.replace(opportunity, hops=(*opportunity.hops[:-1], greedy_last))
        blockhash, _ = await rpc.get_latest_blockhash()
        failing = route_bundle(key, route_plan(greedy, model.registry, key.pubkey), blockhash, tip=TIP,
                               units_consumed=prepared.preflight.units_consumed)  # fmt: skip

        fast = BlockEngineClient("fast", sandbox.block_engine_url, auth_uuid="region-a-uuid")
        slow = BlockEngineClient("slow", sandbox.block_engine_url, auth_uuid="region-b-uuid")
        router = RegionRouter(
            [
                Region(fast, TokenBucket(100.0), latency_ewma_s=0.001),
                Region(slow, TokenBucket(100.0), latency_ewma_s=0.01),
            ],
            hedge=1,
        )
        try:
            failed = await router.send_bundle(failing.encoded())  # both regions fresh: the fast one takes it
            assert failed.accepted == ("fast",) and failed.bundle_id == failing.bundle_id
            await _exhaust(fast)
            report = await router.send_bundle(prepared.bundle.encoded())
        finally:
            await router.close()
        assert report.bundle_id == prepared.bundle.bundle_id
        assert report.accepted == ("slow",) and report.refused == (("fast", "rate_limited"),)
        assert router.regions[0].blocked_until > 0  # the 429 made the region back off

        landed = await track(tracker, report.bundle_id, deadline_s=10, poll_s=0.05)
        lost = await track(tracker, failing.bundle_id, deadline_s=10, poll_s=0.05)
        assert landed.outcome is Outcome.LANDED and landed.landed_slot is not None, landed
        assert lost.outcome is Outcome.SIMULATION_FAILURE, lost
        assert "simulation failed" in (lost.reason or "") and "ExceededSlippage" in (lost.reason or "")
        outputs += [repr(x) for x in (prepared.preflight, report, failed, landed, lost, key, router.regions)]
        return report.bundle_id, failing.bundle_id


async def test_a_429_is_absorbed_and_landed_and_failed_bundles_are_classified_and_shown() -> None:
    async with start_sandbox(settings(rate_limit_per_s=5.0)) as sandbox:
        landed_id, failed_id = await _landed_and_failed(sandbox, [])
        code, out = await _cli(
            "bundle", "status", landed_id, failed_id, "--block-engine", sandbox.block_engine_url
        )
        assert code == 0, out
        landed_row = next(line for line in out.splitlines() if landed_id in line)
        failed_row = next(line for line in out.splitlines() if failed_id in line)
        assert "Landed" in landed_row and "landed" in landed_row and "finalized" in landed_row
        assert (
            "Failed" in failed_row and "simulation_failure" in failed_row and "ExceededSlippage" in failed_row
        )
        code, out = await _cli("bundle", "status", "00" * 32, "--block-engine", sandbox.block_engine_url)
        assert code == 0 and "Invalid" in out


async def test_a_lower_tip_that_loses_to_a_competitor_is_a_lost_auction() -> None:
    rival = CompetitorSettings(name="rival", tip_fraction=0.5, latency_ms=None)
    async with start_sandbox(settings(competitors=(rival,))) as sandbox, clients(sandbox) as (rpc, engine):
        key = load_keypair(sandbox.payer_keypair_path)
        cycle = sandbox.universe.planted[0]
        model = await market_for(rpc, cycle.pools)
        prepared = await prepare(
            rpc, key, cycle_opportunity(model, cycle, 10**13), model, Tip(TIP_ACCOUNTS[1], 1_000)
        )
        result = await track(
            engine, await engine.send_bundle(prepared.bundle.encoded()), deadline_s=10, poll_s=0.05
        )
        assert result.outcome is Outcome.LOST_AUCTION, result
        assert (result.reason or "").startswith("lost auction to bundle ") and result.landed_slot is None
        assert sandbox.competitors[0].bids_made == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["bundle", "status", "not-an-id", "--block-engine", "http://127.0.0.1:9"], 2),
        (["bundle", "status", "00" * 32], 2),  # no --block-engine and no region in the (default) config
        (["bundle", "status", "00" * 32, "--block-engine", "ftp://x"], 2),
        (["bundle", "status", "00" * 32, "--block-engine", "http://127.0.0.1:9"], 1),  # nothing listens
    ],
)
def test_bundle_status_bad_input(args: list[str], code: int) -> None:
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == code, result.output
    assert "error:" in result.output


async def test_the_execution_path_never_shows_the_payer_secret(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Run the path (preflight, hedged send past a 429, tracking, `bundle status`, `simulate`) with
    every logger at DEBUG, then look for the payer's secret in every form it could take."""
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    state_dir = tmp_path / "sandbox"
    async with start_sandbox(settings(rate_limit_per_s=5.0, state_dir=state_dir)) as sandbox:
        landed_id, failed_id = await _landed_and_failed(sandbox, outputs)
        outputs.append(
            (
                await _cli(
                    "bundle", "status", landed_id, failed_id, "--block-engine", sandbox.block_engine_url
                )
            )[1]
        )
        snapshot = tmp_path / "snapshot.json"
        snapshot.write_text(json.dumps([
            {"pubkey": str(a.pubkey), "owner": str(a.owner), "lamports": a.lamports,
             "data_base64": base64.b64encode(a.data).decode()} for a in sandbox.universe.accounts
        ]))  # fmt: skip
        cycle = sandbox.universe.planted[0]
        outputs.append((await _cli("simulate", "--snapshot", str(snapshot), *map(str, cycle.pools), "--amount",
                                   "1000000", "--start-mint", str(cycle.mints[0])))[1])  # fmt: skip
        secret = bytes(json.loads(sandbox.payer_keypair_path.read_text()))
    captured = capsys.readouterr()
    text = "\n".join([*outputs, caplog.text, captured.out, captured.err])
    assert "Landed" in text and "LiteSVM preflight" in text  # the runs did produce output
    assert len(caplog.records) > 0
    for form in _secret_forms(secret):
        assert form not in text
    for database in [
        *tmp_path.rglob("*.duckdb"),
        *Path.cwd().glob("*.duckdb"),
    ]:  # none is written by this path
        raw = database.read_bytes()
        assert secret[:32] not in raw and all(form.encode() not in raw for form in _secret_forms(secret))
    assert b58encode(secret) not in repr(load_keypair(state_dir / "payer.json"))


def _secret_forms(secret: bytes) -> list[str]:
    seed = secret[:32]
    return [
        str(Keypair.from_bytes(secret)), b58encode(secret), b58encode(seed), secret.hex(), seed.hex(),
        base64.b64encode(secret).decode(), base64.b64encode(seed).decode(), json.dumps(list(secret)),
        ", ".join(str(b) for b in seed[:12]), str(list(seed[:12]))[1:-1],
    ]  # fmt: skip
