"""Idle-time work (`Engine.keep_warm`): while nothing waits, it rehearses the hot path (the search, the
last route's quotes and its packaging, on live data), changing nothing a decision, the books or an
operator can see but its own counter; it also compiles the messages of the routes nearest to profit,
prepares signing nonces and the bandits' next draws, and runs the young garbage collections a pass
would otherwise pay."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from pathlib import Path

import numpy as np
import pytest

from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import YOUNG_GC_AT, Engine
from mevbot.events import AccountUpdate, Decision, Opportunity
from mevbot.package import route as route_module
from mevbot.package.bundle import Bundle
from tests.planted_engine import planted_engine


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine, store = planted_engine(tmp_path / "warm.duckdb")
    yield engine
    store.close()


async def _bundle_one(engine: Engine) -> Opportunity:
    """Find a planted cycle and package it in the dry run, as the execute stage would."""
    opportunity = engine.search.on_pools_changed(range(len(engine.model.registry)))
    assert opportunity is not None
    await engine.execute(opportunity, time.perf_counter_ns())
    assert engine.telemetry.counters.bundles_dry_run == 1
    return opportunity


def _visible(engine: Engine) -> tuple[object, ...]:
    """Everything a rehearsal must leave alone: counters, model, the search's memory, the records."""
    counters = dataclasses.asdict(engine.telemetry.counters)
    counters.pop("warm_passes")
    hot = engine.model.hot
    recorder = engine.recorder
    return (
        counters, hot.reserve_a.copy(), hot.reserve_b.copy(), hot.version.copy(), engine.search._last,
        recorder._next_seq, recorder._next_opportunity, len(recorder._deferred), engine.risk.state,
        [(arm.alpha, arm.beta, arm.pulls) for bandit in engine._bandits.values() for arm in bandit.arms],
    )


def test_a_rehearsal_runs_the_hot_path_and_changes_nothing(engine: Engine) -> None:
    opportunity = asyncio.run(_bundle_one(engine))
    states = engine.search.quoted_states(opportunity)
    assert states  # the replay may reuse the sizing's quotes: a rehearsal must not take that away
    before = _visible(engine)

    searched, quoted, judged, packaged = [], [], [], []
    rehearse, judge, bundle = engine.search.rehearse, engine._judge, engine.builder.bundle

    def spy_rehearse(pool_id: int, route: Opportunity | None) -> None:
        searched.append(pool_id)
        quoted.append(route)
        rehearse(pool_id, route)

    def spy_judge(route: Opportunity, **kwargs: object) -> tuple[object, Decision]:
        judged.append(judge(route, **kwargs))  # type: ignore[arg-type]
        return judged[-1]

    def spy_bundle(route: Opportunity, **kwargs: object) -> Bundle:
        packaged.append(bundle(route, **kwargs))  # type: ignore[arg-type]
        return packaged[-1]

    engine.search.rehearse, engine.builder.bundle = spy_rehearse, spy_bundle  # type: ignore[method-assign]
    engine._judge = spy_judge  # type: ignore[method-assign]
    pools = len(engine.model.registry)
    for _ in range(2 * pools):
        engine.warm()

    assert sorted(set(searched)) == list(range(pools))  # every pool's cycles in turn
    assert all(route is opportunity for route in quoted)  # the last bundled route, re-quoted
    assert len(packaged) == 2 * pools and all(len(b.transactions) == 1 for b in packaged)
    # ... replayed on the current states and decided on, as a decision would (the pools did not move)
    assert len(judged) == 2 * pools
    assert all(replay.profit == opportunity.profit and decision.send for replay, decision in judged)
    signed = packaged[0].transactions[0]
    assert signed.message.account_keys[0] == engine.key.pubkey and signed.verify_with_results() == [True]
    assert engine.telemetry.counters.warm_passes == 2 * pools
    assert _repr(_visible(engine)) == _repr(before)
    assert engine.search.quoted_states(opportunity) == states


def test_a_rehearsal_yields_between_its_parts_and_counts_only_when_whole(engine: Engine) -> None:
    asyncio.run(_bundle_one(engine))
    counters, key = engine.telemetry.counters, engine.key
    key.prepare_signatures(1)
    parts = engine._rehearsal()
    next(parts)  # the search and the route's quotes; the loop may take an update here
    next(parts)  # the replay and the decision; and here
    assert counters.warm_passes == 0 and key.signatures_prepared == 1  # nothing packaged yet
    assert list(parts) == []  # the bundle, signed, and the end
    assert counters.warm_passes == 1 and key.signatures_prepared == 0
    abandoned = engine._rehearsal()
    next(abandoned)
    abandoned.close()  # an update came: the rest is dropped, and it does not count
    assert counters.warm_passes == 1


def test_idle_time_compiles_the_routes_near_profit_so_a_first_bundle_compiles_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.search.near_profit.sweep_interval_s = 0.0  # as if a slot passed between sweeps
    cycles = len(engine.search.cycles)
    for _ in range(2 * cycles + 3):  # two sweeps rate every cycle, the third queues the best
        engine.compile_ahead()
    compiled = engine.telemetry.counters.routes_compiled_ahead
    assert 0 < compiled <= cycles and len(engine.builder._templates) == compiled

    monkeypatch.setattr(route_module, "compile_message", None)  # the builder may not compile now
    asyncio.run(_bundle_one(engine))  # a planted cycle's first bundle, built from its compiled message
    assert len(engine.builder._templates) == compiled


def _repr(visible: tuple[object, ...]) -> list[object]:
    return [v.tolist() if isinstance(v, np.ndarray) else v for v in visible]


def test_keep_warm_rehearses_compiles_ahead_and_prepares_signatures_only_while_nothing_waits(
    engine: Engine,
) -> None:
    async def scenario() -> None:
        opportunity = await _bundle_one(engine)
        counters, key = engine.telemetry.counters, engine.key
        task = asyncio.create_task(engine.keep_warm())
        try:
            await _until(
                lambda: counters.warm_passes >= 3 and counters.routes_compiled_ahead >= 3
                and key.signatures_prepared >= 3 and all(b._ready for b in engine._bandits.values())
            )  # fmt: skip

            pubkey = engine.model.registry.tracked_accounts()[0]
            update = AccountUpdate(pubkey, NATIVE_MINT, 1, engine.model.account_data(pubkey) or b"", 11)
            engine._coalescer.push(update, time.perf_counter_ns())
            await asyncio.sleep(0.002)  # a rehearsal begun before the push may still end
            held, compiled, prepared = counters.warm_passes, counters.routes_compiled_ahead, key.signatures_prepared
            await asyncio.sleep(0.03)
            assert counters.warm_passes == held  # an update waits: no rehearsal delays it
            assert counters.routes_compiled_ahead == compiled  # nor any compile
            assert key.signatures_prepared == prepared  # nor any signing nonce drawn

            engine._coalescer.drain()
            engine._opportunities.put_nowait((opportunity, time.perf_counter_ns()))
            await asyncio.sleep(0.002)
            held = counters.warm_passes
            await asyncio.sleep(0.03)
            assert counters.warm_passes == held  # nor while an opportunity waits for its decision

            engine._opportunities.get_nowait()
            await _until(lambda: counters.warm_passes >= held + 3)
        finally:
            task.cancel()

    asyncio.run(scenario())


async def _until(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


def test_keep_warm_runs_the_young_garbage_collections_while_idle(engine: Engine) -> None:
    def collections() -> int:
        return sum(generation["collections"] for generation in gc.get_stats()[:2])

    async def scenario() -> None:
        task = asyncio.create_task(engine.keep_warm())
        gc.disable()  # from here on only the idle task collects
        try:
            before = collections()
            young = [[] for _ in range(2 * YOUNG_GC_AT[0])]  # tracked objects: the young count rises
            await _until(lambda: collections() > before)
            assert gc.get_count()[0] < YOUNG_GC_AT[0]

            pubkey = engine.model.registry.tracked_accounts()[0]
            update = AccountUpdate(pubkey, NATIVE_MINT, 1, engine.model.account_data(pubkey) or b"", 11)
            engine._coalescer.push(update, time.perf_counter_ns())
            young += [[] for _ in range(2 * YOUNG_GC_AT[0])]
            await asyncio.sleep(0.002)
            held = collections()
            await asyncio.sleep(0.03)
            assert collections() == held  # not while an update waits
            del young
        finally:
            gc.enable()
            task.cancel()

    asyncio.run(scenario())


def test_a_zero_interval_turns_the_idle_work_off(engine: Engine) -> None:
    engine.config = dataclasses.replace(engine.config, warm_interval_ms=0.0)
    asyncio.run(asyncio.wait_for(engine.keep_warm(), timeout=5))  # returns instead of looping
    assert engine.telemetry.counters.warm_passes == 0
