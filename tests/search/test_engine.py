"""The incremental search: a changed pool → its cycles → the best one, sized on exact quotes."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from mevbot.dex.spl_token import TOKEN_PROGRAM_ID, encode_token_account
from mevbot.events import AccountUpdate, Opportunity
from mevbot.market.graph import edge_id
from mevbot.market.model import MarketModel
from mevbot.market.overlay import PendingOverlay
from mevbot.search.engine import CycleSearch, SearchSettings
from mevbot.search.route import quote_route
from tests.market.builders import MarketBuilder


def edges_of(opportunity: Opportunity) -> list[int]:
    return [edge_id(hop.pool_id, hop.a_to_b) for hop in opportunity.hops]


def brute_force_best(model: MarketModel, edges: list[int], upper: int) -> int:
    best = 0
    for amount in range(1, upper + 1):
        quotes = quote_route(model, edges, amount)
        if quotes is not None:
            best = max(best, quotes[-1].amount_out - amount)
    return best


def assert_consistent(opportunity: Opportunity, model: MarketModel) -> None:
    assert opportunity.profit == opportunity.amount_out - opportunity.amount_in > 0
    assert opportunity.token_path[0] == opportunity.token_path[-1]
    for first, second in itertools.pairwise(opportunity.hops):
        assert first.amount_out == second.amount_in and first.mint_out == second.mint_in
    quotes = quote_route(model, edges_of(opportunity), opportunity.amount_in)
    assert quotes is not None and quotes[-1].amount_out == opportunity.amount_out
    for hop in opportunity.hops:
        assert hop.state_version == model.hot.version[hop.pool_id]
        assert hop.state_slot == model.hot.slot[hop.pool_id]


@pytest.mark.parametrize(
    ("venues", "reserves"),
    [
        (("raydium_amm_v4", "raydium_cpmm"), ((4_000, 9_000), (8_000, 4_000))),
        (("raydium_cpmm", "whirlpool"), ((6_000, 5_000), (4_600, 6_000))),
        (("whirlpool", "raydium_amm_v4"), ((20_000, 30_000), (28_000, 20_000))),
    ],
)
def test_a_planted_cycle_is_sized_to_the_brute_force_optimum(venues, reserves) -> None:  # type: ignore[no-untyped-def]
    builder = MarketBuilder(seed=11)
    sol, token = builder.token("SOL", 9, native=True), builder.token("TOK")
    (first_venue, second_venue), ((sol_in, tok_out), (tok_in, sol_out)) = venues, reserves
    first = builder.pool(first_venue, sol, token, sol_in, tok_out)
    builder.pool(second_venue, token, sol, tok_in, sol_out)
    model = builder.model()
    search = CycleSearch(model, SearchSettings(base_mints=(sol.mint,)))

    opportunity = search.on_pools_changed([model.registry.pool_id(first)])

    assert opportunity is not None
    assert_consistent(opportunity, model)
    assert opportunity.mint == sol.mint and len(opportunity.hops) == 2
    assert opportunity.profit >= brute_force_best(model, edges_of(opportunity), sol_in) - 1


def test_a_three_hop_cycle_through_two_base_tokens_starts_at_the_first() -> None:
    builder = MarketBuilder(seed=12)
    sol, usdc, token = builder.token("SOL", 9, native=True), builder.token("USDC"), builder.token("TOK")
    builder.pool("raydium_amm_v4", sol, usdc, 10**12, 150 * 10**9)
    skewed = builder.pool("raydium_cpmm", token, usdc, 10**10, 2 * 10**10)  # TOK at 2 USDC here…
    builder.pool("whirlpool", token, sol, 10**10, 9 * 10**10)  # …and 1.35 USDC in SOL terms
    model = builder.model()
    search = CycleSearch(model, SearchSettings(base_mints=(sol.mint, usdc.mint)))

    opportunity = search.on_pools_changed([model.registry.pool_id(skewed)])

    assert opportunity is not None
    assert_consistent(opportunity, model)
    assert opportunity.token_path[0] == sol.mint
    assert set(opportunity.token_path) == {sol.mint, usdc.mint, token.mint}


def update_vault(model: MarketModel, vault: Pubkey, amount: int, slot: int) -> tuple[int, ...]:
    old = model.account_data(vault)
    data = encode_token_account(Pubkey.from_bytes(old[0:32]), Pubkey.from_bytes(old[32:64]), amount)
    return model.apply(AccountUpdate(vault, TOKEN_PROGRAM_ID, 2_039_280, data, slot))


@pytest.fixture
def fair_market() -> tuple[MarketModel, CycleSearch, int, int]:
    builder = MarketBuilder(seed=13)
    sol, token = builder.token("SOL", 9, native=True), builder.token("TOK")
    cheap = builder.pool("raydium_amm_v4", token, sol, 10**12, 10**11)
    other = builder.pool("raydium_cpmm", token, sol, 2 * 10**12, 2 * 10**11)
    model = builder.model()
    search = CycleSearch(model, SearchSettings(base_mints=(sol.mint,)))
    return model, search, model.registry.pool_id(cheap), model.registry.pool_id(other)


def test_updates_open_and_close_an_opportunity(fair_market) -> None:  # type: ignore[no-untyped-def]
    model, search, cheap, _ = fair_market
    assert search.on_pools_changed([cheap]) is None
    coin_vault = model.state(cheap).pool.coin_vault

    changed = update_vault(model, coin_vault, 11 * 10**11, slot=2)  # 10 % more TOK: TOK is cheap here
    opportunity = search.on_pools_changed(changed)
    assert opportunity is not None
    assert_consistent(opportunity, model)
    assert opportunity.hops[0].pool_id == cheap and opportunity.hops[0].state_slot == 2

    assert search.on_pools_changed(update_vault(model, coin_vault, 10**12, slot=3)) is None


def test_min_profit_filters_small_opportunities(fair_market) -> None:  # type: ignore[no-untyped-def]
    model, search, cheap, _ = fair_market
    update_vault(model, model.state(cheap).pool.coin_vault, 11 * 10**11, slot=2)
    found = search.on_pools_changed([cheap])
    assert found is not None
    strict = CycleSearch(
        model, SearchSettings(base_mints=search.settings.base_mints, min_profit=found.profit + 1)
    )
    assert strict.on_pools_changed([cheap]) is None
    capped = CycleSearch(
        model, SearchSettings(base_mints=search.settings.base_mints, max_amount_in=found.amount_in // 10)
    )
    small = capped.on_pools_changed([cheap])
    assert small is not None and small.amount_in <= found.amount_in // 10


def test_a_backrun_prices_the_market_after_a_pending_swap(fair_market) -> None:  # type: ignore[no-untyped-def]
    model, search, cheap, _ = fair_market
    versions = model.hot.version.copy()
    overlay = PendingOverlay(model)
    overlay.apply_swap(cheap, 10**11, a_to_b=True)  # someone dumps 10 % of the TOK reserve

    opportunity = search.backrun(overlay)

    assert opportunity is not None
    assert opportunity.profit > 0
    assert cheap in {hop.pool_id for hop in opportunity.hops}
    quotes = quote_route(overlay, edges_of(opportunity), opportunity.amount_in)
    assert quotes is not None and quotes[-1].amount_out == opportunity.amount_out
    assert search.on_pools_changed([cheap]) is None  # the base market is still fair
    assert (model.hot.version == versions).all()


def test_planted_universe_cycles_are_found_from_their_skewed_pool(small_universe) -> None:  # type: ignore[no-untyped-def]
    universe, model = small_universe
    search = CycleSearch(model, SearchSettings(base_mints=universe.base_mints))
    assert universe.planted
    for planted in universe.planted:
        skewed = model.registry.pool_id(planted.skewed_pool)
        opportunity = search.on_pools_changed([skewed])
        assert opportunity is not None, planted
        assert_consistent(opportunity, model)
        assert skewed in {hop.pool_id for hop in opportunity.hops}


_KERNELS_AFTER_BUILD = """
import json
from mevbot.market.model import MarketModel
from mevbot.sandbox.universe import generate_universe
from mevbot.search import kernels
from mevbot.search.engine import CycleSearch, SearchSettings

universe = generate_universe(7, 60)
model, _ = MarketModel.from_accounts(universe.accounts)
search = CycleSearch(model, SearchSettings(base_mints=universe.base_mints))
dispatchers = [k for k in vars(kernels).values() if hasattr(k, "signatures")]
built = {k: set(k.signatures) for k in dispatchers}
for pool in range(len(model.registry)):  # what the daemon's passes and idle steps call
    search.on_pools_changed([pool])
    search.rehearse(pool, None)
search.on_pools_changed(range(len(model.registry)))
while search.route_near_profit() is not None:
    pass
search.rounding_jitter(search.cycles.hops(0))
print(json.dumps({k.py_func.__name__: len(set(k.signatures) - built[k]) for k in dispatchers}))
"""


def test_a_built_search_has_its_kernels_compiled_before_its_first_pass() -> None:
    """A fresh process: once a `CycleSearch` is built, nothing it calls compiles (or loads from
    numba's cache) a kernel, so no decision or idle step waits for one."""
    done = subprocess.run([sys.executable, "-c", _KERNELS_AFTER_BUILD], capture_output=True, text=True,
                          timeout=600, cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    compiled_later = json.loads(done.stdout.strip().splitlines()[-1])
    assert not any(compiled_later.values()), compiled_later
