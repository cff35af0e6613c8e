"""The daemon's side of control: verify an envelope, apply it, and acknowledge it into a hash chain.

Every envelope, accepted or not, gets an ack record chained like the Decision DNA, written to disk before
the answer goes back. Only accepted envelopes use up their nonce, so a 2-of-3 command can be sent with
one signature (refused, "needs 2"), co-signed, and sent again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mevbot.control.envelope import ControlPolicy, EnvelopeError, Verdict, parse_envelope, verify
from mevbot.observe.dna import GENESIS, canonical_json, chain_hash
from mevbot.observe.store import Store, StoreWriter

Apply = Callable[[Verdict], Awaitable[str | None]]  # returns why applying failed, or None


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    accepted: bool
    reason: str
    hash: str

    def as_json(self) -> dict[str, object]:
        return {"seq": self.seq, "accepted": self.accepted, "reason": self.reason, "ack_hash": self.hash}


class ControlGate:
    def __init__(self, policy: ControlPolicy, store: Store, writer: StoreWriter, apply: Apply) -> None:
        self.policy = policy
        self.writer = writer
        self.apply = apply
        self.seen_nonces = {row[0] for row in store.query("SELECT nonce FROM control_acks WHERE accepted")}
        last = store.query("SELECT seq, hash FROM control_acks ORDER BY seq DESC LIMIT 1")
        self._next_seq, self._prev_hash = (last[0][0] + 1, last[0][1]) if last else (1, GENESIS)

    async def handle(self, raw: bytes, now: float | None = None) -> Ack:
        now = time.time() if now is None else now
        try:
            envelope = parse_envelope(raw)
        except EnvelopeError as exc:
            verdict = Verdict(False, f"malformed: {exc}")
        else:
            verdict = verify(envelope, self.policy, now=now, seen_nonces=self.seen_nonces)
            if verdict.accepted:
                self.seen_nonces.add(verdict.nonce)
                failure = await self.apply(verdict)
                if failure is not None:
                    self.seen_nonces.discard(verdict.nonce)
                    verdict = Verdict(False, f"not applied: {failure}", verdict.command, verdict.args,
                                      verdict.nonce, verdict.signers)
        ack = self._record(verdict, hashlib.sha256(raw).hexdigest(), now)
        await self.writer.flush()
        return ack

    def _record(self, verdict: Verdict, envelope_sha: str, now: float) -> Ack:
        payload = canonical_json({
            "command": verdict.command, "args": dict(verdict.args or {}), "accepted": verdict.accepted,
            "reason": verdict.reason, "signers": list(verdict.signers), "nonce": verdict.nonce,
            "envelope_sha256": envelope_sha,
        })
        digest = chain_hash(self._prev_hash, payload)
        seq = self._next_seq
        self.writer.put("control_acks", (
            seq, now, verdict.command, verdict.accepted, verdict.reason, json.dumps(list(verdict.signers)),
            verdict.nonce, envelope_sha, self._prev_hash, payload, digest,
        ))
        self._next_seq, self._prev_hash = seq + 1, digest
        return Ack(seq, verdict.accepted, verdict.reason, digest)
