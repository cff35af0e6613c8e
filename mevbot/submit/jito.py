"""A client for one Jito block-engine region, speaking its JSON-RPC over HTTP.

Paths as on mainnet: bundles and their statuses under /api/v1/bundles, single transactions under
/api/v1/transactions. A 429 becomes `RateLimited` so the router can back off this region and use another.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import httpx


class BlockEngineError(RuntimeError):
    """The block engine refused a request; `code` is its JSON-RPC error code (or the HTTP status).

    `maybe_delivered` is set when the request went out but no reply came back (a read timeout, a
    connection dropped mid-reply): the engine may have taken it, so a sent bundle must still be followed.
    """

    def __init__(self, region: str, code: int, message: str, *, maybe_delivered: bool = False) -> None:
        self.region, self.code, self.maybe_delivered = region, code, maybe_delivered
        super().__init__(f"{region}: {code} {message}")


class RateLimited(BlockEngineError):
    def __init__(self, region: str) -> None:
        super().__init__(region, 429, "rate limited")


@dataclass(frozen=True, slots=True)
class InflightStatus:
    bundle_id: str
    status: str  # Invalid | Pending | Failed | Landed
    landed_slot: int | None
    reason: str | None = None  # not in Jito's API; the sandbox adds why a bundle failed


# Transport failures before the request left this host: the engine cannot have seen it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class BlockEngineClient:
    """One region. Cheap to keep open: one pooled HTTP client, tip accounts cached."""

    def __init__(
        self, name: str, url: str, *, auth_uuid: str = "", timeout_s: float = 2.0, tip_cache_s: float = 600.0
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        headers = {"x-jito-auth": auth_uuid} if auth_uuid else {}
        self._http = httpx.AsyncClient(timeout=timeout_s, headers=headers)
        self._ids = itertools.count(1)
        self._tip_cache_s = tip_cache_s
        self._tips: tuple[list[str], float] | None = None

    def __repr__(self) -> str:  # never show the auth header
        return f"BlockEngineClient({self.name!r}, {self.url!r})"

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, path: str, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = await self._http.post(self.url + path, json=body)
        except _NOT_SENT as exc:
            code = 408 if isinstance(exc, httpx.TimeoutException) else 503
            raise BlockEngineError(self.name, code, f"{method}: {type(exc).__name__}") from None
        except httpx.TimeoutException:
            raise BlockEngineError(self.name, 408, f"{method} timed out", maybe_delivered=True) from None
        except httpx.HTTPError as exc:
            raise BlockEngineError(self.name, 503, f"{method}: {type(exc).__name__}", maybe_delivered=True) from None
        if response.status_code == 429:
            raise RateLimited(self.name)
        try:
            reply = response.json()
        except ValueError:
            raise BlockEngineError(self.name, response.status_code, f"{method}: reply is not JSON") from None
        if not isinstance(reply, dict):
            raise BlockEngineError(self.name, response.status_code, f"{method}: reply is not a JSON object")
        if reply.get("error"):
            error = reply["error"]
            code = error.get("code", response.status_code) if isinstance(error, dict) else response.status_code
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise BlockEngineError(self.name, int(code), message)
        if response.status_code != 200 or "result" not in reply:
            raise BlockEngineError(self.name, response.status_code, f"{method}: no result")
        return reply["result"]

    async def send_bundle(self, encoded_transactions: list[str]) -> str:
        result = await self._call("/api/v1/bundles", "sendBundle", [encoded_transactions, {"encoding": "base64"}])
        if not isinstance(result, str):
            raise BlockEngineError(self.name, 500, "sendBundle: result is not a bundle id")
        return result

    async def send_transaction(self, encoded_transaction: str, *, bundle_only: bool = True) -> str:
        """sendTransaction; with bundle_only the engine wraps it in a one-transaction bundle (no mempool)."""
        path = "/api/v1/transactions" + ("?bundleOnly=true" if bundle_only else "")
        result = await self._call(path, "sendTransaction", [encoded_transaction, {"encoding": "base64"}])
        if not isinstance(result, str):
            raise BlockEngineError(self.name, 500, "sendTransaction: result is not a signature")
        return result

    async def inflight_statuses(self, bundle_ids: list[str]) -> list[InflightStatus]:
        result = await self._call("/api/v1/getInflightBundleStatuses", "getInflightBundleStatuses", [bundle_ids])
        try:
            return [
                InflightStatus(
                    bundle_id=item["bundle_id"],
                    status=item["status"],
                    landed_slot=item.get("landed_slot"),
                    reason=item.get("reason"),
                )
                for item in result["value"]
                if item is not None
            ]
        except (KeyError, TypeError):
            raise BlockEngineError(self.name, 500, "getInflightBundleStatuses: malformed reply") from None

    async def bundle_statuses(self, bundle_ids: list[str]) -> list[dict[str, Any] | None]:
        result = await self._call("/api/v1/getBundleStatuses", "getBundleStatuses", [bundle_ids])
        try:
            return list(result["value"])
        except (KeyError, TypeError):
            raise BlockEngineError(self.name, 500, "getBundleStatuses: malformed reply") from None

    async def tip_accounts(self) -> list[str]:
        """The tip accounts, cached: they change rarely and every bundle needs one."""
        now = time.monotonic()
        if self._tips is not None and now - self._tips[1] < self._tip_cache_s:
            return self._tips[0]
        result = await self._call("/api/v1/getTipAccounts", "getTipAccounts", [])
        if not (isinstance(result, list) and result and all(isinstance(a, str) for a in result)):
            raise BlockEngineError(self.name, 500, "getTipAccounts: malformed reply")
        self._tips = (result, now)
        return result
