"""SPL Token / Token-2022 accounts and mints against the real fixture bytes and EXPECTED.json."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from solders.pubkey import Pubkey

from mevbot.dex.base import DecodeError, TruncatedAccount, WrongAccountType, WrongOwner
from mevbot.dex.spl_token import (
    TOKEN_PROGRAM_ID,
    decode_mint,
    decode_token_account,
    encode_mint,
    encode_token_account,
    token_amount,
)
from tests.conftest import fixtures_dir


def _expected() -> dict[str, Any]:
    return json.loads((fixtures_dir() / "accounts" / "EXPECTED.json").read_text())


def _cases(account_type: str) -> list[Any]:
    path = fixtures_dir() / "accounts" / "EXPECTED.json"
    if not path.exists():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"{path} not found"))]
    return [
        pytest.param(key, value["decoded"], id=key.rsplit("/", 2)[-2] + "/" + key.rsplit("/", 1)[-1])
        for key, value in _expected().items()
        if value["account_type"].endswith(account_type)
    ]


def _load(key: str) -> tuple[bytes, Pubkey]:
    entry = json.loads((fixtures_dir() / key).read_text())
    return base64.b64decode(entry["data_base64"]), Pubkey.from_string(entry["owner"])


@pytest.mark.parametrize(("key", "decoded"), _cases(".Account"))
def test_token_accounts_match_expected(key: str, decoded: dict[str, Any]) -> None:
    data, owner = _load(key)
    account = decode_token_account(data, owner)
    assert str(account.mint) == decoded["mint"]
    assert str(account.owner) == decoded["owner"]
    assert account.amount == int(decoded["amount"]) == token_amount(data)
    assert account.state == decoded["state"]
    assert account.is_native == (None if decoded["is_native"] is None else int(decoded["is_native"]))


@pytest.mark.parametrize(("key", "decoded"), _cases(".Mint"))
def test_mints_match_expected(key: str, decoded: dict[str, Any]) -> None:
    data, owner = _load(key)
    mint = decode_mint(data, owner)
    assert mint.supply == int(decoded["supply"])
    assert mint.decimals == decoded["decimals"]


def test_round_trip_and_rejections() -> None:
    mint, owner = Pubkey.new_unique(), Pubkey.new_unique()
    data = encode_token_account(mint, owner, 12345, is_native=2039280)
    account = decode_token_account(data, TOKEN_PROGRAM_ID)
    assert (account.mint, account.owner, account.amount, account.is_native) == (mint, owner, 12345, 2039280)
    assert decode_mint(encode_mint(10**9, 6)).decimals == 6
    with pytest.raises(TruncatedAccount):
        decode_token_account(data[:100])
    with pytest.raises(WrongOwner):
        decode_token_account(data, Pubkey.new_unique())
    with pytest.raises(WrongAccountType):
        decode_token_account(data + b"\x01" + b"\x00" * 12)  # Token-2022 bytes tagged as a mint
    with pytest.raises(DecodeError):
        decode_token_account(bytes(165))  # uninitialized
