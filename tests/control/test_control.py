"""Signed control: M-of-N, replay, expiry, tampering, and the ack chain, over the real unix socket."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.control.envelope import (
    ControlPolicy,
    EnvelopeError,
    OperatorKey,
    Verdict,
    co_sign,
    load_operator_key,
    new_envelope,
    parse_envelope,
    verify,
)
from mevbot.control.gate import ControlGate
from mevbot.control.socket import send_envelope, serve_control
from mevbot.decide.risk import RiskEngine, RiskState
from mevbot.observe.dna import verify_chain
from mevbot.observe.store import Store, StoreWriter

KEYS = [OperatorKey.generate() for _ in range(3)]
POLICY = ControlPolicy(
    daemon_id="d1",
    operators={"alice": KEYS[0].public_hex, "bob": KEYS[1].public_hex, "carol": KEYS[2].public_hex},
    thresholds={"kill": 1, "resume": 2, "set-limit": 2, "set-bandit": 2},
)


def _envelope(command: str, *signers: OperatorKey, ttl: float = 60, now: float | None = None, **args: object) -> dict:
    envelope = new_envelope(command, args, daemon_id="d1", ttl_s=ttl, now=now)
    for key in signers:
        envelope = co_sign(envelope, key)
    return envelope


def _check(envelope: dict, seen: set[str] | None = None) -> Verdict:
    return verify(parse_envelope(json.dumps(envelope).encode()), POLICY, now=time.time(), seen_nonces=seen or set())


def test_thresholds_distinct_signers_and_tampering() -> None:
    assert _check(_envelope("kill", KEYS[0])).accepted
    one = _check(_envelope("resume", KEYS[0]))
    assert not one.accepted and "needs 2" in one.reason
    same_twice = _envelope("resume", KEYS[0])
    same_twice["signatures"] = same_twice["signatures"] * 2
    assert not _check(same_twice).accepted
    two = _check(_envelope("resume", KEYS[0], KEYS[2]))
    assert two.accepted and two.signers == ("alice", "carol")
    tampered = _envelope("set-limit", KEYS[0], KEYS[1], name="max_notional", value=10)
    tampered["args"]["value"] = 10**12
    assert "bad signature" in _check(tampered).reason


def test_expiry_replay_wrong_daemon_and_strangers() -> None:
    expired = _envelope("kill", KEYS[0], ttl=60, now=time.time() - 120)
    assert "expired" in _check(expired).reason
    envelope = _envelope("kill", KEYS[0])
    assert "replay" in _check(envelope, seen={envelope["nonce"]}).reason
    other = co_sign({**new_envelope("kill", {}, daemon_id="elsewhere")}, KEYS[0])
    assert "addressed to" in _check(other).reason
    stranger = _envelope("kill", OperatorKey.generate())
    assert "unknown key" in _check(stranger).reason
    for raw in (b"{", b"[]", json.dumps({"command": "kill"}).encode(), b"x" * 70_000):
        with pytest.raises(EnvelopeError):
            parse_envelope(raw)


async def test_socket_gate_applies_kill_and_chains_every_ack(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.duckdb")
    writer = StoreWriter(store)
    risk = RiskEngine()

    async def apply(verdict: Verdict) -> str | None:
        if verdict.command == "kill":
            risk.halt(str(verdict.args.get("reason", "kill")), time.time())
        elif verdict.command == "resume":
            risk.resume("resume", time.time())
        return None

    gate = ControlGate(POLICY, store, writer, apply)
    socket_path = tmp_path / "ctl.sock"
    server = await serve_control(gate, socket_path)
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o600

    async def send(envelope: dict) -> dict:
        return await send_envelope(socket_path, json.dumps(envelope).encode())

    try:
        kill = _envelope("kill", KEYS[1], reason="test")
        assert (await send(kill))["accepted"] and risk.state is RiskState.HALTED
        assert "replay" in (await send(kill))["reason"]
        resume = _envelope("resume", KEYS[0])
        assert not (await send(resume))["accepted"] and risk.state is RiskState.HALTED
        resume = co_sign(resume, KEYS[1])
        assert (await send(resume))["accepted"] and risk.state is RiskState.ACTIVE
        assert not (await send_envelope(socket_path, b"garbage"))["accepted"]
    finally:
        server.close()
        await server.wait_closed()
    rows = store.query("SELECT seq, prev_hash, payload, hash FROM control_acks ORDER BY seq")
    assert len(rows) == 5 and verify_chain(rows) is None
    assert [r[0] for r in store.query("SELECT accepted FROM control_acks ORDER BY seq")] == [True, False, False, True, False]
    # a restarted gate remembers the used nonces
    again = ControlGate(POLICY, store, writer, apply)
    assert kill["nonce"] in again.seen_nonces and resume["nonce"] in again.seen_nonces
    await writer.stop()
    store.close()


def test_cli_keygen_sign_and_cosign(tmp_path: Path) -> None:
    runner = CliRunner()
    alice, bob = tmp_path / "alice.key", tmp_path / "bob.key"
    result = runner.invoke(app, ["keygen", "--out", str(alice)])
    assert result.exit_code == 0 and len(result.stdout.strip()) == 64
    assert stat.S_IMODE(alice.stat().st_mode) == 0o600
    assert runner.invoke(app, ["keygen", "--out", str(alice)]).exit_code == 2  # never overwrite a key
    runner.invoke(app, ["keygen", "--out", str(bob)])
    secret = json.loads(alice.read_text())["seed"]
    envelope_file = tmp_path / "resume.json"
    first = runner.invoke(app, ["sign", "set-limit", "max_notional=5", "--key", str(alice), "--out", str(envelope_file)])
    assert first.exit_code == 0, first.stderr
    second = runner.invoke(app, ["sign", "set-limit", "--key", str(bob), "--append-to", str(envelope_file)])
    assert second.exit_code == 0 and "2 signature(s)" in second.stderr
    envelope = parse_envelope(envelope_file.read_bytes())
    assert envelope["args"] == {"max_notional": 5}
    policy = ControlPolicy("mevbot", {"a": load_operator_key(alice).public_hex, "b": load_operator_key(bob).public_hex},
                           {"set-limit": 2})
    assert verify(envelope, policy, now=time.time(), seen_nonces=set()).accepted
    for text in (first.stdout, first.stderr, second.stdout, second.stderr, envelope_file.read_text(), repr(load_operator_key(alice))):
        assert secret not in text
