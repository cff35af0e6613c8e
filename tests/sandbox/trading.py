"""A client's view of trading on the sandbox: read pools over RPC, build and send bundles over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.dex.registry import venue_by_name
from mevbot.sandbox.pools import Hop, LoadedRoute, PoolBook, swap_instruction
from mevbot.sandbox.universe import PlantedCycle, Universe
from mevbot.sandbox.wallets import associated_token_address
from mevbot.search.sizing import maximize_profit

BUNDLES = "/api/v1/bundles"


def load_keypair(path: Path) -> Keypair:
    return Keypair.from_json(path.read_text())


async def fetch_accounts(client: AsyncClient, keys: Sequence[Pubkey]) -> dict[Pubkey, Account]:
    found: dict[Pubkey, Account] = {}
    for start in range(0, len(keys), 100):
        chunk = list(keys[start : start + 100])
        response = await client.get_multiple_accounts(chunk, encoding="base64")
        for key, account in zip(chunk, response.value, strict=True):
            if account is not None:
                found[key] = Account(account.lamports, bytes(account.data), account.owner, account.executable)
    return found


async def route_over_rpc(client: AsyncClient, universe: Universe, hops: Sequence[Hop]) -> LoadedRoute:
    """The route's pools and their dependencies as the RPC serves them now."""
    venues = {spec.address: spec.venue for spec in universe.pools}
    accounts = await fetch_accounts(client, [hop.pool for hop in hops])
    dependencies = []
    for hop in hops:
        venue = venue_by_name(venues[hop.pool])
        account = accounts[hop.pool]
        pool = venue.decode_pool(hop.pool, bytes(account.data), account.owner)
        dependencies += venue.dependencies(pool)
    accounts.update(await fetch_accounts(client, dependencies))
    route = PoolBook(venues, accounts.get).load_route(hops)
    assert route is not None
    return route


def planted_hops(cycle: PlantedCycle) -> list[Hop]:
    return [Hop(pool, mint) for pool, mint in zip(cycle.pools, cycle.mints, strict=False)]


def best_size(route: LoadedRoute, budget: int) -> tuple[int, int]:
    found = maximize_profit(route.profit, guess=budget / 1000, upper=budget)
    assert found.profit > 0, "the planted cycle should pay"
    return found.amount_in, found.profit


def arbitrage_transaction(
    payer: Keypair,
    route: LoadedRoute,
    amount_in: int,
    blockhash: Hash,
    *,
    tip_lamports: int,
    tip_account: Pubkey,
    compute_units: int = 300_000,
    last_minimum_bump: int = 0,
) -> VersionedTransaction:
    """The cycle's swaps, each guarded by its exact quote (the last one by quote + bump), then the tip."""
    owner = payer.pubkey()
    quotes = route.quote(amount_in)
    assert quotes is not None
    mints = {mint for _, pool, _, _ in route.legs for mint in (pool.mint_a, pool.mint_b)}
    accounts = {mint: associated_token_address(owner, mint) for mint in mints}
    instructions = [set_compute_unit_limit(compute_units)]
    amount = amount_in
    for position, ((venue, pool, _, mint_in), quote) in enumerate(zip(route.legs, quotes, strict=True)):
        minimum = quote.amount_out + (last_minimum_bump if position == len(quotes) - 1 else 0)
        instructions.append(swap_instruction(venue.name, pool, owner, accounts, mint_in, amount, minimum))
        amount = quote.amount_out
    if tip_lamports:
        instructions.append(
            transfer(TransferParams(from_pubkey=owner, to_pubkey=tip_account, lamports=tip_lamports))
        )
    return signed(payer, instructions, blockhash)


def signed(payer: Keypair, instructions: Sequence[Instruction], blockhash: Hash) -> VersionedTransaction:
    """A v0 transaction of `instructions` (no lookup tables), paid for and signed by `payer` alone."""
    return VersionedTransaction(
        MessageV0.try_compile(payer.pubkey(), list(instructions), [], blockhash), [payer]
    )


def encode(transaction: VersionedTransaction) -> str:
    return base64.b64encode(bytes(transaction)).decode()


async def rpc_call(
    http: httpx.AsyncClient, url: str, method: str, params: Any, **headers: str
) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return await http.post(
        url, content=json.dumps(body), headers={"content-type": "application/json", **headers}
    )


async def send_bundle(
    http: httpx.AsyncClient, engine_url: str, transactions: Sequence[VersionedTransaction]
) -> str:
    response = await rpc_call(http, engine_url + BUNDLES, "sendBundle",
                              [[encode(tx) for tx in transactions], {"encoding": "base64"}])  # fmt: skip
    document = response.json()
    assert "result" in document, document
    return document["result"]


async def wait_for_bundle(
    http: httpx.AsyncClient, engine_url: str, bundle_id: str, timeout: float = 10.0
) -> dict:
    """Poll getInflightBundleStatuses until the bundle leaves Pending."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await rpc_call(http, engine_url + BUNDLES, "getInflightBundleStatuses", [[bundle_id]])
        status = response.json()["result"]["value"][0]
        if status["status"] != "Pending" or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.02)


async def token_balance(client: AsyncClient, address: Pubkey) -> int:
    return int((await client.get_token_account_balance(address)).value.amount)
