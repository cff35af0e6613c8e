"""The start-up snapshot against the sandbox's JSON-RPC: the whole market, or only the pools named and
those between the mints named, found with filtered calls a mainnet node serves."""

from __future__ import annotations

from collections.abc import Sequence

from solders.pubkey import Pubkey

from mevbot.events import AccountUpdate
from mevbot.ingest.bootstrap import load_market
from mevbot.ingest.rpc import RpcClient
from mevbot.market.model import MarketModel
from mevbot.sandbox.cluster import start_sandbox
from tests.sandbox.conftest import settings


class _CountingRpc(RpcClient):
    """The RPC client, noting the filters of each getProgramAccounts it sends."""

    def __init__(self, url: str) -> None:
        super().__init__([url])
        self.program_scans: list[tuple[int | None, int]] = []  # (dataSize, memcmp filters)

    async def get_program_accounts(
        self, program: Pubkey, *, data_size: int | None = None, memcmp: Sequence[tuple[int, bytes]] = ()
    ) -> list[AccountUpdate]:
        self.program_scans.append((data_size, len(memcmp)))
        return await super().get_program_accounts(program, data_size=data_size, memcmp=memcmp)


def _by_address(model: MarketModel) -> dict[Pubkey, int]:
    return {info.address: info.id for info in model.registry.pools()}


async def test_the_pools_between_the_named_mints_and_the_named_pools_load_as_in_a_full_snapshot() -> None:
    async with start_sandbox(settings(pools=60, slot_ms=10_000)) as sandbox:
        everything = _CountingRpc(sandbox.rpc_url)
        scoped = _CountingRpc(sandbox.rpc_url)
        try:
            full, _, _ = await load_market(everything)
            cycle, pools = sandbox.universe.planted[0], sandbox.universe.pools
            first_of_each_venue = {spec.venue: spec for spec in reversed(pools)}.values()
            mints = {*cycle.mints, *(m for spec in first_of_each_venue for m in (spec.mint_a, spec.mint_b))}
            between = {spec.address for spec in sandbox.universe.pools if {spec.mint_a, spec.mint_b} <= mints}
            elsewhere = next(s.address for s in sandbox.universe.pools if not {s.mint_a, s.mint_b} <= mints)
            absent = Pubkey.new_unique()
            model, rejected, _ = await load_market(scoped, pools=[elsewhere, absent], mints=sorted(mints, key=str))
        finally:
            await everything.close()
            await scoped.close()

    full_ids, ids = _by_address(full), _by_address(model)
    assert set(ids) == (between | {elsewhere}) & set(full_ids) and set(cycle.pools) <= set(ids)
    assert {model.registry.pool(i).venue.name for i in ids.values()} == {"raydium_amm_v4", "raydium_cpmm", "whirlpool"}
    for address, pool_id in ids.items():  # each loaded from the same accounts as in the full snapshot
        assert model.state(pool_id) == full.state(full_ids[address]), address
        assert model.hot.view(pool_id) == full.hot.view(full_ids[address])
    assert [entry.reason for entry in rejected if entry.pubkey == absent] == ["no such account"]
    assert everything.program_scans and all(scan == (None, 0) for scan in everything.program_scans)
    assert scoped.program_scans and all(size is not None and filters == 1 for size, filters in scoped.program_scans)
