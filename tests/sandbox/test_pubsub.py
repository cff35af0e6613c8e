"""PubSub over websocket, driven by solana-py's websocket client."""

from __future__ import annotations

import asyncio
import json

import websockets
from solana.rpc.async_api import AsyncClient
from solana.rpc.websocket_api import connect
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    AccountNotification,
    ProgramNotification,
    SignatureNotification,
    SlotNotification,
    SubscriptionResult,
)
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.dex import whirlpool
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.user_flow import FlowShape
from tests.sandbox.conftest import QUIET, settings
from tests.sandbox.trading import load_keypair

TIMEOUT = 10.0


async def _next(ws, kind: type):  # -> the first message of `kind`
    while True:
        for message in await asyncio.wait_for(ws.recv(), TIMEOUT):
            if isinstance(message, kind):
                return message


async def test_a_pool_subscriber_sees_the_users_swap() -> None:
    busy = settings(user_flow=FlowShape(swaps_per_slot=6.0))
    async with start_sandbox(busy) as sandbox, AsyncClient(sandbox.rpc_url) as client:
        pools = [spec.address for spec in sandbox.universe.pools if spec.venue == "whirlpool"]
        initial = {pool: bytes((await client.get_account_info(pool)).value.data) for pool in pools}
        async with connect(sandbox.ws_url) as ws:
            subscriptions = {}
            for pool in pools:
                await ws.account_subscribe(pool, encoding="base64")
                subscriptions[(await _next(ws, SubscriptionResult)).result] = pool

            update = await _next(ws, AccountNotification)

            pool = subscriptions[update.subscription]
            assert update.result.value.owner == whirlpool.PROGRAM_ID
            assert bytes(update.result.value.data) != initial[pool]
            moved = whirlpool.decode_whirlpool(pool, bytes(update.result.value.data))
            assert moved.sqrt_price != whirlpool.decode_whirlpool(pool, initial[pool]).sqrt_price
            assert update.result.context.slot >= 1
            assert sandbox.user_flow.landed >= 1


async def test_program_slot_and_signature_subscriptions() -> None:
    async with start_sandbox(QUIET) as sandbox, AsyncClient(sandbox.rpc_url) as client:
        payer = load_keypair(sandbox.payer_keypair_path)
        receiver = Pubkey.new_unique()
        async with connect(sandbox.ws_url) as ws:
            await ws.slot_subscribe()
            slot_subscription = (await _next(ws, SubscriptionResult)).result
            first = await _next(ws, SlotNotification)
            second = await _next(ws, SlotNotification)
            assert second.result.slot == first.result.slot + 1
            await ws.slot_unsubscribe(slot_subscription)

            await ws.program_subscribe(Pubkey.default(), encoding="base64")  # the System program's accounts
            await _next(ws, SubscriptionResult)
            instruction = transfer(
                TransferParams(from_pubkey=payer.pubkey(), to_pubkey=receiver, lamports=10**6)
            )
            blockhash = (await client.get_latest_blockhash()).value.blockhash
            transaction = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [instruction], [], blockhash),
                                               [payer])  # fmt: skip
            await ws.signature_subscribe(transaction.signatures[0])
            await _next(ws, SubscriptionResult)
            await client.send_transaction(transaction)

            landed, changed = None, set()
            while landed is None or receiver not in changed:
                for message in await asyncio.wait_for(ws.recv(), TIMEOUT):
                    if isinstance(message, SignatureNotification):
                        landed = message
                    elif isinstance(message, ProgramNotification):
                        changed.add(message.result.value.pubkey)
            assert landed.result.value.err is None
            assert payer.pubkey() in changed


async def test_bad_websocket_requests_get_errors_and_the_socket_stays_open() -> None:
    async with start_sandbox(QUIET) as sandbox, websockets.connect(sandbox.ws_url) as ws:

        async def ask(text: str) -> dict:
            await ws.send(text)
            while True:
                answer = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                if "method" not in answer:  # skip notifications
                    return answer

        assert (await ask("{oops"))["error"]["code"] == -32700
        assert (await ask('{"jsonrpc":"2.0","id":1,"method":"blockSubscribe"}'))["error"]["code"] == -32601
        bad_key = '{"jsonrpc":"2.0","id":2,"method":"accountSubscribe","params":["nope"]}'
        assert (await ask(bad_key))["error"]["code"] == -32602
        unknown = '{"jsonrpc":"2.0","id":3,"method":"accountUnsubscribe","params":[999]}'
        assert (await ask(unknown))["error"]["code"] == -32602
        good = f'{{"jsonrpc":"2.0","id":4,"method":"accountSubscribe","params":["{sandbox.payer_pubkey}"]}}'
        subscription = (await ask(good))["result"]
        done = f'{{"jsonrpc":"2.0","id":5,"method":"accountUnsubscribe","params":[{subscription}]}}'
        assert (await ask(done))["result"] is True
