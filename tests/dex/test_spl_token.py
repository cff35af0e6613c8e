"""SPL Token / Token-2022 accounts and mints against the real fixture bytes and EXPECTED.json."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from solders.pubkey import Pubkey

from mevbot.dex.base import DecodeError, TruncatedAccount, WrongAccountType, WrongOwner
from mevbot.dex.spl_token import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    decode_mint,
    decode_token_account,
    encode_mint,
    encode_token_account,
    extension_types,
    token_amount,
    untradable_mint,
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


@pytest.mark.parametrize(("key", "decoded"), [*_cases(".Mint"), *_cases(".Account")])
def test_token_2022_extensions_match_expected(key: str, decoded: dict[str, Any]) -> None:
    """The mainnet mint with a transfer fee (and its metadata) lists the extensions the official
    decoder found, and is refused for trading; base-size mints and accounts list none."""
    data, owner = _load(key)
    expected = tuple(e["type"] for e in decoded.get("token_2022", {}).get("extensions", ()))
    assert extension_types(data) == expected
    if key.endswith("mint.json"):
        reason = untradable_mint(data, owner)
        assert (reason is None) == (1 not in expected), reason  # 1: TransferFeeConfig


def test_a_token_2022_mint_is_tradable_only_with_extensions_that_leave_transfers_exact() -> None:
    metadata = (18, bytes(64))  # MetadataPointer
    for extensions, tradable in [
        ((), True), ((metadata,), True), ((metadata, (19, b"name")), True), (((3, bytes(32)),), True),
        ((metadata, (1, bytes(108))), False),  # TransferFeeConfig
        (((14, bytes(64)),), False),  # TransferHook
        (((9, b""),), False),  # NonTransferable
        (((12, bytes(32)),), False),  # PermanentDelegate
        (((6, b"\x02"),), False),  # DefaultAccountState (frozen)
        (((99, b"?"),), False),  # a type added after this code
    ]:
        data = encode_mint(10**9, 6, extensions=extensions)
        assert extension_types(data) == tuple(kind for kind, _ in extensions)
        assert (untradable_mint(data, TOKEN_2022_PROGRAM_ID) is None) is tradable, extensions
    fee = encode_mint(10**9, 6, extensions=((1, bytes(108)),))
    assert untradable_mint(fee, TOKEN_2022_PROGRAM_ID) == (
        "Token-2022 mint extension 1 (TransferFeeConfig) changes or guards transfers"
    )
    with pytest.raises(DecodeError):  # a token account is not a mint
        untradable_mint(encode_token_account(Pubkey.new_unique(), Pubkey.new_unique(), 5), TOKEN_PROGRAM_ID)
    with pytest.raises(WrongOwner):
        untradable_mint(encode_mint(1, 6), Pubkey.new_unique())


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
