"""The LiteSVM preflight on a fork built from account snapshots: what it reports, what it refuses."""

from __future__ import annotations

import dataclasses
import time

import pytest
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.market.model import MarketModel
from mevbot.package.keys import TradingKey
from mevbot.package.route import route_accounts, route_bundle, route_plan
from mevbot.package.transaction import Tip, build_transaction, route_instructions
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.universe import generate_universe
from mevbot.simulate.preflight import ForkPreflight, Preflight
from mevbot.simulate.replay import Rejection
from tests.execution_flow import cycle_opportunity

UNIVERSE = generate_universe(7, 24)
MODEL, _ = MarketModel.from_accounts(UNIVERSE.accounts)
TIP = Tip(TIP_ACCOUNTS[0], 10_000)
OWNER_LAMPORTS = 10**10


@pytest.fixture(scope="module")
def fork() -> ForkPreflight:
    """One fork for the module, as a call site keeps one: runs never change it."""
    return ForkPreflight(UNIVERSE.accounts)


@pytest.fixture
def key(fork: ForkPreflight) -> TradingKey:
    key = TradingKey.generate()
    fork.fund(key.pubkey, OWNER_LAMPORTS, {token.mint: 10**15 for token in UNIVERSE.tokens})
    return key


def _bundle_tx(key: TradingKey, index: int = 0, units: int | None = None, bump: int = 0, **options: object):
    opportunity = cycle_opportunity(MODEL, UNIVERSE.planted[index], 10**13)
    if bump:  # ask the last hop for more than its quote gives
        last = dataclasses.replace(opportunity.hops[-1], amount_out=opportunity.hops[-1].amount_out + bump)
        opportunity = dataclasses.replace(opportunity, hops=(*opportunity.hops[:-1], last))
    plan = route_plan(opportunity, MODEL.registry, key.pubkey)
    tip = options.pop("tip", TIP)
    return opportunity, route_bundle(
        key, plan, Hash.default(), tip=tip, units_consumed=units, **options
    ).transactions[0]  # type: ignore[arg-type]


def test_preflight_reports_units_fee_tip_and_the_owners_exact_balance_changes(
    fork: ForkPreflight, key: TradingKey
) -> None:
    opportunity, tx = _bundle_tx(key)
    report = fork.run(tx)
    assert isinstance(report, Preflight), report
    assert report.units_consumed > 0 and report.fee == 5_000 and report.tip == TIP.lamports
    assert report.lamports_delta == -(report.fee + report.tip)
    assert report.token_deltas == {
        NATIVE_MINT: opportunity.profit,
        **{m: 0 for m in opportunity.token_path[1:-1]},
    }
    again = fork.run(tx)
    assert again == report  # the fork is unchanged by a run


def test_the_limit_from_the_preflight_runs_and_a_too_small_one_is_compute_exceeded(
    fork: ForkPreflight, key: TradingKey
) -> None:
    _, draft = _bundle_tx(key)
    first = fork.run(draft)
    assert isinstance(first, Preflight)
    _, sized = _bundle_tx(key, units=first.units_consumed)
    assert isinstance(fork.run(sized), Preflight)
    _, starved = _bundle_tx(key, units=first.units_consumed // 2, floor=0, margin=1.0)
    rejection = fork.run(starved)
    assert isinstance(rejection, Rejection) and rejection.code == "compute_exceeded", rejection


def test_a_minimum_out_above_the_quote_is_refused_as_slippage(fork: ForkPreflight, key: TradingKey) -> None:
    _, tx = _bundle_tx(key, bump=1)
    rejection = fork.run(tx)
    assert isinstance(rejection, Rejection) and rejection.code == "slippage", rejection
    assert "ExceededSlippage" in rejection.detail or "AmountOutBelowMinimum" in rejection.detail


def test_a_lookup_table_the_fork_does_not_hold_is_refused(fork: ForkPreflight, key: TradingKey) -> None:
    opportunity = cycle_opportunity(MODEL, UNIVERSE.planted[1], 10**13)
    addresses = route_accounts(route_plan(opportunity, MODEL.registry, key.pubkey))
    _, tx = _bundle_tx(
        key, 1, lookup_tables=[AddressLookupTableAccount(Pubkey.new_unique(), list(addresses))]
    )
    assert _code(fork.run(tx)) == "lookup_table"


def test_runtime_refusals_have_stable_codes(fork: ForkPreflight, key: TradingKey) -> None:
    _, tx = _bundle_tx(key)
    forged = VersionedTransaction.populate(tx.message, [Signature.new_unique()])
    assert _code(fork.run(forged)) == "signature_failure"
    broke = TradingKey.generate()  # no account at all
    _, unfunded = _bundle_tx(broke)
    assert _code(fork.run(unfunded)) == "fee_payer_missing"
    fork.fund(broke.pubkey, 4_000, {})
    assert _code(fork.run(unfunded)) == "insufficient_fee"
    fork.fund(broke.pubkey, OWNER_LAMPORTS, {})  # SOL but no token accounts
    assert _code(fork.run(unfunded)) == "instruction_failed"


def test_tips_are_checked(fork: ForkPreflight, key: TradingKey) -> None:
    _, small = _bundle_tx(key, tip=Tip(TIP_ACCOUNTS[1], 999))
    assert _code(fork.run(small)) == "tip_below_minimum"
    _, elsewhere = _bundle_tx(key, tip=Tip(Pubkey.new_unique(), 50_000))
    assert _code(fork.run(elsewhere)) == "no_tip"
    assert isinstance(fork.run(elsewhere, require_tip=False), Preflight)
    untipped = build_transaction(key, route_instructions(key.pubkey, route_plan(
        cycle_opportunity(MODEL, UNIVERSE.planted[0], 10**13), MODEL.registry, key.pubkey), compute_unit_limit=400_000),
        Hash.default())  # fmt: skip
    assert _code(fork.run(untipped)) == "no_tip"


def test_a_run_is_fast_on_a_reused_fork(fork: ForkPreflight, key: TradingKey) -> None:
    """Not a timing assertion (speed lives in benchmarks): a sanity bound that catches a fork
    rebuilt per run (~40 ms) rather than reused."""
    _, tx = _bundle_tx(key)
    fork.run(tx)
    started = time.perf_counter()
    for _ in range(20):
        fork.run(tx)
    assert (time.perf_counter() - started) / 20 < 0.02


def test_missing_lists_what_the_fork_lacks(fork: ForkPreflight) -> None:
    stranger = TradingKey.generate()
    _, tx = _bundle_tx(stranger)
    missing = fork.missing(tx)
    assert stranger.pubkey in missing
    assert all(pool not in missing for pool in UNIVERSE.planted[0].pools)


def _code(result: Preflight | Rejection) -> str:
    assert isinstance(result, Rejection), result
    return result.code
