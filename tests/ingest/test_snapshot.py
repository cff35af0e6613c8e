"""Snapshot files: good entries kept, each bad one reported with its index and reason."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from mevbot.ingest.snapshot import SnapshotError, parse_snapshot, read_snapshot, rent_exempt_minimum
from tests.conftest import fixtures_dir

KEY = "So11111111111111111111111111111111111111112"
OWNER = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


def good(pubkey: str = KEY, data: bytes = b"\x01\x02", lamports: int | None = 5) -> dict[str, object]:
    return {
        "pubkey": pubkey,
        "owner": OWNER,
        "lamports": lamports,
        "data_base64": base64.b64encode(data).decode(),
    }


def test_bad_entries_are_reported_and_the_rest_kept() -> None:
    other = str(Pubkey.from_bytes(b"\x05" * 32))
    entries = [
        good(),
        "not an object",
        {**good(other), "pubkey": "0OIl"},
        {**good(other), "data_base64": "***"},
        {**good(other), "lamports": -1},
        {k: v for k, v in good(other).items() if k != "owner"},
        good(KEY, b"\x09"),  # the same account again
        good(other, b"\x07" * 3),
    ]
    snapshot = parse_snapshot(json.dumps(entries))
    assert [(a.pubkey, a.data, a.lamports) for a in snapshot.accounts] == [
        (Pubkey.from_string(KEY), b"\x01\x02", 5),
        (Pubkey.from_string(other), b"\x07" * 3, 5),
    ]
    reasons = {bad.index: bad.reason for bad in snapshot.bad_entries}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6]
    assert "not an object" in reasons[1]
    assert reasons[2].startswith("pubkey")
    assert reasons[3].startswith("data_base64")
    assert reasons[4].startswith("lamports")
    assert reasons[5].startswith("owner")
    assert "duplicate of entry 0" in reasons[6]


def test_missing_lamports_become_the_rent_exempt_minimum() -> None:
    (account,) = parse_snapshot(json.dumps([good(lamports=None)])).accounts
    assert account.lamports == rent_exempt_minimum(2) == (128 + 2) * 6960


@pytest.mark.parametrize("text", ["{not json", "42", '"a string"'])
def test_a_file_that_is_no_snapshot_is_an_error(text: str) -> None:
    with pytest.raises(SnapshotError):
        parse_snapshot(text)


def test_read_snapshot_reports_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"missing\.json"):
        read_snapshot(tmp_path / "missing.json")


def test_a_shared_fixture_file_reads_as_one_account() -> None:
    path = (
        fixtures_dir() / "accounts/orca_whirlpool/whirlpool.CGGNcohZdLdeDBdhmQRGmUH1Viv1p4d1ds2aPLoiVWaR.json"
    )
    if not path.exists():
        pytest.skip(f"{path} not found")
    snapshot = read_snapshot(path)
    assert not snapshot.bad_entries
    (account,) = snapshot.accounts
    assert str(account.pubkey) == "CGGNcohZdLdeDBdhmQRGmUH1Viv1p4d1ds2aPLoiVWaR"
    assert len(account.data) == 653
