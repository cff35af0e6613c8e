"""How Solana RPC spells things: accounts in the requested encoding, filters, keys, commitments.

Shared by the HTTP RPC and the PubSub socket so an account looks the same in `getAccountInfo`, an
`accountNotification` and a `programNotification`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature

from mevbot.sandbox.jsonrpc import config, integer, invalid_params, string
from mevbot.sandbox.transactions import b58decode, b58encode

ACCOUNT_ENCODINGS = frozenset({"base64", "base58", "jsonParsed", "base64+zstd"})
COMMITMENTS = frozenset(
    {"processed", "confirmed", "finalized", "recent", "single", "singleGossip", "root", "max"}
)
MAX_BASE58_BYTES = 128


def parse_pubkey(value: Any, what: str = "pubkey") -> Pubkey:
    text = string(value, what)
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise invalid_params(f"{what} {text!r} is not a base58 public key") from None


def parse_signature(value: Any) -> Signature:
    text = string(value, "signature")
    try:
        return Signature.from_string(text)
    except ValueError:
        raise invalid_params(f"signature {text!r} is not a base58 signature") from None


def check_commitment(options: dict[str, Any]) -> None:
    """Every commitment is accepted; the sandbox finalizes at once, so they all see the same state."""
    commitment = options.get("commitment")
    if commitment is not None and commitment not in COMMITMENTS:
        raise invalid_params(f"unknown commitment {commitment!r}")


@dataclass(frozen=True, slots=True)
class AccountView:
    """How to render account data: encoding and optional slice (the `UiAccount` options)."""

    encoding: str = "base64"
    offset: int = 0
    length: int | None = None

    @classmethod
    def from_config(cls, options: dict[str, Any], default_encoding: str = "base64") -> AccountView:
        check_commitment(options)
        encoding = options.get("encoding") or default_encoding
        if encoding not in ACCOUNT_ENCODINGS:
            raise invalid_params(f"unknown encoding {encoding!r}; use base64, base58 or jsonParsed")
        if encoding == "base64+zstd":
            raise invalid_params("base64+zstd is not supported by the sandbox; use base64")
        if encoding == "jsonParsed":
            encoding = "base64"  # as a node does for accounts it has no parser for
        data_slice = config(options.get("dataSlice"))
        if data_slice:
            return cls(
                encoding=encoding,
                offset=integer(data_slice.get("offset", 0), "dataSlice.offset"),
                length=integer(data_slice.get("length"), "dataSlice.length"),
            )
        return cls(encoding=encoding)

    def render(self, account: Account) -> dict[str, Any]:
        data = bytes(account.data)
        end = None if self.length is None else self.offset + self.length
        sliced = data[self.offset : end]
        if self.encoding == "base58":
            if len(sliced) > MAX_BASE58_BYTES:
                raise invalid_params(
                    f"encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, please use Base64 encoding."
                )
            encoded: list[str] = [b58encode(sliced), "base58"]
        else:
            encoded = [base64.b64encode(sliced).decode(), "base64"]
        return {
            "lamports": account.lamports,
            "data": encoded,
            "owner": str(account.owner),
            "executable": account.executable,
            "rentEpoch": 18446744073709551615,
            "space": len(data),
        }


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """One `getProgramAccounts` / `programSubscribe` filter: a dataSize, or bytes at an offset."""

    data_size: int | None = None
    offset: int = 0
    expected: bytes = b""

    def matches(self, data: bytes) -> bool:
        if self.data_size is not None:
            return len(data) == self.data_size
        return data[self.offset : self.offset + len(self.expected)] == self.expected


MAX_FILTERS = 4
MAX_MEMCMP_BYTES = 128


def parse_filters(value: Any) -> tuple[AccountFilter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid_params("filters must be an array")
    if len(value) > MAX_FILTERS:
        raise invalid_params(f"too many filters provided; max {MAX_FILTERS}")
    return tuple(_parse_filter(item) for item in value)


def _parse_filter(item: Any) -> AccountFilter:
    if not isinstance(item, dict) or len(item) != 1:
        raise invalid_params("each filter must be an object with one of dataSize, memcmp")
    kind, body = next(iter(item.items()))
    if kind == "dataSize":
        return AccountFilter(data_size=integer(body, "dataSize"))
    if kind != "memcmp":
        raise invalid_params(f"unknown filter {kind!r}; supported: dataSize, memcmp")
    options = config(body)
    text = string(options.get("bytes"), "memcmp.bytes")
    encoding = options.get("encoding", "base58")
    try:
        if encoding == "base58":
            expected = b58decode(text)
        elif encoding == "base64":
            expected = base64.b64decode(text, validate=True)
        else:
            raise invalid_params(f"unknown memcmp encoding {encoding!r}")
    except (ValueError, binascii.Error):
        raise invalid_params(f"memcmp.bytes is not valid {encoding}") from None
    if len(expected) > MAX_MEMCMP_BYTES:
        raise invalid_params(f"memcmp.bytes is longer than {MAX_MEMCMP_BYTES} bytes")
    return AccountFilter(offset=integer(options.get("offset"), "memcmp.offset"), expected=expected)


def matches_all(filters: Sequence[AccountFilter], data: bytes) -> bool:
    return all(f.matches(data) for f in filters)


def context(slot: int) -> dict[str, Any]:
    return {"slot": slot, "apiVersion": "2.1.0"}
