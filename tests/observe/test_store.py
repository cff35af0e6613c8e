"""The store: batched writes, nothing lost on stop, the DNA chain catches edits and deletions."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from solders.pubkey import Pubkey

from mevbot.decide.risk import RiskEngine, RiskLimits, RiskState
from mevbot.events import Decision, Opportunity, RouteHop
from mevbot.observe.dna import GENESIS, canonical_json, chain_hash, verify_chain
from mevbot.observe.recorder import Recorder, decision_payload, load_risk_transitions
from mevbot.observe.store import Store, StoreWriter

SOL = Pubkey.from_string("So11111111111111111111111111111111111111112")


def _decision(profit: int) -> Decision:
    mid = Pubkey.new_unique()
    hops = (
        RouteHop(Pubkey.new_unique(), 0, "whirlpool", True, SOL, mid, 10**6, 77, 3, 41),
        RouteHop(Pubkey.new_unique(), 1, "raydium_cpmm", False, mid, SOL, 77, 10**6 + profit, 8, 42),
    )
    opportunity = Opportunity(hops, 10**6, 10**6 + profit, profit, 42)
    return Decision(opportunity, True, "send", profit // 2, 5_000, profit // 2 - 5_000)


def _chain(store: Store) -> list[tuple[int, str, str, str]]:
    return store.query("SELECT seq, prev_hash, payload, hash FROM decisions ORDER BY seq")


async def _record(path: Path, n: int) -> None:
    store = Store(path)
    writer = StoreWriter(store, flush_interval_s=0.01)
    writer.start()
    recorder = Recorder(store, writer)
    for i in range(n):
        decision = _decision(100_000 + i)
        oid = recorder.opportunity(decision.opportunity, float(i))
        recorder.decision(decision, oid, float(i), arm="tip=0.5", config_hash="cfg")
    await writer.stop()
    store.close()


async def test_writer_flushes_everything_on_stop_and_chain_verifies(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    await _record(path, 25)
    await _record(path, 5)  # a restart continues the ids and the chain
    store = Store(path)
    assert store.query("SELECT count(*), min(id), max(id) FROM opportunities")[0] == (30, 1, 30)
    assert verify_chain(_chain(store)) is None
    store.close()


async def test_hot_path_records_are_made_once_the_loop_is_free_in_order_and_chained(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.duckdb")
    writer = StoreWriter(store)
    recorder = Recorder(store, writer)
    decisions = [_decision(100_000 + i) for i in range(4)]
    seqs = []
    for i, decision in enumerate(decisions):
        oid = recorder.opportunity(decision.opportunity, float(i))
        seqs.append(recorder.decision(decision, oid, float(i), arm="tip=0.5", config_hash="cfg"))
        recorder.bundle_sent(f"b{i}", seqs[-1], float(i), regions=[], refused=[], tip_lamports=1, dry_run=True)
    assert seqs == [1, 2, 3, 4] and writer.pending == 0  # ids at once, rows later
    await asyncio.sleep(0)
    assert writer.pending == 12
    await writer.stop()
    previous = GENESIS
    for (seq, prev_hash, payload, digest), decision in zip(_chain(store), decisions, strict=True):
        assert seq == seqs[decisions.index(decision)]
        expected = canonical_json(decision_payload(decision, arm="tip=0.5", config_hash="cfg"))
        assert (payload, prev_hash, digest) == (expected, previous, chain_hash(previous, expected))
        previous = digest
    assert store.query("SELECT list(decision_seq ORDER BY decision_seq) FROM bundles")[0][0] == seqs
    store.close()


async def test_dna_detects_an_edited_and_a_deleted_decision(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    await _record(path, 6)
    store = Store(path)
    edit = "UPDATE decisions SET payload = replace(payload, '\"send\":true', '\"send\":false') WHERE seq = 2"
    store.query(edit)
    assert '"send":false' in store.query("SELECT payload FROM decisions WHERE seq = 2")[0][0]
    broken = verify_chain(_chain(store))
    assert broken is not None and broken.seq == 2 and "edited" in broken.problem
    store.close()

    path2 = tmp_path / "n.duckdb"
    await _record(path2, 6)
    store = Store(path2)
    store.query("DELETE FROM decisions WHERE seq = 4")
    broken = verify_chain(_chain(store))
    assert broken is not None and broken.seq == 4 and "missing" in broken.problem
    store.close()


async def test_big_amounts_survive_exactly(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.duckdb")
    writer = StoreWriter(store)
    writer.put("bundle_results", ("b", 0.0, "landed", "Landed", 5, None, 2**64 - 1, 2**63, 1))
    await writer.stop()
    assert store.query("SELECT sum(pnl_lamports) + sum(tip_paid_lamports) FROM bundle_results")[0][0] == 2**64 - 1 + 2**63
    store.close()


async def test_a_bad_row_is_counted_and_does_not_stop_the_writer(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.duckdb")
    writer = StoreWriter(store)
    writer.put("risk_transitions", ("not a number", "HALTED", "x", None))
    writer.put("balances", (1.0, 5, "mint", 10))
    await writer.stop()
    assert writer.rows_failed == 1 and writer.rows_written == 1
    store.close()


async def test_halted_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    store = Store(path)
    writer = StoreWriter(store)
    recorder = Recorder(store, writer)
    risk = RiskEngine(RiskLimits(max_daily_loss=10))
    for t in range(3):
        transition = risk.on_outcome(landed=False, pnl=-100, tip_paid=0, now=float(t))
        if transition:
            recorder.risk(transition)
    await writer.stop()
    store.close()

    reopened = Store(path)
    restarted = RiskEngine(RiskLimits(max_daily_loss=10))
    restarted.restore(load_risk_transitions(reopened))
    assert restarted.state is RiskState.HALTED
    reopened.close()


async def test_slow_snapshots_space_out(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An export that takes 20 ms may run once every 2 s (1 % of the time), however often asked."""
    store = Store(tmp_path / "m.duckdb")
    exports: list[float] = []

    def slow_export() -> None:
        time.sleep(0.02)
        exports.append(time.monotonic())

    monkeypatch.setattr(store, "export_snapshot", slow_export)
    writer = StoreWriter(store, flush_interval_s=0.01, snapshot_every_s=0.01)
    writer.start()
    for _ in range(10):
        await writer.flush()
        await asyncio.sleep(0.02)
    assert len(exports) == 1
    await writer.stop()
    assert len(exports) == 2  # and one at stop, so readers see everything
    store.close()


def test_a_query_while_the_writer_thread_writes_waits_for_nothing_and_sees_committed_rows(tmp_path: Path) -> None:
    """The daemon reads the store on its loop (the control gate's nonces at start) while the writer's
    thread inserts and exports snapshots on the store's connection, which refuses a second caller."""
    store = Store(tmp_path / "busy.duckdb")
    writing = threading.Event()
    done = threading.Event()

    def write() -> None:
        for batch in range(200):
            store.insert("costs", [(float(batch), "test", index, "") for index in range(50)])
            writing.set()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    writing.wait()
    seen = []
    while not done.is_set():
        seen.append(store.query("SELECT count(*) FROM costs")[0][0])
    thread.join()
    assert seen and seen == sorted(seen) and store.query("SELECT count(*) FROM costs")[0][0] == 200 * 50
    store.close()
