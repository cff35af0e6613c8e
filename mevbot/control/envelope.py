"""Signed control envelopes: canonical JSON, Ed25519 signatures, and the checks a daemon applies.

The signed bytes are the canonical JSON (sorted keys, no spaces) of everything except the signatures,
so co-signers sign exactly the same bytes and any edit to a field voids every signature. Verification
is a pure function of the envelope, the configured keys and policy, the clock and the set of nonces
already seen: it returns the accepted command or the reason for refusing it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing

from mevbot.secret_file import read_secret_text, write_secret_json

MAX_ENVELOPE_BYTES = 64 * 1024
COMMANDS = ("kill", "resume", "set-limit", "set-bandit")


class EnvelopeError(ValueError):
    """An envelope or key file that cannot be used; never quotes secret material."""


class OperatorKey:
    """An operator's Ed25519 signing key. Its repr shows only the public key."""

    __slots__ = ("_signing", "public_hex")

    def __init__(self, signing: nacl.signing.SigningKey) -> None:
        self._signing = signing
        self.public_hex = bytes(signing.verify_key).hex()

    @classmethod
    def generate(cls) -> OperatorKey:
        return cls(nacl.signing.SigningKey.generate())

    def sign(self, payload: bytes) -> str:
        return self._signing.sign(payload).signature.hex()

    def write(self, path: Path) -> None:
        """Save as a new key file readable by its owner only; an existing file is never overwritten."""
        content = {
            "kind": "mevbot-operator-key",
            "public": self.public_hex,
            "seed": bytes(self._signing).hex(),
        }
        write_secret_json(path, content, replace=False)

    def __repr__(self) -> str:
        return f"OperatorKey(public={self.public_hex})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("OperatorKey cannot be pickled: it holds a secret key")


def load_operator_key(path: str | Path) -> OperatorKey:
    path = Path(path)
    raw = read_secret_text(path, "key", EnvelopeError)
    try:
        content = json.loads(raw)
        key = OperatorKey(nacl.signing.SigningKey(bytes.fromhex(content["seed"])))
    except (ValueError, KeyError, TypeError, nacl.exceptions.CryptoError):
        raise EnvelopeError(f"{path}: not a mevbot operator key file") from None
    if key.public_hex != content.get("public"):
        raise EnvelopeError(f"{path}: public key does not match the seed")
    return key


def canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def new_envelope(
    command: str, args: Mapping[str, Any], *, daemon_id: str, ttl_s: float = 300.0, now: float | None = None
) -> dict[str, Any]:
    if command not in COMMANDS:
        raise EnvelopeError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    issued = int(time.time() if now is None else now)
    return {
        "command": command,
        "args": dict(args),
        "daemon_id": daemon_id,
        "nonce": secrets.token_hex(16),
        "issued_at": issued,
        "expires_at": issued + int(ttl_s),
        "signatures": [],
    }


def signed_part(envelope: Mapping[str, Any]) -> bytes:
    return canonical({k: v for k, v in envelope.items() if k != "signatures"})


def co_sign(envelope: dict[str, Any], key: OperatorKey) -> dict[str, Any]:
    """Add `key`'s signature (replacing an earlier one by the same key)."""
    signature = {"public": key.public_hex, "signature": key.sign(signed_part(envelope))}
    others = [s for s in envelope.get("signatures", []) if s.get("public") != key.public_hex]
    return {**envelope, "signatures": [*others, signature]}


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    reason: str
    command: str = ""
    args: Mapping[str, Any] | None = None
    nonce: str = ""
    signers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ControlPolicy:
    daemon_id: str
    operators: Mapping[str, str]  # name → public key hex
    thresholds: Mapping[str, int]  # command → signatures needed
    max_ttl_s: float = 3600.0
    max_skew_s: float = 30.0


def parse_envelope(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"envelope of {len(raw)} bytes > {MAX_ENVELOPE_BYTES}")
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("envelope is not JSON") from None
    required = {"command": str, "args": dict, "daemon_id": str, "nonce": str, "issued_at": int, "expires_at": int,
                "signatures": list}
    if not isinstance(envelope, dict):
        raise EnvelopeError("envelope is not a JSON object")
    for name, kind in required.items():
        if not isinstance(envelope.get(name), kind) or isinstance(envelope.get(name), bool):
            raise EnvelopeError(f"envelope field {name!r} missing or not {kind.__name__}")
    return envelope


def verify(envelope: Mapping[str, Any], policy: ControlPolicy, *, now: float, seen_nonces: Collection[str]) -> Verdict:
    command, nonce = envelope["command"], envelope["nonce"]

    def refuse(reason: str, signers: tuple[str, ...] = ()) -> Verdict:
        return Verdict(False, reason, command, envelope["args"], nonce, signers)

    if command not in policy.thresholds:
        return refuse(f"unknown command {command!r}")
    if envelope["daemon_id"] != policy.daemon_id:
        return refuse(f"addressed to daemon {envelope['daemon_id']!r}, this is {policy.daemon_id!r}")
    if envelope["expires_at"] <= now:
        return refuse(f"expired at {envelope['expires_at']} (now {int(now)})")
    if envelope["issued_at"] > now + policy.max_skew_s:
        return refuse("issued in the future")
    if envelope["expires_at"] - envelope["issued_at"] > policy.max_ttl_s:
        return refuse(f"lifetime above the {policy.max_ttl_s:g}s maximum")
    payload = signed_part(envelope)
    names_by_key = {public: name for name, public in policy.operators.items()}
    signers: list[str] = []
    for entry in envelope["signatures"]:
        public = entry.get("public") if isinstance(entry, dict) else None
        name = names_by_key.get(public) if isinstance(public, str) else None
        if name is None:
            return refuse(f"signature by an unknown key {str(public)[:16]}")
        try:
            nacl.signing.VerifyKey(bytes.fromhex(public)).verify(payload, bytes.fromhex(entry.get("signature", "")))
        except (ValueError, TypeError, nacl.exceptions.BadSignatureError):
            return refuse(f"bad signature by {name} (the envelope was altered or the signature is wrong)")
        if name not in signers:
            signers.append(name)
    need = policy.thresholds[command]
    if len(signers) < need:
        return refuse(f"{command} needs {need} distinct signers, has {len(signers)}", tuple(signers))
    if nonce in seen_nonces:
        return refuse("replay: nonce already used", tuple(signers))
    return Verdict(True, "accepted", command, envelope["args"], nonce, tuple(signers))
