"""One route → one signed v0 transaction, within the limits a leader enforces.

Order inside the transaction: compute budget, setup (idempotent ATAs, WSOL wrap), the hops, teardown
(WSOL unwrap), and last the tip transfer, so the tip is paid only if every hop succeeded. The tip account
is always a static key: a tip loaded through a lookup table is not seen by the block engine.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    CloseAccountParams,
    SyncNativeParams,
    close_account,
    create_idempotent_associated_token_account,
    get_associated_token_address,
    sync_native,
)

from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.package.keys import TradingKey

PACKET_DATA_SIZE = 1232
MAX_ACCOUNT_LOCKS = 64
MAX_COMPUTE_UNITS = 1_400_000


class PackageError(ValueError):
    """A transaction that must not be sent; `reason` is a stable code for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class Tip:
    account: Pubkey
    lamports: int


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """What goes into one transaction besides the budget and the tip."""

    hops: tuple[Instruction, ...]
    token_accounts: tuple[tuple[Pubkey, Pubkey], ...] = ()  # (mint, token program) of each ATA the route creates
    wrap_lamports: int = 0  # SOL to wrap into the WSOL ATA before the first hop (0: none)
    unwrap_sol: bool = False  # close the WSOL ATA after the last hop


def setup_instructions(owner: Pubkey, plan: RoutePlan) -> list[Instruction]:
    """Idempotent ATA creation for every mint the route touches, then the WSOL wrap if asked."""
    out = [
        create_idempotent_associated_token_account(owner, owner, mint, program) for mint, program in plan.token_accounts
    ]
    if plan.wrap_lamports:
        wsol = get_associated_token_address(owner, NATIVE_MINT)
        out.append(transfer(TransferParams(from_pubkey=owner, to_pubkey=wsol, lamports=plan.wrap_lamports)))
        out.append(sync_native(SyncNativeParams(program_id=TOKEN_PROGRAM_ID, account=wsol)))
    return out


def teardown_instructions(owner: Pubkey, plan: RoutePlan) -> list[Instruction]:
    if not plan.unwrap_sol:
        return []
    wsol = get_associated_token_address(owner, NATIVE_MINT)
    return [
        close_account(
            CloseAccountParams(program_id=TOKEN_PROGRAM_ID, account=wsol, dest=owner, owner=owner, signers=[])
        )
    ]


def route_instructions(
    payer: Pubkey,
    plan: RoutePlan,
    *,
    compute_unit_limit: int,
    compute_unit_price: int = 0,
    tip: Tip | None = None,
) -> list[Instruction]:
    if not 0 < compute_unit_limit <= MAX_COMPUTE_UNITS:
        raise PackageError("bad_compute_limit", f"{compute_unit_limit} is outside 1..{MAX_COMPUTE_UNITS}")
    budget = [set_compute_unit_limit(compute_unit_limit)]
    if compute_unit_price:
        budget.append(set_compute_unit_price(compute_unit_price))
    tail = [transfer(TransferParams(from_pubkey=payer, to_pubkey=tip.account, lamports=tip.lamports))] if tip else []
    return [*budget, *setup_instructions(payer, plan), *plan.hops, *teardown_instructions(payer, plan), *tail]


_COMPUTE_UNIT_LIMIT = struct.Struct("<BI")  # ComputeBudgetInstruction::SetComputeUnitLimit (2), u32
_COMPUTE_UNIT_PRICE = struct.Struct("<BQ")  # ComputeBudgetInstruction::SetComputeUnitPrice (3), u64
_TRANSFER = struct.Struct("<IQ")  # SystemInstruction::Transfer (2), u64 lamports
_CREATE_IDEMPOTENT = b"\x01"  # AssociatedTokenAccountInstruction::CreateIdempotent


def route_data(
    plan_data: Sequence[bytes],
    *,
    token_accounts: int,
    compute_unit_limit: int,
    compute_unit_price: int = 0,
    tip_lamports: int,
) -> list[bytes]:
    """The data of each instruction `route_instructions` gives for a plan of `token_accounts` ATAs
    and hops of data `plan_data` (no WSOL wrap or unwrap), in its order: all a `MessageTemplate`
    of the route needs to make the transaction."""
    out = [_COMPUTE_UNIT_LIMIT.pack(2, compute_unit_limit)]
    if compute_unit_price:
        out.append(_COMPUTE_UNIT_PRICE.pack(3, compute_unit_price))
    out += [_CREATE_IDEMPOTENT] * token_accounts
    out += plan_data
    out.append(_TRANSFER.pack(2, tip_lamports))
    return out


def build_transaction(
    payer: TradingKey,
    instructions: Sequence[Instruction],
    recent_blockhash: Hash,
    *,
    lookup_tables: Sequence[AddressLookupTableAccount] = (),
    tip: Tip | None = None,
) -> VersionedTransaction:
    """Compile, check against the leader's limits, and sign. Raises PackageError before anything is sent."""
    message = compile_message(
        payer.pubkey, instructions, recent_blockhash, lookup_tables=lookup_tables, tip=tip
    )
    return payer.sign_message(message)


def compile_message(
    payer: Pubkey,
    instructions: Sequence[Instruction],
    recent_blockhash: Hash,
    *,
    lookup_tables: Sequence[AddressLookupTableAccount] = (),
    tip: Tip | None = None,
) -> MessageV0:
    """The v0 message, checked against the leader's limits once signed. Raises PackageError."""
    try:
        message = MessageV0.try_compile(payer, list(instructions), list(lookup_tables), recent_blockhash)
    except Exception as exc:  # solders raises its own CompileError types
        raise PackageError("compile_failed", str(exc)) from None
    check_message(message, tip)
    signers = message.header.num_required_signatures
    size = 1 + 64 * signers + len(to_bytes_versioned(message))  # the signature count is one byte below 128
    if size > PACKET_DATA_SIZE:
        raise PackageError("too_large", f"{size} bytes > {PACKET_DATA_SIZE}; add a lookup table or fewer hops")
    return message


def check_message(message: MessageV0, tip: Tip | None) -> None:
    locks = len(message.account_keys) + sum(
        len(lookup.writable_indexes) + len(lookup.readonly_indexes) for lookup in message.address_table_lookups
    )
    if locks > MAX_ACCOUNT_LOCKS:
        raise PackageError("too_many_accounts", f"{locks} accounts to lock > {MAX_ACCOUNT_LOCKS}")
    if tip is not None and tip.account not in message.account_keys:
        raise PackageError("tip_in_lookup_table", f"tip account {tip.account} must be a static key")


class MessageTemplate:
    """A compiled v0 message cut around its blockhash and its instructions' data, for re-signing.

    `MessageV0.try_compile` orders and indexes the accounts from the payer, the instructions'
    programs and account metas and the lookup tables; the blockhash and the data bytes it copies
    in as they are. So a message of instructions with the same programs, account metas and data
    lengths, compiled against the same tables, is this message with its own blockhash and data
    spliced in: no compile, no lookup-table search, and the limits `compile_message` checked still
    hold (the size and the account keys do not change). Single-signer messages only.
    """

    __slots__ = ("_lengths", "_parts")

    def __init__(self, message: MessageV0) -> None:
        if message.header.num_required_signatures != 1:
            raise ValueError("a message template is for messages with one signer")
        raw = to_bytes_versioned(message)
        keys, offset = _shortvec(raw, 4)  # after the version byte and the 3-byte header
        offset += 32 * keys
        cuts = [(offset, offset + 32)]  # the blockhash, then each instruction's data
        count, offset = _shortvec(raw, offset + 32)
        for _ in range(count):
            accounts, offset = _shortvec(raw, offset + 1)  # after the program id index
            length, offset = _shortvec(raw, offset + accounts)
            cuts.append((offset, offset + length))
            offset += length
        self._lengths = [end - start for start, end in cuts[1:]]
        ends = [0, *(end for _, end in cuts)]
        self._parts = [raw[end:start] for end, (start, _) in zip(ends, cuts, strict=False)]
        self._parts.append(raw[ends[-1] :])  # what surrounds the blockhash and each data, in order

    def signed(self, payer: TradingKey, data: Sequence[bytes], recent_blockhash: Hash) -> bytes:
        """The wire bytes of the signed transaction `build_transaction` would give for instructions
        of these `data` (one per instruction, of the template's lengths), without compiling."""
        if list(map(len, data)) != self._lengths:
            raise ValueError(f"instruction data of lengths {list(map(len, data))}, not {self._lengths}")
        pieces = [bytes(recent_blockhash), *data]
        message = b"".join(chain.from_iterable(zip(self._parts, pieces, strict=False))) + self._parts[-1]
        return b"\x01" + payer.sign_bytes(message) + message


def _shortvec(raw: bytes, offset: int) -> tuple[int, int]:
    """The compact-u16 length at `offset` and the offset after it."""
    value = 0
    for index in range(3):
        byte = raw[offset + index]
        value |= (byte & 0x7F) << (7 * index)
        if byte < 0x80:
            break
    return value, offset + index + 1
