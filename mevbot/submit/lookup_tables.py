"""Creating address lookup tables on a cluster: the I/O half of `package/lookup_tables.py`.

A table is created and extended through the lookup-table program with ordinary transactions, as on
mainnet, then read back; its new addresses are usable from the slot after they were added.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey

from mevbot.ingest.rpc import RpcClient, RpcError
from mevbot.package.keys import TradingKey
from mevbot.package.lookup_tables import create_lookup_table, extend_lookup_table, lookup_table_account

TABLE_CAPACITY = 256
EXTEND_CHUNK = 20


async def send_transaction(rpc: RpcClient, key: TradingKey, instructions: list[Instruction]) -> str:
    blockhash, _ = await rpc.get_latest_blockhash()
    tx = key.sign_message(MessageV0.try_compile(key.pubkey, instructions, [], blockhash))
    return await rpc.call("sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])


async def wait_for_slot_after(rpc: RpcClient, slot: int, poll_s: float = 0.01) -> int:
    while (current := await rpc.get_slot()) <= slot:
        await asyncio.sleep(poll_s)
    return current


async def install_lookup_table(
    rpc: RpcClient, key: TradingKey, addresses: Sequence[Pubkey]
) -> AddressLookupTableAccount:
    """Create one table holding `addresses` (at most 256), wait until they are usable, read it back."""
    slot = await wait_for_slot_after(rpc, 0)
    create, table = create_lookup_table(key.pubkey, key.pubkey, slot - 1)
    chunks = [list(addresses[i : i + EXTEND_CHUNK]) for i in range(0, len(addresses), EXTEND_CHUNK)]
    await send_transaction(rpc, key, [create, extend_lookup_table(table, key.pubkey, key.pubkey, chunks[0])])
    for chunk in chunks[1:]:
        await send_transaction(rpc, key, [extend_lookup_table(table, key.pubkey, key.pubkey, chunk)])
    await wait_for_slot_after(rpc, await rpc.get_slot())
    (account,) = await rpc.get_multiple_accounts([table])
    if account is None:
        raise RpcError(f"lookup table {table} was not created")
    return lookup_table_account(table, account.data)


async def install_lookup_tables(
    rpc: RpcClient, key: TradingKey, addresses: Sequence[Pubkey]
) -> list[AddressLookupTableAccount]:
    """As many tables as `addresses` need, 256 to a table."""
    return [
        await install_lookup_table(rpc, key, addresses[i : i + TABLE_CAPACITY])
        for i in range(0, len(addresses), TABLE_CAPACITY)
    ]


async def load_lookup_tables(rpc: RpcClient, addresses: Sequence[Pubkey]) -> list[AddressLookupTableAccount]:
    """Existing tables named in the config, read from the node."""
    accounts = await rpc.get_multiple_accounts(addresses)
    missing = [str(a) for a, account in zip(addresses, accounts, strict=True) if account is None]
    if missing:
        raise RpcError(f"lookup tables not found: {', '.join(missing)}")
    return [lookup_table_account(a, account.data) for a, account in zip(addresses, accounts, strict=True) if account]
