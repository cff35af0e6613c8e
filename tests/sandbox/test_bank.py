"""The bank on its own: admission, atomicity, fees, program errors, compute budgets; and the clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.account import Account
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.dex import raydium_amm_v4, spl_token
from mevbot.sandbox.bank import MAX_PROCESSING_AGE, Bank
from mevbot.sandbox.clock import NUM_CONSECUTIVE_LEADER_SLOTS, LeaderSchedule
from mevbot.sandbox.genesis import deepest_vaults, fund_trader, load_universe
from mevbot.sandbox.pools import PoolBook, swap_instruction
from mevbot.sandbox.programs import venue_programs
from mevbot.sandbox.rate_limit import TokenBuckets
from mevbot.sandbox.transactions import TransactionRejected
from mevbot.sandbox.universe import generate_universe
from mevbot.sandbox.user_flow import FlowShape, Trader, UserFlow
from mevbot.sandbox.wallets import seeded_keypair


@pytest.fixture(scope="module")
def universe():
    return generate_universe(11, 16)


def _bank(universe) -> tuple[Bank, Trader, PoolBook]:
    bank = Bank(seed=1, native_programs=venue_programs())
    load_universe(bank, universe)
    trader = fund_trader(bank, Keypair(), 10**12, deepest_vaults(universe), 2)
    return bank, trader, PoolBook({spec.address: spec.venue for spec in universe.pools}, bank.get_account)


def _tx(bank: Bank, payer: Keypair, instructions: list[Instruction]) -> VersionedTransaction:
    return VersionedTransaction(
        MessageV0.try_compile(payer.pubkey(), instructions, [], bank.latest_blockhash), [payer]
    )


def _amm_swap(universe, book: PoolBook, trader: Trader, amount_in: int, minimum_out: int = 0) -> Instruction:
    spec = next(spec for spec in universe.pools if spec.venue == "raydium_amm_v4")
    pool, _ = book.load(spec.address)
    owner = trader.keypair.pubkey()
    return swap_instruction(
        "raydium_amm_v4", pool, owner, trader.token_accounts, pool.mint_a, amount_in, minimum_out
    )


def _amount(bank: Bank, address: Pubkey) -> int:
    return spl_token.token_amount(bytes(bank.get_account(address).data))


def test_a_blockhash_expires_after_150_slots_and_a_signature_lands_once(universe) -> None:
    bank, trader, _ = _bank(universe)
    payer = trader.keypair
    first = _tx(bank, payer, [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(),
                                                      lamports=10**6))])  # fmt: skip
    assert bank.process_transaction(first).ok
    with pytest.raises(TransactionRejected, match="AlreadyProcessed"):
        bank.process_transaction(first)
    old = bank.latest_blockhash
    for slot in range(1, MAX_PROCESSING_AGE + 1):
        bank.advance_slot(slot)
    assert bank.is_blockhash_valid(old)
    bank.advance_slot(MAX_PROCESSING_AGE + 1)
    assert not bank.is_blockhash_valid(old)
    stale = VersionedTransaction(
        MessageV0.try_compile(payer.pubkey(), [set_compute_unit_price(1)], [], old), [payer]
    )
    with pytest.raises(TransactionRejected, match="BlockhashNotFound"):
        bank.process_transaction(stale)


def test_a_failed_transaction_undoes_its_instructions_and_pays_its_fee(universe) -> None:
    bank, trader, book = _bank(universe)
    payer = trader.keypair
    receiver = Pubkey.new_unique()
    lamports = bank.get_account(payer.pubkey()).lamports
    swap = _amm_swap(universe, book, trader, 10**6, minimum_out=2**63)
    budget = [set_compute_unit_limit(200_000), set_compute_unit_price(10_000)]
    paid = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=receiver, lamports=10**6))

    result = bank.process_transaction(_tx(bank, payer, [*budget, paid, swap]))

    assert result.err == {"InstructionError": [3, {"Custom": 30}]} and result.error_name == "ExceededSlippage"
    assert result.fee == 5_000 + 2_000  # base fee + 200k CU at 10k micro-lamports
    assert bank.get_account(receiver) is None
    assert bank.get_account(payer.pubkey()).lamports == lamports - result.fee
    assert bank.transaction(result.signature) == result


def test_a_bundle_is_all_or_nothing(universe) -> None:
    bank, trader, book = _bank(universe)
    payer = trader.keypair
    source = trader.token_accounts[next(s.mint_a for s in universe.pools if s.venue == "raydium_amm_v4")]
    before = _amount(bank, source)
    lamports = bank.get_account(payer.pubkey()).lamports
    good = _tx(bank, payer, [_amm_swap(universe, book, trader, 10**6)])
    bad = _tx(bank, payer, [_amm_swap(universe, book, trader, 10**6, minimum_out=2**63)])

    outcome = bank.process_bundle([good, bad], commit=True)

    assert not outcome.ok and outcome.failed_index == 1 and outcome.error_name == "ExceededSlippage"
    assert _amount(bank, source) == before
    assert bank.get_account(payer.pubkey()).lamports == lamports
    assert bank.transaction(good.signatures[0]) is None
    assert bank.process_bundle([good], commit=True).ok
    assert _amount(bank, source) == before - 10**6


def test_the_swap_programs_fail_like_the_real_ones(universe) -> None:
    bank, trader, book = _bank(universe)
    payer = trader.keypair
    swap = _amm_swap(universe, book, trader, 10**6)
    metas = list(swap.accounts)

    wrong_vault = metas.copy()
    wrong_vault[raydium_amm_v4.V2_COIN_VAULT] = AccountMeta(Pubkey.new_unique(), False, True)
    unsigned = metas.copy()
    unsigned[raydium_amm_v4.V2_USER_OWNER] = AccountMeta(Keypair().pubkey(), False, False)
    poor = Keypair()
    poor_trader = fund_trader(bank, poor, 10**9, {m: 1 for m in trader.token_accounts}, 1)
    poor_swap = _amm_swap(universe, book, poor_trader, 10**6)
    cases = [
        (payer, Instruction(swap.program_id, swap.data, wrong_vault), {"Custom": 4}, "InvalidCoinVault"),
        (payer, Instruction(swap.program_id, swap.data, unsigned), {"Custom": 21}, "InvalidSignAccount"),
        (
            payer,
            Instruction(swap.program_id, b"\x63" + swap.data[1:], metas),
            {"Custom": 23},
            "InvalidInstruction",
        ),
        (poor, poor_swap, {"Custom": 40}, "InsufficientFunds"),
    ]
    for signer, instruction, error, name in cases:
        result = bank.process_transaction(_tx(bank, signer, [instruction]))
        assert result.err == {"InstructionError": [0, error]} and result.error_name == name, name

    starved = bank.process_transaction(_tx(bank, payer, [set_compute_unit_limit(10_000), swap]))
    assert starved.err == {"InstructionError": [1, "ComputationalBudgetExceeded"]}
    with pytest.raises(TransactionRejected, match="DuplicateInstruction"):
        bank.process_transaction(
            _tx(bank, payer, [set_compute_unit_limit(1), set_compute_unit_limit(2), swap])
        )



def test_a_cpmm_swap_on_a_broken_config_fails_as_anchor_fails_it(universe) -> None:
    """The pool's AmmConfig is an Anchor account: one that does not decode fails the swap with
    AccountDiscriminatorMismatch, one another program owns with AccountOwnedByWrongProgram."""
    bank, trader, book = _bank(universe)
    pool = next(
        pool for pool in (book.load(spec.address)[0] for spec in universe.pools if spec.venue == "raydium_cpmm")
        if {pool.mint_a, pool.mint_b} <= trader.token_accounts.keys()
    )  # fmt: skip

    def swap(amount: int) -> VersionedTransaction:
        owner = trader.keypair.pubkey()
        ix = swap_instruction("raydium_cpmm", pool, owner, trader.token_accounts, pool.mint_a, amount, 0)
        return _tx(bank, trader.keypair, [ix])

    config = bank.get_account(pool.amm_config)
    for amount, data, owner, error, name in [
        (10**6, b"\x00" * len(config.data), config.owner, 3002, "AccountDiscriminatorMismatch"),
        (10**6 + 1, bytes(config.data), Pubkey.new_unique(), 3007, "AccountOwnedByWrongProgram"),
    ]:
        bank.set_account(pool.amm_config, Account(config.lamports, data, owner, False))
        result = bank.process_transaction(swap(amount))
        assert result.err == {"InstructionError": [0, {"Custom": error}]} and result.error_name == name
    bank.set_account(pool.amm_config, config)
    assert bank.process_transaction(swap(10**6 + 2)).err is None

def test_the_user_flow_replays_from_its_seed(universe) -> None:
    def run() -> dict[Pubkey, bytes]:
        bank, _, book = _bank(universe)
        users = [
            fund_trader(bank, seeded_keypair(4, f"user-{i}"), 10**12, deepest_vaults(universe), 50)
            for i in range(3)
        ]
        flow = UserFlow(bank, book, users, FlowShape(swaps_per_slot=3.0), seed=4)
        for slot in range(1, 21):
            bank.advance_slot(slot)
            flow.on_slot(slot)
        assert flow.landed > 20
        return {spec.address: bytes(bank.get_account(spec.address).data) for spec in universe.pools}

    assert run() == run()


def test_a_configured_binary_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="program binary"):
        Bank(program_binaries={raydium_amm_v4.PROGRAM_ID: tmp_path / "missing.so"})


def test_the_leader_schedule_gives_the_jito_share_in_four_slot_windows() -> None:
    schedule = LeaderSchedule(seed=3, jito_slot_share=0.75)
    windows = [schedule.is_jito_slot(w * NUM_CONSECUTIVE_LEADER_SLOTS) for w in range(4_000)]
    assert 0.72 < sum(windows) / len(windows) < 0.78
    assert all(schedule.is_jito_slot(s) == schedule.is_jito_slot(s - s % 4) for s in range(400))
    assert LeaderSchedule(seed=3, jito_slot_share=0.75).is_jito_slot(1234) == schedule.is_jito_slot(1234)
    assert not any(LeaderSchedule(seed=3, jito_slot_share=0.0).is_jito_slot(s) for s in range(100))


def test_token_buckets_refill_per_client() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, clock=lambda: now[0])
    assert [buckets.allow("a") for _ in range(3)] == [True, True, False]
    assert buckets.allow("b")
    now[0] += 0.5
    assert buckets.allow("a") and not buckets.allow("a")
