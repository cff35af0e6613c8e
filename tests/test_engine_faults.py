"""The daemon survives a flaky world: garbage notifications are counted and dropped, a dropped websocket
is reconnected and resubscribed, and trading carries on; a block engine that takes a bundle but never
answers, or answers after the daemon was told to stop, loses no lamport from the books."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from solders.account import Account as SvmAccount

from mevbot.dex import whirlpool
from mevbot.dex.clmm_math import sqrt_price_from_tick
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import EXIT_OK, Endpoints, Engine
from mevbot.observe.store import Store
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.http_service import serve
from mevbot.sandbox.settings import settings_from_config
from tests.test_engine_e2e import _config, _wealth, sandbox_endpoints

GARBAGE = [
    "not json at all",
    "[1, 2, 3]",
    '{"jsonrpc":"2.0","method":"accountNotification","params":{"subscription":999999,"result":{}}}',
    '{"jsonrpc":"2.0","method":"accountNotification","params":{"result":{"context":{"slot":1},'
    '"value":{"data":["!!!","base64"],"owner":"x","lamports":1}},"subscription":1}}',
    '{"jsonrpc":"2.0","method":"slotNotification","params":{"result":{"slot":"soon"},"subscription":1}}',
]


async def _until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_garbage_is_dropped_and_a_dropped_socket_reconnects(tmp_path: Path) -> None:
    config = _config(tmp_path)
    async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
        endpoints = sandbox_endpoints(sandbox)
        engine = Engine(config, endpoints)
        run = asyncio.create_task(engine.run(slots=400, duration=120))
        await _until(lambda: hasattr(engine, "feed") and engine.feed.stats.updates > 20)

        for raw in GARBAGE * 10:
            sandbox.pubsub.inject(raw)
        await _until(lambda: engine.feed.stats.malformed >= len(GARBAGE) * 10)

        assert await sandbox.pubsub.drop_connections() == 1
        updates_at_drop = engine.feed.stats.updates
        await _until(lambda: engine.feed.stats.connects >= 2)
        await _until(lambda: engine.feed.stats.updates > updates_at_drop + 20)
        summary = await run

    assert summary.exit_code == EXIT_OK and summary.reason == "ran 400 slots", summary.reason
    assert summary.figures["notifications_malformed"] == len(GARBAGE) * 10
    assert summary.figures["reconnects"] >= 1
    assert summary.figures["stage_restarts"] == 0
    assert summary.figures["landed"] >= 1


@contextlib.asynccontextmanager
async def _lossy_block_engine(
    upstream: str, *, drop_every: int, reply_delay_s: float
) -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback proxy in front of the block engine: every request goes through, every reply to
    sendBundle comes `reply_delay_s` late, and every `drop_every`-th is never sent (the connection is
    cut after the engine took the bundle). Yields its URL and the ids of the bundles whose reply it ate."""
    eaten: list[str] = []
    sends = 0

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal sends
        body = await request.read()
        async with session.post(
            upstream + request.path_qs, data=body, headers={"content-type": "application/json"}
        ) as reply:
            status, text = reply.status, await reply.text()
        if b"sendBundle" in body:
            sends += 1
            await asyncio.sleep(reply_delay_s)
            if sends % drop_every == 0 and status == 200:
                eaten.append(json.loads(text)["result"])
                assert request.transport is not None
                request.transport.close()
        return web.Response(status=status, text=text, content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tail:.*}", forward)
    async with aiohttp.ClientSession() as session:
        runner, port = await serve(app)
        try:
            yield f"http://127.0.0.1:{port}", eaten
        finally:
            await runner.cleanup()


async def test_bundles_whose_reply_is_lost_or_late_are_still_followed_to_the_lamport(tmp_path: Path) -> None:
    config = _config(tmp_path)
    async with (
        start_sandbox(settings_from_config(config.sandbox)) as sandbox,
        _lossy_block_engine(sandbox.block_engine_url, drop_every=3, reply_delay_s=0.2) as (url, eaten),
    ):
        endpoints = Endpoints((sandbox.rpc_url,), (sandbox.ws_url,), (("lossy", url),),
                              sandbox.payer_keypair_path, base_mints=(NATIVE_MINT,))  # fmt: skip
        engine = Engine(config, endpoints)
        before = _wealth(sandbox, sandbox.payer_pubkey)
        summary = await engine.run(slots=200, duration=120)
        after = _wealth(sandbox, sandbox.payer_pubkey)

    assert summary.exit_code == EXIT_OK, summary.reason
    assert len(eaten) >= 5, eaten
    store = Store(config.storage.db_path, read_only=True)
    try:
        (pnl,) = store.query(
            "SELECT coalesce(sum(pnl_lamports), 0) FROM bundle_results WHERE outcome = 'landed'"
        )[0]
        (costs,) = store.query("SELECT coalesce(sum(lamports), 0) FROM costs")[0]
        outcomes = dict(store.query(
            f"SELECT bundle_id, outcome FROM bundle_results WHERE bundle_id IN ({', '.join('?' * len(eaten))})", eaten
        ))  # fmt: skip
        sent = store.query("SELECT count(*) FROM bundles WHERE NOT dry_run")[0][0]
        results = store.query("SELECT count(*) FROM bundle_results")[0][0]
    finally:
        store.close()
    assert int(pnl) - int(costs) == after - before  # not a lamport landed without a record
    assert sorted(outcomes) == sorted(eaten)  # each bundle whose reply was eaten, followed under its own id
    assert "landed" in outcomes.values(), outcomes
    assert sent == results


async def test_a_whirlpool_that_moves_to_other_tick_arrays_is_followed_there(tmp_path: Path) -> None:
    """The feed subscribes at start to what the pools read then; a Whirlpool whose price moves three
    arrays away reads other tick arrays from then on: the daemon subscribes to them (and fetches
    them), so a later change to one of them reaches its model."""
    config = _config(tmp_path)
    async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
        endpoints = sandbox_endpoints(sandbox)
        engine = Engine(config, endpoints)
        run = asyncio.create_task(engine.run(slots=300, duration=120))
        await _until(lambda: hasattr(engine, "feed") and engine.feed.connected.is_set())
        registry = engine.model.registry
        info = next(registry.pool(i) for i in range(len(registry)) if registry.pool(i).venue is whirlpool.VENUE)
        before = set(registry.dependencies(info.id))

        pool = info.pool
        tick = pool.tick_current_index + 3 * whirlpool.TICK_ARRAY_SIZE * pool.tick_spacing
        moved = dataclasses.replace(pool, tick_current_index=tick, sqrt_price=sqrt_price_from_tick(tick))
        account = sandbox.bank.get_account(info.address)
        sandbox.bank.set_account(info.address, SvmAccount(account.lamports, whirlpool.encode_whirlpool(moved),
                                                          account.owner, False))  # fmt: skip
        await _until(lambda: set(registry.dependencies(info.id)) - before)
        newly_read = sorted(set(registry.dependencies(info.id)) - before, key=str)
        await _until(lambda: set(newly_read) <= set(engine.feed.accounts))
        await asyncio.sleep(0.5)  # the subscriptions are acknowledged

        target = newly_read[0]
        start = next(s for s in whirlpool.dependency_starts(moved) if whirlpool.tick_array_address(info.address, s) == target)
        array = whirlpool.empty_tick_array(info.address, start)
        ticks = list(array.ticks)
        ticks[5] = dataclasses.replace(ticks[5], initialized=True, liquidity_net=7, liquidity_gross=7)
        data = whirlpool.encode_tick_array(dataclasses.replace(array, ticks=tuple(ticks)))
        rent = sandbox.bank.minimum_balance(len(data))
        sandbox.bank.set_account(target, SvmAccount(rent, data, whirlpool.PROGRAM_ID, False))
        await _until(lambda: engine.model.account_data(target) == data, timeout=10)
        summary = await run

    assert summary.exit_code == EXIT_OK, summary.reason
