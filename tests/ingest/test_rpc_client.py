"""The RPC client against the sandbox's JSON-RPC: what it asks a node for, and with which commitment."""

from __future__ import annotations

from solders.hash import Hash

from mevbot.ingest.rpc import RpcClient
from mevbot.sandbox.bank import MAX_PROCESSING_AGE
from mevbot.sandbox.cluster import start_sandbox
from tests.sandbox.conftest import settings


async def test_the_blockhash_to_sign_with_comes_from_a_confirmed_block_whatever_the_commitment() -> None:
    """A processed block may be on a fork the cluster drops, and a transaction naming its blockhash
    is then refused: the client reads market state at "processed" but signs with a confirmed hash."""
    async with start_sandbox(settings(slot_ms=10_000, confirmation_slots=2)) as sandbox:
        bank = sandbox.bank
        for slot in range(bank.slot + 1, bank.slot + 4):
            bank.advance_slot(slot)
        client = RpcClient([sandbox.rpc_url], commitment="processed")
        try:
            blockhash, last_valid = await client.get_latest_blockhash()
        finally:
            await client.close()
        confirmed, made = bank.blockhash_as_of(bank.slot - 2)
        assert made == bank.slot - 2 and confirmed != bank.latest_blockhash
        assert (blockhash, last_valid) == (confirmed, made + MAX_PROCESSING_AGE)
        assert isinstance(blockhash, Hash)
