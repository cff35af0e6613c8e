"""The block engine over HTTP: bundles land exactly, fail atomically, lose auctions, get rate limited."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from solana.rpc.async_api import AsyncClient
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.observe.rivals import Bid, requested_units, taker, verdict
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.cluster import Sandbox, start_sandbox
from mevbot.sandbox.competitors import CompetitorSettings
from mevbot.sandbox.pools import LoadedRoute
from mevbot.sandbox.settings import SandboxSettings
from mevbot.sandbox.universe import PlantedCycle
from mevbot.sandbox.wallets import associated_token_address
from tests.sandbox.conftest import QUIET, settings
from tests.sandbox.trading import (
    BUNDLES,
    arbitrage_transaction,
    best_size,
    encode,
    load_keypair,
    planted_hops,
    route_over_rpc,
    rpc_call,
    send_bundle,
    signed,
    token_balance,
    wait_for_bundle,
)

MAINNET_TIP_ACCOUNTS = {
    "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5", "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
    "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY", "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
    "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh", "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
    "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL", "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
}  # fmt: skip


async def _cycle_balances(client: AsyncClient, owner: Pubkey, mints: set[Pubkey]) -> dict[Pubkey, int]:
    return {mint: await token_balance(client, associated_token_address(owner, mint)) for mint in mints}


@asynccontextmanager
async def _trading(
    sandbox_settings: SandboxSettings,
) -> AsyncIterator[tuple[Sandbox, AsyncClient, httpx.AsyncClient, Keypair]]:
    """A running sandbox, an RPC and an HTTP client on it, and its funded payer: what a trading test needs."""
    async with (
        start_sandbox(sandbox_settings) as sandbox,
        AsyncClient(sandbox.rpc_url) as client,
        httpx.AsyncClient() as http,
    ):
        yield sandbox, client, http, load_keypair(sandbox.payer_keypair_path)


async def _planted_route(client: AsyncClient, sandbox: Sandbox) -> tuple[PlantedCycle, LoadedRoute]:
    """The first planted cycle and its route, loaded over RPC as a searcher would."""
    cycle = sandbox.universe.planted[0]
    return cycle, await route_over_rpc(client, sandbox.universe, planted_hops(cycle))


async def _outcome(http: httpx.AsyncClient, sandbox: Sandbox, bundle: Sequence[VersionedTransaction]) -> dict:
    """Send `bundle` to the block engine and wait until its status is final."""
    engine = sandbox.block_engine_url
    return await wait_for_bundle(http, engine, await send_bundle(http, engine, bundle))


async def test_tip_accounts_are_mainnets_on_every_path() -> None:
    async with start_sandbox(QUIET) as sandbox, httpx.AsyncClient() as http:
        for path in (BUNDLES, "/api/v1/getTipAccounts"):
            response = await rpc_call(http, sandbox.block_engine_url + path, "getTipAccounts", [])
            assert set(response.json()["result"]) == MAINNET_TIP_ACCOUNTS


async def test_arbitrage_bundle_lands_with_the_quoted_balances() -> None:
    async with _trading(QUIET) as (sandbox, client, http, payer):
        cycle, route = await _planted_route(client, sandbox)
        sol_budget = await token_balance(client, associated_token_address(payer.pubkey(), NATIVE_MINT))
        amount_in, profit = best_size(route, sol_budget // 10)
        mints = set(cycle.mints)
        before = await _cycle_balances(client, payer.pubkey(), mints)
        lamports_before = (await client.get_balance(payer.pubkey())).value
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        tip = 50_000
        transaction = arbitrage_transaction(payer, route, amount_in, blockhash, tip_lamports=tip,
                                            tip_account=TIP_ACCOUNTS[3])  # fmt: skip

        bundle_id = await send_bundle(http, sandbox.block_engine_url, [transaction])
        assert bundle_id == hashlib.sha256(str(transaction.signatures[0]).encode()).hexdigest()
        status = await wait_for_bundle(http, sandbox.block_engine_url, bundle_id)

        assert status["status"] == "Landed", status
        after = await _cycle_balances(client, payer.pubkey(), mints)
        assert after[NATIVE_MINT] - before[NATIVE_MINT] == profit
        assert all(after[m] == before[m] for m in mints - {NATIVE_MINT})
        assert (await client.get_balance(payer.pubkey())).value == lamports_before - 5_000 - tip
        landed = await rpc_call(http, sandbox.block_engine_url + BUNDLES, "getBundleStatuses", [[bundle_id]])
        value = landed.json()["result"]["value"][0]
        assert value["transactions"] == [str(transaction.signatures[0])]
        assert value["slot"] == status["landed_slot"] and value["err"] == {"Ok": None}
        confirmed = await client.get_transaction(
            transaction.signatures[0], max_supported_transaction_version=0
        )
        assert confirmed.value.transaction.meta.err is None


async def test_too_high_minimum_out_fails_the_bundle_and_moves_nothing() -> None:
    async with _trading(QUIET) as (sandbox, client, http, payer):
        cycle, route = await _planted_route(client, sandbox)
        amount_in, _ = best_size(route, 10**13)
        mints = set(cycle.mints)
        before = await _cycle_balances(client, payer.pubkey(), mints)
        lamports_before = (await client.get_balance(payer.pubkey())).value
        pools_before = {
            hop.pool: (await client.get_account_info(hop.pool)).value.data for hop in planted_hops(cycle)
        }
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        greedy = arbitrage_transaction(payer, route, amount_in, blockhash, tip_lamports=10_000,
                                       tip_account=TIP_ACCOUNTS[0], last_minimum_bump=1)  # fmt: skip

        status = await _outcome(http, sandbox, [greedy])

        assert status["status"] == "Failed" and status["landed_slot"] is None
        slippage_names = ("ExceededSlippage", "AmountOutBelowMinimum")
        assert "simulation failed" in status["reason"] and any(n in status["reason"] for n in slippage_names)
        assert await _cycle_balances(client, payer.pubkey(), mints) == before
        assert (await client.get_balance(payer.pubkey())).value == lamports_before
        for pool, data in pools_before.items():
            assert (await client.get_account_info(pool)).value.data == data
        assert (await client.get_transaction(greedy.signatures[0])).value is None


async def test_lower_tip_loses_the_auction_to_a_competitor() -> None:
    rival = CompetitorSettings(name="rival", tip_fraction=0.5, latency_ms=None)
    async with _trading(settings(competitors=(rival,))) as (sandbox, client, http, payer):
        cycle, route = await _planted_route(client, sandbox)
        amount_in, _ = best_size(route, 10**13)
        before = await _cycle_balances(client, payer.pubkey(), set(cycle.mints))
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        stingy = arbitrage_transaction(payer, route, amount_in, blockhash, tip_lamports=1_000,
                                       tip_account=TIP_ACCOUNTS[1])  # fmt: skip

        status = await _outcome(http, sandbox, [stingy])

        assert status["status"] == "Failed", status
        assert status["reason"].startswith("lost auction to bundle ")
        winner = status["reason"].split()[4].rstrip(":")
        won = await rpc_call(
            http, sandbox.block_engine_url + BUNDLES, "getInflightBundleStatuses", [[winner]]
        )
        assert won.json()["result"]["value"][0]["status"] == "Landed"
        assert sandbox.competitors[0].bids_made == 1
        assert await _cycle_balances(client, payer.pubkey(), set(cycle.mints)) == before


async def test_without_reasons_a_lost_auction_is_read_from_the_chain() -> None:
    """As on mainnet the status says only `Failed`; the chain then shows who took the pools: the
    competitor's landed transaction, whose tip per requested unit beat ours (`observe/rivals.py`)."""
    rival = CompetitorSettings(name="rival", tip_fraction=0.5, latency_ms=None)
    async with _trading(settings(competitors=(rival,), status_reasons=False)) as (sandbox, client, http, payer):
        cycle, route = await _planted_route(client, sandbox)
        amount_in, _ = best_size(route, 10**13)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        stingy = arbitrage_transaction(payer, route, amount_in, blockhash, tip_lamports=1_000,
                                       tip_account=TIP_ACCOUNTS[1])  # fmt: skip

        status = await _outcome(http, sandbox, [stingy])
        listed = await rpc_call(http, sandbox.rpc_url, "getSignaturesForAddress",
                                [str(cycle.pools[0]), {"commitment": "confirmed"}])  # fmt: skip
        (newest, *_) = listed.json()["result"]
        reply = await rpc_call(http, sandbox.rpc_url, "getTransaction", [
            newest["signature"], {"encoding": "base64", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"}
        ])  # fmt: skip

    assert status["status"] == "Failed" and "reason" not in status, status
    took = taker(reply.json()["result"], set(TIP_ACCOUNTS))
    assert took.payer != payer.pubkey() and took.slot == newest["slot"] and took.bid.tip > 1_000
    outbid, why = verdict(Bid(1_000, requested_units(stingy.message)), [took])  # type: ignore[misc]
    assert outbid and why.startswith(f"outbid by {newest['signature']} at slot {newest['slot']}")


def _tip_only(payer: Keypair, blockhash: Hash, lamports: int = 5_000) -> VersionedTransaction:
    instruction = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=TIP_ACCOUNTS[2], lamports=lamports)
    )
    return signed(payer, [instruction], blockhash)


async def test_bundles_are_rejected_with_the_reason_in_their_status() -> None:
    async with _trading(QUIET) as (sandbox, client, http, payer):
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        no_tip_ix = transfer(
            TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=10**6)
        )
        no_tip = signed(payer, [no_tip_ix], blockhash)
        forged = VersionedTransaction.populate(_tip_only(payer, blockhash).message, [Signature.new_unique()])
        stale = _tip_only(payer, Hash.new_unique())
        small = _tip_only(payer, blockhash, lamports=999)
        protected_ix = transfer(
            TransferParams(from_pubkey=payer.pubkey(), to_pubkey=TIP_ACCOUNTS[4], lamports=10_000)
        )
        guard = Pubkey.from_string("jitodontfront111111111111111111111111111111")
        protected_ix = Instruction(protected_ix.program_id, protected_ix.data,
                                   [*protected_ix.accounts, AccountMeta(guard, False, False)])  # fmt: skip
        victim = signed(payer, [protected_ix], blockhash)
        front_runner = Keypair()
        await client.request_airdrop(front_runner.pubkey(), 10**9)
        sandwich = [_tip_only(front_runner, blockhash, 20_000), victim]

        cases = {
            "does not tip": [no_tip],
            "SignatureFailure": [forged],
            "BlockhashNotFound": [stale],
            "below the 1000 lamport minimum": [small],
            "jitodontfront": sandwich,
        }
        for expected, bundle in cases.items():
            status = await _outcome(http, sandbox, bundle)
            assert status["status"] == "Failed" and expected in status["reason"], (expected, status)

        assert (await _outcome(http, sandbox, [victim]))["status"] == "Landed"  # led by the victim itself


async def test_malformed_bundles_get_invalid_params_and_unknown_ids_are_invalid() -> None:
    async with _trading(QUIET) as (sandbox, client, http, payer):
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        url = sandbox.block_engine_url + BUNDLES
        six = [encode(_tip_only(payer, blockhash, 1_000 + i)) for i in range(6)]
        for params in ([[]], [six], [["not base64!"], {"encoding": "base64"}], ["a string"], [[1, 2]]):
            response = await rpc_call(http, url, "sendBundle", params)
            assert response.status_code == 200
            assert response.json()["error"]["code"] == -32602, params
        response = await rpc_call(http, url, "getInflightBundleStatuses", [["00" * 32]])
        assert response.json()["result"]["value"] == [
            {"bundle_id": "00" * 32, "status": "Invalid", "landed_slot": None}
        ]
        assert (await rpc_call(http, url, "getBundleStatuses", [["00" * 32]])).json()["result"]["value"] == [
            None
        ]


async def test_base58_bundles_are_accepted() -> None:
    from mevbot.sandbox.transactions import b58encode

    async with _trading(QUIET) as (sandbox, client, http, payer):
        tip = _tip_only(payer, (await client.get_latest_blockhash()).value.blockhash, 2_000)
        response = await rpc_call(
            http, sandbox.block_engine_url + BUNDLES, "sendBundle", [[b58encode(bytes(tip))]]
        )
        status = await wait_for_bundle(http, sandbox.block_engine_url, response.json()["result"])
        assert status["status"] == "Landed"


async def test_requests_past_the_rate_limit_get_http_429_per_client() -> None:
    async with start_sandbox(settings(rate_limit_per_s=3.0)) as sandbox, httpx.AsyncClient() as http:
        url = sandbox.block_engine_url + BUNDLES
        codes = [(await rpc_call(http, url, "getTipAccounts", [])).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        refused = await rpc_call(http, url, "getTipAccounts", [])
        assert refused.status_code == 429 and refused.json()["error"]["code"] == -32097
        other_client = await rpc_call(http, url, "getTipAccounts", [], **{"x-jito-auth": "b6a1f2c4-uuid"})
        assert other_client.status_code == 200
