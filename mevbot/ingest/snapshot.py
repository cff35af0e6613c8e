"""Account snapshot files: a JSON list of ``{pubkey, owner, lamports, data_base64}``.

The format of ``shared/fixtures/accounts/*/*.json`` (a file holding a single such object is read as
a list of one). A bad entry is reported with its index and reason and the rest are kept: one
broken account must not hide a whole snapshot. Parsing is pure; only `read_snapshot` touches disk.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from mevbot.events import Account


class SnapshotError(ValueError):
    """The file as a whole is not a snapshot (unreadable, not JSON, not a list of objects)."""


@dataclass(frozen=True, slots=True)
class BadEntry:
    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    accounts: tuple[Account, ...]
    bad_entries: tuple[BadEntry, ...]


def rent_exempt_minimum(data_len: int) -> int:
    """Lamports that keep an account of `data_len` bytes rent exempt (3480 lamports/byte-year, 2 years)."""
    return (128 + data_len) * 6960


def read_snapshot(path: Path) -> Snapshot:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"{path}: {exc.strerror or exc}") from None
    return parse_snapshot(text)


def parse_snapshot(text: str | bytes) -> Snapshot:
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"not JSON: {exc}") from None
    entries = [document] if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise SnapshotError(f"expected a JSON list of accounts, got {type(document).__name__}")
    accounts: list[Account] = []
    bad: list[BadEntry] = []
    seen: dict[Pubkey, int] = {}
    for index, entry in enumerate(entries):
        try:
            account = parse_entry(entry)
        except ValueError as exc:
            bad.append(BadEntry(index, str(exc)))
            continue
        if account.pubkey in seen:
            bad.append(BadEntry(index, f"duplicate of entry {seen[account.pubkey]} ({account.pubkey})"))
            continue
        seen[account.pubkey] = index
        accounts.append(account)
    return Snapshot(tuple(accounts), tuple(bad))


def parse_entry(entry: Any) -> Account:
    """One account from its JSON object; ValueError names the first field that is wrong.

    A missing or null `lamports` becomes the rent-exempt minimum for the data length, as the
    fixtures' README suggests.
    """
    if not isinstance(entry, dict):
        raise ValueError(f"not an object: {type(entry).__name__}")
    pubkey = _pubkey(entry, "pubkey")
    owner = _pubkey(entry, "owner")
    encoded = entry.get("data_base64")
    if not isinstance(encoded, str):
        raise ValueError("data_base64: missing or not a string")
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"data_base64: not base64 ({exc})") from None
    lamports = entry.get("lamports")
    if lamports is None:
        lamports = rent_exempt_minimum(len(data))
    if not isinstance(lamports, int) or isinstance(lamports, bool) or not 0 <= lamports < 1 << 64:
        raise ValueError(f"lamports: {lamports!r} is not a u64")
    return Account(pubkey, owner, lamports, data)


def _pubkey(entry: dict[str, Any], name: str) -> Pubkey:
    text = entry.get(name)
    if not isinstance(text, str):
        raise ValueError(f"{name}: missing or not a string")
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a base58 public key") from None
