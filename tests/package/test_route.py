"""Route → instructions → signed bundle, without a cluster: adapters, guards, limits, sizes."""

from __future__ import annotations

import dataclasses
import random
import struct

import pytest
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.hash import Hash
from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, whirlpool
from mevbot.dex.registry import VENUES
from mevbot.dex.spl_token import TOKEN_PROGRAM_ID
from mevbot.market.model import MarketModel
from mevbot.package import route as route_module
from mevbot.package.keys import TradingKey
from mevbot.package.lookup_tables import (
    create_lookup_table,
    extend_lookup_table,
    lookup_table_account,
    lookup_table_bytes,
)
from mevbot.package.route import (
    DEFAULT_CU_FLOOR,
    HOP_UNIT_ESTIMATES,
    OVERHEAD_UNITS,
    RouteBuilder,
    associated_token_account,
    compute_unit_limit,
    hop_instructions,
    market_accounts,
    route_accounts,
    route_bundle,
    route_plan,
)
from mevbot.package.transaction import (
    MAX_COMPUTE_UNITS,
    PACKET_DATA_SIZE,
    PackageError,
    Tip,
    route_data,
    route_instructions,
)
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.universe import generate_universe
from mevbot.search.engine import CycleSearch
from mevbot.search.route import make_opportunity, quote_route
from tests.execution_flow import cycle_opportunity

UNIVERSE = generate_universe(7, 24)  # the sandbox tests' universe: cycle 0 fits, cycle 1 needs a table
MODEL, _ = MarketModel.from_accounts(UNIVERSE.accounts)
BLOCKHASH = Hash.new_unique()
TIP = Tip(TIP_ACCOUNTS[0], 10_000)


def _opportunity(index: int):
    return cycle_opportunity(MODEL, UNIVERSE.planted[index], 10**13)


def test_every_venue_has_the_uniform_adapter_and_it_matches_the_venue_builder() -> None:
    owner, source, destination = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    pools = {info.venue.name: info.pool for info in MODEL.registry.pools()}
    assert set(pools) == {venue.name for venue in VENUES}
    for a_to_b in (True, False):
        args = dict(
            owner=owner, source=source, destination=destination, a_to_b=a_to_b, amount_in=7, minimum_out=5
        )
        amm, cpmm, whirl = pools["raydium_amm_v4"], pools["raydium_cpmm"], pools["whirlpool"]
        assert raydium_amm_v4.VENUE.swap_instruction(amm, **args) == raydium_amm_v4.swap_base_in_v2(
            amm, source, destination, owner, 7, 5
        )
        assert raydium_cpmm.VENUE.swap_instruction(cpmm, **args) == raydium_cpmm.swap_base_input_ix(
            cpmm, owner, source, destination, a_to_b, 7, 5
        )
        a, b = (source, destination) if a_to_b else (destination, source)
        assert whirlpool.VENUE.swap_instruction(whirl, **args) == whirlpool.build_swap_v2(
            whirl, token_authority=owner, token_owner_account_a=a, token_owner_account_b=b, amount=7,
            other_amount_threshold=5, a_to_b=a_to_b,
        )  # fmt: skip


def _swap_amounts(venue: str, data: bytes) -> tuple[int, int]:
    if venue == "whirlpool":
        args = whirlpool.parse_swap_v2_args(data)
        assert args.amount_specified_is_input and args.sqrt_price_limit == 0
        return args.amount, args.other_amount_threshold
    parsed = (raydium_amm_v4 if venue == "raydium_amm_v4" else raydium_cpmm).parse_swap(data)
    return parsed.amount, parsed.other_amount_threshold


@pytest.mark.parametrize("index", [0, 1])
def test_each_hop_spends_its_quote_and_demands_its_exact_output_from_the_owners_atas(index: int) -> None:
    owner = Pubkey.new_unique()
    opportunity = _opportunity(index)
    instructions = hop_instructions(opportunity, MODEL.registry, owner)
    for hop, ix in zip(opportunity.hops, instructions, strict=True):
        assert _swap_amounts(hop.venue, bytes(ix.data)) == (hop.amount_in, hop.amount_out)
        keys = [meta.pubkey for meta in ix.accounts]
        assert associated_token_account(owner, hop.mint_in) in keys
        assert associated_token_account(owner, hop.mint_out) in keys
        assert [meta.pubkey for meta in ix.accounts if meta.is_signer] == [owner]
    assert opportunity.hops[-1].amount_out == opportunity.amount_out


def test_a_stale_pool_id_is_resolved_by_address_and_an_unknown_pool_refused() -> None:
    opportunity = _opportunity(0)
    shifted = dataclasses.replace(opportunity.hops[0], pool_id=opportunity.hops[1].pool_id)
    moved = dataclasses.replace(opportunity, hops=(shifted, *opportunity.hops[1:]))
    owner = Pubkey.new_unique()
    assert hop_instructions(moved, MODEL.registry, owner) == hop_instructions(
        opportunity, MODEL.registry, owner
    )
    unknown = dataclasses.replace(opportunity.hops[0], pool=Pubkey.new_unique())
    with pytest.raises(PackageError) as info:
        hop_instructions(dataclasses.replace(opportunity, hops=(unknown,)), MODEL.registry, owner)
    assert info.value.reason == "unknown_pool"


def test_compute_unit_limit_is_units_times_margin_with_floor_and_cap() -> None:
    assert compute_unit_limit(None) == MAX_COMPUTE_UNITS
    assert compute_unit_limit(100_000) == 120_000
    assert compute_unit_limit(100_001) == 120_002  # rounded up, never under the margin
    assert compute_unit_limit(1_000) == DEFAULT_CU_FLOOR
    assert compute_unit_limit(1_000, floor=0, margin=1.5) == 1_500
    assert compute_unit_limit(1_300_000) == MAX_COMPUTE_UNITS
    with pytest.raises(PackageError):
        compute_unit_limit(-1)


def test_bundle_sets_the_limit_from_the_preflight_and_tips_last_as_a_static_key() -> None:
    key = TradingKey.generate()
    plan = route_plan(_opportunity(0), MODEL.registry, key.pubkey)
    bundle = route_bundle(key, plan, BLOCKHASH, tip=TIP, units_consumed=70_300)
    (tx,) = bundle.transactions
    message = tx.message
    keys = message.account_keys
    first = message.instructions[0]
    assert keys[first.program_id_index] == COMPUTE_BUDGET_ID
    assert struct.unpack("<BI", bytes(first.data)) == (2, 84_360)
    assert keys[message.instructions[-1].accounts[1]] == TIP.account
    assert len(message.instructions) == 1 + len(plan.hops) + 1
    assert tx.verify_with_results() == [True] and len(bytes(tx)) <= PACKET_DATA_SIZE
    assert bundle.bundle_id and len(bundle.encoded()) == 1


def test_atas_are_created_first_only_when_asked() -> None:
    key = TradingKey.generate()
    opportunity = _opportunity(0)
    plain = route_plan(opportunity, MODEL.registry, key.pubkey)
    creating = route_plan(opportunity, MODEL.registry, key.pubkey, create_token_accounts=True)
    assert plain.token_accounts == ()
    assert creating.token_accounts == tuple(
        (mint, TOKEN_PROGRAM_ID) for mint in dict.fromkeys(opportunity.token_path)
    ) and creating.hops == plain.hops


def test_an_oversized_route_is_refused_with_its_reason_and_fits_through_a_lookup_table() -> None:
    key = TradingKey.generate()
    plan = route_plan(_opportunity(1), MODEL.registry, key.pubkey)
    with pytest.raises(PackageError) as info:
        route_bundle(key, plan, BLOCKHASH, tip=TIP, units_consumed=150_000)
    assert info.value.reason == "too_large" and "1232" in str(info.value)
    addresses = route_accounts(plan)
    assert key.pubkey not in addresses and TIP.account not in addresses
    table = AddressLookupTableAccount(Pubkey.new_unique(), list(addresses))
    bundle = route_bundle(key, plan, BLOCKHASH, tip=TIP, units_consumed=150_000, lookup_tables=[table])
    (tx,) = bundle.transactions
    assert len(bytes(tx)) <= PACKET_DATA_SIZE and tx.message.address_table_lookups
    assert TIP.account in tx.message.account_keys


def test_lookup_table_instructions_and_decoding() -> None:
    authority = Pubkey.new_unique()
    create, table = create_lookup_table(authority, authority, 42)
    assert create.accounts[0].pubkey == table and bytes(create.data)[:4] == bytes(4)
    assert struct.unpack_from("<Q", bytes(create.data), 4) == (42,)
    addresses = [Pubkey.new_unique() for _ in range(3)]
    extend = extend_lookup_table(table, authority, authority, addresses)
    assert bytes(extend.data)[:12] == struct.pack("<IQ", 2, 3) and bytes(extend.data)[12:] == b"".join(
        map(bytes, addresses)
    )
    with pytest.raises(PackageError):
        extend_lookup_table(table, authority, authority, [])
    authority_table = lookup_table_account(table, lookup_table_bytes(addresses, authority))
    assert authority_table.addresses == addresses and authority_table.key == table
    assert (
        AddressLookupTable.deserialize(lookup_table_bytes(addresses, authority)).meta.authority == authority
    )
    with pytest.raises(PackageError) as info:
        lookup_table_account(table, b"not a table")
    assert info.value.reason == "bad_lookup_table"


def _limit(bundle) -> int:
    return struct.unpack_from("<I", bytes(bundle.transactions[0].message.instructions[0].data), 1)[0]


def test_route_builder_sizes_the_limit_from_preflights_then_bounds_and_uses_tables_only_when_needed() -> None:
    key = TradingKey.generate()
    builder = RouteBuilder(MODEL, key.pubkey)
    fits, big = _opportunity(0), _opportunity(1)
    send = dict(payer=key, blockhash=BLOCKHASH, tip_account=TIP.account, tip_lamports=TIP.lamports)
    estimate = builder.estimate_units(fits)
    assert estimate == OVERHEAD_UNITS + sum(HOP_UNIT_ESTIMATES[hop.venue] for hop in fits.hops)
    assert _limit(builder.bundle(fits, **send)) == estimate
    builder.learn_units(fits, 70_300)
    assert _limit(builder.bundle(fits, **send)) == compute_unit_limit(70_300)
    assert _limit(builder.bundle(fits, units_consumed=90_000, **send)) == 108_000
    with pytest.raises(PackageError) as info:
        builder.bundle(big, **send)
    assert info.value.reason == "too_large"
    builder.lookup_tables = [
        AddressLookupTableAccount(
            Pubkey.new_unique(), list(route_accounts(route_plan(big, MODEL.registry, key.pubkey)))
        )
    ]
    assert builder.bundle(big, **send).transactions[0].message.address_table_lookups
    assert not builder.bundle(fits, **send).transactions[0].message.address_table_lookups


@pytest.mark.parametrize(("index", "price"), [(0, 0), (0, 7), (1, 0)])
def test_a_route_is_compiled_once_and_each_bundle_is_what_compiling_it_gives(
    index: int, price: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The builder compiles a route's message once and splices every later bundle of it (other
    amounts, tip, limit, blockhash) into that message; each is byte for byte the transaction that
    compiling and signing it gives."""
    key = TradingKey.generate()
    accounts = market_accounts(MODEL.registry, range(len(MODEL.registry)), key.pubkey)
    tables = [
        AddressLookupTableAccount(Pubkey.new_unique(), list(accounts[start : start + 256]))
        for start in range(0, len(accounts), 256)
    ]
    planted = UNIVERSE.planted[index]
    builder = RouteBuilder(MODEL, key.pubkey, lookup_tables=tables)
    send = dict(payer=key, tip_account=TIP.account, compute_unit_price=price)
    rng = random.Random(index)
    for _ in range(12):
        opportunity = cycle_opportunity(MODEL, planted, 10**13, rng.randrange(10**4, 10**8))
        blockhash, tip, units = Hash.new_unique(), rng.randrange(1, 10**9), rng.randrange(1, 10**6)
        (tx,) = builder.bundle(
            opportunity, blockhash=blockhash, tip_lamports=tip, units_consumed=units, **send
        ).transactions
        (compiled,) = route_bundle(
            key, route_plan(opportunity, MODEL.registry, key.pubkey), blockhash, tip=Tip(TIP.account, tip),
            units_consumed=units, compute_unit_price=price, lookup_tables=tables if index == 1 else (),
        ).transactions  # fmt: skip
        assert bytes(tx) == bytes(compiled)
        assert tx.verify_with_results() == [True]
        # The first bundle's compile is the only one, and later ones build no instruction at all.
        monkeypatch.setattr(route_module, "compile_message", None)
        monkeypatch.setattr(builder, "_template", None)
    assert bool(tx.message.address_table_lookups) == (index == 1)


def test_each_venue_swap_data_is_its_instruction_data_and_its_layout_decides_its_accounts() -> None:
    """`swap_data` is byte for byte the data of `swap_instruction`, and two pools states of equal
    `swap_layout` name the same accounts (a Whirlpool's tick arrays follow its tick)."""
    owner, source, destination = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    rng = random.Random(5)
    for info in MODEL.registry.pools():
        for a_to_b in (True, False):
            for _ in range(5):
                amount_in, minimum_out = rng.randrange(2**64), rng.randrange(2**64)
                ix = info.venue.swap_instruction(
                    info.pool, owner=owner, source=source, destination=destination, a_to_b=a_to_b,
                    amount_in=amount_in, minimum_out=minimum_out,
                )  # fmt: skip
                assert bytes(ix.data) == info.venue.swap_data(info.pool, a_to_b, amount_in, minimum_out)
    whirl = next(info for info in MODEL.registry.pools() if info.venue.name == "whirlpool")
    spacing, layouts = whirl.pool.tick_spacing, {}
    for tick in range(-3 * 88 * spacing, 3 * 88 * spacing, max(1, spacing * 7)):
        moved = dataclasses.replace(whirl.pool, tick_current_index=tick)
        for a_to_b in (True, False):
            ix = whirl.venue.swap_instruction(
                moved, owner=owner, source=source, destination=destination, a_to_b=a_to_b, amount_in=1,
                minimum_out=1,
            )  # fmt: skip
            accounts = tuple(ix.accounts)
            assert layouts.setdefault((a_to_b, whirl.venue.swap_layout(moved, a_to_b)), accounts) == accounts
    assert len({layout for _, layout in layouts}) > 3  # the sweep crossed several tick arrays


def test_route_data_is_the_data_of_route_instructions() -> None:
    owner = Pubkey.new_unique()
    opportunity = _opportunity(1)
    for create, price in ((False, 0), (True, 7), (False, 123_456_789)):
        plan = route_plan(opportunity, MODEL.registry, owner, create_token_accounts=create)
        instructions = route_instructions(
            owner, plan, compute_unit_limit=345_678, compute_unit_price=price, tip=Tip(TIP.account, 98_765)
        )
        data = route_data(
            [bytes(ix.data) for ix in plan.hops], token_accounts=len(plan.token_accounts), compute_unit_limit=345_678,
            compute_unit_price=price, tip_lamports=98_765,
        )  # fmt: skip
        assert data == [bytes(ix.data) for ix in instructions]


class _Moved:
    """The test market with one pool's account replaced, as an update would replace it."""

    def __init__(self, pool_id: int, pool: object) -> None:
        self.moved = {pool_id: dataclasses.replace(MODEL.registry.pool(pool_id), pool=pool)}

    @property
    def registry(self) -> _Moved:
        return self

    def pool(self, pool_id: int):  # type: ignore[no-untyped-def]
        return self.moved.get(pool_id) or MODEL.registry.pool(pool_id)

    def pool_id(self, address: Pubkey) -> int | None:
        return MODEL.registry.pool_id(address)

    def token_program(self, mint: Pubkey) -> Pubkey | None:
        return MODEL.registry.token_program(mint)


def test_a_whirlpool_whose_tick_moved_to_another_array_gets_a_message_of_its_new_tick_arrays() -> None:
    key = TradingKey.generate()
    opportunity = _opportunity(1)
    hop = next(hop for hop in opportunity.hops if hop.venue == "whirlpool")
    pool = MODEL.registry.pool(hop.pool_id).pool
    span = 88 * pool.tick_spacing
    send = dict(payer=key, blockhash=BLOCKHASH, tip_account=TIP.account, tip_lamports=TIP.lamports)
    tables = [
        AddressLookupTableAccount(
            Pubkey.new_unique(), list(route_accounts(route_plan(opportunity, MODEL.registry, key.pubkey)))
        )
    ]
    for ticks in (pool.tick_current_index, pool.tick_current_index + 1, pool.tick_current_index - 2 * span):
        market = _Moved(hop.pool_id, dataclasses.replace(pool, tick_current_index=ticks))
        builder = RouteBuilder(market, key.pubkey, lookup_tables=tables)
        (tx,) = builder.bundle(opportunity, units_consumed=200_000, **send).transactions
        for _ in range(2):  # packaged again by a builder that has seen the original tick first
            shared = RouteBuilder(_Moved(hop.pool_id, pool), key.pubkey, lookup_tables=tables)
            shared.bundle(opportunity, units_consumed=200_000, **send)
            shared._model = market
            (again,) = shared.bundle(opportunity, units_consumed=200_000, **send).transactions
            assert bytes(again) == bytes(tx)
        (compiled,) = route_bundle(
            key, route_plan(opportunity, market.registry, key.pubkey), BLOCKHASH, tip=TIP, units_consumed=200_000,
            lookup_tables=tables,
        ).transactions  # fmt: skip
        assert bytes(tx) == bytes(compiled)


@pytest.mark.parametrize("prepared", [False, True])
def test_every_route_of_the_market_packaged_by_one_builder_is_what_compiling_it_afresh_gives(
    prepared: bool,
) -> None:
    """New routes through pools the builder has packaged before (or prepared) reuse those hops'
    instructions and tables for their compile; each is still byte for byte a fresh compile."""
    key = TradingKey.generate()
    tables = _small_tables(key)
    builder = RouteBuilder(MODEL, key.pubkey, lookup_tables=tables)
    if prepared:
        assert builder.prepare(range(len(MODEL.registry))) == 2 * len(MODEL.registry) == len(builder._hops)
    packaged = _bundle_every_route_as_compiling_it_afresh_gives(builder, key, tables, seed=11)
    assert packaged > 50 and len(builder._hops) < packaged  # hops were shared between routes
    if prepared:  # and every hop of every route was one `prepare` built
        assert len(builder._hops) == 2 * len(MODEL.registry)


@pytest.mark.parametrize("create", [False, True])
def test_a_route_compiled_ahead_is_bundled_without_compiling_and_as_compiling_it_afresh_gives(
    create: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`precompile` (from the route's edges alone, no amounts) leaves the message every later bundle
    of that route is spliced into: none compiles, and each is byte for byte a fresh compile."""
    key = TradingKey.generate()
    tables = _small_tables(key)
    builder = RouteBuilder(MODEL, key.pubkey, lookup_tables=tables, create_token_accounts=create)
    cycles = CycleSearch(MODEL).cycles
    routes = range(len(cycles))
    ahead = dict(payer=key.pubkey, blockhash=Hash.new_unique(), compute_unit_price=7)
    assert all(builder.precompile(cycles.hops(c), tip_account=TIP_ACCOUNTS[c % 8], **ahead) for c in routes)
    assert len(builder._templates) == len(routes)
    assert not builder.precompile(cycles.hops(0), tip_account=TIP_ACCOUNTS[0], **ahead)  # it has one
    monkeypatch.setattr(route_module, "compile_message", None)  # from here on, the builder may not compile
    assert _bundle_every_route_as_compiling_it_afresh_gives(builder, key, tables, seed=5, price=7) > 50


def _small_tables(key: TradingKey) -> list[AddressLookupTableAccount]:
    """Lookup tables of 40 accounts each over the whole market: a route needs a few of them."""
    accounts = market_accounts(MODEL.registry, range(len(MODEL.registry)), key.pubkey)
    return [
        AddressLookupTableAccount(Pubkey.new_unique(), list(accounts[start : start + 40]))
        for start in range(0, len(accounts), 40)
    ]


def _bundle_every_route_as_compiling_it_afresh_gives(
    builder: RouteBuilder, key: TradingKey, tables: list[AddressLookupTableAccount], *, seed: int, price: int = 0
) -> int:
    """Bundle every quotable cycle of the market once (random size, tip and units) and check each
    against `route_bundle`, which compiles afresh; returns how many."""
    search = CycleSearch(MODEL)
    rng = random.Random(seed)
    packaged = 0
    for cycle in range(len(search.cycles)):
        edges = search.cycles.hops(cycle)
        quotes = quote_route(MODEL, edges, rng.randrange(10**3, 10**6))
        if quotes is None:
            continue
        opportunity = make_opportunity(MODEL, edges, quotes)
        tip, units = Tip(TIP_ACCOUNTS[cycle % 8], rng.randrange(1, 10**6)), rng.randrange(50_000, 10**6)
        (tx,) = builder.bundle(
            opportunity, payer=key, blockhash=BLOCKHASH, tip_account=tip.account, tip_lamports=tip.lamports,
            units_consumed=units, compute_unit_price=price,
        ).transactions  # fmt: skip
        plan = route_plan(opportunity, MODEL.registry, key.pubkey, create_token_accounts=builder.create_token_accounts)
        send = dict(tip=tip, units_consumed=units, compute_unit_price=price)
        try:
            (compiled,) = route_bundle(key, plan, BLOCKHASH, **send).transactions
        except PackageError:
            (compiled,) = route_bundle(key, plan, BLOCKHASH, lookup_tables=tables, **send).transactions
        assert bytes(tx) == bytes(compiled), cycle
        packaged += 1
    return packaged
