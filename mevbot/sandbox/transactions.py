"""What a wire transaction asks for: its bytes decoded, its accounts resolved, its budget and fee.

The bank runs some instructions in LiteSVM and others (venue swaps) in Python, so it cannot hand the
transaction to LiteSVM whole. Everything the runtime would check before executing a single
instruction — the encoding, the signatures, the account list (lookup tables included), the compute
budget and the fee — is therefore done here, once, the way the Solana runtime does it.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTable
from solders.compute_budget import ID as COMPUTE_BUDGET_PROGRAM_ID
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

LAMPORTS_PER_SIGNATURE = 5_000
MAX_COMPUTE_UNIT_LIMIT = 1_400_000
DEFAULT_INSTRUCTION_COMPUTE_UNIT_LIMIT = 200_000
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000
PACKET_DATA_SIZE = 1232

_SET_COMPUTE_UNIT_LIMIT = 2
_SET_COMPUTE_UNIT_PRICE = 3
_REQUEST_HEAP_FRAME = 1
_SET_LOADED_ACCOUNTS_DATA_SIZE_LIMIT = 4


class TransactionRejected(ValueError):
    """The runtime refuses the transaction before any instruction runs (nothing lands, no fee).

    `code` is the Solana `TransactionError` name (``SignatureFailure``, ``BlockhashNotFound``…).
    """

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


class EncodingError(ValueError):
    """Bytes or text that are not a serialized transaction in the named encoding."""


_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: value for value, char in enumerate(_B58_ALPHABET)}


def b58decode(text: str) -> bytes:
    """Bitcoin-alphabet base58, as Solana uses it for keys, signatures and legacy wire transactions."""
    number = 0
    for char in text:
        value = _B58_INDEX.get(char)
        if value is None:
            raise ValueError(f"character {char!r} is not base58")
        number = number * 58 + value
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * leading_zeros + body


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    while number:
        number, remainder = divmod(number, 58)
        chars.append(_B58_ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(chars))


def decode_wire_transaction(text: str, encoding: str) -> VersionedTransaction:
    """A transaction from its base64 or base58 wire text, as RPC nodes and block engines accept it."""
    if not isinstance(text, str):
        raise EncodingError("transaction must be a string")
    try:
        if encoding == "base64":
            raw = base64.b64decode(text, validate=True)
        elif encoding == "base58":
            raw = b58decode(text)
        else:
            raise EncodingError(f"unsupported encoding {encoding!r}; use base64 or base58")
    except (binascii.Error, ValueError) as exc:
        raise EncodingError(f"invalid {encoding}: {exc}") from None
    if len(raw) > PACKET_DATA_SIZE:
        raise EncodingError(f"transaction is {len(raw)} bytes, the limit is {PACKET_DATA_SIZE}")
    try:
        return VersionedTransaction.from_bytes(raw)
    except Exception as exc:  # solders raises its own error types for every malformed byte string
        raise EncodingError(f"failed to deserialize transaction: {exc}") from None


@dataclass(frozen=True, slots=True)
class AccountRef:
    """One account of a transaction with the privileges the message grants it."""

    pubkey: Pubkey
    is_signer: bool
    is_writable: bool


@dataclass(frozen=True, slots=True)
class ResolvedInstruction:
    """A top-level instruction with its accounts spelled out, and its index in the message."""

    index: int
    program_id: Pubkey
    accounts: tuple[AccountRef, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class ComputeBudget:
    """What the ComputeBudget instructions asked for, defaults applied as the runtime does."""

    unit_limit: int
    unit_price_micro_lamports: int

    def priority_fee(self) -> int:
        """Lamports for the requested units at the requested price, rounded up like the runtime."""
        product = self.unit_limit * self.unit_price_micro_lamports
        return -(-product // MICRO_LAMPORTS_PER_LAMPORT)


@dataclass(frozen=True, slots=True)
class ResolvedTransaction:
    """A transaction as the runtime sees it before running it."""

    transaction: VersionedTransaction
    accounts: tuple[AccountRef, ...]
    instructions: tuple[ResolvedInstruction, ...]
    budget: ComputeBudget

    @property
    def signature(self) -> Signature:
        """The transaction id: its first signature."""
        return self.transaction.signatures[0]

    @property
    def fee_payer(self) -> Pubkey:
        return self.accounts[0].pubkey

    @property
    def fee(self) -> int:
        return LAMPORTS_PER_SIGNATURE * len(self.transaction.signatures) + self.budget.priority_fee()

    def writable_accounts(self) -> frozenset[Pubkey]:
        return frozenset(ref.pubkey for ref in self.accounts if ref.is_writable)

    def all_accounts(self) -> frozenset[Pubkey]:
        return frozenset(ref.pubkey for ref in self.accounts)


AccountDataReader = Callable[[Pubkey], bytes | None]


def verify_signatures(transaction: VersionedTransaction) -> None:
    """Every required signature present and valid, as the runtime's sigverify stage demands."""
    message = transaction.message
    required = message.header.num_required_signatures
    if len(transaction.signatures) != required:
        raise TransactionRejected(
            "SanitizeFailure", f"{len(transaction.signatures)} signatures for {required} required signers"
        )
    try:
        transaction.sanitize()
    except Exception as exc:
        raise TransactionRejected("SanitizeFailure", str(exc)) from None
    if not all(transaction.verify_with_results()):
        raise TransactionRejected("SignatureFailure", "a signature does not verify against its signer")


def resolve(transaction: VersionedTransaction, read_account: AccountDataReader) -> ResolvedTransaction:
    """Spell out the accounts (static keys, then lookup-table writables, then readonlys) and budget."""
    message = transaction.message
    keys = list(message.account_keys)
    header = message.header
    signed = header.num_required_signatures
    writable_signed = signed - header.num_readonly_signed_accounts
    writable_unsigned_end = len(keys) - header.num_readonly_unsigned_accounts
    writable = [i < writable_signed or signed <= i < writable_unsigned_end for i in range(len(keys))]
    signer = [i < signed for i in range(len(keys))]
    if isinstance(message, MessageV0):
        loaded_writable, loaded_readonly = _load_lookup_tables(message, read_account)
        keys += loaded_writable + loaded_readonly
        writable += [True] * len(loaded_writable) + [False] * len(loaded_readonly)
        signer += [False] * (len(loaded_writable) + len(loaded_readonly))
    if len(set(keys)) != len(keys):
        raise TransactionRejected("AccountLoadedTwice", "an account appears twice in the message")
    program_indexes = {ix.program_id_index for ix in message.instructions}
    for index in program_indexes:  # the runtime demotes a program id to read-only
        if index >= len(keys):
            raise TransactionRejected("SanitizeFailure", f"program index {index} is out of range")
        writable[index] = False
    accounts = tuple(AccountRef(key, signer[i], writable[i]) for i, key in enumerate(keys))
    instructions = []
    for position, compiled in enumerate(message.instructions):
        indexes = bytes(compiled.accounts)
        if any(i >= len(accounts) for i in indexes):
            raise TransactionRejected(
                "SanitizeFailure", f"instruction {position} names an account out of range"
            )
        instructions.append(
            ResolvedInstruction(
                index=position,
                program_id=keys[compiled.program_id_index],
                accounts=tuple(accounts[i] for i in indexes),
                data=bytes(compiled.data),
            )
        )
    budget = parse_compute_budget(instructions)
    return ResolvedTransaction(transaction, accounts, tuple(instructions), budget)


def _load_lookup_tables(
    message: MessageV0, read_account: AccountDataReader
) -> tuple[list[Pubkey], list[Pubkey]]:
    writable: list[Pubkey] = []
    readonly: list[Pubkey] = []
    for lookup in message.address_table_lookups:
        data = read_account(lookup.account_key)
        if data is None:
            raise TransactionRejected("AddressLookupTableNotFound", str(lookup.account_key))
        try:
            addresses = list(AddressLookupTable.deserialize(data).addresses)
        except Exception:
            raise TransactionRejected("InvalidAddressLookupTableData", str(lookup.account_key)) from None
        for indexes, out in ((lookup.writable_indexes, writable), (lookup.readonly_indexes, readonly)):
            for i in bytes(indexes):
                if i >= len(addresses):
                    raise TransactionRejected("InvalidAddressLookupTableIndex", f"{lookup.account_key}[{i}]")
                out.append(addresses[i])
    return writable, readonly


def parse_compute_budget(instructions: Sequence[ResolvedInstruction]) -> ComputeBudget:
    """The limit and price the ComputeBudget instructions set; a repeated or malformed one fails the
    transaction (`DuplicateInstruction` / `InstructionError`), as in the runtime."""
    limit: int | None = None
    price = 0
    seen: set[int] = set()
    other_instructions = 0
    for ix in instructions:
        if ix.program_id != COMPUTE_BUDGET_PROGRAM_ID:
            other_instructions += 1
            continue
        tag = ix.data[:1]
        if not tag:
            raise TransactionRejected(
                "InvalidInstructionData", f"instruction {ix.index}: empty compute budget data"
            )
        kind = tag[0]
        if kind in seen:
            raise TransactionRejected("DuplicateInstruction", f"instruction {ix.index}")
        seen.add(kind)
        try:
            if kind == _SET_COMPUTE_UNIT_LIMIT:
                (limit,) = struct.unpack_from("<I", ix.data, 1)
            elif kind == _SET_COMPUTE_UNIT_PRICE:
                (price,) = struct.unpack_from("<Q", ix.data, 1)
            elif kind in (_REQUEST_HEAP_FRAME, _SET_LOADED_ACCOUNTS_DATA_SIZE_LIMIT):
                struct.unpack_from("<I", ix.data, 1)
            else:
                raise TransactionRejected(
                    "InvalidInstructionData", f"instruction {ix.index}: compute budget tag {kind}"
                )
        except struct.error:
            raise TransactionRejected(
                "InvalidInstructionData", f"instruction {ix.index}: truncated"
            ) from None
    if limit is None:
        limit = DEFAULT_INSTRUCTION_COMPUTE_UNIT_LIMIT * other_instructions
    return ComputeBudget(unit_limit=min(limit, MAX_COMPUTE_UNIT_LIMIT), unit_price_micro_lamports=price)
