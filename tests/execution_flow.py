"""The execution path against a running sandbox, as the daemon drives it, over the network only.

RPC through our `ingest.rpc.RpcClient`, bundles through our `submit.jito.BlockEngineClient`; the
market model, the opportunity, the bundle and the preflight are the production code's.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from solders.pubkey import Pubkey

from mevbot.dex.registry import venue_for_program
from mevbot.events import Opportunity
from mevbot.ingest.rpc import RpcClient
from mevbot.market.graph import edge_id
from mevbot.market.model import MarketModel
from mevbot.package.bundle import Bundle
from mevbot.package.keys import TradingKey
from mevbot.package.route import associated_token_account, route_bundle, route_plan
from mevbot.package.transaction import RoutePlan, Tip
from mevbot.sandbox.cluster import Sandbox
from mevbot.sandbox.universe import PlantedCycle
from mevbot.search.route import make_opportunity, quote_route
from mevbot.search.sizing import maximize_profit
from mevbot.simulate.preflight import ForkPreflight, Preflight
from mevbot.submit.jito import BlockEngineClient


@contextlib.asynccontextmanager
async def clients(
    sandbox: Sandbox, auth_uuid: str = ""
) -> AsyncIterator[tuple[RpcClient, BlockEngineClient]]:
    rpc = RpcClient([sandbox.rpc_url])
    engine = BlockEngineClient("local", sandbox.block_engine_url, auth_uuid=auth_uuid, timeout_s=5.0)
    try:
        yield rpc, engine
    finally:
        await rpc.close()
        await engine.close()


async def market_for(rpc: RpcClient, pools: tuple[Pubkey, ...]) -> MarketModel:
    """A market model of `pools` and everything they read, as the node serves them now."""
    fetched = [u for u in await rpc.get_multiple_accounts(list(pools)) if u is not None]
    dependencies: list[Pubkey] = []
    for update in fetched:
        venue = venue_for_program(update.owner)
        dependencies += venue.dependencies(venue.decode_pool(update.pubkey, update.data, update.owner))
    fetched += [u for u in await rpc.get_multiple_accounts(dependencies) if u is not None]
    model, _ = MarketModel.from_accounts(fetched)  # then the mints whose token program it must know
    fetched += [u for u in await rpc.get_multiple_accounts(model.missing_accounts()) if u is not None]
    model, rejected = MarketModel.from_accounts(fetched)
    assert not rejected and not model.missing_accounts(), rejected
    return model


def cycle_opportunity(
    model: MarketModel, cycle: PlantedCycle, budget: int, amount_in: int | None = None
) -> Opportunity:
    """The planted cycle sized for the best exact profit (or at `amount_in`), as the search would."""
    edges = []
    for pool, mint in zip(cycle.pools, cycle.mints, strict=False):
        pool_id = model.registry.pool_id(pool)
        assert pool_id is not None
        edges.append(edge_id(pool_id, model.registry.pool(pool_id).pool.mint_a == mint))
    if amount_in is None:

        def profit(x: int) -> int | None:
            quotes = quote_route(model, edges, x)
            return None if quotes is None else quotes[-1].amount_out - x

        best = maximize_profit(profit, budget / 1000, budget)
        assert best.profit > 0, "the planted cycle should pay"
        amount_in = best.amount_in
    quotes = quote_route(model, edges, amount_in)
    assert quotes is not None
    return make_opportunity(model, edges, quotes)


async def token_balances(rpc: RpcClient, owner: Pubkey, mints: set[Pubkey]) -> dict[Pubkey, int]:
    from mevbot.dex.spl_token import token_amount

    keys = [associated_token_account(owner, mint) for mint in mints]
    updates = await rpc.get_multiple_accounts(keys)
    return {mint: token_amount(u.data) if u else 0 for mint, u in zip(mints, updates, strict=True)}


async def lamports(rpc: RpcClient, key: Pubkey) -> int:
    (update,) = await rpc.get_multiple_accounts([key])
    return update.lamports if update else 0


@dataclass
class Prepared:
    opportunity: Opportunity
    plan: RoutePlan
    bundle: Bundle
    preflight: Preflight


async def prepare(
    rpc: RpcClient,
    key: TradingKey,
    opportunity: Opportunity,
    model: MarketModel,
    tip: Tip,
    fork: ForkPreflight | None = None,
    **bundle_options: object,
) -> Prepared:
    """Plan, build at the maximum limit, preflight in a fork fetched over RPC, rebuild at the
    measured units: the two-pass build the daemon does."""
    plan = route_plan(opportunity, model.registry, key.pubkey)
    blockhash, _ = await rpc.get_latest_blockhash()
    draft = route_bundle(key, plan, blockhash, tip=tip, **bundle_options)  # type: ignore[arg-type]
    fork = fork or ForkPreflight()
    await fork.load_from_rpc(rpc, draft.transactions[0])
    first = fork.run(draft.transactions[0], owner=key.pubkey)
    assert isinstance(first, Preflight), first
    bundle = route_bundle(
        key, plan, blockhash, tip=tip, units_consumed=first.units_consumed, **bundle_options
    )  # type: ignore[arg-type]
    final = fork.run(bundle.transactions[0], owner=key.pubkey)
    assert isinstance(final, Preflight), final
    return Prepared(opportunity, plan, bundle, final)
