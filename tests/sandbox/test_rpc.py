"""The Solana JSON-RPC over HTTP, driven by solana-py's AsyncClient and by raw garbage."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Processed
from solana.rpc.core import RPCException
from solana.rpc.types import MemcmpOpts, TxOpts
from solders.hash import Hash
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus

from mevbot.dex import raydium_amm_v4, whirlpool
from mevbot.dex.registry import venue_by_name
from mevbot.dex.spl_token import NATIVE_MINT, TOKEN_PROGRAM_ID
from mevbot.market.venue_views import after_swap
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.pools import Hop, swap_instruction
from mevbot.sandbox.wallets import associated_token_address
from tests.sandbox.conftest import QUIET, settings
from tests.sandbox.trading import fetch_accounts, load_keypair, route_over_rpc, rpc_call, token_balance


async def test_account_queries_answer_in_solana_shapes() -> None:
    async with start_sandbox(QUIET) as sandbox, AsyncClient(sandbox.rpc_url) as client:
        payer = sandbox.payer_pubkey
        sol_account = associated_token_address(payer, NATIVE_MINT)

        info = await client.get_account_info(sol_account, encoding="base64")
        assert info.value.owner == TOKEN_PROGRAM_ID and len(info.value.data) == 165
        sliced = await client.get_account_info(sol_account, encoding="base64", data_slice=_slice(32, 32))
        assert bytes(sliced.value.data) == bytes(payer)
        assert (await client.get_account_info(Pubkey.new_unique())).value is None

        many = await client.get_multiple_accounts([sol_account, Pubkey.new_unique()], encoding="base64")
        assert many.value[0] is not None and many.value[1] is None

        amm_pools = await client.get_program_accounts(
            raydium_amm_v4.PROGRAM_ID, encoding="base64", filters=[752]
        )
        expected = {spec.address for spec in sandbox.universe.pools if spec.venue == "raydium_amm_v4"}
        assert {item.pubkey for item in amm_pools.value} == expected
        mine = await client.get_program_accounts(
            TOKEN_PROGRAM_ID, encoding="base64", filters=[165, MemcmpOpts(offset=32, bytes=str(payer))]
        )
        assert sol_account in {item.pubkey for item in mine.value}
        assert all(bytes(item.account.data)[32:64] == bytes(payer) for item in mine.value)

        assert (await client.get_balance(payer)).value == sandbox.settings.payer_lamports
        balance = (await client.get_token_account_balance(sol_account)).value
        assert balance.decimals == 9 and int(balance.amount) > 0
        by_owner = await client.get_token_accounts_by_owner(payer, _mint_filter(NATIVE_MINT))
        assert [item.pubkey for item in by_owner.value] == [sol_account]

        first = (await client.get_slot()).value
        blockhash = (await client.get_latest_blockhash()).value
        assert blockhash.last_valid_block_height >= first + 150
        await asyncio.sleep(0.2)
        assert (await client.get_slot()).value > first
        assert (await client.get_latest_blockhash()).value.blockhash != blockhash.blockhash


@pytest.mark.parametrize("venue_name", ["raydium_amm_v4", "raydium_cpmm", "whirlpool"])
async def test_a_swap_on_each_venue_moves_exactly_the_quote(venue_name: str) -> None:
    async with start_sandbox(QUIET) as sandbox, AsyncClient(sandbox.rpc_url) as client:
        payer = load_keypair(sandbox.payer_keypair_path)
        spec = next(spec for spec in sandbox.universe.pools if spec.venue == venue_name)
        venue = venue_by_name(venue_name)
        route = await route_over_rpc(client, sandbox.universe, [Hop(spec.address, spec.mint_a)])
        _, pool, state, _ = route.legs[0]
        depth = await token_balance(client, _vault_a(venue_name, pool))
        amount_in = max(depth // 500, 1)
        predicted_quote, predicted_state = after_swap(state, amount_in, True)
        accounts = {m: associated_token_address(payer.pubkey(), m) for m in (spec.mint_a, spec.mint_b)}
        before = {m: await token_balance(client, a) for m, a in accounts.items()}
        instruction = swap_instruction(venue_name, pool, payer.pubkey(), accounts, spec.mint_a, amount_in,
                                       predicted_quote.amount_out)  # fmt: skip
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        transaction = VersionedTransaction(
            MessageV0.try_compile(payer.pubkey(), [instruction], [], blockhash), [payer]
        )

        signature = (await client.send_transaction(transaction)).value

        assert (
            before[spec.mint_a] - await token_balance(client, accounts[spec.mint_a])
            == predicted_quote.amount_in
        )
        assert (
            await token_balance(client, accounts[spec.mint_b]) - before[spec.mint_b]
            == predicted_quote.amount_out
        )
        fetched = await fetch_accounts(client, [spec.address, *venue.dependencies(pool)])
        reloaded = venue.load(
            venue.decode_pool(spec.address, bytes(fetched[spec.address].data)),
            {key: bytes(account.data) for key, account in fetched.items()},
        )
        assert _comparable(reloaded) == _comparable(predicted_state)
        landed = await client.get_transaction(signature, max_supported_transaction_version=0)
        assert landed.value.transaction.meta.err is None and landed.value.transaction.meta.fee == 5_000


async def test_a_failing_transaction_lands_with_its_error_and_pays_only_the_fee() -> None:
    async with start_sandbox(QUIET) as sandbox, AsyncClient(sandbox.rpc_url) as client:
        payer = load_keypair(sandbox.payer_keypair_path)
        spec = next(spec for spec in sandbox.universe.pools if spec.venue == "raydium_amm_v4")
        route = await route_over_rpc(client, sandbox.universe, [Hop(spec.address, spec.mint_a)])
        _, pool, state, _ = route.legs[0]
        quote = raydium_amm_v4.VENUE.quote_exact_in(state, 10**6, True)
        accounts = {m: associated_token_address(payer.pubkey(), m) for m in (spec.mint_a, spec.mint_b)}
        instruction = swap_instruction("raydium_amm_v4", pool, payer.pubkey(), accounts, spec.mint_a, 10**6,
                                       quote.amount_out + 1)  # fmt: skip
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        greedy = VersionedTransaction(
            MessageV0.try_compile(payer.pubkey(), [instruction], [], blockhash), [payer]
        )
        lamports = (await client.get_balance(payer.pubkey())).value
        tokens = await token_balance(client, accounts[spec.mint_a])

        simulated = await client.simulate_transaction(greedy)
        assert "InstructionError" in str(simulated.value.err) and simulated.value.logs
        with pytest.raises(RPCException, match="custom program error: 0x1e"):
            await client.send_transaction(greedy)
        signature = (await client.send_transaction(greedy, opts=TxOpts(skip_preflight=True))).value

        landed = await client.get_transaction(signature, max_supported_transaction_version=0)
        assert "Custom(30)" in str(landed.value.transaction.meta.err)  # AmmError::ExceededSlippage
        assert (await client.get_balance(payer.pubkey())).value == lamports - 5_000
        assert await token_balance(client, accounts[spec.mint_a]) == tokens
        statuses = await client.get_signature_statuses([signature])
        assert statuses.value[0] is not None and statuses.value[0].err is not None


async def test_a_landed_transaction_is_found_once_confirmed_slots_later() -> None:
    """As on a real cluster: getTransaction answers from "confirmed" on (and refuses "processed"),
    `confirmation_slots` after the transaction's slot; until then its status says "processed"."""
    async with start_sandbox(settings(slot_ms=10_000, confirmation_slots=2)) as sandbox, \
            AsyncClient(sandbox.rpc_url) as client, httpx.AsyncClient() as http:  # fmt: skip
        payer = load_keypair(sandbox.payer_keypair_path)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        transfer_ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=10**6))
        transaction = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [transfer_ix], [], blockhash), [payer])
        signature = (await client.send_transaction(transaction)).value
        landed_in = sandbox.bank.slot

        async def found(commitment: str) -> object:
            options = {"commitment": commitment, "maxSupportedTransactionVersion": 0}
            return (await rpc_call(http, sandbox.rpc_url, "getTransaction", [str(signature), options])).json()

        for commitment in ("confirmed", "finalized"):
            assert (await found(commitment))["result"] is None
        assert "below `confirmed`" in (await found("processed"))["error"]["message"]
        status = (await client.get_signature_statuses([signature])).value[0]
        assert status.slot == landed_in and status.confirmation_status == TransactionConfirmationStatus.Processed
        sandbox.bank.advance_slot(landed_in + 1)
        assert (await found("confirmed"))["result"] is None
        newest = (await client.get_latest_blockhash(commitment=Processed)).value
        confirmed = (await client.get_latest_blockhash(commitment=Confirmed)).value  # from 2 slots back
        assert newest.blockhash == sandbox.bank.latest_blockhash != confirmed.blockhash
        assert confirmed.last_valid_block_height < newest.last_valid_block_height
        sandbox.bank.advance_slot(landed_in + 2)
        for commitment in ("confirmed", "finalized"):
            assert (await found(commitment))["result"]["slot"] == landed_in
        status = (await client.get_signature_statuses([signature])).value[0]
        assert status.confirmation_status == TransactionConfirmationStatus.Finalized


async def test_signatures_for_an_address_are_the_confirmed_ones_that_named_it_newest_first() -> None:
    """As a node pages them: newest first, `limit`, `before` and `until` (both exclusive), only what
    is confirmed (and `processed` refused); the confirmed `getSlot` lags the processed one as much."""
    async with start_sandbox(settings(slot_ms=10_000, confirmation_slots=1)) as sandbox, \
            AsyncClient(sandbox.rpc_url) as client, httpx.AsyncClient() as http:  # fmt: skip
        payer = load_keypair(sandbox.payer_keypair_path)
        named, elsewhere = Pubkey.new_unique(), Pubkey.new_unique()
        blockhash = (await client.get_latest_blockhash(commitment=Processed)).value.blockhash

        async def pay(to: Pubkey, lamports: int) -> str:
            ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
            transaction = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer])
            return str((await client.send_transaction(transaction)).value)

        async def listed(**options: object) -> dict:
            return (await rpc_call(http, sandbox.rpc_url, "getSignaturesForAddress", [str(named), options])).json()

        async def slot(commitment: str) -> int:
            return (await rpc_call(http, sandbox.rpc_url, "getSlot", [{"commitment": commitment}])).json()["result"]

        first_slot = sandbox.bank.slot
        first = await pay(named, 10**6)
        await pay(elsewhere, 10**6)
        sandbox.bank.advance_slot(first_slot + 1)
        second, third = await pay(named, 2 * 10**6), await pay(named, 3 * 10**6)
        assert (await slot("processed"), await slot("confirmed"), await slot("finalized")) == (
            first_slot + 1, first_slot, first_slot
        )
        (only,) = (await listed(commitment="confirmed"))["result"]  # the later two are not confirmed yet
        assert only == {"signature": first, "slot": first_slot, "err": None, "memo": None,
                        "blockTime": only["blockTime"], "confirmationStatus": "finalized"}  # fmt: skip
        sandbox.bank.advance_slot(first_slot + 2)

        def signatures(reply: dict) -> list[str]:
            return [entry["signature"] for entry in reply["result"]]

        assert signatures(await listed()) == [third, second, first]
        assert signatures(await listed(limit=2)) == [third, second]
        assert signatures(await listed(before=third)) == [second, first]
        assert signatures(await listed(until=first)) == [third, second]
        assert "below `confirmed`" in (await listed(commitment="processed"))["error"]["message"]
        assert "limit" in (await listed(limit=0))["error"]["message"]


async def test_garbage_gets_json_rpc_errors_and_the_server_keeps_serving() -> None:
    async with start_sandbox(QUIET) as sandbox, httpx.AsyncClient() as http:
        url = sandbox.rpc_url

        async def post(body: str | bytes) -> dict:
            response = await http.post(url, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200
            return response.json()

        def request(method: str, params: object) -> str:
            return json.dumps({"jsonrpc": "2.0", "id": 9, "method": method, "params": params})

        assert (await post(b"{not json"))["error"]["code"] == -32700
        assert (await post(b"\xff\xfe"))["error"]["code"] == -32700
        assert (await post("[]"))["error"]["code"] == -32600
        assert (await post("42"))["error"]["code"] == -32600
        assert (await post('{"id": 1, "method": "getSlot"}'))["error"]["code"] == -32600
        unknown = await post(request("getEverything", []))
        assert unknown["error"]["code"] == -32601 and unknown["id"] == 9
        for method, params in (
            ("getBalance", ["not-a-key"]),
            ("getBalance", {"pubkey": "x"}),
            ("getAccountInfo", [str(Pubkey.new_unique()), "not an object"]),
            ("getAccountInfo", [str(Pubkey.new_unique()), {"encoding": "utf-16"}]),
            ("getMultipleAccounts", [[str(Pubkey.new_unique())] * 101]),
            (
                "getProgramAccounts",
                [str(TOKEN_PROGRAM_ID), {"filters": [{"memcmp": {"offset": -1, "bytes": "1"}}]}],
            ),
            ("sendTransaction", ["%%% not base64 %%%", {"encoding": "base64"}]),
            ("sendTransaction", [base64.b64encode(b"\x01" + bytes(10)).decode(), {"encoding": "base64"}]),
            ("simulateTransaction", [12345]),
            ("getTransaction", ["short"]),
        ):
            answer = await post(request(method, params))
            assert answer["error"]["code"] == -32602, (method, params, answer)
            assert answer["error"]["message"].startswith("Invalid params")
        batch = await post(
            json.dumps([json.loads(request("getSlot", [])), {"jsonrpc": "2.0", "id": 2, "method": 5}])
        )
        assert isinstance(batch[0]["result"], int) and batch[1]["error"]["code"] == -32600
        assert isinstance((await post(request("getSlot", [])))["result"], int)


async def test_simulation_reports_post_state_and_replaces_blockhashes() -> None:
    async with (
        start_sandbox(QUIET) as sandbox,
        httpx.AsyncClient() as http,
        AsyncClient(sandbox.rpc_url) as client,
    ):
        payer = load_keypair(sandbox.payer_keypair_path)
        spec = next(spec for spec in sandbox.universe.pools if spec.venue == "whirlpool")
        route = await route_over_rpc(client, sandbox.universe, [Hop(spec.address, spec.mint_b)])
        _, pool, _, _ = route.legs[0]
        accounts = {m: associated_token_address(payer.pubkey(), m) for m in (spec.mint_a, spec.mint_b)}
        instruction = swap_instruction("whirlpool", pool, payer.pubkey(), accounts, spec.mint_b, 10**4, 0)
        stale = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [instruction], [], Hash.new_unique()),
                                     [payer])  # fmt: skip
        encoded = base64.b64encode(bytes(stale)).decode()
        body = {"jsonrpc": "2.0", "id": 1, "method": "simulateTransaction", "params": [encoded, {
            "encoding": "base64", "replaceRecentBlockhash": True,
            "accounts": {"addresses": [str(spec.address)], "encoding": "base64"}}]}  # fmt: skip
        value = (await http.post(sandbox.rpc_url, json=body)).json()["result"]["value"]
        assert value["err"] is None and value["replacementBlockhash"] is not None
        after = whirlpool.decode_whirlpool(spec.address, base64.b64decode(value["accounts"][0]["data"][0]))
        assert after.sqrt_price > pool.sqrt_price  # b→a raises the price of a
        assert value["unitsConsumed"] > 0
        body["params"][1] = {"encoding": "base64"}
        assert (await http.post(sandbox.rpc_url, json=body)).json()["result"]["value"][
            "err"
        ] == "BlockhashNotFound"
        assert (await client.get_account_info(spec.address)).value.data == bytes(
            (await fetch_accounts(client, [spec.address]))[spec.address].data
        )


def _vault_a(venue_name: str, pool: object) -> Pubkey:
    from mevbot.sandbox.pools import vault_addresses

    return vault_addresses(venue_name, pool)[0]


def _comparable(state: object) -> object:
    """A state by value. A Whirlpool's reward clock is left out: the program stamps it on every swap
    (the bank does), the market's overlay has no clock and needs none for quotes."""
    if isinstance(state, whirlpool.WhirlpoolState):
        return dataclasses.replace(state.pool, reward_last_updated_timestamp=0), dict(state.tick_arrays)
    return state


def _slice(offset: int, length: int):  # -> DataSliceOpts
    from solana.rpc.types import DataSliceOpts

    return DataSliceOpts(offset=offset, length=length)


def _mint_filter(mint: Pubkey):  # -> TokenAccountOpts
    from solana.rpc.types import TokenAccountOpts

    return TokenAccountOpts(mint=mint, encoding="base64")
