"""The market model: loading a snapshot and applying account updates (fresh, stale, malformed)."""

from __future__ import annotations

import dataclasses

import pytest
from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, whirlpool
from mevbot.dex.spl_token import TOKEN_PROGRAM_ID, encode_token_account
from mevbot.events import Account, AccountUpdate
from mevbot.market.hot_state import CONCENTRATED, CONSTANT_PRODUCT
from mevbot.market.model import MarketModel
from tests.market.builders import MarketBuilder


@pytest.fixture
def market() -> tuple[MarketBuilder, dict[str, Pubkey]]:
    builder = MarketBuilder(seed=3)
    sol, usdc, bonk = builder.token("SOL", 9, native=True), builder.token("USDC"), builder.token("BONK", 5)
    pools = {
        "amm": builder.pool("raydium_amm_v4", bonk, sol, 5_000_000_000, 40_000_000_000),
        "cpmm": builder.pool("raydium_cpmm", sol, usdc, 10_000_000_000, 1_500_000_000),
        "whirl": builder.pool("whirlpool", bonk, usdc, 8_000_000_000, 6_000_000_000, tier=1),
    }
    return builder, pools


def vault_update(model: MarketModel, vault: Pubkey, amount: int, slot: int) -> AccountUpdate:
    old = model.account_data(vault)  # the bytes the model holds: same mint and owner, new amount
    data = encode_token_account(Pubkey.from_bytes(old[0:32]), Pubkey.from_bytes(old[32:64]), amount)
    return AccountUpdate(vault, TOKEN_PROGRAM_ID, 2_039_280, data, slot)


def test_a_snapshot_loads_every_pool_with_its_float_view(market) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    model = builder.model()
    assert len(model.registry) == 3
    amm = model.registry.pool_id(pools["amm"])
    state = model.state(amm)
    assert model.hot.kind[amm] == CONSTANT_PRODUCT
    assert (model.hot.reserve_a[amm], model.hot.reserve_b[amm]) == (state.reserve_coin, state.reserve_pc)
    assert model.hot.fee[amm] == pytest.approx(0.0025)

    whirl = model.registry.pool_id(pools["whirl"])
    pool = model.state(whirl).pool
    assert model.hot.kind[whirl] == CONCENTRATED
    assert model.hot.sqrt_price[whirl] == pytest.approx(pool.sqrt_price / 2**64)
    assert model.hot.reserve_a[whirl] * model.hot.reserve_b[whirl] == pytest.approx(
        float(pool.liquidity) ** 2
    )
    assert model.hot.fee[whirl] == pytest.approx(pool.fee_rate / 1e6)


def test_a_vault_update_reloads_only_its_pool(market) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    model = builder.model()
    amm = model.registry.pool_id(pools["amm"])
    vault = model.state(amm).pool.coin_vault
    versions = model.hot.version.copy()

    assert model.apply(vault_update(model, vault, 6_000_000_000, slot=5)) == (amm,)
    assert model.state(amm).reserve_coin == 6_000_000_000
    assert model.hot.reserve_a[amm] == 6_000_000_000
    assert model.hot.version[amm] == versions[amm] + 1
    assert model.hot.slot[amm] == 5
    others = [i for i in range(3) if i != amm]
    assert (model.hot.version[others] == versions[others]).all()
    assert (model.stats.applied, model.stats.stale, model.stats.malformed) == (1, 0, 0)


def test_an_update_older_than_the_applied_slot_is_ignored_and_counted(market) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    model = builder.model()
    amm = model.registry.pool_id(pools["amm"])
    vault = model.state(amm).pool.coin_vault
    model.apply(vault_update(model, vault, 6_000_000_000, slot=10))
    version = model.hot.version[amm]

    assert model.apply(vault_update(model, vault, 1_000, slot=9)) == ()
    assert model.stats.stale == 1
    assert model.state(amm).reserve_coin == 6_000_000_000
    assert model.hot.version[amm] == version
    assert model.apply(vault_update(model, vault, 7_000_000_000, slot=10)) == (
        amm,
    )  # same slot: a later write


@pytest.mark.parametrize("what", ["truncated vault", "garbage pool", "wrong discriminator", "wrong owner"])
def test_a_malformed_account_is_counted_and_the_old_state_kept(market, what: str) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    model = builder.model()
    amm = model.registry.pool_id(pools["amm"])
    whirl = model.registry.pool_id(pools["whirl"])
    before = (model.state(amm), model.state(whirl), model.hot.version.copy())
    if what == "truncated vault":
        update = AccountUpdate(model.state(amm).pool.coin_vault, TOKEN_PROGRAM_ID, 1, b"\x01" * 40, 20)
    elif what == "garbage pool":
        data = bytearray(model.account_data(pools["amm"]))
        data[0:8] = (99).to_bytes(8, "little")  # no AmmStatus
        update = AccountUpdate(pools["amm"], raydium_amm_v4.PROGRAM_ID, 1, bytes(data), 20)
    elif what == "wrong discriminator":
        update = AccountUpdate(pools["whirl"], whirlpool.PROGRAM_ID, 1, b"\x00" * whirlpool.WHIRLPOOL_LEN, 20)
    else:
        update = AccountUpdate(pools["whirl"], TOKEN_PROGRAM_ID, 1, model.account_data(pools["whirl"]), 20)

    assert model.apply(update) == ()
    assert model.stats.malformed == 1
    assert (model.state(amm), model.state(whirl)) == before[:2]
    assert (model.hot.version == before[2]).all()


def test_accounts_no_pool_reads_are_counted_as_untracked(market) -> None:  # type: ignore[no-untyped-def]
    model = market[0].model()
    stranger = Pubkey.from_bytes(b"\x07" * 32)
    assert model.apply(AccountUpdate(stranger, TOKEN_PROGRAM_ID, 1, b"", 1)) == ()
    assert model.stats.untracked == 1


def test_a_new_pool_is_registered_and_becomes_quotable_when_its_vaults_arrive(market) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    held_back = {pools["amm"]}
    full = MarketModel.from_accounts(builder.accounts)[0]
    vaults = full.registry.dependencies(full.registry.pool_id(pools["amm"]))
    model, _ = MarketModel.from_accounts([a for a in builder.accounts if a.pubkey not in held_back])
    assert len(model.registry) == 2
    topology = model.topology_version

    pool_account = next(a for a in builder.accounts if a.pubkey == pools["amm"])
    (new_id,) = model.apply(pool_account.at(30))
    assert model.topology_version == topology + 1
    assert model.state(new_id) is None  # its vaults were not kept: no pool read them
    assert set(model.missing_accounts()) == set(vaults)
    for vault in vaults:
        model.apply(next(a for a in builder.accounts if a.pubkey == vault).at(31))
    assert model.state(new_id) == full.state(full.registry.pool_id(pools["amm"]))


def test_a_whirlpool_whose_price_moves_reads_other_tick_arrays(market) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    model = builder.model()
    whirl = model.registry.pool_id(pools["whirl"])
    pool = model.state(whirl).pool
    before = set(model.registry.dependencies(whirl))
    assert set(model.registry.take_newly_tracked()) == set(model.registry.tracked_accounts())
    assert model.registry.take_newly_tracked() == []
    far = pool.tick_current_index + 20 * 88 * pool.tick_spacing
    from mevbot.dex.clmm_math import sqrt_price_from_tick

    moved = dataclasses.replace(pool, tick_current_index=far, sqrt_price=sqrt_price_from_tick(far))
    assert model.apply(
        AccountUpdate(pools["whirl"], whirlpool.PROGRAM_ID, 1, whirlpool.encode_whirlpool(moved), 40)
    ) == (whirl,)
    after = set(model.registry.dependencies(whirl))
    assert after and not after & before
    assert set(model.registry.take_newly_tracked()) == after  # what a feed must subscribe to now
    assert all(model.registry.readers(a) == {whirl} for a in after)
    assert all(whirl not in model.registry.readers(a) for a in before)
    assert model.state(whirl).pool.tick_current_index == far


def stored(model: MarketModel, pool_id: int) -> dict[Pubkey, bytes]:
    """The bytes the model holds for every account the pool reads."""
    return {
        a: model.account_data(a)
        for a in model.registry.dependencies(pool_id)
        if model.account_data(a) is not None
    }


def test_the_whirlpool_refresh_shortcut_gives_what_a_full_load_gives(market) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    model = builder.model()
    whirl = model.registry.pool_id(pools["whirl"])
    pool = model.state(whirl).pool
    # The price moves a little (same tick arrays), then a tick array gains liquidity.
    nudged = dataclasses.replace(pool, sqrt_price=pool.sqrt_price + 12345)
    model.apply(
        AccountUpdate(pools["whirl"], whirlpool.PROGRAM_ID, 1, whirlpool.encode_whirlpool(nudged), 50)
    )
    assert model.state(whirl) == whirlpool.VENUE.load(nudged, stored(model, whirl))

    address = model.registry.dependencies(whirl)[0]
    array = whirlpool.decode_tick_array(model.account_data(address))
    ticks = list(array.ticks)
    ticks[5] = whirlpool.Tick(True, 777, 777, 0, 0, (0, 0, 0))
    changed = dataclasses.replace(array, ticks=tuple(ticks))
    model.apply(AccountUpdate(address, whirlpool.PROGRAM_ID, 1, whirlpool.encode_tick_array(changed), 51))
    assert model.state(whirl).tick_arrays[array.start_tick_index] == changed
    assert model.state(whirl) == whirlpool.VENUE.load(nudged, stored(model, whirl))

    foreign = dataclasses.replace(changed, whirlpool=pools["amm"])
    assert (
        model.apply(AccountUpdate(address, whirlpool.PROGRAM_ID, 1, whirlpool.encode_tick_array(foreign), 52))
        == ()
    )
    assert model.stats.malformed == 1


@pytest.mark.parametrize("name", ["amm", "cpmm", "whirl"])
def test_a_pool_account_that_changes_its_mints_is_refused_and_everything_kept(market, name: str) -> None:  # type: ignore[no-untyped-def]
    """The registry cannot move a pool to other tokens; the update is malformed, not an exception."""
    builder, pools = market
    model = builder.model()
    address = pools[name]
    pool_id = model.registry.pool_id(address)
    info = model.registry.pool(pool_id)
    encode = {
        "amm": raydium_amm_v4.encode_amm_info, "cpmm": raydium_cpmm.encode_pool_state, "whirl": whirlpool.encode_whirlpool,
    }[name]  # fmt: skip
    data = encode(dataclasses.replace(info.pool, mint_a=Pubkey.new_unique()))
    before = (model.state(pool_id), model.account_data(address), model.account_slot(address), model.hot.version.copy())

    assert model.apply(AccountUpdate(address, info.venue.program_id, 1, data, 20)) == ()
    assert model.stats.malformed == 1 and model.stats.applied == 0
    assert (model.state(pool_id), model.account_data(address), model.account_slot(address)) == before[:3]
    assert model.registry.pool(pool_id) == info
    assert (model.hot.version == before[3]).all()


def test_a_malformed_pool_looking_update_keeps_the_bytes_held_for_that_account(market) -> None:  # type: ignore[no-untyped-def]
    """A venue account no pool reads (a tick array for later) is kept; bad bytes claiming to be a
    pool are refused and must not take the kept bytes with them."""
    builder, _ = market
    spare = Account(Pubkey.new_unique(), whirlpool.PROGRAM_ID, 1, b"\x01" * 64)
    model, rejected = MarketModel.from_accounts([*builder.accounts, spare])
    assert not rejected and model.account_data(spare.pubkey) == spare.data

    claims = AccountUpdate(spare.pubkey, whirlpool.PROGRAM_ID, 1, whirlpool.WHIRLPOOL_DISCRIMINATOR + b"\x00" * 8, 5)
    assert model.apply(claims) == ()
    assert model.stats.malformed == 1
    assert (model.account_data(spare.pubkey), model.account_slot(spare.pubkey)) == (spare.data, 0)
    assert len(model.registry) == 3


def _opening_later(builder: MarketBuilder, address: Pubkey, opens: int) -> list[Account]:
    """The builder's accounts with one pool made to open at `opens` (a CPMM `open_time`, or an AMM
    v4 pool waiting to trade until its `pool_open_time`)."""
    out = []
    for account in builder.accounts:
        if account.pubkey == address and account.owner == raydium_cpmm.PROGRAM_ID:
            pool = raydium_cpmm.decode_pool_state(address, account.data)
            account = dataclasses.replace(
                account, data=raydium_cpmm.encode_pool_state(dataclasses.replace(pool, open_time=opens))
            )
        elif account.pubkey == address:
            pool = raydium_amm_v4.decode_amm_info(address, account.data)
            waiting = dataclasses.replace(pool, status=raydium_amm_v4.AmmStatus.WAITING_TRADE, pool_open_time=opens)
            account = dataclasses.replace(account, data=raydium_amm_v4.encode_amm_info(waiting))
        out.append(account)
    return out


@pytest.mark.parametrize("venue", ["cpmm", "amm"])
def test_a_pool_is_unquotable_until_the_cluster_clock_reaches_its_open_time(market, venue: str) -> None:  # type: ignore[no-untyped-def]
    builder, pools = market
    opens = 1_700_000_100
    model, _ = MarketModel.from_accounts(_opening_later(builder, pools[venue], opens))
    pool_id = model.registry.pool_id(pools[venue])
    assert model.state(pool_id) is not None  # no clock yet: open times are not checked
    open_state = model.state(pool_id)

    assert model.set_clock(opens - 50) == ()
    assert model.state(pool_id) is None and model.hot.reserve_a[pool_id] == 0.0
    assert model.opens_later() == {pool_id: opens}
    others = [i for i in range(len(model.registry)) if i != pool_id]
    assert all(model.state(i) is not None for i in others)
    vault = model.registry.dependencies(pool_id)[-1]  # a vault update re-loads it: still held back
    assert model.apply(vault_update(model, vault, 123_456_789, slot=40)) == (pool_id,)
    assert model.state(pool_id) is None and model.hot.reserve_a[pool_id] == 0.0

    assert model.set_clock(opens - 1) == ()
    assert model.set_clock(opens) == (pool_id,)  # the programs refuse only before the open time
    state = model.state(pool_id)
    assert state is not None and state != open_state  # loaded from what the vault holds now
    assert model.hot.reserve_a[pool_id] > 0 and model.opens_later() == {}
    assert model.set_clock(opens - 10) == () and model.state(pool_id) is not None  # the clock never goes back


def test_an_amm_v4_pool_open_for_swaps_ignores_its_open_time(market) -> None:  # type: ignore[no-untyped-def]
    """Only a pool waiting to trade checks `pool_open_time`; an initialized one swaps already."""
    builder, pools = market
    accounts = []
    for account in builder.accounts:
        if account.pubkey == pools["amm"]:
            pool = raydium_amm_v4.decode_amm_info(account.pubkey, account.data)
            data = raydium_amm_v4.encode_amm_info(dataclasses.replace(pool, pool_open_time=2_000_000_000))
            account = dataclasses.replace(account, data=data)
        accounts.append(account)
    model, _ = MarketModel.from_accounts(accounts)
    model.set_clock(1_700_000_000)
    assert model.state(model.registry.pool_id(pools["amm"])) is not None and model.opens_later() == {}
