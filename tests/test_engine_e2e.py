"""The whole loop against the sandbox: bundles land, some lose to the competitor, the store adds up to
the bank's balances to the lamport, and shutdown is clean."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from solders.account import Account as SvmAccount
from solders.pubkey import Pubkey
from solders.signature import Signature
from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.config import MarketConfig, parse_config
from mevbot.dex import raydium_cpmm
from mevbot.dex.spl_token import NATIVE_MINT, TOKEN_2022_PROGRAM_ID, encode_token_account, token_amount
from mevbot.engine import EXIT_OK, PNL_UNKNOWN, Endpoints, Engine
from mevbot.observe.dna import verify_chain
from mevbot.observe.recorder import load_bandit_arms
from mevbot.observe.store import Store
from mevbot.package.route import associated_token_account
from mevbot.sandbox.bank import GENESIS_UNIX_TIMESTAMP
from mevbot.sandbox.bundles import BundleStatus
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.settings import settings_from_config


def _config(tmp_path: Path, **decide: object):  # type: ignore[no-untyped-def]
    return parse_config(
        {
            "sandbox": {"seed": 3, "pools": 40, "slot_ms": 25, "competitors": 1, "user_swaps_per_slot": 3.0,
                        "rate_limit_per_s": 1000.0},
            "search": {"max_hops": 3, "min_profit_lamports": 1},
            "decide": {"min_profit_lamports": 1, "max_failures_in_row": 10_000, **decide},
            "storage": {"db_path": str(tmp_path / "e2e.duckdb")},
            "control": {"emergency_stop_file": str(tmp_path / "STOP")},
            "metrics": {"port": 0},
        }
    )  # fmt: skip


def sandbox_endpoints(sandbox) -> Endpoints:  # type: ignore[no-untyped-def]
    """The daemon's endpoints for a running sandbox: its RPC, PubSub and block engine, its payer."""
    return Endpoints((sandbox.rpc_url,), (sandbox.ws_url,), (("sandbox", sandbox.block_engine_url),),
                     sandbox.payer_keypair_path, base_mints=(NATIVE_MINT,))  # fmt: skip


def _wealth(sandbox, owner: Pubkey) -> int:  # type: ignore[no-untyped-def]
    """The payer's lamports plus its wrapped-SOL balance: what cycles from SOL change."""
    lamports = sandbox.bank.get_account(owner).lamports
    wsol = sandbox.bank.get_account(sandbox.token_account(NATIVE_MINT))
    return lamports + token_amount(bytes(wsol.data))


async def test_run_lands_bundles_loses_some_and_pnl_matches_the_bank(tmp_path: Path) -> None:
    """Landed transactions are confirmed 1.5 s (60 slots) later, as a lagging node confirms them:
    the daemon waits for them (and for the last ones at shutdown) to book what they made."""
    config = _config(tmp_path)
    async with start_sandbox(settings_from_config(config.sandbox, confirmation_slots=60)) as sandbox:
        endpoints = sandbox_endpoints(sandbox)
        engine = Engine(config, endpoints)
        before = _wealth(sandbox, sandbox.payer_pubkey)
        summary = await engine.run(slots=300, duration=120)  # the duration only bounds a stuck run
        after = _wealth(sandbox, sandbox.payer_pubkey)
        token_2022 = {str(token.mint) for token in sandbox.universe.tokens if token.program == TOKEN_2022_PROGRAM_ID}

    assert summary.exit_code == EXIT_OK and summary.reason == "ran 300 slots", summary.reason
    figures = summary.figures
    assert figures["landed"] >= 1, figures
    assert figures["lost"] >= 1, figures
    wallet = figures["wallet"]  # as the daemon last read it: what the status lines and the panel show
    assert wallet["wrapped_sol"] > 0 and wallet["lamports"] > 0 and 0 < wallet["token_accounts"] <= wallet["tokens"]
    store = Store(config.storage.db_path, read_only=True)
    try:
        landed_rows, pnl = store.query(
            "SELECT count(*), coalesce(sum(pnl_lamports), 0) FROM bundle_results WHERE outcome = 'landed'"
        )[0]
        assert landed_rows == figures["landed"]
        (fees,) = store.query("SELECT sum(fee_paid_lamports) FROM bundle_results WHERE outcome = 'landed'")[0]
        assert int(fees) == 5_000 * landed_rows  # one signature each, no priority fee in this config
        (costs,) = store.query("SELECT coalesce(sum(lamports), 0) FROM costs")[0]
        assert int(pnl) == figures["pnl_lamports"] > 0
        assert int(pnl) - int(costs) == after - before  # trading PnL less lookup-table setup = the wallet's change
        sent = store.query("SELECT count(*) FROM bundles WHERE NOT dry_run")[0][0]
        results = store.query("SELECT count(*) FROM bundle_results")[0][0]
        assert sent == results  # every sent bundle was followed to an outcome before shutdown
        chain = store.query("SELECT seq, prev_hash, payload, hash FROM decisions ORDER BY seq")
        assert chain and verify_chain(chain) is None
        landed_routes = store.query(
            "SELECT d.payload FROM bundle_results r JOIN bundles b USING (bundle_id) "
            "JOIN decisions d ON d.seq = b.decision_seq WHERE r.outcome = 'landed'"
        )
        traded = {hop[side] for (payload,) in landed_routes for hop in json.loads(payload)["route"]
                  for side in ("mint_in", "mint_out")}  # fmt: skip
        assert traded & token_2022, "no landed bundle went through a Token-2022 mint"
    finally:
        store.close()

    stats = CliRunner().invoke(app, ["stats", "--db", config.storage.db_path, "--json", "--by", "route"])
    assert stats.exit_code == 0, stats.stderr
    shown = json.loads(stats.stdout)
    assert (shown["landed"], shown["lost"]) == (figures["landed"], figures["lost"])
    assert shown["bundles_sent"] == figures["bundles_sent"]
    assert shown["net_lamports"] == after - before
    assert sum(group["pnl_lamports"] for group in shown["groups"]) == shown["pnl_lamports"]


async def test_a_landing_whose_transaction_no_node_has_yet_is_booked_with_its_pnl_unknown(tmp_path: Path) -> None:
    """No landed transaction is confirmed before shutdown gives up on them (25 s, against a 1 s
    status deadline): each landing is still recorded, with PnL and fee NULL rather than a made-up
    0, counted, shown by `mevbot stats`, and the tip bandit learns nothing from it."""
    config = _config(tmp_path)
    config = dataclasses.replace(config, jito=dataclasses.replace(config.jito, status_deadline_s=1.0))
    async with start_sandbox(settings_from_config(config.sandbox, confirmation_slots=1_000)) as sandbox:
        summary = await Engine(config, sandbox_endpoints(sandbox)).run(slots=150, duration=120)

    figures = summary.figures
    assert summary.exit_code == EXIT_OK and figures["landed"] >= 1, figures
    assert figures["pnl_unknown"] == figures["landed"] and figures["pnl_lamports"] == 0
    store = Store(config.storage.db_path, read_only=True)
    try:
        landed = store.query(
            "SELECT pnl_lamports, fee_paid_lamports, tip_paid_lamports, reason FROM bundle_results WHERE outcome = 'landed'"
        )
        sent, results = store.query(
            "SELECT (SELECT count(*) FROM bundles WHERE NOT dry_run), (SELECT count(*) FROM bundle_results)"
        )[0]
        saved = load_bandit_arms(store)
    finally:
        store.close()
    assert len(landed) == figures["landed"] and sent == results
    assert all(pnl is None and fee is None and tip > 0 and reason == PNL_UNKNOWN for pnl, fee, tip, reason in landed)
    tip_pulls = sum(arm.pulls for context, (arms, _) in saved.items() if context != "regions" for arm in arms)
    assert tip_pulls == results - len(landed)  # every other outcome taught the tip bandit; no landing did
    stats = CliRunner().invoke(app, ["stats", "--db", config.storage.db_path, "--json"])
    assert stats.exit_code == 0 and json.loads(stats.stdout)["pnl_unknown"] == figures["landed"]


async def test_without_reasons_from_the_block_engine_lost_auctions_are_read_from_the_chain(tmp_path: Path) -> None:
    """Mainnet's block engine says only `Failed`, never why. With the sandbox's reasons off, every
    bundle the daemon books as lost names a transaction the bank holds: it landed while the bundle
    was in flight, named one of the bundle's pools, and paid the tip accounts more per requested
    compute unit. The block engine's own record of each says it failed, outbid at the auction or
    beaten to the state (its simulation failed)."""
    config = _config(tmp_path)
    async with start_sandbox(settings_from_config(config.sandbox, status_reasons=False)) as sandbox:
        summary = await Engine(config, sandbox_endpoints(sandbox)).run(slots=300, duration=120)
        store = Store(config.storage.db_path, read_only=True)
        try:
            lost = store.query(
                "SELECT r.bundle_id, r.reason, b.tip_lamports, d.payload FROM bundle_results r "
                "JOIN bundles b USING (bundle_id) JOIN decisions d ON d.seq = b.decision_seq "
                "WHERE r.outcome = 'lost_auction'"
            )
        finally:
            store.close()
        records = {bundle_id: sandbox.block_engine.status(bundle_id) for bundle_id, *_ in lost}
        bank = sandbox.bank

    figures = summary.figures
    assert summary.exit_code == EXIT_OK and figures["landed"] >= 1, figures
    assert figures["lost"] == figures["losses_outbid"] == len(lost) >= 1, figures
    for bundle_id, reason, tip, payload in lost:
        match = re.fullmatch(r"outbid by (\w+) at slot (\d+): ([\d,]+) lamports for ([\d,]+) CU "
                             r"against our ([\d,]+) lamports for ([\d,]+) CU", reason)  # fmt: skip
        assert match, reason
        signature, slot = match.group(1), int(match.group(2))
        their_tip, their_units, our_tip, our_units = (int(n.replace(",", "")) for n in match.groups()[2:])
        assert our_tip == tip and their_tip * our_units > our_tip * their_units
        taken = bank.transaction(Signature.from_string(signature))
        assert taken is not None and taken.ok and taken.slot == slot
        pools = {Pubkey.from_string(hop["pool"]) for hop in json.loads(payload)["route"]}
        assert pools & set(taken.account_keys)
        assert taken.account_keys[0] != sandbox.payer_pubkey
        record = records[bundle_id]
        assert record is not None and record.status is BundleStatus.FAILED, record
        assert record.reason and ("lost auction" in record.reason or "simulation failed" in record.reason)


async def test_the_daemon_trades_only_the_pools_between_the_configured_mints(tmp_path: Path) -> None:
    """`[market] mints`, as a mainnet config must set: the snapshot holds the pools between those mints
    (here the planted cycles'), and the daemon trades them."""
    config = _config(tmp_path)
    async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
        mints = {mint for cycle in sandbox.universe.planted for mint in cycle.mints}
        config = dataclasses.replace(config, market=MarketConfig(mints=tuple(map(str, mints))))
        engine = Engine(config, sandbox_endpoints(sandbox))
        summary = await engine.run(slots=150, duration=60)
        everything = {spec.address for spec in sandbox.universe.pools}
        between = {spec.address for spec in sandbox.universe.pools if {spec.mint_a, spec.mint_b} <= mints}

    assert summary.exit_code == EXIT_OK and summary.figures["landed"] >= 1, summary.figures
    assert {info.address for info in engine.model.registry.pools()} == between != everything


async def test_a_pool_that_opens_later_is_traded_only_once_open(tmp_path: Path) -> None:
    """A planted cycle's CPMM pool is made to open 30 cluster-seconds in: the daemon reads the
    cluster's clock and sends nothing through the pool before then (the program would refuse it
    with NotApproved, and every refusal is a failed bundle), and trades it once open."""
    config = _config(tmp_path)
    async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
        bank = sandbox.bank
        cycle = next(c for c in sandbox.universe.planted if c.skewed_pool in _cpmm_pools(sandbox))
        account = bank.get_account(cycle.skewed_pool)
        pool = raydium_cpmm.decode_pool_state(cycle.skewed_pool, bytes(account.data))
        opens = bank.unix_timestamp + 30
        later = raydium_cpmm.encode_pool_state(dataclasses.replace(pool, open_time=opens))
        bank.set_account(cycle.skewed_pool, SvmAccount(account.lamports, later, account.owner, False))
        endpoints = sandbox_endpoints(sandbox)
        summary = await Engine(config, endpoints).run(slots=250, duration=120)
        open_slot = next(slot for slot in range(bank.slot + 1) if GENESIS_UNIX_TIMESTAMP + slot * 400 // 1000 >= opens)

    assert summary.exit_code == EXIT_OK, summary.reason
    store = Store(config.storage.db_path, read_only=True)
    try:
        rows = store.query(
            "SELECT r.outcome, r.reason, r.landed_slot, d.payload FROM bundle_results r "
            "JOIN bundles b USING (bundle_id) JOIN decisions d ON d.seq = b.decision_seq"
        )
    finally:
        store.close()
    assert not [reason for _, reason, _, _ in rows if "NotApproved" in (reason or "")]
    through = [(outcome, slot) for outcome, _, slot, payload in rows
               if any(hop["pool"] == str(cycle.skewed_pool) for hop in json.loads(payload)["route"])]  # fmt: skip
    landed = [slot for outcome, slot in through if outcome == "landed"]
    assert landed and min(landed) >= open_slot, (open_slot, through)


def _cpmm_pools(sandbox) -> set[Pubkey]:  # type: ignore[no-untyped-def]
    return {spec.address for spec in sandbox.universe.pools if spec.venue == "raydium_cpmm"}


@pytest.mark.parametrize(("wrapped", "notional"), [(10_000_000, 50_000_000), (50_000_000, 10_000_000)],
                         ids=["wallet", "notional_limit"])
async def test_trades_are_sized_within_the_wallet_and_the_notional_limit(
    tmp_path: Path, wrapped: int, notional: int
) -> None:
    """The planted cycles' best sizes are out of reach: the daemon sizes every bundle within the
    wrapped SOL the wallet holds (more would fail on chain, InsufficientFunds) and within the
    notional limit (more would be refused), and still lands trades."""
    config = _config(tmp_path, max_notional_lamports=notional)
    async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
        bank, wsol = sandbox.bank, sandbox.token_account(NATIVE_MINT)
        account = bank.get_account(wsol)
        rent = account.lamports - token_amount(bytes(account.data))
        data = encode_token_account(NATIVE_MINT, sandbox.payer_pubkey, wrapped, is_native=rent)
        bank.set_account(wsol, SvmAccount(rent + wrapped, data, account.owner, False))
        endpoints = sandbox_endpoints(sandbox)
        summary = await Engine(config, endpoints).run(slots=200, duration=120)
        final = token_amount(bytes(bank.get_account(wsol).data))  # it only grows, by the trades that land

    assert summary.exit_code == EXIT_OK and summary.figures["landed"] >= 1, summary.figures
    store = Store(config.storage.db_path, read_only=True)
    try:
        sent = store.query(
            "SELECT o.amount_in, r.reason FROM bundles b JOIN decisions d ON d.seq = b.decision_seq "
            "JOIN opportunities o ON o.id = d.opportunity_id JOIN bundle_results r USING (bundle_id)"
        )
        refused = store.query("SELECT count(*) FROM decisions WHERE reason LIKE '%notional%'")[0][0]
    finally:
        store.close()
    assert sent and max(int(amount) for amount, _ in sent) <= min(final, notional)
    assert not [reason for _, reason in sent if "InsufficientFunds" in (reason or "")]
    assert refused == 0  # sized within the limit, not refused for it


async def test_routes_through_a_token_the_wallet_has_no_account_for_are_refused(tmp_path: Path) -> None:
    """The wallet's account for a planted cycle's middle token is gone: that cycle is refused with the
    reason (sent, each would fail on chain), and the other cycle still trades."""
    config = _config(tmp_path)
    async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
        cycles = sandbox.universe.planted
        mint = next(m for m in cycles[1].mints[1:-1] if all(m not in c.mints for c in cycles if c is not cycles[1]))
        program = sandbox.bank.get_account(mint).owner
        sandbox.bank.set_account(associated_token_account(sandbox.payer_pubkey, mint, program),
                                 SvmAccount(0, b"", Pubkey.default(), False))  # fmt: skip
        endpoints = sandbox_endpoints(sandbox)
        summary = await Engine(config, endpoints).run(slots=200, duration=120)

    assert summary.exit_code == EXIT_OK and summary.figures["landed"] >= 1, summary.figures
    store = Store(config.storage.db_path, read_only=True)
    try:
        decisions = store.query("SELECT send, reason, payload FROM decisions")
    finally:
        store.close()
    through = [(send, reason) for send, reason, payload in decisions
               if any(str(mint) in (hop["mint_in"], hop["mint_out"]) for hop in json.loads(payload)["route"])]  # fmt: skip
    assert through and not any(send for send, _ in through)
    assert any(reason == f"wallet: no token account for {mint}" for _, reason in through)
