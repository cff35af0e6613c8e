"""Our bundles in flight. Two of ours in flight at once both write our fee payer, so whatever pools
they trade, at most one lands when they meet in an auction: when one lands, the other's loss says
nothing about its tip, its region or the risk of trading, so it is counted as lost to ourselves and
moves no posterior and no risk counter; a loss with no landed rival of ours is a real loss. A send
that crashes is logged, not lost silently in its task, and an outcome known before a crash is booked.
Who took a failed bundle's pools is read from the chain back to its send, however busy the pool."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.config import parse_config
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import SIGNATURES_PER_PAGE, TAKERS_READ, Endpoints, Engine, _Books, _InFlight
from mevbot.ingest.rpc import RpcClient
from mevbot.observe.store import Store
from mevbot.package.keys import TradingKey
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.cluster import start_sandbox
from mevbot.submit.jito import InflightStatus
from mevbot.submit.tracker import Outcome, TrackedResult
from tests.sandbox.conftest import settings

CONTEXT = "raydium_amm_v4+whirlpool"


def _engine(tmp_path: Path) -> tuple[Engine, Store]:
    config = parse_config({"storage": {"db_path": str(tmp_path / "rivals.duckdb")}, "metrics": {"port": 0}})
    endpoints = Endpoints(
        (), (), (("sandbox", "http://127.0.0.1:1"),), Path("unused"), base_mints=(NATIVE_MINT,)
    )
    engine = Engine(config, endpoints)
    store = Store(config.storage.db_path)
    engine.open_state(store, TradingKey.generate())
    return engine, store


def _flight(name: str, pools: set[Pubkey], arm: str) -> _InFlight:
    return _InFlight(name * 32, 1, 50_000, arm, CONTEXT, "region=sandbox", "sig", frozenset(pools))


def _result(flight: _InFlight, outcome: Outcome) -> TrackedResult:
    return TrackedResult(flight.bundle_id, outcome, 9 if outcome is Outcome.LANDED else None, "", None)


def test_a_loss_to_our_own_landed_bundle_moves_nothing_and_a_real_loss_does(tmp_path: Path) -> None:
    engine, store = _engine(tmp_path)
    try:
        bandit = engine._bandit(CONTEXT)
        low, high = bandit.arms[0].name, bandit.arms[-1].name
        first, second = _flight("a", {Pubkey.new_unique()}, low), _flight("b", {Pubkey.new_unique()}, high)
        for flight in (first, second):  # no pool in common
            engine._take_off(flight)
        assert first.rivals == [second] and second.rivals == [first]

        posterior = [(arm.alpha, arm.beta) for arm in bandit.arms]
        second.landed = True
        engine._finish(second, _result(second, Outcome.LANDED), _Books(400_000, 5_000, {}))
        after_landing = [(arm.alpha, arm.beta) for arm in bandit.arms]
        assert after_landing != posterior  # a landing at the top arm is booked

        first_arm = bandit.arm(low)
        pulls = first_arm.pulls
        engine._finish(first, _result(first, Outcome.LOST_AUCTION), None)
        counters = engine.telemetry.counters
        assert counters.lost_to_self == 1 and counters.lost == 1
        assert [(arm.alpha, arm.beta) for arm in bandit.arms] == after_landing  # no posterior moved
        assert first_arm.pulls == pulls + 1  # but the pull is counted
        assert engine.risk.failures_in_row == 0

        alone = _flight("c", {Pubkey.new_unique()}, high)
        engine._take_off(alone)  # after the others resolved
        assert alone.rivals == []
        engine._finish(alone, _result(alone, Outcome.LOST_AUCTION), None)
        assert counters.lost_to_self == 1 and counters.lost == 2
        assert [(arm.alpha, arm.beta) for arm in bandit.arms] != after_landing  # outbid at the top arm
        assert engine.risk.failures_in_row == 1
        assert not engine._flights  # every finished flight is off the board
    finally:
        store.close()


async def test_a_send_that_crashes_is_logged_and_leaves_nothing_in_flight(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine, store = _engine(tmp_path)

    class _Broken:
        async def send_bundle(self, encoded: list[str]) -> None:
            raise RuntimeError("no route to the block engine")

    try:
        engine.router = _Broken()  # type: ignore[assignment]
        flight = _flight("d", {Pubkey.new_unique()}, engine._bandit(CONTEXT).arms[0].name)
        bundle = SimpleNamespace(encoded=lambda: ["AA=="], bundle_id=flight.bundle_id)
        engine._spawn(engine._send_and_follow(bundle, flight, 0.0), "send-dddddddd", engine._in_flight)  # type: ignore[arg-type]
        (task,) = engine._in_flight
        with caplog.at_level(logging.ERROR, logger="mevbot.engine"):
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.sleep(0)  # the done callback
        assert not engine._in_flight
        assert "send-dddddddd crashed" in caplog.text and "no route to the block engine" in caplog.text
    finally:
        store.close()


async def test_a_failure_whose_lookup_crashes_is_still_booked(tmp_path: Path) -> None:
    """The block engine says `Failed` with no reason, and looking up who took the pools hits a bug:
    the failure is booked as the block engine reported it before the crash is raised (and logged)."""
    engine, store = _engine(tmp_path)

    class _SaysFailed:
        async def inflight_statuses(self, ids: list[str]) -> list[InflightStatus]:
            return [InflightStatus(ids[0], "Failed", None)]

    class _BrokenRpc:
        async def get_slot(self, *, confirmed: bool = False) -> int:
            raise ZeroDivisionError("a bug in the lookup")

    try:
        engine.router = SimpleNamespace(regions=[SimpleNamespace(client=_SaysFailed())])  # type: ignore[assignment]
        engine.rpc = _BrokenRpc()  # type: ignore[assignment]
        flight = _flight("e", {Pubkey.new_unique()}, engine._bandit(CONTEXT).arms[0].name)
        with pytest.raises(ZeroDivisionError):
            await engine._follow(flight, SimpleNamespace(transactions=()))  # type: ignore[arg-type]
        assert engine.telemetry.counters.failed == 1 and not engine._flights
        assert engine.telemetry.counters.losses_unexplained == 0  # it never got that far
    finally:
        store.close()


async def test_who_took_a_busy_pool_is_read_back_to_the_send_page_by_page(tmp_path: Path) -> None:
    """A pool busier than a page of `getSignaturesForAddress` between the send and the verdict: the
    lookup pages back to the send slot, and the earliest transaction there (a rival's, with a tip)
    comes first among the takers, ours left to the caller to tell apart."""
    async with start_sandbox(settings(slot_ms=10_000, confirmation_slots=1)) as sandbox:
        engine, store = _engine(tmp_path)
        engine.rpc = RpcClient([sandbox.rpc_url])
        engine.tip_accounts = list(TIP_ACCOUNTS)
        bank, pool, rival = sandbox.bank, Pubkey.new_unique(), Keypair()
        bank.airdrop(rival.pubkey(), 10**12)

        def pay(signer: Keypair, instructions: list) -> str:  # type: ignore[type-arg]
            message = MessageV0.try_compile(signer.pubkey(), instructions, [], bank.latest_blockhash)
            return str(bank.process_transaction(VersionedTransaction(message, [signer])).signature)

        def to(signer: Keypair, account: Pubkey, lamports: int):  # type: ignore[no-untyped-def]
            return transfer(TransferParams(from_pubkey=signer.pubkey(), to_pubkey=account, lamports=lamports))

        sent_slot = bank.slot + 1
        bank.advance_slot(sent_slot)
        first = pay(rival, [to(rival, pool, 1), to(rival, TIP_ACCOUNTS[0], 70_000)])
        for n in range(2, SIGNATURES_PER_PAGE + 60):  # more than a page after it, some the next slot
            if n == SIGNATURES_PER_PAGE:
                bank.advance_slot(sent_slot + 1)
            pay(rival, [to(rival, pool, n)])
        bank.advance_slot(sent_slot + 2)
        flight = dataclasses.replace(_flight("f", {pool}, "tip=0.50"), sent_slot=sent_slot)
        try:
            takers = await engine._takers(flight, horizon=sent_slot + 1)
        finally:
            await engine.rpc.close()
            store.close()
    assert len(takers) == TAKERS_READ and takers[0].signature == first and takers[0].slot == sent_slot
    assert takers[0].payer == rival.pubkey() and takers[0].bid.tip == 70_000
    assert all(t.slot == sent_slot and t.bid.tip == 0 for t in takers[1:])
