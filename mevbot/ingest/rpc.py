"""A small Solana JSON-RPC client for snapshots, with health checks and failover across endpoints.

Replies are validated before use: a malformed reply raises `RpcError` (and is counted by the caller),
never a KeyError deep inside the loop.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from solders.hash import Hash
from solders.pubkey import Pubkey

from mevbot.events import AccountUpdate

MAX_MULTIPLE_ACCOUNTS = 100


class RpcError(RuntimeError):
    """An endpoint failed, refused, or answered with something that is not a valid reply."""


def _at_least_confirmed(commitment: str) -> str:
    return "confirmed" if commitment in ("processed", "recent") else commitment


def parse_account(pubkey: Pubkey, value: Any, slot: int) -> AccountUpdate:
    """An RPC account object (base64 encoding) → AccountUpdate, or RpcError if it is malformed."""
    try:
        data_b64, encoding = value["data"]
        if encoding != "base64":
            raise RpcError(f"{pubkey}: data encoding {encoding!r}, expected base64")
        return AccountUpdate(
            pubkey=pubkey,
            owner=Pubkey.from_string(value["owner"]),
            lamports=int(value["lamports"]),
            data=base64.b64decode(data_b64, validate=True),
            slot=slot,
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise RpcError(f"{pubkey}: malformed account in reply ({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """One entry of `getSignaturesForAddress`: a transaction, its slot, and whether it succeeded."""

    signature: str
    slot: int
    ok: bool


class RpcClient:
    """Talks to the first healthy endpoint; on a transport failure moves to the next one."""

    def __init__(self, urls: Sequence[str], *, timeout_s: float = 2.0, commitment: str = "processed") -> None:
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self.urls = list(urls)
        self.active = 0
        self.commitment = commitment
        self.failovers = 0
        self._http = httpx.AsyncClient(timeout=timeout_s)
        self._ids = itertools.count(1)

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        last_error: Exception | None = None
        for attempt in range(len(self.urls)):
            url = self.urls[(self.active + attempt) % len(self.urls)]
            try:
                result = await self._call_one(url, method, params or [])
            except (httpx.HTTPError, RpcTransportError) as exc:
                last_error = exc
                continue
            if attempt:
                self.active = (self.active + attempt) % len(self.urls)
                self.failovers += 1
            return result
        raise RpcError(f"{method}: every RPC endpoint failed (last: {last_error})")

    async def _call_one(self, url: str, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        response = await self._http.post(url, json=body)
        if response.status_code >= 500 or response.status_code == 429:
            raise RpcTransportError(f"{url}: HTTP {response.status_code}")
        try:
            reply = response.json()
        except ValueError:
            raise RpcError(f"{method}: reply is not JSON") from None
        if not isinstance(reply, dict):
            raise RpcError(f"{method}: reply is not a JSON object")
        if "error" in reply:
            error = reply["error"]
            raise RpcError(f"{method}: {error.get('code') if isinstance(error, dict) else ''} {error}")
        if "result" not in reply:
            raise RpcError(f"{method}: reply has no result")
        return reply["result"]

    async def health(self, url: str) -> bool:
        try:
            return await self._call_one(url, "getHealth", []) == "ok"
        except (httpx.HTTPError, RpcError, RpcTransportError):
            return False

    async def get_slot(self, *, confirmed: bool = False) -> int:
        """The node's slot at the client's commitment, or at `confirmed` or stricter if asked."""
        commitment = _at_least_confirmed(self.commitment) if confirmed else self.commitment
        slot = await self.call("getSlot", [{"commitment": commitment}])
        if not isinstance(slot, int) or isinstance(slot, bool):
            raise RpcError("getSlot: result is not an integer")
        return slot

    async def signatures_for_address(
        self, address: Pubkey, *, limit: int, before: str | None = None
    ) -> list[SignatureInfo]:
        """The newest `limit` confirmed transactions that named `address` (older than `before`, if
        given), newest first. The method knows no lower commitment."""
        options: dict[str, Any] = {"limit": limit, "commitment": _at_least_confirmed(self.commitment)}
        if before is not None:
            options["before"] = before
        result = await self.call("getSignaturesForAddress", [str(address), options])
        try:
            return [SignatureInfo(str(entry["signature"]), int(entry["slot"]), entry["err"] is None) for entry in result]
        except (KeyError, TypeError, ValueError):
            raise RpcError("getSignaturesForAddress: malformed reply") from None

    async def get_transaction(self, signature: str, *, encoding: str) -> dict[str, Any] | None:
        """A landed transaction and its meta in `encoding` ("json" or "base64"), as of "confirmed"
        (the earliest a node has it); None while no node does."""
        result = await self.call(
            "getTransaction",
            [signature, {"encoding": encoding, "maxSupportedTransactionVersion": 0, "commitment": "confirmed"}],
        )
        if result is not None and not isinstance(result, dict):
            raise RpcError("getTransaction: result is not an object")
        return result

    async def get_balance(self, pubkey: Pubkey) -> int:
        result = await self.call("getBalance", [str(pubkey), {"commitment": self.commitment}])
        try:
            return int(result["value"])
        except (KeyError, TypeError, ValueError):
            raise RpcError("getBalance: malformed reply") from None

    async def get_latest_blockhash(self) -> tuple[Hash, int]:
        """A blockhash to sign with, from a confirmed block whatever the client's commitment: a
        processed block may be on a fork the cluster drops (Solana's docs put it near 5 % of them),
        and a transaction naming its blockhash is then refused. It costs a slot or two of validity."""
        result = await self.call("getLatestBlockhash", [{"commitment": _at_least_confirmed(self.commitment)}])
        try:
            value = result["value"]
            return Hash.from_string(value["blockhash"]), int(value["lastValidBlockHeight"])
        except (KeyError, TypeError, ValueError):
            raise RpcError("getLatestBlockhash: malformed reply") from None

    async def get_multiple_accounts(self, pubkeys: Iterable[Pubkey]) -> list[AccountUpdate | None]:
        """Fetch in chunks of 100 (the RPC's limit); absent accounts come back as None."""
        keys = list(pubkeys)
        out: list[AccountUpdate | None] = []
        for start in range(0, len(keys), MAX_MULTIPLE_ACCOUNTS):
            chunk = keys[start : start + MAX_MULTIPLE_ACCOUNTS]
            result = await self.call(
                "getMultipleAccounts",
                [[str(k) for k in chunk], {"encoding": "base64", "commitment": self.commitment}],
            )
            try:
                slot, values = int(result["context"]["slot"]), result["value"]
            except (KeyError, TypeError, ValueError):
                raise RpcError("getMultipleAccounts: malformed reply") from None
            if not isinstance(values, list) or len(values) != len(chunk):
                raise RpcError(f"getMultipleAccounts: {len(chunk)} keys asked, reply does not match")
            out.extend(None if v is None else parse_account(k, v, slot) for k, v in zip(chunk, values, strict=True))
        return out

    async def get_program_accounts(
        self, program: Pubkey, *, data_size: int | None = None, memcmp: Sequence[tuple[int, bytes]] = ()
    ) -> list[AccountUpdate]:
        filters: list[dict[str, Any]] = [{"dataSize": data_size}] if data_size is not None else []
        filters += [
            {"memcmp": {"offset": offset, "bytes": base64.b64encode(raw).decode(), "encoding": "base64"}}
            for offset, raw in memcmp
        ]
        config: dict[str, Any] = {"encoding": "base64", "commitment": self.commitment, "withContext": True}
        if filters:
            config["filters"] = filters
        result = await self.call("getProgramAccounts", [str(program), config])
        try:
            slot, items = int(result["context"]["slot"]), result["value"]
            return [parse_account(Pubkey.from_string(item["pubkey"]), item["account"], slot) for item in items]
        except (KeyError, TypeError, ValueError):
            raise RpcError("getProgramAccounts: malformed reply") from None


class RpcTransportError(RuntimeError):
    """The endpoint is unhealthy (5xx, 429): try the next one."""
