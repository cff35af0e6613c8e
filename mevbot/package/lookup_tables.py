"""Address lookup tables: create and extend one, and read one back for compiling v0 messages.

solders has the table's account layout but no instruction builders, so the two instructions a
searcher needs are written here from the program's bincode `ProgramInstruction`
(solana-program `address_lookup_table::instruction`): a u32 variant tag, then its fields.
A table is derived from its authority and a recent slot, which the program checks against the
SlotHashes sysvar, so `recent_slot` must be a slot the cluster processed lately (`getSlot`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from solders.address_lookup_table_account import (
    ID as ADDRESS_LOOKUP_TABLE_PROGRAM_ID,
)
from solders.address_lookup_table_account import (
    LOOKUP_TABLE_MAX_ADDRESSES,
    AddressLookupTable,
    AddressLookupTableAccount,
    derive_lookup_table_address,
)
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from mevbot.package.transaction import PackageError

_CREATE, _EXTEND = 0, 2
MAX_EXTEND_ADDRESSES = 30  # what fits in one extend instruction inside a 1232-byte transaction


def create_lookup_table(authority: Pubkey, payer: Pubkey, recent_slot: int) -> tuple[Instruction, Pubkey]:
    """`CreateLookupTable` (the signed-authority form current validators require); returns the
    instruction and the table's address."""
    if not 0 <= recent_slot < 1 << 64:
        raise PackageError("bad_lookup_table", f"recent slot {recent_slot} is not a u64")
    table, bump = derive_lookup_table_address(authority, recent_slot)
    data = struct.pack("<IQB", _CREATE, recent_slot, bump)
    accounts = [
        AccountMeta(table, is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=False),
        AccountMeta(payer, is_signer=True, is_writable=True),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(ADDRESS_LOOKUP_TABLE_PROGRAM_ID, data, accounts), table


def extend_lookup_table(
    table: Pubkey, authority: Pubkey, payer: Pubkey, addresses: Sequence[Pubkey]
) -> Instruction:
    """`ExtendLookupTable` with `addresses` (the payer tops up the rent for the larger account)."""
    if not 0 < len(addresses) <= MAX_EXTEND_ADDRESSES:
        raise PackageError(
            "bad_lookup_table", f"extend with 1..{MAX_EXTEND_ADDRESSES} addresses, got {len(addresses)}"
        )
    data = struct.pack("<IQ", _EXTEND, len(addresses)) + b"".join(bytes(a) for a in addresses)
    accounts = [
        AccountMeta(table, is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=False),
        AccountMeta(payer, is_signer=True, is_writable=True),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(ADDRESS_LOOKUP_TABLE_PROGRAM_ID, data, accounts)


def lookup_table_bytes(addresses: Sequence[Pubkey], authority: Pubkey | None = None) -> bytes:
    """The account bytes of an active table holding `addresses`: the 56-byte `LookupTableMeta`
    (type tag 1, never deactivated, extended at slot 0, optional authority, padding), then the
    addresses. For a fork or a what-if run that needs a table the cluster does not have."""
    if len(addresses) > LOOKUP_TABLE_MAX_ADDRESSES:
        raise PackageError("bad_lookup_table", f"{len(addresses)} addresses > {LOOKUP_TABLE_MAX_ADDRESSES}")
    owner = b"\x01" + bytes(authority) if authority is not None else bytes(33)
    meta = struct.pack("<IQQB", 1, (1 << 64) - 1, 0, 0) + owner + bytes(2)
    return meta + b"".join(bytes(address) for address in addresses)


def lookup_table_account(address: Pubkey, data: bytes) -> AddressLookupTableAccount:
    """A table account's bytes (as getAccountInfo returns them) → what `MessageV0.try_compile` takes."""
    try:
        addresses = list(AddressLookupTable.deserialize(data).addresses)
    except Exception:  # solders raises its own error types for bytes that are not a table
        raise PackageError("bad_lookup_table", f"{address} is not an address lookup table") from None
    if len(addresses) > LOOKUP_TABLE_MAX_ADDRESSES:  # pragma: no cover - the layout caps it
        raise PackageError("bad_lookup_table", f"{address} holds {len(addresses)} addresses")
    return AddressLookupTableAccount(address, addresses)
