"""Execution-path benchmarks: packaging a route, and preflighting it in a LiteSVM fork.

- package.bundle: an `Opportunity` (a planted 2-hop cycle that fits in 1232 bytes) → hop
  instructions → compute budget, tip → compiled v0 message → signed → bundle wire bytes. What the
  hot path does once a decision says send (target p50 ≤ 150 µs).
- package.bundle_alt: the same for a planted 3-hop cycle that only fits through a lookup table.
- simulate.preflight: one run of the signed transaction in a reused fork (`ForkPreflight.run`).
- simulate.fork_build: building the fork itself (why a call site keeps one).

None of these depends on the universe's size, so each runs once, on the first pool count asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.pubkey import Pubkey

from benchmarks.harness import BenchResult, summarize, time_calls
from mevbot.events import Opportunity
from mevbot.market.graph import edge_id
from mevbot.market.model import MarketModel
from mevbot.package.keys import TradingKey
from mevbot.package.route import route_accounts, route_bundle, route_plan
from mevbot.package.transaction import PACKET_DATA_SIZE, PackageError, Tip
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.universe import PlantedCycle, generate_universe
from mevbot.search.route import make_opportunity, quote_route
from mevbot.simulate.preflight import ForkPreflight, Preflight

SEED = 7
TIP = Tip(TIP_ACCOUNTS[0], 10_000)
UNITS = 120_000  # a preflight's figure: the limit comes from it, as in the daemon


def _opportunity(model: MarketModel, cycle: PlantedCycle) -> Opportunity | None:
    edges = []
    for pool, mint in zip(cycle.pools, cycle.mints, strict=False):
        pool_id = model.registry.pool_id(pool)
        assert pool_id is not None
        edges.append(edge_id(pool_id, model.registry.pool(pool_id).pool.mint_a == mint))
    quotes = quote_route(model, edges, 10**9)
    return None if quotes is None else make_opportunity(model, edges, quotes)


class _Route:
    """A planted cycle's opportunity and what packaging it needs."""

    def __init__(self, model: MarketModel, opportunity: Opportunity, key: TradingKey) -> None:
        self.model, self.opportunity, self.key = model, opportunity, key
        plan = route_plan(opportunity, model.registry, key.pubkey)
        self.tables = [AddressLookupTableAccount(Pubkey.new_unique(), list(route_accounts(plan)))]
        try:
            route_bundle(key, plan, Hash.default(), tip=TIP, units_consumed=UNITS)
            self.needs_table = False
        except PackageError as exc:
            assert exc.reason == "too_large"
            self.needs_table = True

    def package(self) -> bytes:
        plan = route_plan(self.opportunity, self.model.registry, self.key.pubkey)
        tables = self.tables if self.needs_table else ()
        bundle = route_bundle(
            self.key, plan, Hash.default(), tip=TIP, units_consumed=UNITS, lookup_tables=tables
        )
        return bytes(bundle.transactions[0])


def _routes(pools: int) -> tuple[list, list[_Route]]:
    universe = generate_universe(SEED, pools)
    model, _ = MarketModel.from_accounts(universe.accounts)
    key = TradingKey.generate()
    opportunities = (_opportunity(model, cycle) for cycle in universe.planted)
    return list(universe.accounts), [_Route(model, o, key) for o in opportunities if o is not None]


class PackageSuite:
    name = "package."

    def __init__(self) -> None:
        self._done = False

    def run(self, pools: int, quick: bool, wanted: Callable[[str], bool]) -> Iterator[BenchResult]:
        if self._done or not (wanted("package.bundle") or wanted("package.bundle_alt")):
            return
        self._done = True
        _, routes = _routes(pools)
        for bench, needs_table in (("package.bundle", False), ("package.bundle_alt", True)):
            route = next((r for r in routes if r.needs_table == needs_table), None)
            if route is None or not wanted(bench):
                continue
            assert len(route.package()) <= PACKET_DATA_SIZE
            samples = time_calls(route.package, 2_000 if quick else 20_000, warmup=50)
            yield summarize(bench, pools, samples, target="p50 ≤ 150 µs", hops=len(route.opportunity.hops))


class PreflightSuite:
    name = "simulate."

    def __init__(self) -> None:
        self._done = False

    def run(self, pools: int, quick: bool, wanted: Callable[[str], bool]) -> Iterator[BenchResult]:
        if self._done or not (wanted("simulate.preflight") or wanted("simulate.fork_build")):
            return
        self._done = True
        accounts, routes = _routes(pools)
        fork = ForkPreflight(accounts)
        route = next(r for r in routes if not r.needs_table)
        fork.fund(route.key.pubkey, 10**12, {mint: 10**15 for mint in route.opportunity.token_path})
        plan = route_plan(route.opportunity, route.model.registry, route.key.pubkey)
        tx = route_bundle(route.key, plan, Hash.default(), tip=TIP, units_consumed=UNITS).transactions[0]
        assert isinstance(fork.run(tx), Preflight)
        if wanted("simulate.preflight"):
            samples = time_calls(lambda: fork.run(tx), 500 if quick else 5_000, warmup=20)
            yield summarize("simulate.preflight", pools, samples, hops=len(route.opportunity.hops))
        if wanted("simulate.fork_build"):
            samples = time_calls(lambda: ForkPreflight(accounts), 5 if quick else 20, warmup=1)
            yield summarize("simulate.fork_build", pools, samples, accounts=len(accounts))
