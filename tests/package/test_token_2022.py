"""Pools with Token-2022 mints: the market learns each mint's program, refuses mints whose
extensions change transfers, and swaps name the right programs and the owner's ATAs derived with
them, so they execute in the sandbox bank (and the SPL Token guesses they replace do not)."""

from __future__ import annotations

import pytest
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from mevbot.dex import raydium_amm_v4, raydium_cpmm, spl_token
from mevbot.dex.base import UnsupportedPool
from mevbot.dex.spl_token import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from mevbot.market.model import MarketModel
from mevbot.package.route import associated_token_account, owner_swap
from mevbot.package.transaction import PackageError
from mevbot.sandbox.bank import Bank
from mevbot.sandbox.programs import venue_programs
from mevbot.sandbox.universe_pools import Token
from mevbot.sandbox.wallets import fund_wallet
from tests.market.builders import MarketBuilder

METADATA_POINTER = (18, bytes(64))
TRANSFER_FEE_CONFIG = (1, bytes(108))


def _market(fee_mint: bool = False) -> tuple[MarketBuilder, dict[str, Pubkey], dict[str, Token]]:
    builder = MarketBuilder(seed=5)
    tokens = {
        "sol": builder.token("SOL", 9, native=True),
        "usdc": builder.token("USDC"),
        "t22": builder.token("T22", 6, program=TOKEN_2022_PROGRAM_ID, extensions=(METADATA_POINTER,)),
        "bonk": builder.token("BONK", 5),
    }
    if fee_mint:
        tokens["fee"] = builder.token("FEE", 6, program=TOKEN_2022_PROGRAM_ID, extensions=(TRANSFER_FEE_CONFIG,))
    pools = {
        "whirl": builder.pool("whirlpool", tokens["t22"], tokens["usdc"], 8_000_000_000, 6_000_000_000, tier=1),
        "cpmm": builder.pool("raydium_cpmm", tokens["sol"], tokens["t22"], 10_000_000_000, 1_500_000_000),
        "amm": builder.pool("raydium_amm_v4", tokens["bonk"], tokens["sol"], 5_000_000_000, 40_000_000_000),
    }
    if fee_mint:
        pools["fee"] = builder.pool("whirlpool", tokens["fee"], tokens["usdc"], 8_000_000_000, 6_000_000_000)
    return builder, pools, tokens


def test_the_market_knows_each_mints_program_and_refuses_mints_that_change_transfers() -> None:
    builder, pools, tokens = _market(fee_mint=True)
    model, rejected = MarketModel.from_accounts(builder.accounts)
    registry = model.registry
    assert registry.token_program(tokens["t22"].mint) == TOKEN_2022_PROGRAM_ID
    assert registry.token_program(tokens["usdc"].mint) == TOKEN_PROGRAM_ID
    assert registry.pool_id(pools["whirl"]) is not None and registry.pool_id(pools["fee"]) is None
    assert [r.pubkey for r in rejected] == [pools["fee"]]
    assert str(tokens["fee"].mint) in rejected[0].reason and "extension 1" in rejected[0].reason
    assert not model.missing_accounts()

    # Without the mint accounts: a CPMM pool records its mints' programs, AMM v4 allows SPL Token
    # only, and a Whirlpool says nothing, so its mints are what is left to fetch.
    mints = {token.mint for token in tokens.values()}
    partial, _ = MarketModel.from_accounts([a for a in builder.accounts if a.pubkey not in mints])
    assert set(partial.missing_accounts()) == {tokens["usdc"].mint, tokens["fee"].mint}
    assert partial.registry.token_program(tokens["t22"].mint) == TOKEN_2022_PROGRAM_ID  # from the CPMM pool
    assert partial.registry.token_program(tokens["bonk"].mint) == TOKEN_PROGRAM_ID  # AMM v4


def test_a_swap_names_each_mints_program_and_the_atas_derived_with_it() -> None:
    builder, pools, tokens = _market()
    model = builder.model()
    owner = Pubkey.new_unique()
    t22, usdc = tokens["t22"].mint, tokens["usdc"].mint
    whirl = model.registry.pool(model.registry.pool_id(pools["whirl"]))
    ix = owner_swap(model.registry, whirl, owner, True, 1_000, 1)
    keys = [meta.pubkey for meta in ix.accounts]
    programs = {t22: TOKEN_2022_PROGRAM_ID, usdc: TOKEN_PROGRAM_ID}
    mint_a, mint_b = whirl.pool.mint_a, whirl.pool.mint_b
    assert keys[:2] == [programs[mint_a], programs[mint_b]]  # token_program_a, token_program_b
    assert keys[7] == associated_token_account(owner, mint_a, programs[mint_a])  # token_owner_account_a
    assert keys[9] == associated_token_account(owner, mint_b, programs[mint_b])  # token_owner_account_b
    assert associated_token_account(owner, t22, TOKEN_2022_PROGRAM_ID) != associated_token_account(owner, t22)

    cpmm = model.registry.pool(model.registry.pool_id(pools["cpmm"]))
    with pytest.raises(UnsupportedPool):  # programs other than the pool's own
        raydium_cpmm.VENUE.swap_instruction(
            cpmm.pool, owner=owner, source=owner, destination=owner, a_to_b=True, amount_in=1, minimum_out=0
        )
    amm = model.registry.pool(model.registry.pool_id(pools["amm"]))
    with pytest.raises(UnsupportedPool):
        raydium_amm_v4.VENUE.swap_instruction(
            amm.pool, owner=owner, source=owner, destination=owner, a_to_b=True, amount_in=1, minimum_out=0,
            token_programs=(TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID),
        )  # fmt: skip

    unknown, _ = MarketModel.from_accounts([a for a in builder.accounts if a.pubkey != usdc])
    with pytest.raises(PackageError) as refused:
        owner_swap(unknown.registry, unknown.registry.pool(unknown.registry.pool_id(pools["whirl"])), owner, True, 1, 0)
    assert refused.value.reason == "unknown_token_program"


def _execute(bank: Bank, payer: Keypair, instruction: Instruction):  # type: ignore[no-untyped-def]
    message = MessageV0.try_compile(payer.pubkey(), [instruction], [], bank.latest_blockhash)
    return bank.process_transaction(VersionedTransaction(message, [payer]))


@pytest.mark.parametrize("pool_name", ["whirl", "cpmm"])
def test_a_swap_through_a_token_2022_mint_executes_and_moves_the_quoted_amounts(pool_name: str) -> None:
    builder, pools, tokens = _market()
    model = builder.model()
    bank = Bank(seed=1, native_programs=venue_programs())
    for entry in builder.accounts:
        bank.set_account(entry.pubkey, Account(entry.lamports, entry.data, entry.owner))
    trader = Keypair()
    owner = trader.pubkey()
    fund_wallet(bank, owner, 10**12, [(token.mint, 10**12) for token in tokens.values()])
    info = model.registry.pool(model.registry.pool_id(pools[pool_name]))
    a_to_b = info.pool.mint_a != tokens["t22"].mint  # buy the Token-2022 side
    quote = info.venue.quote_exact_in(model.state(info.id), 10**7, a_to_b)
    t22_account = associated_token_account(owner, tokens["t22"].mint, TOKEN_2022_PROGRAM_ID)
    assert bank.get_account(t22_account).owner == TOKEN_2022_PROGRAM_ID

    result = _execute(bank, trader, owner_swap(model.registry, info, owner, a_to_b, 10**7, quote.amount_out))
    assert result.err is None, result.logs
    held = spl_token.token_amount(bytes(bank.get_account(t22_account).data))
    assert held == 10**12 + quote.amount_out

    if pool_name == "whirl":  # SPL Token guessed for the Token-2022 mint: the program refuses it
        guessed = info.venue.swap_instruction(
            info.pool, owner=owner, source=associated_token_account(owner, info.pool.mint_b),
            destination=associated_token_account(owner, info.pool.mint_a), a_to_b=False, amount_in=10**6,
            minimum_out=0,
        )  # fmt: skip
        assert _execute(bank, trader, guessed).error_name == "ConstraintAddress"
