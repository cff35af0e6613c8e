"""The daemon survives a flaky feed: garbage notifications are counted and dropped, a dropped websocket
is reconnected and resubscribed, and trading carries on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import EXIT_OK, Endpoints, Engine
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.settings import settings_from_config
from tests.test_engine_e2e import _config

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
        endpoints = Endpoints((sandbox.rpc_url,), (sandbox.ws_url,), (("sandbox", sandbox.block_engine_url),),
                              sandbox.payer_keypair_path, base_mints=(NATIVE_MINT,))  # fmt: skip
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
