"""Orca Whirlpool `swap_v2`: build the instruction, and parse it back (for the sandbox bank).

Layout (program `instructions/v2/swap.rs`, `lib.rs`): Anchor discriminator ``global:swap_v2``, then
Borsh ``amount: u64, other_amount_threshold: u64, sqrt_price_limit: u128,
amount_specified_is_input: bool, a_to_b: bool, remaining_accounts_info: Option<RemainingAccountsInfo>``.
Accounts, in order: token_program_a, token_program_b, memo_program, token_authority (signer),
whirlpool (w), token_mint_a, token_mint_b, token_owner_account_a (w), token_vault_a (w),
token_owner_account_b (w), token_vault_b (w), tick_array_0..2 (w), oracle (w, PDA
``["oracle", whirlpool]``), then the remaining accounts the slices describe.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from mevbot.dex.base import U64_MAX, U128_MAX, anchor_discriminator
from mevbot.dex.spl_token import TOKEN_PROGRAM_ID
from mevbot.dex.swap_data import InstructionDataError
from mevbot.dex.whirlpool_accounts import (
    PROGRAM_ID,
    WhirlpoolPool,
    oracle_address,
    swap_tick_array_starts,
    tick_array_address,
)

SWAP_V2_DISCRIMINATOR = anchor_discriminator("global", "swap_v2")
MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
SWAP_V2_ACCOUNTS_LEN = 15
MAX_SUPPLEMENTAL_TICK_ARRAYS = 3
_FIXED_ARGS = struct.Struct("<QQ16s??")


class AccountsType(IntEnum):
    """What a slice of remaining accounts is for (the program's `AccountsType`, Borsh u8 variant)."""

    TRANSFER_HOOK_A = 0
    TRANSFER_HOOK_B = 1
    TRANSFER_HOOK_REWARD = 2
    TRANSFER_HOOK_INPUT = 3
    TRANSFER_HOOK_INTERMEDIATE = 4
    TRANSFER_HOOK_OUTPUT = 5
    SUPPLEMENTAL_TICK_ARRAYS = 6
    SUPPLEMENTAL_TICK_ARRAYS_ONE = 7
    SUPPLEMENTAL_TICK_ARRAYS_TWO = 8
    TRANSFER_HOOK_DEPOSIT_A = 9
    TRANSFER_HOOK_DEPOSIT_B = 10
    TRANSFER_HOOK_WITHDRAWAL_A = 11
    TRANSFER_HOOK_WITHDRAWAL_B = 12


@dataclass(frozen=True, slots=True)
class RemainingAccountsSlice:
    accounts_type: AccountsType
    length: int


@dataclass(frozen=True, slots=True)
class SwapV2Args:
    """The arguments of swap_v2. `sqrt_price_limit` 0 means no limit (MIN or MAX by direction).

    `other_amount_threshold` is the minimum output (exact-in) or the maximum input (exact-out).
    `remaining_accounts_info` None is Borsh ``None``; an empty tuple is ``Some(vec![])``.
    """

    amount: int
    other_amount_threshold: int
    sqrt_price_limit: int
    amount_specified_is_input: bool
    a_to_b: bool
    remaining_accounts_info: tuple[RemainingAccountsSlice, ...] | None = None


@dataclass(frozen=True, slots=True)
class SwapV2Accounts:
    """The accounts of a swap_v2 instruction by name; `remaining` holds what follows the oracle."""

    token_program_a: Pubkey
    token_program_b: Pubkey
    memo_program: Pubkey
    token_authority: Pubkey
    whirlpool: Pubkey
    token_mint_a: Pubkey
    token_mint_b: Pubkey
    token_owner_account_a: Pubkey
    token_vault_a: Pubkey
    token_owner_account_b: Pubkey
    token_vault_b: Pubkey
    tick_array_0: Pubkey
    tick_array_1: Pubkey
    tick_array_2: Pubkey
    oracle: Pubkey
    remaining: tuple[Pubkey, ...] = ()

    def remaining_by_type(self, args: SwapV2Args) -> dict[AccountsType, tuple[Pubkey, ...]]:
        """Split `remaining` along the slices of `args` (the program's `parse_remaining_accounts`)."""
        out: dict[AccountsType, tuple[Pubkey, ...]] = {}
        cursor = 0
        for piece in args.remaining_accounts_info or ():
            if piece.accounts_type in out:
                raise InstructionDataError(f"remaining accounts type {piece.accounts_type.name} given twice")
            if cursor + piece.length > len(self.remaining):
                raise InstructionDataError("remaining accounts fewer than the slices describe")
            out[piece.accounts_type] = self.remaining[cursor : cursor + piece.length]
            cursor += piece.length
        return out

    def tick_arrays(self, args: SwapV2Args) -> tuple[Pubkey, ...]:
        """All tick-array accounts the program considers: the three fixed ones, then the supplemental."""
        supplemental = self.remaining_by_type(args).get(AccountsType.SUPPLEMENTAL_TICK_ARRAYS, ())
        return (self.tick_array_0, self.tick_array_1, self.tick_array_2, *supplemental)


def encode_swap_v2_args(args: SwapV2Args) -> bytes:
    """Instruction data: discriminator and Borsh arguments."""
    for name, value, top in (
        ("amount", args.amount, U64_MAX),
        ("other_amount_threshold", args.other_amount_threshold, U64_MAX),
        ("sqrt_price_limit", args.sqrt_price_limit, U128_MAX),
    ):
        if not 0 <= value <= top:
            raise ValueError(f"{name} {value} out of range")
    data = SWAP_V2_DISCRIMINATOR + _FIXED_ARGS.pack(
        args.amount,
        args.other_amount_threshold,
        args.sqrt_price_limit.to_bytes(16, "little"),
        args.amount_specified_is_input,
        args.a_to_b,
    )
    if args.remaining_accounts_info is None:
        return data + b"\x00"
    slices = args.remaining_accounts_info
    body = b"".join(bytes([int(s.accounts_type), s.length]) for s in slices)
    return data + b"\x01" + struct.pack("<I", len(slices)) + body


def _read_bool(data: bytes, offset: int, name: str) -> bool:
    value = data[offset]
    if value > 1:
        raise InstructionDataError(f"swap_v2 {name}: byte {value} is not a bool")
    return value == 1


def parse_swap_v2_args(data: bytes) -> SwapV2Args:
    """Decode swap_v2 instruction data. Trailing bytes are ignored, as Anchor's Borsh reader does."""
    head = len(SWAP_V2_DISCRIMINATOR)
    if bytes(data[:head]) != SWAP_V2_DISCRIMINATOR:
        raise InstructionDataError(f"not swap_v2: discriminator {bytes(data[:head]).hex()}")
    end = head + _FIXED_ARGS.size
    if len(data) < end + 1:
        raise InstructionDataError(f"swap_v2 data is {len(data)} bytes, need at least {end + 1}")
    amount, threshold, limit = struct.unpack_from("<QQ16s", data, head)
    is_input = _read_bool(data, end - 2, "amount_specified_is_input")
    a_to_b = _read_bool(data, end - 1, "a_to_b")
    option = data[end]
    if option > 1:
        raise InstructionDataError(f"swap_v2 remaining_accounts_info: option tag {option}")
    info: tuple[RemainingAccountsSlice, ...] | None = None
    if option == 1:
        if len(data) < end + 5:
            raise InstructionDataError("swap_v2 remaining_accounts_info: vector length cut short")
        (count,) = struct.unpack_from("<I", data, end + 1)
        start = end + 5
        if len(data) < start + 2 * count:
            raise InstructionDataError(f"swap_v2 remaining_accounts_info: {count} slices cut short")
        slices = []
        for index in range(count):
            kind, length = data[start + 2 * index], data[start + 2 * index + 1]
            if kind >= len(AccountsType):
                raise InstructionDataError(f"swap_v2 remaining_accounts_info: unknown accounts type {kind}")
            slices.append(RemainingAccountsSlice(AccountsType(kind), length))
        info = tuple(slices)
    return SwapV2Args(amount, threshold, int.from_bytes(limit, "little"), is_input, a_to_b, info)


def swap_v2_tick_arrays(pool: WhirlpoolPool, a_to_b: bool) -> tuple[Pubkey, Pubkey, Pubkey]:
    """The three tick-array accounts for a swap from the pool's current tick.

    Near the tick bounds fewer than three arrays exist; the last one is repeated, which the
    program accepts (it deduplicates tick-array accounts by address).
    """
    starts = swap_tick_array_starts(pool.tick_current_index, pool.tick_spacing, a_to_b)
    addresses = [tick_array_address(pool.address, start) for start in starts]
    while len(addresses) < 3:
        addresses.append(addresses[-1])
    return addresses[0], addresses[1], addresses[2]


def build_swap_v2(
    pool: WhirlpoolPool,
    *,
    token_authority: Pubkey,
    token_owner_account_a: Pubkey,
    token_owner_account_b: Pubkey,
    amount: int,
    other_amount_threshold: int,
    a_to_b: bool,
    amount_specified_is_input: bool = True,
    sqrt_price_limit: int = 0,
    tick_arrays: Sequence[Pubkey] | None = None,
    supplemental_tick_arrays: Sequence[Pubkey] = (),
    token_program_a: Pubkey = TOKEN_PROGRAM_ID,
    token_program_b: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    """A swap_v2 instruction on `pool`. Tick arrays default to the three the current tick needs.

    `token_program_a/b` must own the mints (Token or Token-2022). Supplemental tick arrays (at most
    three) travel as remaining accounts; transfer-hook accounts are not supported.
    """
    fixed = tuple(tick_arrays) if tick_arrays is not None else swap_v2_tick_arrays(pool, a_to_b)
    if len(fixed) != 3:
        raise ValueError(f"swap_v2 takes exactly 3 tick_array accounts, got {len(fixed)}")
    if len(supplemental_tick_arrays) > MAX_SUPPLEMENTAL_TICK_ARRAYS:
        raise ValueError(f"at most {MAX_SUPPLEMENTAL_TICK_ARRAYS} supplemental tick arrays")
    info = None
    if supplemental_tick_arrays:
        info = (RemainingAccountsSlice(AccountsType.SUPPLEMENTAL_TICK_ARRAYS, len(supplemental_tick_arrays)),)
    args = SwapV2Args(
        amount, other_amount_threshold, sqrt_price_limit, amount_specified_is_input, a_to_b, info
    )
    metas = [
        AccountMeta(token_program_a, is_signer=False, is_writable=False),
        AccountMeta(token_program_b, is_signer=False, is_writable=False),
        AccountMeta(MEMO_PROGRAM_ID, is_signer=False, is_writable=False),
        AccountMeta(token_authority, is_signer=True, is_writable=False),
        AccountMeta(pool.address, is_signer=False, is_writable=True),
        AccountMeta(pool.mint_a, is_signer=False, is_writable=False),
        AccountMeta(pool.mint_b, is_signer=False, is_writable=False),
        AccountMeta(token_owner_account_a, is_signer=False, is_writable=True),
        AccountMeta(pool.vault_a, is_signer=False, is_writable=True),
        AccountMeta(token_owner_account_b, is_signer=False, is_writable=True),
        AccountMeta(pool.vault_b, is_signer=False, is_writable=True),
        *(AccountMeta(address, is_signer=False, is_writable=True) for address in fixed),
        AccountMeta(oracle_address(pool.address), is_signer=False, is_writable=True),
        *(AccountMeta(address, is_signer=False, is_writable=True) for address in supplemental_tick_arrays),
    ]
    return Instruction(PROGRAM_ID, encode_swap_v2_args(args), metas)


def parse_swap_v2_accounts(accounts: Sequence[Pubkey | AccountMeta]) -> SwapV2Accounts:
    """Name the accounts of a swap_v2 instruction (fewer than 15 is the program's AccountNotEnoughKeys)."""
    keys = [a.pubkey if isinstance(a, AccountMeta) else a for a in accounts]
    if len(keys) < SWAP_V2_ACCOUNTS_LEN:
        raise InstructionDataError(f"swap_v2 needs {SWAP_V2_ACCOUNTS_LEN} accounts, got {len(keys)}")
    return SwapV2Accounts(*keys[:SWAP_V2_ACCOUNTS_LEN], remaining=tuple(keys[SWAP_V2_ACCOUNTS_LEN:]))


def parse_swap_v2(instruction: Instruction) -> tuple[SwapV2Args, SwapV2Accounts]:
    """Both halves of a swap_v2 instruction, refusing one addressed to another program."""
    if instruction.program_id != PROGRAM_ID:
        raise InstructionDataError(f"instruction is for {instruction.program_id}, not the Whirlpool program")
    return parse_swap_v2_args(bytes(instruction.data)), parse_swap_v2_accounts(instruction.accounts)
