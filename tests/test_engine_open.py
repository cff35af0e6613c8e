"""A pool that opens for trading is searched in the next model pass, as if it had changed: nothing
else may touch it soon, and the first trades after an open are the ones worth making."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mevbot.dex import raydium_amm_v4, raydium_cpmm
from mevbot.events import AccountUpdate
from mevbot.ingest.cluster_clock import ClusterClock
from tests.planted_engine import planted_engine

NOW = 1_700_000_000


def _opening_at(pool: object, opens: int) -> bytes:
    if isinstance(pool, raydium_cpmm.CpmmPool):
        return raydium_cpmm.encode_pool_state(dataclasses.replace(pool, open_time=opens))
    assert isinstance(pool, raydium_amm_v4.AmmV4Pool)
    waiting = dataclasses.replace(pool, status=raydium_amm_v4.AmmStatus.WAITING_TRADE, pool_open_time=opens)
    return raydium_amm_v4.encode_amm_info(waiting)


def test_a_pool_that_opens_is_searched_at_once(tmp_path: Path) -> None:
    engine, store = planted_engine(tmp_path / "open.duckdb")
    try:
        model, registry = engine.model, engine.model.registry
        best = engine.search.on_pools_changed(range(len(registry)))
        assert best is not None
        hop = next(h for h in best.hops if h.venue in ("raydium_cpmm", "raydium_amm_v4"))
        info = registry.pool(hop.pool_id)
        model.set_clock(NOW)
        data = _opening_at(info.pool, NOW + 100)
        assert model.apply(AccountUpdate(info.address, info.venue.program_id, 10**7, data, 5)) == (hop.pool_id,)
        assert model.state(hop.pool_id) is None and engine.process_updates([]) is None

        engine._cluster_clock = ClusterClock(slot=0, unix_timestamp=NOW)
        engine._on_slot(100)  # 40 s in: not open yet
        assert engine.process_updates([]) is None
        engine._on_slot(250)  # 100 s in: open
        found = engine.process_updates([])
        assert found is not None and hop.pool_id in {h.pool_id for h in found.hops}
    finally:
        store.close()
