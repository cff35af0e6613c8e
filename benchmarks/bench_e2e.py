"""End-to-end benchmark: a PubSub notification's arrival to the signed bundle it causes.

- e2e.decision_latency: a steady stream of `accountNotification` messages (vault balances and
  Whirlpool prices moving, as in the search bench; the ones that touch a pool on one of the
  universe's profitable cycles open an opportunity) is fed to a dry-run `Engine` in one uvloop
  loop, its store writer running. Per message: parse → coalescer → `process_updates` (apply +
  incremental search) → if an opportunity comes out, `execute` (exact replay, risk and bandit
  decision, signed bundle). p50/p99 are arrival → signed bundle over the messages that produced
  one; `idle_p50_us`/`idle_p99_us` are arrival → search done over those that did not (or whose
  opportunity the decision refused). `work_p50_us`/`work_p99_us`: the bundle-building passes
  alone, parse to bundle, without the wait for the loop. `queued_pct`: the share of messages that
  arrived while the loop was still busy with an earlier one. The engine's idle-time rehearsal
  (`Engine.keep_warm`, `warm_interval_ms`, on by default as in the daemon) runs beside the stream;
  `warm_passes` says how often, `compiled_ahead` how many routes near profit it compiled before
  their first bundle (`decision_latency(..., warm_interval_ms=0)` measures without it).

Arrival is the message's scheduled time on the wire: if the loop is still busy when the next one
is due, the wait counts (the way a socket buffer would make it count), and everything due is read
before the next model pass, as the daemon's feed does, so the coalescer can merge a backlog. Until
a message is due the loop yields (`sleep(0)`, after a coarse sleep when the gap is over 2 ms), so
timer granularity never counts and the store writer and other tasks still run in between. The
dry run never lands anything, so a profitable cycle stays open and is found again by every later
update through its pools: bundles are far more frequent than on a real feed, which makes the
bundle path's latency well sampled and the loop busier than it would be.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uvloop
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.pubkey import Pubkey

from benchmarks.feed import notifications, random_updates, subscription_ids
from benchmarks.harness import BenchResult, summarize
from mevbot.config import parse_config
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import Endpoints, Engine, long_lived_heap
from mevbot.events import AccountUpdate
from mevbot.ingest.coalesce import UpdateCoalescer
from mevbot.ingest.pubsub import parse_message
from mevbot.market.model import MarketModel
from mevbot.observe.store import Store
from mevbot.package.keys import TradingKey
from mevbot.package.route import market_accounts
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.universe import generate_universe
from mevbot.submit.lookup_tables import TABLE_CAPACITY

SEED = 7
RATE_PER_S = 1_000  # account updates per second: a busy feed for a few thousand pools, with headroom
WARMUP = 300  # untimed messages first: numba kernels compiled, caches and the bundle builder warm


class EndToEndSuite:
    name = "e2e."

    def run(self, pools: int, quick: bool, wanted: Callable[[str], bool]) -> Iterator[BenchResult]:
        if wanted("e2e.decision_latency"):
            yield decision_latency(pools, 3_000 if quick else 20_000)


def decision_latency(pools: int, n: int, rate_per_s: int = RATE_PER_S, warm_interval_ms: float = 1.0) -> BenchResult:
    model, _ = MarketModel.from_accounts(generate_universe(SEED, pools).accounts)
    subscriptions = subscription_ids(model)
    messages = notifications(random_updates(model, WARMUP + n, seed=3), subscriptions)
    with tempfile.TemporaryDirectory(prefix="mevbot-bench-") as tmp:
        config = parse_config({
            "dry_run": True,
            "warm_interval_ms": warm_interval_ms,
            "decide": {"min_profit_lamports": 1, "max_notional_lamports": 10**18},
            "storage": {"db_path": str(Path(tmp) / "bench.duckdb")},
        })  # fmt: skip
        endpoints = Endpoints(
            rpc_urls=(), ws_urls=(), regions=(("bench", "http://127.0.0.1:1"),),
            keypair_path=Path("unused"), base_mints=(NATIVE_MINT,),
        )  # fmt: skip
        engine = Engine(config, endpoints)
        store = Store(config.storage.db_path)
        try:
            key = TradingKey.generate()
            engine.open_state(store, key)
            engine.attach_market(
                model, slot=999, blockhash=Hash.new_unique(), tip_accounts=list(TIP_ACCOUNTS),
                lookup_tables=market_tables(model, key.pubkey),
            )  # fmt: skip
            stream = _Stream(engine, messages, subscriptions)
            with long_lived_heap():  # as `Engine.run` does once the market is loaded
                uvloop.run(stream.run(rate_per_s))
        finally:
            store.close()
    idle, work = summarize("", 0, stream.idle), summarize("", 0, stream.work)
    return summarize(
        "e2e.decision_latency", len(model.registry), stream.bundle,
        target="p50 ≤ 300 µs, p99 ≤ 2 ms", updates=n, bundles=len(stream.bundle), rate_per_s=rate_per_s,
        idle_p50_us=idle.p50_us, idle_p99_us=idle.p99_us, work_p50_us=work.p50_us, work_p99_us=work.p99_us,
        refused=stream.refused, queued_pct=100 * stream.queued / n, coalesced=stream.coalescer.coalesced,
        warm_passes=engine.telemetry.counters.warm_passes, compiled_ahead=engine.telemetry.counters.routes_compiled_ahead,
    )  # fmt: skip


def market_tables(model: MarketModel, owner: Pubkey) -> list[AddressLookupTableAccount]:
    """The tables the daemon installs at start: every account a swap on any pool names."""
    accounts = market_accounts(model.registry, range(len(model.registry)), owner)
    return [
        AddressLookupTableAccount(Pubkey.new_unique(), list(accounts[i : i + TABLE_CAPACITY]))
        for i in range(0, len(accounts), TABLE_CAPACITY)
    ]


class _Stream:
    """Plays the messages to the engine the way its ingest and model stages would see them."""

    def __init__(self, engine: Engine, messages: list[str], subscriptions: dict[int, Pubkey]) -> None:
        self.engine, self.messages, self.subscriptions = engine, messages, subscriptions
        self.coalescer = UpdateCoalescer()
        self.bundle: list[float] = []  # seconds, arrival → signed bundle
        self.idle: list[float] = []  # seconds, arrival → done, for messages that made no bundle
        self.work: list[float] = []  # seconds, start → end of each pass that built a bundle (no waiting)
        self.queued = 0  # messages that arrived while an earlier one was being processed
        self.refused = 0  # opportunities the decision did not send

    async def run(self, rate_per_s: int) -> None:
        self.engine.writer.start()
        counters = self.engine.telemetry.counters
        warm = asyncio.create_task(self.engine.keep_warm())
        try:
            for index in range(WARMUP):
                await self._pass([(self.messages[index], time.perf_counter_ns())])
            assert counters.bundles_dry_run > 0, "the warm-up built no bundle: nothing to time"
            self.bundle.clear()
            self.idle.clear()
            self.work.clear()
            refused_before = counters.refused
            await self._steady(self.messages[WARMUP:], rate_per_s)
            self.refused = counters.refused - refused_before
        finally:
            warm.cancel()
            await self.engine.writer.stop()

    async def _steady(self, messages: list[str], rate_per_s: int) -> None:
        interval_ns = 1_000_000_000 // rate_per_s
        start = time.perf_counter_ns() + interval_ns
        index, busy_until = 0, 0
        while index < len(messages):
            now = time.perf_counter_ns()
            due = start + index * interval_ns
            if now < due:  # idle: sleep coarsely, then yield to other tasks until the message is due
                await asyncio.sleep((due - now) / 1e9 - 0.001 if due - now > 2_000_000 else 0)
                continue
            batch = []
            while index < len(messages) and due <= now:
                batch.append((messages[index], due))
                index += 1
                due = start + index * interval_ns
            self.queued += sum(arrived < busy_until for _, arrived in batch)
            await self._pass(batch)
            busy_until = time.perf_counter_ns()

    async def _pass(self, batch: list[tuple[str, int]]) -> None:
        """Parse and coalesce everything read, one model pass, and execute what it found."""
        started = time.perf_counter_ns()
        for raw, arrived in batch:
            update = parse_message(raw, self.subscriptions)
            assert isinstance(update, AccountUpdate)
            self.coalescer.push(update, arrived)
        counters = self.engine.telemetry.counters
        before = counters.bundles_dry_run
        opportunity = self.engine.process_updates(self.coalescer.drain())
        if opportunity is not None:
            await self.engine.execute(opportunity, min(arrived for _, arrived in batch))
        done = time.perf_counter_ns()
        built = counters.bundles_dry_run > before
        (self.bundle if built else self.idle).extend((done - arrived) / 1e9 for _, arrived in batch)
        if built:
            self.work.append((done - started) / 1e9)
