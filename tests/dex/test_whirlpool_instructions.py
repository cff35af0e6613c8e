"""swap_v2: bytes and account metas against the program's published layout, and parse round trips."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from mevbot.dex.spl_token import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from mevbot.dex.swap_data import InstructionDataError
from mevbot.dex.whirlpool import (
    MEMO_PROGRAM_ID,
    PROGRAM_ID,
    AccountsType,
    RemainingAccountsSlice,
    SwapV2Args,
    WhirlpoolPool,
    build_swap_v2,
    encode_swap_v2_args,
    oracle_address,
    parse_swap_v2,
    parse_swap_v2_args,
    swap_v2_tick_arrays,
    tick_array_address,
)
from tests.dex.cases_whirlpool import make_pool

# The IDL's discriminator of swap_v2: sha256("global:swap_v2")[:8].
SWAP_V2_IDL_DISCRIMINATOR = bytes([43, 4, 237, 11, 26, 201, 30, 98])
# Orca's SOL/USDC (tick spacing 64) address, as the program's sparse-swap tests use it.
SOL_USDC = Pubkey.from_string("HJPjoWUrhoZzkNfRpHuieeFk9WcZWjwy6PBjZ81ngndJ")


def _keys(count: int) -> list[Pubkey]:
    return [Pubkey.from_bytes(bytes([i + 1]) * 32) for i in range(count)]


# The trader's token authority and its token accounts for a and b.
TRADER = AUTHORITY, OWNER_A, OWNER_B = tuple(_keys(7)[4:])
# One key in all three trader roles, for instructions a test only needs to exist.
LONE_KEY_TRADER = (_keys(1)[0],) * 3


def _swap_ix(pool: WhirlpoolPool, trader: tuple[Pubkey, ...] = TRADER, **swap: Any) -> Instruction:
    """`build_swap_v2` on `pool` for `trader` (authority, account a, account b): the tests vary the swap."""
    authority, owner_a, owner_b = trader
    return build_swap_v2(
        pool, token_authority=authority, token_owner_account_a=owner_a, token_owner_account_b=owner_b, **swap
    )


def _unit_swap_ix(pool: WhirlpoolPool, **changes: Any) -> Instruction:
    """A 1-unit a→b swap with no minimum, by `LONE_KEY_TRADER`."""
    return _swap_ix(pool, LONE_KEY_TRADER, amount=1, other_amount_threshold=0, a_to_b=True, **changes)


def _pool(tick: int = 100) -> WhirlpoolPool:
    mint_a, vault_a, mint_b, vault_b = _keys(4)
    return dataclasses.replace(
        make_pool(
            tick_spacing=64,
            fee_rate=400,
            protocol_fee_rate=1300,
            liquidity=10**12,
            sqrt_price=2**64,
            tick_current_index=tick,
            address=SOL_USDC,
        ),
        mint_a=mint_a,
        vault_a=vault_a,
        mint_b=mint_b,
        vault_b=vault_b,
    )


def test_tick_array_addresses_match_the_program_tests() -> None:
    # sparse_swap.rs `test_derive_tick_array_pda`, SOL/USDC with tick spacing 64.
    assert tick_array_address(SOL_USDC, -11264) == Pubkey.from_string(
        "81T5kNuPRkyVzhwbe2RpKR7wmQpGJ7RBkGPdTqyfa5vq"
    )
    assert tick_array_address(SOL_USDC, -5632) == Pubkey.from_string(
        "9K1HWrGKZKfjTnKfF621BmEQdai4FcUz9tsoF41jwz5B"
    )
    assert tick_array_address(SOL_USDC, 0) == Pubkey.from_string(
        "JCpxMSDRDPBMqjoX7LkhMwro2y6r85Q8E6p5zNdBZyWa"
    )
    assert tick_array_address(SOL_USDC, 5632) == Pubkey.from_string(
        "BW2Mr823NUQN7vnVpv5E6yCTnqEXQ3ZnqjZyiywXPcUp"
    )
    assert tick_array_address(SOL_USDC, 11264) == Pubkey.from_string(
        "2ezvsnoXdukw5dAAZ4EkW67bmUo8PHRPX8ZDqf76BKtV"
    )
    assert (
        oracle_address(SOL_USDC) == Pubkey.find_program_address([b"oracle", bytes(SOL_USDC)], PROGRAM_ID)[0]
    )


def test_swap_v2_bytes_and_metas() -> None:
    pool = _pool()
    ix = _swap_ix(
        pool, amount=1_000_000, other_amount_threshold=990, a_to_b=True, token_program_b=TOKEN_2022_PROGRAM_ID
    )
    assert ix.program_id == PROGRAM_ID
    expected = (
        SWAP_V2_IDL_DISCRIMINATOR
        + struct.pack("<QQ", 1_000_000, 990)
        + (0).to_bytes(16, "little")  # no price limit
        + b"\x01\x01"  # amount_specified_is_input, a_to_b
        + b"\x00"  # remaining_accounts_info: None
    )
    assert bytes(ix.data) == expected
    arrays = [tick_array_address(SOL_USDC, start) for start in (0, -5632, -11264)]
    assert list(swap_v2_tick_arrays(pool, a_to_b=True)) == arrays
    w, r = True, False
    assert list(ix.accounts) == [
        AccountMeta(TOKEN_PROGRAM_ID, False, r),
        AccountMeta(TOKEN_2022_PROGRAM_ID, False, r),
        AccountMeta(MEMO_PROGRAM_ID, False, r),
        AccountMeta(AUTHORITY, True, r),
        AccountMeta(SOL_USDC, False, w),
        AccountMeta(pool.mint_a, False, r),
        AccountMeta(pool.mint_b, False, r),
        AccountMeta(OWNER_A, False, w),
        AccountMeta(pool.vault_a, False, w),
        AccountMeta(OWNER_B, False, w),
        AccountMeta(pool.vault_b, False, w),
        *(AccountMeta(a, False, w) for a in arrays),
        AccountMeta(oracle_address(SOL_USDC), False, w),
    ]


def test_supplemental_tick_arrays_travel_as_remaining_accounts() -> None:
    pool = _pool(tick=5631)  # last slot of the array at 0: b→a starts from the next array
    extra = [tick_array_address(SOL_USDC, start) for start in (0, -5632)]
    ix = _swap_ix(
        pool,
        amount=5,
        other_amount_threshold=9,
        a_to_b=False,
        amount_specified_is_input=False,
        sqrt_price_limit=2**70,
        supplemental_tick_arrays=extra,
    )
    assert bytes(ix.data)[-9:] == b"\x00\x00" + b"\x01" + struct.pack("<I", 1) + bytes([6, 2])
    args, accounts = parse_swap_v2(ix)
    assert args == SwapV2Args(
        5, 9, 2**70, False, False, (RemainingAccountsSlice(AccountsType.SUPPLEMENTAL_TICK_ARRAYS, 2),)
    )
    assert [accounts.tick_array_0, accounts.tick_array_1, accounts.tick_array_2] == [
        tick_array_address(SOL_USDC, start) for start in (5632, 11264, 16896)
    ]
    assert accounts.tick_arrays(args)[3:] == tuple(extra)
    assert accounts.oracle == oracle_address(SOL_USDC)
    with pytest.raises(ValueError):
        _unit_swap_ix(pool, supplemental_tick_arrays=_keys(4))


def test_near_the_bound_the_last_tick_array_repeats() -> None:
    pool = dataclasses.replace(_pool(), tick_spacing=1, fee_tier_index_seed=1, tick_current_index=-443608)
    a0, a1, a2 = swap_v2_tick_arrays(pool, a_to_b=True)
    assert (a0, a1) == (tick_array_address(SOL_USDC, -443608), tick_array_address(SOL_USDC, -443696))
    assert a2 == a1


_slices = st.lists(
    st.builds(RemainingAccountsSlice, st.sampled_from(list(AccountsType)), st.integers(0, 255)), max_size=4
)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    amount=st.integers(0, 2**64 - 1),
    threshold=st.integers(0, 2**64 - 1),
    limit=st.integers(0, 2**128 - 1),
    flags=st.tuples(st.booleans(), st.booleans()),
    info=st.one_of(st.none(), _slices.map(tuple)),
)
def test_args_round_trip(
    amount: int,
    threshold: int,
    limit: int,
    flags: tuple[bool, bool],
    info: tuple[RemainingAccountsSlice, ...] | None,
) -> None:
    args = SwapV2Args(amount, threshold, limit, flags[0], flags[1], info)
    assert parse_swap_v2_args(encode_swap_v2_args(args)) == args


def test_parser_refuses_what_anchor_would_not_deserialize() -> None:
    good = encode_swap_v2_args(SwapV2Args(1, 2, 3, True, False, None))
    with pytest.raises(InstructionDataError):
        parse_swap_v2_args(b"\x00" * 8 + good[8:])  # another instruction
    with pytest.raises(InstructionDataError):
        parse_swap_v2_args(good[:-1])  # the Option tag is missing
    with pytest.raises(InstructionDataError):
        parse_swap_v2_args(good[:40] + b"\x02" + good[41:])  # a bool that is 2
    with pytest.raises(InstructionDataError):
        parse_swap_v2_args(good[:-1] + b"\x01" + struct.pack("<I", 1) + bytes([13, 1]))  # unknown type
    with pytest.raises(InstructionDataError):
        parse_swap_v2_args(good[:-1] + b"\x01" + struct.pack("<I", 2) + bytes([6, 1]))  # slices cut short
    with pytest.raises(InstructionDataError):
        parse_swap_v2(Instruction(Pubkey.default(), good, []))
    ix = _unit_swap_ix(_pool())
    with pytest.raises(InstructionDataError):
        parse_swap_v2(Instruction(PROGRAM_ID, bytes(ix.data), list(ix.accounts)[:14]))
