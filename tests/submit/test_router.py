"""A refused send says whether the block engine may have taken the bundle anyway: a request that never
left this host cannot have landed, one whose reply was cut off may have, and is then followed even while
the engine does not know it yet."""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web

from mevbot.sandbox.http_service import serve
from mevbot.submit.jito import BlockEngineClient
from mevbot.submit.ratelimit import TokenBucket
from mevbot.submit.router import Region, RegionRouter
from mevbot.submit.tracker import Outcome, track


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _send_through(url: str) -> tuple[bool, bool, str]:
    router = RegionRouter(
        [Region(BlockEngineClient("only", url, timeout_s=0.5), TokenBucket(100.0))], hedge=1
    )
    try:
        report = await router.send_bundle(["AA=="])
    finally:
        await router.close()
    return report.bundle_id is None, report.maybe_delivered, report.refused[0][1]


async def test_nobody_listening_means_not_delivered() -> None:
    refused, maybe_delivered, reason = await _send_through(f"http://127.0.0.1:{_closed_port()}")
    assert refused and not maybe_delivered, reason
    assert "ConnectError" in reason


async def test_a_reply_cut_off_or_late_may_have_been_delivered() -> None:
    async def cut(request: web.Request) -> web.Response:
        await request.read()
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async def late(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(2.0)
        return web.Response()

    app = web.Application()
    app.router.add_post("/cut/api/v1/bundles", cut)
    app.router.add_post("/late/api/v1/bundles", late)
    runner, port = await serve(app)
    try:
        for path in ("cut", "late"):
            refused, maybe_delivered, reason = await _send_through(f"http://127.0.0.1:{port}/{path}")
            assert refused and maybe_delivered, (path, reason)
    finally:
        await runner.cleanup()


async def test_an_explicit_refusal_is_not_delivered() -> None:
    async def refuse(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(
            {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "bad bundle"}}
        )

    app = web.Application()
    app.router.add_post("/api/v1/bundles", refuse)
    runner, port = await serve(app)
    try:
        refused, maybe_delivered, reason = await _send_through(f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
    assert refused and not maybe_delivered and "bad bundle" in reason


async def test_a_bundle_unknown_at_first_is_followed_through_the_grace_only() -> None:
    """`Invalid` (no such bundle) is final at once, unless the send got no reply: then the engine
    may still be taking it in, and it is asked again until the grace runs out."""
    polls = 0

    async def statuses(request: web.Request) -> web.Response:
        nonlocal polls
        polls += 1
        (ids,) = (await request.json())["params"]
        status = "Invalid" if polls <= 3 else "Landed"
        value = [{"bundle_id": ids[0], "status": status, "landed_slot": 7 if status == "Landed" else None}]
        return web.json_response(
            {"jsonrpc": "2.0", "id": 1, "result": {"context": {"slot": 7}, "value": value}}
        )

    app = web.Application()
    app.router.add_post("/api/v1/getInflightBundleStatuses", statuses)
    runner, port = await serve(app)
    client = BlockEngineClient("only", f"http://127.0.0.1:{port}")
    try:
        unknown = await track(client, "ab" * 32, deadline_s=5, poll_s=0.01)
        assert (unknown.outcome, unknown.status, polls) == (Outcome.DROPPED, "Invalid", 1)
        polls = 0
        late = await track(client, "ab" * 32, deadline_s=5, poll_s=0.01, unknown_grace_s=2.0)
        assert (late.outcome, late.landed_slot, polls) == (Outcome.LANDED, 7, 4)
    finally:
        await client.close()
        await runner.cleanup()
