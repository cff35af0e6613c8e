"""An aiohttp server on loopback that answers JSON-RPC POSTs at fixed paths.

The Solana RPC and the block engine are both "POST a JSON-RPC document to a path"; this is the one
place that binds the socket, limits the body, runs an optional per-request guard (the block
engine's rate limit) and hands the text to a `Dispatcher`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from mevbot.sandbox.jsonrpc import INVALID_REQUEST, Dispatcher, RpcError, error_response

MAX_BODY_BYTES = 1 << 20
LOOPBACK = "127.0.0.1"

Guard = Callable[[web.Request], Awaitable[web.Response | None]]


async def serve(app: web.Application, port: int = 0, host: str = LOOPBACK) -> tuple[web.AppRunner, int]:
    """Start `app` on host:port (0 picks a free port); the runner to clean up, and the bound port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, runner.addresses[0][1]


class JsonRpcHttpService:
    """Serves `routes` (path → dispatcher) until `stop`. `port` 0 picks a free port."""

    def __init__(
        self, routes: Mapping[str, Dispatcher], *, guard: Guard | None = None, name: str = "rpc"
    ) -> None:
        self._routes = dict(routes)
        self._guard = guard
        self._name = name
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, port: int = 0, host: str = LOOPBACK) -> int:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        for path in self._routes:
            app.router.add_post(path, self._handle)
        self._runner, self.port = await serve(app, port, host)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        if self._guard is not None:
            refused = await self._guard(request)
            if refused is not None:
                return refused
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            error = RpcError(INVALID_REQUEST, f"Invalid request: body larger than {MAX_BODY_BYTES} bytes")
            return web.json_response(error_response(error), status=413)
        answer = await self._routes[request.path].handle_text(body)
        if answer is None:
            return web.Response(status=200)
        return web.Response(text=json.dumps(answer), content_type="application/json")
