"""The pending-state overlay: exact hypothetical swaps that never touch the base model."""

from __future__ import annotations

import numpy as np
import pytest
from solders.pubkey import Pubkey

from mevbot.dex import raydium_cpmm, whirlpool
from mevbot.dex.base import QuoteError
from mevbot.dex.spl_token import TOKEN_PROGRAM_ID, encode_token_account
from mevbot.events import AccountUpdate
from mevbot.market.model import MarketModel
from mevbot.market.overlay import PendingOverlay
from tests.market.builders import MarketBuilder


@pytest.fixture
def market() -> tuple[MarketModel, dict[str, int]]:
    builder = MarketBuilder(seed=5)
    sol, usdc = builder.token("SOL", 9, native=True), builder.token("USDC")
    addresses = {
        "raydium_amm_v4": builder.pool("raydium_amm_v4", sol, usdc, 10**12, 150 * 10**9),
        "raydium_cpmm": builder.pool("raydium_cpmm", sol, usdc, 10**12, 150 * 10**9),
        "whirlpool": builder.pool("whirlpool", sol, usdc, 10**12, 150 * 10**9, tier=0),
    }
    model = builder.model()
    return model, {venue: model.registry.pool_id(a) for venue, a in addresses.items()}


def snapshot(model: MarketModel) -> tuple:  # type: ignore[type-arg]
    hot = model.hot
    arrays = tuple(
        getattr(hot, name)[: hot.size].copy() for name in ("reserve_a", "reserve_b", "fee", "version", "slot")
    )
    return tuple(model.state(i) for i in range(len(model.registry))), arrays


@pytest.mark.parametrize("venue", ["raydium_amm_v4", "raydium_cpmm", "whirlpool"])
def test_a_swap_on_the_overlay_leaves_the_base_untouched(market, venue: str) -> None:  # type: ignore[no-untyped-def]
    model, ids = market
    pool = ids[venue]
    before_states, before_arrays = snapshot(model)
    expected = model.venue(pool).quote_exact_in(model.state(pool), 5 * 10**9, True)

    overlay = PendingOverlay(model)
    quote = overlay.apply_swap(pool, 5 * 10**9, a_to_b=True)

    assert quote == expected
    after_states, after_arrays = snapshot(model)
    assert after_states == before_states
    assert all(np.array_equal(a, b) for a, b in zip(before_arrays, after_arrays, strict=True))
    assert overlay.state(pool) != model.state(pool)
    assert overlay.changed_pools == (pool,)
    other = next(i for i in ids.values() if i != pool)
    assert overlay.state(other) is model.state(other)
    # The swap sold token a into the pool, so the next one gets less b for the same a.
    second = overlay.apply_swap(pool, 5 * 10**9, a_to_b=True)
    assert second.amount_out < quote.amount_out
    pools, reserve_a, reserve_b = overlay.patches()
    assert pools.tolist() == [pool]
    assert reserve_a[0] > model.hot.reserve_a[pool] and reserve_b[0] < model.hot.reserve_b[pool]


def token_update(model: MarketModel, vault: Pubkey, amount: int) -> AccountUpdate:
    old = model.account_data(vault)
    data = encode_token_account(Pubkey.from_bytes(old[0:32]), Pubkey.from_bytes(old[32:64]), amount)
    return AccountUpdate(vault, TOKEN_PROGRAM_ID, 2_039_280, data, 7)


@pytest.mark.parametrize("a_to_b", [True, False])
def test_overlay_bookkeeping_matches_reloading_the_accounts_a_swap_leaves(market, a_to_b: bool) -> None:  # type: ignore[no-untyped-def]
    """After a CPMM swap, the vaults and the pool's owed fees change; reloading those bytes must
    give exactly the state the overlay computed."""
    model, ids = market
    pool = ids["raydium_cpmm"]
    overlay = PendingOverlay(model)
    quote = overlay.apply_swap(pool, 3 * 10**9 if a_to_b else 4 * 10**8, a_to_b)
    predicted = overlay.state(pool)

    state = model.state(pool)
    vault_in, vault_out = (state.pool.token_0_vault, state.pool.token_1_vault)
    amount_in, amount_out = (state.vault_0_amount, state.vault_1_amount)
    if not a_to_b:
        vault_in, vault_out, amount_in, amount_out = vault_out, vault_in, amount_out, amount_in
    model.apply(token_update(model, vault_in, amount_in + quote.amount_in))
    model.apply(token_update(model, vault_out, amount_out - quote.amount_out))
    pool_bytes = raydium_cpmm.encode_pool_state(predicted.pool)
    model.apply(AccountUpdate(state.pool.address, raydium_cpmm.PROGRAM_ID, 1, pool_bytes, 7))
    assert model.state(pool) == predicted


def test_whirlpool_overlay_moves_the_price_the_way_the_swap_went(market) -> None:  # type: ignore[no-untyped-def]
    model, ids = market
    pool = ids["whirlpool"]
    overlay = PendingOverlay(model)
    overlay.apply_swap(pool, 20 * 10**9, a_to_b=True)
    before, after = model.state(pool).pool, overlay.state(pool).pool
    assert after.sqrt_price < before.sqrt_price
    assert after.tick_current_index <= before.tick_current_index
    assert after.protocol_fee_owed_a > before.protocol_fee_owed_a
    arrays = {a: model.account_data(a) for a in model.registry.dependencies(pool)}
    reloaded = whirlpool.VENUE.load(after, arrays)
    assert reloaded.pool == after  # the overlay state is one the venue can load from bytes


def test_a_pool_without_state_refuses_a_swap() -> None:
    builder = MarketBuilder(seed=6)
    address = builder.pool("raydium_amm_v4", builder.token("A"), builder.token("B"), 10**9, 10**9)
    vault = builder.accounts[-1].pubkey  # the pc vault: left out of the snapshot
    model, _ = MarketModel.from_accounts([a for a in builder.accounts if a.pubkey != vault])
    pool = model.registry.pool_id(address)
    assert model.state(pool) is None
    with pytest.raises(QuoteError):
        PendingOverlay(model).apply_swap(pool, 10, True)
