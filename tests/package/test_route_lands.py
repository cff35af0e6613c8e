"""Bundles built by the execution path land on the sandbox and move exactly what was simulated.

Everything goes over the sandbox's network interfaces: RPC through `RpcClient`, bundles through
`BlockEngineClient`.
"""

from __future__ import annotations

import struct

import pytest

from mevbot.events import Opportunity
from mevbot.market.model import MarketModel
from mevbot.package.keys import load_keypair
from mevbot.package.route import compute_unit_limit, route_accounts, route_bundle, route_plan
from mevbot.package.transaction import PackageError, Tip
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.cluster import start_sandbox
from mevbot.simulate.replay import Replay, replay_route
from mevbot.simulate.rpc_preflight import RpcSimulation, simulate_on_node
from mevbot.submit.lookup_tables import install_lookup_table
from mevbot.submit.tracker import Outcome, track
from tests.execution_flow import (
    clients,
    cycle_opportunity,
    lamports,
    market_for,
    prepare,
    token_balances,
)
from tests.sandbox.conftest import QUIET

TIP = Tip(TIP_ACCOUNTS[3], 20_000)


def _replay(model: MarketModel, opportunity: Opportunity) -> Replay:
    replay = replay_route(
        opportunity, [(model.venue(h.pool_id), model.state(h.pool_id)) for h in opportunity.hops]
    )
    assert isinstance(replay, Replay)
    return replay


@pytest.mark.parametrize("cycle_index", [0, 1], ids=["fits", "needs_lookup_table"])
async def test_a_planted_cycle_lands_and_moves_exactly_the_replayed_and_preflighted_amounts(
    cycle_index: int,
) -> None:
    async with start_sandbox(QUIET) as sandbox, clients(sandbox) as (rpc, engine):
        key = load_keypair(sandbox.payer_keypair_path)
        cycle = sandbox.universe.planted[cycle_index]
        model = await market_for(rpc, cycle.pools)
        opportunity = cycle_opportunity(model, cycle, 10**13)
        replay = _replay(model, opportunity)
        assert replay.hop_amounts == tuple((h.amount_in, h.amount_out) for h in opportunity.hops)
        tables = []
        if cycle_index == 1:
            plan = route_plan(opportunity, model.registry, key.pubkey)
            blockhash, _ = await rpc.get_latest_blockhash()
            with pytest.raises(PackageError) as refused:
                route_bundle(key, plan, blockhash, tip=TIP, units_consumed=100_000)
            assert refused.value.reason == "too_large"
            tables = [await install_lookup_table(rpc, key, route_accounts(plan))]
        prepared = await prepare(rpc, key, opportunity, model, TIP, lookup_tables=tables)
        tx = prepared.bundle.transactions[0]
        assert bool(tx.message.address_table_lookups) == bool(tables)
        limit = struct.unpack_from("<I", bytes(tx.message.instructions[0].data), 1)[0]
        assert limit == compute_unit_limit(prepared.preflight.units_consumed)
        on_node = await simulate_on_node(rpc, tx)
        assert (
            isinstance(on_node, RpcSimulation) and on_node.units_consumed == prepared.preflight.units_consumed
        )
        mints = set(cycle.mints)
        before = await token_balances(rpc, key.pubkey, mints)
        sol_before = await lamports(rpc, key.pubkey)

        result = await track(
            engine, await engine.send_bundle(prepared.bundle.encoded()), deadline_s=10, poll_s=0.05
        )

        assert result.outcome is Outcome.LANDED, result
        after = await token_balances(rpc, key.pubkey, mints)
        moved = {mint: after[mint] - before[mint] for mint in mints}
        assert moved == {mint: replay.profit if mint == opportunity.mint else 0 for mint in mints}
        assert moved == {mint: prepared.preflight.token_delta(mint) for mint in mints}
        assert replay.profit == opportunity.profit > 0
        sol_moved = await lamports(rpc, key.pubkey) - sol_before
        assert sol_moved == prepared.preflight.lamports_delta == -(5_000 + TIP.lamports)
        assert prepared.preflight.fee == 5_000 and prepared.preflight.tip == TIP.lamports
