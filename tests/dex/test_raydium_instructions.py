"""Raydium swap instructions: bytes and account metas as the programs define them, and build → parse.

AMM v4: raydium-amm `instruction.rs` (`AmmInstruction::unpack` tags 16/17, the account lists of
`swap_base_in_v2` / `swap_base_out_v2`). CPMM: raydium-cp-swap `lib.rs` (argument order) and the
`Swap` accounts context in `instructions/swap_base_input.rs`. The authorities are the well-known
mainnet addresses.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4 as amm
from mevbot.dex import raydium_cpmm as cpmm
from mevbot.dex.base import U64_MAX
from mevbot.dex.spl_token import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from mevbot.dex.swap_data import InstructionDataError, SwapArgs, SwapKind

KEYS = [Pubkey.new_unique() for _ in range(12)]
USER, SOURCE, DESTINATION = KEYS[:3]
AMM_AUTHORITY = Pubkey.from_string("5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1")
CPMM_AUTHORITY = Pubkey.from_string("GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL")

AMM_POOL = amm.AmmV4Pool(
    address=KEYS[3], mint_a=KEYS[4], mint_b=KEYS[5], coin_vault=KEYS[6], pc_vault=KEYS[7]
)
CPMM_POOL = cpmm.CpmmPool(
    address=KEYS[3], amm_config=KEYS[8], mint_a=KEYS[4], mint_b=KEYS[5], token_0_vault=KEYS[6],
    token_1_vault=KEYS[7], token_1_program=TOKEN_2022_PROGRAM_ID, observation_key=KEYS[9],
)  # fmt: skip


def u64le(value: int) -> bytes:
    return value.to_bytes(8, "little")


def ro(key: Pubkey, signer: bool = False) -> AccountMeta:
    return AccountMeta(key, is_signer=signer, is_writable=False)


def rw(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=True)


def test_authorities_are_the_mainnet_pdas() -> None:
    assert amm.AUTHORITY == amm.authority_address(AMM_POOL.nonce) == AMM_AUTHORITY
    assert cpmm.AUTHORITY == CPMM_AUTHORITY
    assert Pubkey.find_program_address([b"amm authority"], amm.PROGRAM_ID)[0] == AMM_AUTHORITY
    assert Pubkey.find_program_address([b"vault_and_lp_mint_auth_seed"], cpmm.PROGRAM_ID)[0] == CPMM_AUTHORITY


AMM_V2_ACCOUNTS = [
    ro(TOKEN_PROGRAM_ID),
    rw(AMM_POOL.address),
    ro(AMM_AUTHORITY),
    rw(AMM_POOL.coin_vault),
    rw(AMM_POOL.pc_vault),
    rw(SOURCE),
    rw(DESTINATION),
    ro(USER, signer=True),
]


def test_amm_swap_base_in_v2_layout() -> None:
    ix = amm.swap_base_in_v2(AMM_POOL, SOURCE, DESTINATION, USER, amount_in=1_000, minimum_amount_out=990)
    assert ix.program_id == Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
    assert bytes(ix.data) == bytes([16]) + u64le(1_000) + u64le(990)
    assert list(ix.accounts) == AMM_V2_ACCOUNTS


def test_amm_swap_base_out_v2_layout() -> None:
    ix = amm.swap_base_out_v2(AMM_POOL, SOURCE, DESTINATION, USER, max_amount_in=2_000, amount_out=1_500)
    assert bytes(ix.data) == bytes([17]) + u64le(2_000) + u64le(1_500)
    assert list(ix.accounts) == AMM_V2_ACCOUNTS


def _cpmm_accounts(a_to_b: bool) -> list[AccountMeta]:
    pool = CPMM_POOL
    ends = [
        (pool.token_0_vault, pool.token_0_program, pool.mint_a),
        (pool.token_1_vault, pool.token_1_program, pool.mint_b),
    ]
    (in_vault, in_program, in_mint), (out_vault, out_program, out_mint) = ends if a_to_b else ends[::-1]
    return [
        ro(USER, signer=True),
        ro(CPMM_AUTHORITY),
        ro(pool.amm_config),
        rw(pool.address),
        rw(SOURCE),
        rw(DESTINATION),
        rw(in_vault),
        rw(out_vault),
        ro(in_program),
        ro(out_program),
        ro(in_mint),
        ro(out_mint),
        rw(pool.observation_key),
    ]


@pytest.mark.parametrize("a_to_b", [True, False])
def test_cpmm_swap_base_input_layout(a_to_b: bool) -> None:
    ix = cpmm.swap_base_input_ix(
        CPMM_POOL, USER, SOURCE, DESTINATION, a_to_b, amount_in=5, minimum_amount_out=4
    )
    assert ix.program_id == Pubkey.from_string("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C")
    assert bytes(ix.data) == bytes([143, 190, 90, 218, 196, 30, 51, 222]) + u64le(5) + u64le(4)
    assert list(ix.accounts) == _cpmm_accounts(a_to_b)


@pytest.mark.parametrize("a_to_b", [True, False])
def test_cpmm_swap_base_output_layout(a_to_b: bool) -> None:
    ix = cpmm.swap_base_output_ix(CPMM_POOL, USER, SOURCE, DESTINATION, a_to_b, max_amount_in=9, amount_out=7)
    assert bytes(ix.data) == bytes([55, 217, 98, 86, 163, 74, 180, 173]) + u64le(9) + u64le(7)
    assert list(ix.accounts) == _cpmm_accounts(a_to_b)
    assert cpmm.SWAP_INPUT_VAULT == 6 and amm.V2_USER_SOURCE == 5


u64s = st.integers(0, U64_MAX)


@settings(max_examples=100, deadline=None)
@given(u64s, u64s, st.booleans())
def test_build_parse_round_trip(amount: int, threshold: int, a_to_b: bool) -> None:
    built = [
        (amm.parse_swap, amm.swap_base_in_v2(AMM_POOL, SOURCE, DESTINATION, USER, amount, threshold), SwapKind.EXACT_IN),
        (amm.parse_swap, amm.swap_base_out_v2(AMM_POOL, SOURCE, DESTINATION, USER, threshold, amount), SwapKind.EXACT_OUT),
        (cpmm.parse_swap, cpmm.swap_base_input_ix(CPMM_POOL, USER, SOURCE, DESTINATION, a_to_b, amount, threshold), SwapKind.EXACT_IN),
        (cpmm.parse_swap, cpmm.swap_base_output_ix(CPMM_POOL, USER, SOURCE, DESTINATION, a_to_b, threshold, amount), SwapKind.EXACT_OUT),
    ]  # fmt: skip
    for parse, ix, kind in built:
        assert parse(bytes(ix.data)) == SwapArgs(kind, amount, threshold)


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (amm.parse_swap, bytes([9]) + bytes(16)),  # legacy SwapBaseIn: other account list, not built here
        (amm.parse_swap, bytes([16]) + bytes(15)),
        (amm.parse_swap, b""),
        (cpmm.parse_swap, bytes(24)),
        (cpmm.parse_swap, cpmm.SWAP_BASE_INPUT_DISCRIMINATOR + bytes(8)),
        (cpmm.parse_swap, amm.swap_base_in_v2(AMM_POOL, SOURCE, DESTINATION, USER, 1, 1).data),
    ],
)
def test_parse_refuses_other_data(parse: object, data: bytes) -> None:
    with pytest.raises(InstructionDataError):
        parse(bytes(data))  # type: ignore[operator]


def test_build_refuses_amounts_beyond_u64() -> None:
    with pytest.raises(ValueError, match="u64"):
        amm.swap_base_in_v2(AMM_POOL, SOURCE, DESTINATION, USER, U64_MAX + 1, 0)
    with pytest.raises(ValueError, match="u64"):
        cpmm.swap_base_output_ix(CPMM_POOL, USER, SOURCE, DESTINATION, True, -1, 5)
