"""One route → one signed v0 transaction, within the limits a leader enforces.

Order inside the transaction: compute budget, setup (idempotent ATAs, WSOL wrap), the hops, teardown
(WSOL unwrap), and last the tip transfer, so the tip is paid only if every hop succeeded. The tip account
is always a static key: a tip loaded through a lookup table is not seen by the block engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0
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
    token_mints: tuple[Pubkey, ...] = ()  # mints whose ATAs the route writes (created idempotently)
    wrap_lamports: int = 0  # SOL to wrap into the WSOL ATA before the first hop (0: none)
    unwrap_sol: bool = False  # close the WSOL ATA after the last hop


def setup_instructions(owner: Pubkey, plan: RoutePlan) -> list[Instruction]:
    """Idempotent ATA creation for every mint the route touches, then the WSOL wrap if asked."""
    out = [create_idempotent_associated_token_account(owner, owner, mint) for mint in plan.token_mints]
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


def build_transaction(
    payer: TradingKey,
    instructions: Sequence[Instruction],
    recent_blockhash: Hash,
    *,
    lookup_tables: Sequence[AddressLookupTableAccount] = (),
    tip: Tip | None = None,
) -> VersionedTransaction:
    """Compile, check against the leader's limits, and sign. Raises PackageError before anything is sent."""
    try:
        message = MessageV0.try_compile(payer.pubkey, list(instructions), list(lookup_tables), recent_blockhash)
    except Exception as exc:  # solders raises its own CompileError types
        raise PackageError("compile_failed", str(exc)) from None
    check_message(message, tip)
    tx = payer.sign_message(message)
    size = len(bytes(tx))
    if size > PACKET_DATA_SIZE:
        raise PackageError("too_large", f"{size} bytes > {PACKET_DATA_SIZE}; add a lookup table or fewer hops")
    return tx


def check_message(message: MessageV0, tip: Tip | None) -> None:
    locks = len(message.account_keys) + sum(
        len(lookup.writable_indexes) + len(lookup.readonly_indexes) for lookup in message.address_table_lookups
    )
    if locks > MAX_ACCOUNT_LOCKS:
        raise PackageError("too_many_accounts", f"{locks} accounts to lock > {MAX_ACCOUNT_LOCKS}")
    if tip is not None and tip.account not in message.account_keys:
        raise PackageError("tip_in_lookup_table", f"tip account {tip.account} must be a static key")
