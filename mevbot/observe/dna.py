"""Decision DNA: each decision's inputs hashed and chained to the previous record.

The hash covers a canonical JSON of everything the decision depended on plus the previous hash, so
editing a record breaks its own hash and deleting one breaks the next record's link. `verify_chain`
reports the first break.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(payload: Mapping[str, Any]) -> str:
    """One byte string per payload: sorted keys, no spaces, big integers as decimal strings."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, payload_json: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{payload_json}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    problem: str


def verify_chain(rows: Iterable[tuple[int, str, str, str]]) -> ChainBreak | None:
    """Walk (seq, prev_hash, payload_json, hash) rows in seq order; None if the chain is whole."""
    expected_prev, expected_seq = GENESIS, None
    for seq, prev_hash, payload_json, digest in rows:
        if expected_seq is not None and seq != expected_seq:
            return ChainBreak(expected_seq, f"record {expected_seq} is missing (next present is {seq})")
        if prev_hash != expected_prev:
            return ChainBreak(seq, "link to the previous record does not match (a record was removed or edited)")
        if chain_hash(prev_hash, payload_json) != digest:
            return ChainBreak(seq, "hash does not match the record's contents (the record was edited)")
        expected_prev, expected_seq = digest, seq + 1
    return None
