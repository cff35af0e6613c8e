"""Signed control against a running daemon on the sandbox: M-of-N, replay, expiry, tampering, the kill
switch within one loop iteration, the ack chain, and the event loop pinned to the configured cores."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from mevbot.config import parse_config
from mevbot.control.envelope import OperatorKey, co_sign, new_envelope
from mevbot.control.socket import send_envelope
from mevbot.decide.risk import RiskState
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import Endpoints, Engine
from mevbot.observe.dna import verify_chain
from mevbot.observe.store import Store
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.settings import settings_from_config

KEYS = {name: OperatorKey.generate() for name in ("alice", "bob", "carol")}


def _config(tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse_config({
        "cpu_affinity": [0],
        "sandbox": {"seed": 5, "pools": 30, "slot_ms": 25, "competitors": 1, "rate_limit_per_s": 1000.0},
        "search": {"max_hops": 3},
        "decide": {"min_profit_lamports": 1, "max_failures_in_row": 10_000},
        "storage": {"db_path": str(tmp_path / "d.duckdb")},
        "metrics": {"port": 0},
        "control": {"daemon_id": "test-daemon", "socket_path": str(tmp_path / "ctl.sock"),
                    "operators": {name: key.public_hex for name, key in KEYS.items()},
                    "emergency_stop_file": str(tmp_path / "STOP")},
    })  # fmt: skip


def _envelope(command: str, *signers: str, now: float | None = None, ttl: float = 60, **args: object) -> dict:
    envelope = new_envelope(command, args, daemon_id="test-daemon", ttl_s=ttl, now=now)
    for name in signers:
        envelope = co_sign(envelope, KEYS[name])
    return envelope


async def test_signed_commands_against_a_running_daemon(tmp_path: Path) -> None:
    config = _config(tmp_path)
    affinity_before = os.sched_getaffinity(0)
    socket = config.control.socket_path

    async def send(envelope: dict) -> dict:
        return await send_envelope(socket, json.dumps(envelope).encode())

    try:
        async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
            endpoints = Endpoints((sandbox.rpc_url,), (sandbox.ws_url,), (("sandbox", sandbox.block_engine_url),),
                                  sandbox.payer_keypair_path, base_mints=(NATIVE_MINT,))  # fmt: skip
            engine = Engine(config, endpoints)
            run = asyncio.create_task(engine.run(duration=60))
            async with asyncio.timeout(60):
                while engine.telemetry.counters.bundles_sent < 2:
                    await asyncio.sleep(0.02)
            assert engine.loop_cores == (0,) and os.sched_getaffinity(0) == {0}

            limit = _envelope("set-limit", "alice", name="max_notional", value=123_456_789_000)
            assert "needs 2" in (await send(limit))["reason"]
            limit = co_sign(limit, KEYS["carol"])
            assert (await send(limit))["accepted"]
            assert engine.risk.limits.max_notional == 123_456_789_000
            assert "replay" in (await send(limit))["reason"]
            expired = _envelope("set-limit", "alice", "bob", now=time.time() - 600, name="max_notional", value=1)
            assert "expired" in (await send(expired))["reason"]
            tampered = _envelope("set-limit", "alice", "bob", name="max_notional", value=5)
            tampered["args"]["value"] = 10**15
            assert "bad signature" in (await send(tampered))["reason"]
            assert engine.risk.limits.max_notional == 123_456_789_000

            ack = await send(_envelope("kill", "bob", reason="drill"))
            sent_at_kill = engine.telemetry.counters.bundles_sent
            assert ack["accepted"] and engine.risk.state is RiskState.HALTED
            decisions_at_kill = engine.telemetry.counters.decisions
            async with asyncio.timeout(30):  # the loop keeps deciding, and refuses every send
                while engine.telemetry.counters.decisions < decisions_at_kill + 5:
                    await asyncio.sleep(0.02)
            assert engine.telemetry.counters.bundles_sent == sent_at_kill

            assert "needs 2" in (await send(_envelope("resume", "alice")))["reason"]
            assert engine.risk.state is RiskState.HALTED
            assert (await send(_envelope("resume", "alice", "carol")))["accepted"]
            assert engine.risk.state is RiskState.ACTIVE
            engine.request_stop("test done")
            await run
    finally:
        os.sched_setaffinity(0, affinity_before)

    store = Store(config.storage.db_path, read_only=True)
    try:
        acks = store.query("SELECT command, accepted, reason FROM control_acks ORDER BY seq")
        assert [(c, a) for c, a, _ in acks] == [
            ("set-limit", False), ("set-limit", True), ("set-limit", False), ("set-limit", False),
            ("set-limit", False), ("kill", True), ("resume", False), ("resume", True),
        ]  # fmt: skip
        chain = store.query("SELECT seq, prev_hash, payload, hash FROM control_acks ORDER BY seq")
        assert verify_chain(chain) is None
        halted = store.query("SELECT count(*) FROM decisions WHERE reason LIKE 'halted: kill by bob%'")[0][0]
        assert halted >= 5
        states = [row[0] for row in store.query("SELECT state FROM risk_transitions ORDER BY ts")]
        assert states[-2:] == ["HALTED", "ACTIVE"]
    finally:
        store.close()
