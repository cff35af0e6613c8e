"""Solana PubSub over websocket: account, program, slot and signature subscriptions.

Notifications come from the bank's commit listener (account changes, landed signatures) and the
slot clock, in the shapes an Agave node sends, so the daemon's ingest code runs unchanged. Each
connection has a bounded outbox; a client that stops reading is disconnected rather than letting
the cluster's memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web
from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature

from mevbot.sandbox.bank import Bank, ExecutionResult
from mevbot.sandbox.http_service import LOOPBACK, serve
from mevbot.sandbox.jsonrpc import Dispatcher, config, integer, invalid_params, positional
from mevbot.sandbox.rpc_codec import (
    AccountFilter,
    AccountView,
    check_commitment,
    context,
    matches_all,
    parse_filters,
    parse_pubkey,
    parse_signature,
)

OUTBOX_LIMIT = 10_000
_CLOSED_ACCOUNT = Account(lamports=0, data=b"", owner=Pubkey.default())

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Subscription:
    id: int
    kind: str  # "account" | "program" | "slot" | "signature"
    connection: _Connection
    key: Any = None  # the pubkey, program id or signature subscribed to
    view: AccountView | None = None
    filters: tuple[AccountFilter, ...] = ()


class _Connection:
    """One websocket client: its subscriptions and an outbox drained by a writer task."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self.socket = socket
        self.outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_LIMIT)
        self.subscriptions: dict[int, _Subscription] = {}
        self.overflowed = False
        self._closing: asyncio.Task[bool] | None = None

    def send(self, document: Any) -> None:
        if self.overflowed:
            return
        try:
            self.outbox.put_nowait(json.dumps(document, separators=(",", ":")))
        except asyncio.QueueFull:
            self.overflowed = True
            log.warning(
                "closing a PubSub client that stopped reading (%d notifications queued)", OUTBOX_LIMIT
            )
            self._closing = asyncio.get_running_loop().create_task(
                self.socket.close(code=1008, message=b"subscriber too slow")
            )

    async def write_forever(self) -> None:
        while True:
            await self.socket.send_str(await self.outbox.get())


class PubSubServer:
    """The websocket endpoint. Register `on_slot` with the slot clock; it registers itself with the bank."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self._ids = itertools.count(1)
        self._by_kind: dict[str, dict[Any, dict[int, _Subscription]]] = {
            "account": {}, "program": {}, "signature": {}, "slot": {None: {}},
        }  # fmt: skip
        self._runner: web.AppRunner | None = None
        self._connections: set[_Connection] = set()
        self.port: int | None = None
        bank.add_commit_listener(self._on_commit)

    async def start(self, port: int = 0, host: str = LOOPBACK) -> int:
        app = web.Application()
        app.router.add_get("/", self._handle)
        self._runner, self.port = await serve(app, port, host)
        return self.port

    async def stop(self) -> None:
        for connection in list(self._connections):
            await connection.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- fault injection: what a flaky node does to its clients ------------------------------

    async def drop_connections(self) -> int:
        """Close every client's socket (the server keeps listening), as a node restart would."""
        connections = list(self._connections)
        for connection in connections:
            await connection.socket.close(code=1012, message=b"restarting")
        return len(connections)

    def inject(self, raw: str) -> None:
        """Send `raw` as-is to every client: garbage a client must survive."""
        for connection in list(self._connections):
            with contextlib.suppress(asyncio.QueueFull):
                connection.outbox.put_nowait(raw)

    # --- notifications ----------------------------------------------------------------------

    def on_slot(self, slot: int) -> None:
        value = {"parent": max(slot - 1, 0), "root": slot, "slot": slot}
        for subscription in list(self._by_kind["slot"][None].values()):
            _notify(subscription, "slotNotification", value)

    def _on_commit(
        self, slot: int, results: Sequence[ExecutionResult], changed: Mapping[Pubkey, Account | None]
    ) -> None:
        for pubkey, account in changed.items():
            shown = account if account is not None else _CLOSED_ACCOUNT
            for subscription in list(self._by_kind["account"].get(pubkey, {}).values()):
                assert subscription.view is not None
                _notify(
                    subscription,
                    "accountNotification",
                    _with_context(slot, _render(subscription.view, shown)),
                )
            if account is None:
                continue
            for subscription in list(self._by_kind["program"].get(account.owner, {}).values()):
                assert subscription.view is not None
                if matches_all(subscription.filters, bytes(account.data)):
                    value = {"pubkey": str(pubkey), "account": _render(subscription.view, account)}
                    _notify(subscription, "programNotification", _with_context(slot, value))
        for result in results:
            for subscription in list(self._by_kind["signature"].get(result.signature, {}).values()):
                self._signature_landed(subscription, result)

    def _signature_landed(self, subscription: _Subscription, result: ExecutionResult) -> None:
        _notify(subscription, "signatureNotification", _with_context(result.slot, {"err": result.err}))
        self._remove(subscription)  # one-shot, as on a node

    # --- connections ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=1 << 20)
        await socket.prepare(request)
        connection = _Connection(socket)
        self._connections.add(connection)
        dispatcher = self._dispatcher_for(connection)
        writer = asyncio.get_running_loop().create_task(connection.write_forever())
        try:
            async for message in socket:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                answer = await dispatcher.handle_text(message.data)
                if answer is not None:
                    connection.send(answer)
        finally:
            for subscription in list(connection.subscriptions.values()):
                self._remove(subscription)
            self._connections.discard(connection)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return socket

    def _dispatcher_for(self, connection: _Connection) -> Dispatcher:
        def subscribe(kind: str, parse: Callable[[list[Any]], tuple[Any, AccountView | None, tuple]]):
            async def handler(params: list[Any]) -> int:
                key, view, filters = parse(params)
                return self._add(_Subscription(next(self._ids), kind, connection, key, view, filters))

            return handler

        def unsubscribe(kind: str):
            async def handler(params: list[Any]) -> bool:
                (raw_id,) = positional(params, 1)
                subscription = connection.subscriptions.get(integer(raw_id, "subscription id"))
                if subscription is None or subscription.kind != kind:
                    raise invalid_params("Invalid subscription id.")
                self._remove(subscription)
                return True

            return handler

        methods = {
            "accountSubscribe": subscribe("account", _parse_account),
            "programSubscribe": subscribe("program", _parse_program),
            "slotSubscribe": subscribe("slot", _parse_slot),
            "signatureSubscribe": subscribe("signature", _parse_signature),
        }
        for kind in ("account", "program", "slot", "signature"):
            methods[f"{kind}Unsubscribe"] = unsubscribe(kind)
        return Dispatcher(methods)

    def _add(self, subscription: _Subscription) -> int:
        subscription.connection.subscriptions[subscription.id] = subscription
        self._by_kind[subscription.kind].setdefault(subscription.key, {})[subscription.id] = subscription
        if subscription.kind == "signature":
            landed = self.bank.transaction(subscription.key)
            if landed is not None:  # already processed: answer after the subscription id
                asyncio.get_running_loop().call_soon(self._signature_landed, subscription, landed)
        return subscription.id

    def _remove(self, subscription: _Subscription) -> None:
        subscription.connection.subscriptions.pop(subscription.id, None)
        bucket = self._by_kind[subscription.kind].get(subscription.key)
        if bucket is not None:
            bucket.pop(subscription.id, None)
            if not bucket and subscription.kind != "slot":
                del self._by_kind[subscription.kind][subscription.key]


def _notify(subscription: _Subscription, method: str, result: Any) -> None:
    if subscription.id not in subscription.connection.subscriptions:
        return
    document = {
        "jsonrpc": "2.0",
        "method": method,
        "params": {"result": result, "subscription": subscription.id},
    }
    subscription.connection.send(document)


def _with_context(slot: int, value: Any) -> dict[str, Any]:
    return {"context": context(slot), "value": value}


def _render(view: AccountView, account: Account) -> dict[str, Any]:
    try:
        return view.render(account)
    except Exception:  # base58 of a large account: fall back rather than drop the update
        return AccountView("base64", view.offset, view.length).render(account)


def _parse_account(params: list[Any]) -> tuple[Pubkey, AccountView, tuple]:
    key, options = positional(params, 1, 1)
    view = AccountView.from_config(config(options), default_encoding="base58")
    return parse_pubkey(key), view, ()


def _parse_program(params: list[Any]) -> tuple[Pubkey, AccountView, tuple]:
    key, options = positional(params, 1, 1)
    options = config(options)
    view = AccountView.from_config(options, default_encoding="base58")
    return parse_pubkey(key, "program id"), view, parse_filters(options.get("filters"))


def _parse_slot(params: list[Any]) -> tuple[None, None, tuple]:
    positional(params, 0)
    return None, None, ()


def _parse_signature(params: list[Any]) -> tuple[Signature, None, tuple]:
    key, options = positional(params, 1, 1)
    check_commitment(config(options))
    return parse_signature(key), None, ()
