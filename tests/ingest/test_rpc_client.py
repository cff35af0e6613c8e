"""The RPC client against the sandbox's JSON-RPC: what it asks a node for, and with which commitment."""

from __future__ import annotations

from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.ingest.rpc import RpcClient, SignatureInfo
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


async def test_slots_and_signatures_of_an_address_are_asked_at_confirmed_when_it_matters() -> None:
    """The market is read at "processed", but a loss is looked up on what the cluster confirmed:
    `getSignaturesForAddress` knows nothing lower, and the confirmed slot says how far it reaches."""
    async with start_sandbox(settings(slot_ms=10_000, confirmation_slots=2)) as sandbox:
        bank = sandbox.bank
        payer = Keypair.from_json(sandbox.payer_keypair_path.read_text())
        named = Pubkey.new_unique()
        pay = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=named, lamports=10**6))
        message = MessageV0.try_compile(payer.pubkey(), [pay], [], bank.latest_blockhash)
        landed = bank.process_transaction(VersionedTransaction(message, [payer]))
        client = RpcClient([sandbox.rpc_url], commitment="processed")
        try:
            assert await client.signatures_for_address(named, limit=10) == []  # not confirmed yet
            for slot in range(bank.slot + 1, bank.slot + 3):
                bank.advance_slot(slot)
            assert (await client.get_slot(), await client.get_slot(confirmed=True)) == (bank.slot, bank.slot - 2)
            (entry,) = await client.signatures_for_address(named, limit=10)
        finally:
            await client.close()
        assert entry == SignatureInfo(str(landed.signature), landed.slot, ok=True)
