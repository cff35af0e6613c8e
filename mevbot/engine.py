"""The daemon: the one module that knows every stage and joins them.

    ingest ──(coalescer: latest slot per account)──▶ model + search ──(bounded queue)──▶
    replay + decide + package + submit ──▶ trackers ──▶ observe (one writer task)

Backpressure: account updates coalesce per account; opportunities wait in a bounded queue where the
oldest is dropped when it is full, and one older than `max_opportunity_age_slots` is dropped when it
is taken. Each stage runs under a supervisor that logs a crash with context and restarts the stage;
a stage that keeps crashing halts trading. Shutdown drains in-flight bundle statuses and flushes the
store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.pubkey import Pubkey

from mevbot.config import Config
from mevbot.control.envelope import ControlPolicy, Verdict
from mevbot.control.gate import ControlGate
from mevbot.control.socket import serve_control
from mevbot.decide.bandit import Bandit, fraction_of, region_bandit, route_class, tip_bandit
from mevbot.decide.policy import Policy, decide
from mevbot.decide.risk import RiskEngine, RiskLimits, RiskState, RiskTransition
from mevbot.decide.wallet import Wallet, sizing_cap, wallet_refusal
from mevbot.dex.base import DecodeError, DexError
from mevbot.dex.spl_token import NATIVE_MINT, decode_token_account
from mevbot.events import AccountUpdate, Decision, Opportunity
from mevbot.ingest.bootstrap import load_market
from mevbot.ingest.cluster_clock import RESYNC_S as CLOCK_RESYNC_S
from mevbot.ingest.cluster_clock import ClusterClock, fetch_clock
from mevbot.ingest.coalesce import UpdateCoalescer
from mevbot.ingest.pubsub import PubSubFeed
from mevbot.ingest.rpc import RpcClient, RpcError, SignatureInfo
from mevbot.market.graph import edge_pool
from mevbot.market.model import MarketModel
from mevbot.observe.metrics import serve_metrics
from mevbot.observe.pnl import MetaError, realised_pnl, token_balances, transaction_fee
from mevbot.observe.recorder import (
    Recorder,
    load_bandit_arms,
    load_holdings,
    load_risk_transitions,
    restore_bandit,
)
from mevbot.observe.rivals import Bid, Taker, requested_units, taker, verdict
from mevbot.observe.store import Store, StoreWriter
from mevbot.package.bundle import Bundle
from mevbot.package.keys import TradingKey, load_keypair
from mevbot.package.route import RouteBuilder, associated_token_account, market_accounts
from mevbot.package.transaction import PackageError
from mevbot.retry import Backoff
from mevbot.search.engine import CycleSearch, SearchSettings
from mevbot.simulate.replay import Rejection, Replay, check_profit, replay_route
from mevbot.submit.jito import BlockEngineClient
from mevbot.submit.lookup_tables import install_lookup_tables, load_lookup_tables
from mevbot.submit.ratelimit import TokenBucket
from mevbot.submit.router import Region, RegionRouter
from mevbot.submit.tracker import Outcome, TrackedResult, track
from mevbot.systemd import pin_to_cores, sd_notify, watchdog_interval_s
from mevbot.telemetry import Telemetry

log = logging.getLogger("mevbot.engine")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_HALTED = 3  # a stage kept failing and trading was halted; systemd must not restart into trading

STAGE_FAILURES_TO_HALT = 5
STAGE_FAILURE_WINDOW_S = 60.0
UNKNOWN_GRACE_S = 2.0  # how long a bundle whose send got no reply may stay unknown to the engine
PNL_LOOKUP_S = 30.0  # how long a landed bundle's transaction is looked for (`Engine._landed_books`)
LOSS_LOOKUP_S = 10.0  # how long `Engine._who_took_it` may take, waiting its turn included
LOSS_LOOKUPS_AT_ONCE = 4  # others wait their turn: each costs a dozen RPC calls
SIGNATURES_PER_PAGE = 100  # a pool's transactions are read back to the send in pages of this many…
SIGNATURE_PAGES = 5  # …at most this many (a busy pool's older ones are then not candidates)
TAKERS_READ = 8  # candidates read (earliest first) to find the one that took a lost bundle's pools
PNL_UNKNOWN = "landed; PnL unknown: transaction not found"
YOUNG_GC_AT = (200, 8)  # idle time collects the youngest generation / the middle one from these counts
ROUTES_AHEAD_CHECKED = 8  # routes near profit one compile ahead looks at for one without a compiled message
TOKEN_ACCOUNTS_EVERY = 6  # chain-stage rounds (of `CLOCK_RESYNC_S`) between reads of the wallet's token accounts
SIGNATURES_PREPARED = 2  # signing nonces drawn per idle moment: the rehearsal's signature uses one


@dataclass(frozen=True)
class Endpoints:
    """Where the engine connects: a real node and block engines, or the in-process sandbox."""

    rpc_urls: tuple[str, ...]
    ws_urls: tuple[str, ...]
    regions: tuple[tuple[str, str], ...]  # (name, url)
    keypair_path: Path
    base_mints: tuple[Pubkey, ...] | None = None  # None: the config's


@dataclass(frozen=True)
class RunSummary:
    exit_code: int
    reason: str
    figures: dict[str, Any]
    db_path: str


@dataclass
class _InFlight:
    bundle_id: str
    decision_seq: int
    tip: int
    arm: str
    context: str
    region_arm: str
    signature: str
    pools: frozenset[Pubkey] = frozenset()
    sent_slot: int = 0
    rivals: list[_InFlight] = field(default_factory=list)  # our other bundles in flight beside it
    landed: bool = False
    taken_by_ours: bool = False  # the chain shows one of our transactions took its pools (`_who_took_it`)
    resolved: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class _Books:
    """What a landed transaction made, from its meta: PnL, fee and the token holdings after it."""

    pnl: int
    fee: int
    holdings: dict[str, int]


class Engine:
    def __init__(
        self, config: Config, endpoints: Endpoints, *, on_tick: Callable[[Telemetry], None] | None = None
    ):
        self.config = config
        self.endpoints = endpoints
        self.on_tick = on_tick
        self.telemetry = Telemetry()
        self.dry_run = config.effective_dry_run
        self.stop_event = asyncio.Event()
        self.stop_reason = "stopped"
        self.exit_code = EXIT_OK
        self.current_slot = 0
        self._blockhash: Hash | None = None
        self._cluster_clock: ClusterClock | None = None  # None: not read, pools' open times unchecked
        self.wallet = Wallet()  # what the daemon last read of its wallet (nothing, until `run` reads it)
        self._tasks: set[asyncio.Task[None]] = set()  # background work the stages started (`_spawn`)
        self._opened: set[int] = set()  # pools that opened for trading since the last model pass
        self._in_flight: set[asyncio.Task[None]] = set()
        self._flights: dict[str, _InFlight] = {}  # bundle id → what it trades, while its status is open
        self._loss_lookups = asyncio.Semaphore(LOSS_LOOKUPS_AT_ONCE)
        self._opportunities: asyncio.Queue[tuple[Opportunity, int]] = asyncio.Queue(maxsize=64)
        self._coalescer = UpdateCoalescer()
        self._last_bundled: Opportunity | None = None  # what `warm` rehearses
        self._warm_pool = 0
        self._config_hash = hashlib.sha256(repr(config).encode()).hexdigest()[:16]
        self._policy = Policy(min_profit_lamports=config.decide.min_profit_lamports,
                              compute_unit_price=config.decide.priority_fee_micro_lamports)  # fmt: skip
        self.sandbox: Any = None  # the in-process sandbox, when run_daemon started one

    # --- life cycle ------------------------------------------------------------------------------

    def open_state(self, store: Store, key: TradingKey) -> None:
        """Storage, risk and bandits as the store left them: the state a restart must not lose."""
        self.key = key
        self.writer = StoreWriter(store)
        self.recorder = Recorder(store, self.writer)
        self.risk = RiskEngine(self._risk_limits())
        self.risk.restore(load_risk_transitions(store))
        self.risk.inventory.update(load_holdings(store))
        self._risk_moved(None)
        self._saved_bandits = load_bandit_arms(store)
        self._bandits: dict[str, Bandit] = {}
        self.regions_bandit = region_bandit(
            [name for name, _ in self.endpoints.regions], seed=self.config.sandbox.seed
        )
        restore_bandit(self.regions_bandit, self._saved_bandits)

    def attach_market(
        self, model: MarketModel, *, slot: int, blockhash: Hash, tip_accounts: list[Pubkey],
        lookup_tables: Sequence[AddressLookupTableAccount] = (),
    ) -> None:  # fmt: skip
        """The model to trade on. `run` attaches the RPC snapshot; a replay or a benchmark its own."""
        self.model = model
        self.search = CycleSearch(model, self._search_settings())
        self.builder = RouteBuilder(model, self.key.pubkey, lookup_tables=lookup_tables)
        self.builder.prepare(range(len(model.registry)))
        model.registry.take_newly_tracked()  # what it reads now: the feed subscribes to all of it at start
        self.current_slot = self.start_slot = slot
        self._blockhash = blockhash
        self.tip_accounts = tip_accounts
        self.telemetry.slot = slot
        self._cap_sizing()

    async def run(self, *, slots: int | None = None, duration: float | None = None) -> RunSummary:
        cores = pin_to_cores(self.config.cpu_affinity)
        log.info("event loop pinned to cores %s; dry_run=%s", list(cores), self.dry_run)
        self.loop_cores = cores
        store = Store(self.config.storage.db_path)
        self.open_state(store, load_keypair(self.endpoints.keypair_path))
        self.writer.start()
        self.rpc = RpcClient(self.endpoints.rpc_urls, timeout_s=self.config.node.request_timeout_s,
                             commitment=self.config.node.commitment)  # fmt: skip
        self.router = RegionRouter(
            [Region(BlockEngineClient(name, url, auth_uuid=self.config.jito.auth_uuid),
                    TokenBucket(self._region_rate(name)))
             for name, url in self.endpoints.regions],
            hedge=self.config.jito.hedge_regions,
        )  # fmt: skip
        tasks: list[asyncio.Task[Any]] = []
        control_server: asyncio.AbstractServer | None = None
        metrics = serve_metrics(self.telemetry, self.config.metrics)
        stack = contextlib.ExitStack()
        try:
            await self._bootstrap()
            stack.enter_context(long_lived_heap())
            control_server = await self._start_control(store)
            self.feed = PubSubFeed(
                self.endpoints.ws_urls, self.model.registry.tracked_accounts(),
                on_update=self._on_update, on_slot=self._on_slot, commitment=self.config.node.commitment,
                stale_after_s=max(2.0, 8 * self.config.sandbox.slot_ms / 1000),
            )  # fmt: skip
            for name, stage in (
                ("ingest", self.feed.run),
                ("model", self._model_stage),
                ("execute", self._execute_stage),
                ("blockhash", self._blockhash_stage),
                ("chain", self._chain_stage),
                ("telemetry", self._telemetry_stage),
                ("warm", self.keep_warm),
            ):
                tasks.append(asyncio.create_task(self._supervise(name, stage), name=name))
            await asyncio.wait_for(self.feed.connected.wait(), timeout=30)
            sd_notify("READY=1", f"STATUS=trading {len(self.model.registry)} pools, dry_run={self.dry_run}")
            await self._wait_until_done(slots, duration)
        except (RpcError, TimeoutError) as exc:
            self.exit_code, self.stop_reason = EXIT_FAILURE, f"cannot start: {exc}"
            log.error("%s", self.stop_reason)
        finally:
            sd_notify("STOPPING=1")
            tasks += self._tasks
            for task in tasks:
                task.cancel()
            if tasks:
                _, stuck = await asyncio.wait(tasks, timeout=5.0)
                for task in stuck:
                    log.error("stage %s did not stop within 5 s of shutdown", task.get_name())
            await self._drain_in_flight()
            if control_server is not None:
                control_server.close()
                await control_server.wait_closed()
            if metrics is not None:
                await asyncio.to_thread(metrics.stop)
            self._save_bandits()
            await self.writer.stop()
            store.close()
            await self.router.close()
            await self.rpc.close()
            stack.close()
        return RunSummary(
            self.exit_code, self.stop_reason, self.telemetry.snapshot(), self.config.storage.db_path
        )

    async def _bootstrap(self) -> None:
        market = self.config.market
        model, rejected, slot = await load_market(
            self.rpc, pools=[Pubkey.from_string(a) for a in market.pools], mints=[Pubkey.from_string(m) for m in market.mints]
        )
        for entry in rejected[:20]:
            log.warning("snapshot: rejected %s: %s", entry.pubkey, entry.reason)
        blockhash, _ = await self.rpc.get_latest_blockhash()
        tips = [Pubkey.from_string(a) for a in await self.router.regions[0].client.tip_accounts()]
        tables = await self._lookup_tables(model)
        self.attach_market(model, slot=slot, blockhash=blockhash, tip_accounts=tips, lookup_tables=tables)
        await self._read_clock()
        waiting = self.model.opens_later()
        if waiting:
            log.info("%d pool(s) wait for their open time, the first at %d", len(waiting), min(waiting.values()))
        await self._read_wallet()
        await self._read_token_accounts()
        log.info("market: %d pools, %d cycles, slot %d", len(self.model.registry), len(self.search.cycles),
                 self.current_slot)  # fmt: skip

    async def _lookup_tables(self, model: MarketModel) -> list[AddressLookupTableAccount]:
        package = self.config.package
        tables = await load_lookup_tables(self.rpc, [Pubkey.from_string(a) for a in package.lookup_tables])
        install = package.install_lookup_tables
        if install or (install is None and self.config.uses_sandbox):
            addresses = market_accounts(model.registry, range(len(model.registry)), self.key.pubkey)
            before = await self.rpc.get_balance(self.key.pubkey)
            installed = await install_lookup_tables(self.rpc, self.key, addresses)
            spent = before - await self.rpc.get_balance(self.key.pubkey)
            self.recorder.cost("lookup_tables", spent, f"{len(installed)} tables, {len(addresses)} addresses", time.time())
            log.info("installed %d lookup tables for %d accounts (%d lamports)", len(installed), len(addresses), spent)
            tables += installed
        return tables

    async def _wait_until_done(self, slots: int | None, duration: float | None) -> None:
        deadline = time.monotonic() + duration if duration is not None else None
        watchdog = watchdog_interval_s()
        while not self.stop_event.is_set():
            if slots is not None and self.current_slot - self.start_slot >= slots:
                self.stop_reason = f"ran {slots} slots"
                return
            if deadline is not None and time.monotonic() >= deadline:
                self.stop_reason = f"ran {duration:g}s"
                return
            if watchdog is not None:
                sd_notify("WATCHDOG=1")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=min(0.1, watchdog or 0.1))

    def request_stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stop_event.set()

    async def _supervise(self, name: str, stage: Callable[[], Awaitable[None]]) -> None:
        """Restart a crashed stage; if it keeps crashing, halt trading and stop the daemon."""
        failures: deque[float] = deque()
        while True:
            try:
                await stage()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stage %s crashed (slot %d); restarting", name, self.current_slot)
                self.telemetry.counters.stage_restarts += 1
                now = time.monotonic()
                failures.append(now)
                while failures and failures[0] < now - STAGE_FAILURE_WINDOW_S:
                    failures.popleft()
                if len(failures) >= STAGE_FAILURES_TO_HALT:
                    self._risk_moved(
                        self.risk.halt(f"stage {name} crashed {len(failures)} times in a minute", time.time())
                    )
                    self.exit_code = EXIT_HALTED
                    self.request_stop(f"stage {name} keeps failing; trading halted")
                    return
                await asyncio.sleep(0.1 * len(failures))

    # --- ingest and model ------------------------------------------------------------------------

    def _on_update(self, update: AccountUpdate) -> None:
        self.telemetry.counters.updates += 1
        self._coalescer.push(update, time.perf_counter_ns())

    def _on_slot(self, slot: int) -> None:
        if slot > self.current_slot:
            self.current_slot = slot
            self.telemetry.slot = slot
            if self._cluster_clock is not None:
                self._pools_opened(self.model.set_clock(self._cluster_clock.at(slot)))

    def _pools_opened(self, pool_ids: tuple[int, ...]) -> None:
        """Pools the clock just opened: their cycles are searched in the next model pass, as if
        they had changed (nothing else may update them soon)."""
        if pool_ids:
            addresses = ", ".join(str(self.model.registry.pool(pool_id).address) for pool_id in pool_ids[:5])
            log.info("%d pool(s) open for trading: %s", len(pool_ids), addresses)
            self._opened.update(pool_ids)
            self._coalescer.ready.set()  # wake the model stage

    async def _read_clock(self) -> None:
        """Read the cluster's clock, which new pools' open times are checked against."""
        clock = await fetch_clock(self.rpc)
        if clock is None:
            log.warning("the node serves no Clock sysvar: pools' open times are not checked")
            return
        self._cluster_clock = clock
        self._pools_opened(self.model.set_clock(clock.at(max(self.current_slot, clock.slot))))

    async def _model_stage(self) -> None:
        while True:
            await self._coalescer.ready.wait()
            batch = self._coalescer.drain()
            opportunity = self.process_updates(batch)
            newly_read = self.model.registry.take_newly_tracked()
            if newly_read:
                self._spawn(self._read_from_now_on(newly_read), "newly read accounts", self._tasks)
            if opportunity is not None:
                if self._opportunities.full():
                    self._opportunities.get_nowait()
                    self.telemetry.counters.opportunities_dropped += 1
                first_arrival = min((arrived for _, arrived in batch), default=time.perf_counter_ns())
                self._opportunities.put_nowait((opportunity, first_arrival))
            await asyncio.sleep(0)  # let the execute stage run between passes

    async def _read_from_now_on(self, accounts: list[Pubkey]) -> None:
        """Accounts the market started reading after start (a Whirlpool whose price moved to other
        tick arrays, a new pool's vaults): subscribe, then fetch what they hold now, applied as
        updates (a subscription only reports later changes)."""
        await self.feed.subscribe(accounts)
        try:
            fetched = await self.rpc.get_multiple_accounts(accounts)
        except RpcError as exc:
            log.warning("could not fetch %d newly read accounts: %s", len(accounts), exc)
            return
        arrived = time.perf_counter_ns()
        for update in fetched:
            if update is not None:
                self._coalescer.push(update, arrived)

    def process_updates(self, batch: list[tuple[AccountUpdate, int]]) -> Opportunity | None:
        """Apply a batch of updates, search the cycles through the pools they changed (and those
        that just opened), return the best."""
        changed, self._opened = self._opened, set()
        stats_before = (self.model.stats.stale, self.model.stats.malformed)
        for update, arrived in batch:
            changed.update(self.model.apply(update))
            self.telemetry.latency["ingest_to_model"].since(arrived)
        counters = self.telemetry.counters
        counters.updates_stale += self.model.stats.stale - stats_before[0]
        counters.updates_malformed += self.model.stats.malformed - stats_before[1]
        counters.updates_coalesced = self._coalescer.coalesced
        if not changed:
            return None
        started = time.perf_counter_ns()
        opportunity = self.search.on_pools_changed(changed)
        self.telemetry.latency["search"].since(started)
        if opportunity is not None:
            counters.opportunities += 1
        return opportunity

    # --- decide, package, submit -----------------------------------------------------------------

    async def _execute_stage(self) -> None:
        while True:
            opportunity, arrived = await self._opportunities.get()
            self._check_emergency_stop()
            self._risk_moved(self.risk.refresh(time.time()))
            if self.current_slot - opportunity.slot > self.config.decide.max_opportunity_age_slots:
                self.telemetry.counters.opportunities_stale += 1
                continue
            await self.execute(opportunity, arrived)

    async def execute(self, opportunity: Opportunity, arrived_ns: int) -> None:
        started = time.perf_counter_ns()
        now = time.time()
        counters = self.telemetry.counters
        opportunity_id = self.recorder.opportunity(opportunity, now)
        venues = [hop.venue for hop in opportunity.hops]
        context = route_class(venues)
        bandit = self._bandit(context)
        arm = bandit.choose(stake=opportunity.profit)
        region_arm = self.regions_bandit.choose()
        replay, decision = self._judge(
            opportunity, quoted_states=self.search.quoted_states(opportunity), now=now, tip_fraction=fraction_of(arm)
        )
        if isinstance(replay, Rejection):
            decision = replace(decision, send=False, reason=f"replay: {replay.code}: {replay.detail}")
        elif opportunity.mint != NATIVE_MINT:
            decision = replace(
                decision, send=False, reason="start token is not SOL: tips and PnL are in lamports"
            )
        elif decision.send:
            refusal = check_profit(replay, tip_lamports=decision.tip_lamports, fee_lamports=decision.fee_lamports,
                                   min_profit=self.config.decide.min_profit_lamports)  # fmt: skip
            if refusal is not None:
                decision = replace(decision, send=False, reason=f"replay: {refusal.code}: {refusal.detail}")
            elif not self.dry_run and (
                short := wallet_refusal(self.wallet, opportunity, decision.tip_lamports, decision.fee_lamports)
            ):
                decision = replace(decision, send=False, reason=f"wallet: {short}")
        seq = self.recorder.decision(decision, opportunity_id, now, arm=f"{arm.name}|{region_arm.name}",
                                     config_hash=self._config_hash)  # fmt: skip
        counters.decisions += 1
        if not decision.send:
            counters.refused += 1
            return
        try:
            bundle = self._package(opportunity, decision.tip_lamports)
        except PackageError as exc:
            counters.rejected_by_simulation += 1
            log.warning("package refused: %s", exc)
            return
        self._last_bundled = opportunity
        self.telemetry.latency["decide_to_bundle"].since(started)
        self.telemetry.latency["update_to_bundle"].since(arrived_ns)
        if self.dry_run:
            counters.bundles_dry_run += 1
            self.recorder.bundle_sent(bundle, seq, now, regions=[], refused=[], tip_lamports=decision.tip_lamports,
                                      dry_run=True)  # fmt: skip
            return
        flight = _InFlight(bundle.bundle_id, seq, decision.tip_lamports, arm.name, context, region_arm.name,
                           str(bundle.transactions[-1].signatures[0]), frozenset(h.pool for h in opportunity.hops),
                           self.current_slot)  # fmt: skip
        # From here on the bundle may reach a block engine. A task that shutdown drains owns it, so a
        # stop in the middle of the send cannot leave a bundle that lands with no record of it.
        self._spawn(self._send_and_follow(bundle, flight, now), f"send-{flight.bundle_id[:8]}", self._in_flight)

    def _judge(
        self, opportunity: Opportunity, *, quoted_states: Sequence[Any], now: float, tip_fraction: float | None
    ) -> tuple[Replay | Rejection, Decision]:
        """The exact replay of `opportunity` on the pools' current states, and the policy's decision
        on its profit. Records nothing: `warm` rehearses it."""
        states = [(self.model.venue(h.pool_id), self.model.state(h.pool_id)) for h in opportunity.hops]
        replay = replay_route(opportunity, states, quoted_states=quoted_states)
        decision = decide(
            opportunity, profit_lamports=0 if isinstance(replay, Rejection) else replay.profit, policy=self._policy,
            risk=self.risk, state_age_slots=self.current_slot - opportunity.slot, now=now, tip_fraction=tip_fraction,
        )  # fmt: skip
        return replay, decision

    def _package(self, opportunity: Opportunity, tip_lamports: int) -> Bundle:
        return self.builder.bundle(
            opportunity, payer=self.key, blockhash=self._blockhash, tip_account=self._tip_account(opportunity.hops[0].pool_id),
            tip_lamports=tip_lamports, compute_unit_price=self.config.decide.priority_fee_micro_lamports,
        )  # fmt: skip

    def _tip_account(self, first_pool_id: int) -> Pubkey:
        """Routes spread over the tip accounts, and each keeps its own: the builder then re-signs the
        message it compiled for the route before instead of compiling another one."""
        return self.tip_accounts[first_pool_id % len(self.tip_accounts)]

    async def keep_warm(self) -> None:
        """While the feed is quiet, every `warm_interval_ms`: rehearse the hot path, run the young
        garbage collections that would otherwise interrupt the next pass, compile ahead the
        transaction of a route near profit, and prepare the next decision's randomness.

        Between updates, whatever else runs on the machine evicts the loop's code and data from the
        CPU's caches: on the benchmark VM a decision 1 ms after the previous one took 1.6–2.4× one
        made back to back. A rehearsal (`warm`, ~140 µs there in three parts) keeps them in, for
        ~15 % of a core at 1 ms; a compile ahead (`compile_ahead`) takes ~60–150 µs more, while
        routes near profit have none (~8 %); then the key draws signing nonces
        (`TradingKey.prepare_signatures`, ~25 µs each warm), which cut a bundle's signature from
        ~25 to ~6 µs, and the bandits draw their next Thompson samples (`Bandit.prepare`): ~5 %.
        Each step (and each part of a rehearsal) runs only while no update or opportunity waits,
        and the loop is yielded between them: an update that arrives during one waits for that
        part alone. Returns at once when `warm_interval_ms` is 0.
        """
        interval = self.config.warm_interval_ms / 1000
        if not interval:
            return
        jitter = random.Random()
        while True:
            # Jittered (½ to 1½ intervals): a feed as regular as the timer would otherwise lock in
            # phase with it, and every update would arrive during a rehearsal.
            await asyncio.sleep(interval * (0.5 + jitter.random()))
            if not self._idle():
                continue
            collect_young_garbage()
            for _ in self._rehearsal():
                await asyncio.sleep(0)
                if not self._idle():
                    break
            else:
                for step in (self.compile_ahead, self._prepare_randomness):
                    await asyncio.sleep(0)
                    if not self._idle():
                        break
                    step()

    def _prepare_randomness(self) -> None:
        """What the next decision would draw: signing nonces and the bandits' Thompson samples."""
        self.key.prepare_signatures(SIGNATURES_PREPARED)
        for bandit in (*self._bandits.values(), self.regions_bandit):
            bandit.prepare()

    def _idle(self) -> bool:
        return not len(self._coalescer) and self._opportunities.empty()

    def warm(self) -> None:
        """One whole rehearsal (`_rehearsal`)."""
        for _ in self._rehearsal():
            pass

    def _rehearsal(self) -> Iterator[None]:
        """One rehearsal, its results discarded: the float search over the cycles through the next
        pool in turn and the last bundled route's exact quotes on the current states; then its
        replay and decision; then its bundle rebuilt and signed. It yields between those parts
        (~50 µs each), where `keep_warm` lets the loop take an update first. Nothing is recorded,
        sent or counted but a whole rehearsal. (Rehearsing the replay and decision too took a
        further 20–40 µs off p50 at 5,000 pools in the benchmark, for ~15 µs more a rehearsal.)"""
        if not len(self.model.registry):
            return
        self._warm_pool = (self._warm_pool + 1) % len(self.model.registry)
        route = self._last_bundled
        self.search.rehearse(self._warm_pool, route)
        if route is not None:
            yield
            self._judge(route, quoted_states=(), now=time.time(), tip_fraction=None)
            yield
            with contextlib.suppress(PackageError):
                self._package(route, tip_lamports=0)
        self.telemetry.counters.warm_passes += 1

    def compile_ahead(self) -> None:
        """Compile the transaction of one route near profit that has none yet (`CycleSearch.
        route_near_profit`): its first bundle then re-signs that message instead of paying
        ~60–100 µs to compile one. Looks at no more than `ROUTES_AHEAD_CHECKED` routes; one that
        cannot be compiled is left for its first bundle to refuse."""
        for _ in range(ROUTES_AHEAD_CHECKED):
            edges = self.search.route_near_profit()
            if edges is None:
                return
            try:
                compiled = self.builder.precompile(
                    edges, payer=self.key.pubkey, blockhash=self._blockhash, tip_account=self._tip_account(edge_pool(edges[0])),
                    compute_unit_price=self.config.decide.priority_fee_micro_lamports,
                )  # fmt: skip
            except (DexError, ValueError):  # PackageError is a ValueError
                continue
            if compiled:
                self.telemetry.counters.routes_compiled_ahead += 1
                return

    def _spawn(self, work: Coroutine[Any, Any, None], name: str, tasks: set[asyncio.Task[None]]) -> None:
        """Run `work` beside the stages, held in `tasks` until it ends: the bundles in flight
        (which shutdown drains) or other background work (which shutdown cancels)."""
        task = asyncio.create_task(work, name=name)
        tasks.add(task)
        task.add_done_callback(functools.partial(self._ended, tasks))

    def _ended(self, tasks: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
        """A task from `_spawn` ended: off its set, and a crash said out loud (for a send, the
        bundle's outcome is then unknown; its rows up to the crash are kept)."""
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s crashed (slot %d)", task.get_name(), self.current_slot, exc_info=task.exception())

    async def _send_and_follow(self, bundle: Bundle, flight: _InFlight, now: float) -> None:
        counters = self.telemetry.counters
        report = await self.router.send_bundle(bundle.encoded())
        self.recorder.bundle_sent(report.bundle_id or bundle.bundle_id, flight.decision_seq, now,
                                  regions=list(report.accepted), refused=list(report.refused), tip_lamports=flight.tip,
                                  dry_run=False)  # fmt: skip
        if report.bundle_id is None and not report.maybe_delivered:
            counters.send_failures += 1
            outcome = Outcome.RATE_LIMITED if report.rate_limited else Outcome.DROPPED
            self._finish(flight, TrackedResult(flight.bundle_id, outcome, None, "NotSent", str(report.refused)), None)
            return
        if report.bundle_id is None:  # no reply, but it may have arrived: follow it by the id it would have
            log.warning("bundle %s: no reply from the block engine, following it anyway: %s",
                        flight.bundle_id, report.refused)  # fmt: skip
        else:
            flight.bundle_id = report.bundle_id
        counters.bundles_sent += 1
        await self._follow(flight, bundle, unknown_grace_s=UNKNOWN_GRACE_S if report.bundle_id is None else 0.0)

    async def _follow(self, flight: _InFlight, bundle: Bundle, *, unknown_grace_s: float = 0.0) -> None:
        self._take_off(flight)
        client = self.router.regions[0].client
        deadline_s = self.config.jito.status_deadline_s
        result = await track(client, flight.bundle_id, deadline_s=deadline_s, poll_s=0.05,
                             unknown_grace_s=unknown_grace_s)  # fmt: skip
        flight.landed = result.outcome is Outcome.LANDED
        flight.resolved.set()
        self._flights.pop(flight.bundle_id, None)  # resolved: no rival to bundles sent from now on
        books: _Books | None = None
        try:
            if flight.landed:
                books = await self._landed_books(flight.signature)
                if books is not None and self.wallet.lamports is not None:  # until the next read of the wallet
                    self.wallet = replace(self.wallet, lamports=self.wallet.lamports - flight.tip - books.fee)
            else:
                if flight.rivals:  # did one of ours take it? Each sets `resolved` before waiting: no cycle
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(deadline_s):
                            await asyncio.gather(*(rival.resolved.wait() for rival in flight.rivals))
                if result.unexplained and not any(rival.landed for rival in flight.rivals):
                    result = await self._who_took_it(flight, bundle, result)
        except BaseException:  # shutdown gave up waiting, or a bug: the outcome is still booked, as known
            self._finish(flight, result, books)
            raise
        self._finish(flight, result, books)
        if books is not None:
            self._book_holdings(books.holdings, result.landed_slot)

    async def _landed_books(self, signature: str) -> _Books | None:
        """What the landed transaction's meta says it made, or None if no node had it within
        `PNL_LOOKUP_S`. The block engine says "Landed" once the block is processed; `getTransaction`
        answers from "confirmed", a slot or more later (later still from a node that lags)."""
        deadline = time.monotonic() + PNL_LOOKUP_S
        backoff = Backoff(base_s=0.05, cap_s=1.0)
        while True:
            try:
                tx = await self.rpc.get_transaction(signature, encoding="json")
                if tx is not None:
                    owner = str(self.key.pubkey)
                    return _Books(realised_pnl(tx, owner, str(NATIVE_MINT)), transaction_fee(tx),
                                  token_balances(tx, owner))  # fmt: skip
            except (RpcError, MetaError) as exc:
                log.warning("pnl of %s: %s", signature, exc)
            delay = backoff.next_delay()
            if time.monotonic() + delay > deadline:
                log.error("pnl of landed %s unknown: transaction not found within %.0f s", signature, PNL_LOOKUP_S)
                return None
            await asyncio.sleep(delay)

    async def _who_took_it(self, flight: _InFlight, bundle: Bundle, result: TrackedResult) -> TrackedResult:
        """`result` with the transaction that took the pools of a bundle that failed unexplained
        named in its reason, and its outcome `lost_auction` if that one outbid us (see
        `observe/rivals.py`); as it is when none did or the chain cannot tell within `LOSS_LOOKUP_S`."""
        counters = self.telemetry.counters
        horizon = self.current_slot + 1  # one past the verdict: our slot tick may trail the block engine's
        try:
            async with asyncio.timeout(LOSS_LOOKUP_S), self._loss_lookups:
                takers = await self._takers(flight, horizon=horizon)
        except (RpcError, MetaError, TimeoutError) as exc:
            log.warning("who took the pools of %s: %s", flight.bundle_id, str(exc) or "no answer in time")
            takers = []
        own = next((t for t in takers if t.payer == self.key.pubkey), None)
        if own is not None:  # a bundle of ours not in flight beside it (already resolved when it was sent)
            flight.taken_by_ours = True
            return replace(result, reason=f"pools taken by our own {own.signature} at slot {own.slot}")
        ours = Bid(flight.tip, sum(requested_units(tx.message) for tx in bundle.transactions))
        explained = verdict(ours, takers)
        if explained is None:
            counters.losses_unexplained += 1
            return result
        outbid, why = explained
        if outbid:
            counters.losses_outbid += 1
            return replace(result, outcome=Outcome.LOST_AUCTION, reason=why)
        counters.losses_taken += 1
        return replace(result, reason=why)

    async def _takers(self, flight: _InFlight, *, horizon: int) -> list[Taker]:
        """The transactions that landed from the send to `horizon` and named one of the flight's
        pools, earliest first, once the node has confirmed `horizon`."""
        backoff = Backoff(base_s=0.05, cap_s=1.0)
        while await self.rpc.get_slot(confirmed=True) < horizon:
            await asyncio.sleep(backoff.next_delay())
        candidates: dict[str, tuple[int, int]] = {}  # signature → (slot, minus its place newest first)
        for pool in flight.pools:
            for age, entry in enumerate(await self._signatures_since(pool, flight.sent_slot)):
                if entry.ok and flight.sent_slot <= entry.slot <= horizon:
                    candidates[entry.signature] = (entry.slot, -age)
        takers = []
        tip_accounts = frozenset(self.tip_accounts)
        for signature in sorted(candidates, key=candidates.__getitem__)[:TAKERS_READ]:
            reply = await self.rpc.get_transaction(signature, encoding="base64")
            if reply is not None:
                takers.append(taker(reply, tip_accounts))
        return takers

    async def _signatures_since(self, pool: Pubkey, slot: int) -> list[SignatureInfo]:
        """The pool's confirmed transactions, newest first, back to `slot` (or `SIGNATURE_PAGES` pages)."""
        entries: list[SignatureInfo] = []
        before = None
        for _ in range(SIGNATURE_PAGES):
            page = await self.rpc.signatures_for_address(pool, limit=SIGNATURES_PER_PAGE, before=before)
            entries += page
            if len(page) < SIGNATURES_PER_PAGE or page[-1].slot < slot:
                break
            before = page[-1].signature
        return entries

    def _book_holdings(self, holdings: dict[str, int], slot: int | None) -> None:
        """Record what the wallet now holds of each token the trade touched, and check the inventory
        limits (wrapped SOL is the start token, not inventory)."""
        now = time.time()
        for mint, amount in holdings.items():
            if mint != str(NATIVE_MINT):
                self.recorder.holding(mint, amount, slot or self.current_slot, now)
                self._risk_moved(self.risk.on_inventory(mint, amount, now))
            elif self.wallet.wrapped_sol is not None:
                self.wallet = replace(self.wallet, wrapped_sol=amount)
                self._cap_sizing()

    def _take_off(self, flight: _InFlight) -> None:
        """Two bundles of ours in flight at once: both write our fee payer, so when they meet in an
        auction at most one lands, whatever pools they trade; when one lands, the other's loss says
        nothing about its tip, its region or the risk of trading."""
        for other in self._flights.values():
            other.rivals.append(flight)
            flight.rivals.append(other)
        self._flights[flight.bundle_id] = flight

    def _finish(self, flight: _InFlight, result: TrackedResult, books: _Books | None) -> None:
        """Book a bundle's outcome. A landed one without `books` (its transaction not found) is
        recorded with its PnL and fee unknown (NULL), counted, and left out of the bandits."""
        self._flights.pop(flight.bundle_id, None)
        counters = self.telemetry.counters
        landed = result.outcome is Outcome.LANDED
        unknown = landed and books is None  # landed, but its transaction was not found
        pnl = books.pnl if books is not None else 0
        if landed:
            counters.landed += 1
            counters.pnl_lamports += pnl
            counters.tips_lamports += flight.tip
            counters.pnl_unknown += unknown
        elif result.outcome is Outcome.LOST_AUCTION:
            counters.lost += 1
        else:
            counters.failed += 1
        tip_paid = flight.tip if landed else 0
        self.recorder.bundle_result(
            flight.bundle_id, time.time(), outcome=str(result.outcome), status=result.status,
            landed_slot=result.landed_slot, reason=PNL_UNKNOWN if unknown else result.reason,
            pnl_lamports=None if unknown else pnl, tip_paid=tip_paid,
            fee_paid=None if unknown else books.fee if books is not None else 0,
        )  # fmt: skip
        tips = self._bandit(flight.context)
        if not landed and (flight.taken_by_ours or any(rival.landed for rival in flight.rivals)):
            counters.lost_to_self += 1
            tips.update(flight.arm, landed=False, net_profit=0)  # a pull that moves no posterior
            return
        if not unknown:  # a landing that made an unknown amount teaches the bandits nothing
            tips.update(flight.arm, landed=landed, net_profit=pnl, outbid=result.outcome is Outcome.LOST_AUCTION)
            self.regions_bandit.update(flight.region_arm, landed=landed, net_profit=pnl)
        self._risk_moved(self.risk.on_outcome(landed=landed, pnl=pnl, tip_paid=tip_paid, now=time.time()))

    async def _drain_in_flight(self) -> None:
        """Wait for the bundles in flight to resolve (bounded by the status deadline), then give up on the rest."""
        if not self._in_flight:
            return
        log.info("waiting for %d in-flight bundle statuses", len(self._in_flight))
        _, pending = await asyncio.wait(self._in_flight, timeout=self.config.jito.status_deadline_s + 1)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("%d bundle statuses unresolved at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)

    # --- background ------------------------------------------------------------------------------

    async def _blockhash_stage(self) -> None:
        period = max(0.05, self.config.sandbox.slot_ms / 1000)
        while True:
            await asyncio.sleep(period)
            with contextlib.suppress(RpcError):
                self._blockhash, _ = await self.rpc.get_latest_blockhash()

    async def _chain_stage(self) -> None:
        """Re-read the cluster's clock and the wallet now and then (an operator may top it up, or
        create token accounts)."""
        for rounds in itertools.count(1):
            await asyncio.sleep(CLOCK_RESYNC_S)
            with contextlib.suppress(RpcError):
                await self._read_clock()
                await self._read_wallet()
                if rounds % TOKEN_ACCOUNTS_EVERY == 0:
                    await self._read_token_accounts()

    async def _read_token_accounts(self) -> None:
        """Which of the market's tokens the wallet has its associated token account for: a swap in
        or out of a token moves it through that account, and fails on chain without one."""
        registry, owner = self.model.registry, self.key.pubkey
        mints = [registry.mint(token) for token in range(registry.token_count)]
        known = [(mint, program) for mint in mints if (program := registry.token_program(mint)) is not None]
        fetched = await self.rpc.get_multiple_accounts(
            associated_token_account(owner, mint, program) for mint, program in known
        )
        held = frozenset(mint for (mint, _), account in zip(known, fetched, strict=True) if account is not None)
        if held != self.wallet.token_accounts:
            log.info("wallet: token accounts for %d of the market's %d tokens%s", len(held), len(mints),
                     "" if self.dry_run else "; routes through the others are refused until they exist")  # fmt: skip
        self.wallet = replace(self.wallet, token_accounts=held)
        self.telemetry.wallet.update(token_accounts=len(held), tokens=len(mints))

    async def _read_wallet(self) -> None:
        """What the wallet holds: SOL, which pays tips and fees, and wrapped SOL, the start token every
        bundle spends from."""
        wsol = associated_token_account(self.key.pubkey, NATIVE_MINT)
        payer, account = await self.rpc.get_multiple_accounts([self.key.pubkey, wsol])
        lamports = 0 if payer is None else payer.lamports
        amount = 0
        if account is not None:
            try:
                held = decode_token_account(account.data, account.owner)
            except DecodeError:
                held = None
            if held is None or held.mint != NATIVE_MINT or held.owner != self.key.pubkey:
                log.error("wallet: %s is not the wallet's wrapped SOL account", wsol)
            else:
                amount = held.amount
        if amount != self.wallet.wrapped_sol:
            log.info("wallet: %d lamports, and %d of wrapped SOL in %s%s", lamports, amount, wsol,
                     " (the dry run sizes trades without this cap)" if self.dry_run else "")  # fmt: skip
            if not amount and not self.dry_run:
                log.error("wallet: no wrapped SOL to trade with; wrap some into %s", wsol)
        self.wallet = replace(self.wallet, lamports=lamports, wrapped_sol=amount)
        self.telemetry.wallet.update(lamports=lamports, wrapped_sol=amount)
        self._cap_sizing()

    def _cap_sizing(self) -> None:
        """Size trades within the notional limit (one over it is refused) and, live, the wrapped SOL
        the wallet holds."""
        cap = sizing_cap(self.risk.limits.max_notional, Wallet() if self.dry_run else self.wallet)
        if cap != self.search.settings.max_amount_in:
            self.search.settings = replace(self.search.settings, max_amount_in=cap)

    async def _telemetry_stage(self) -> None:
        last_saved = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            self.telemetry.counters.notifications_malformed = self.feed.stats.malformed
            self.telemetry.counters.reconnects = max(0, self.feed.stats.connects - 1)
            if self.on_tick is not None:
                self.on_tick(self.telemetry)
            if time.monotonic() - last_saved >= 10:
                last_saved = time.monotonic()
                self._save_latencies()
                self._save_bandits()

    def _save_latencies(self) -> None:
        now = time.time()
        for stage, window in self.telemetry.latency.items():
            n, p50, p99 = window.percentiles()
            if n:
                self.writer.put("latencies", (now, stage, n, p50, p99))

    def _save_bandits(self) -> None:
        now = time.time()
        for bandit in (*self._bandits.values(), self.regions_bandit):
            self.recorder.bandit(bandit, now)

    # --- risk, control ---------------------------------------------------------------------------

    def _risk_moved(self, transition: RiskTransition | None) -> None:
        """Record a transition (if any) and show the state it left."""
        if transition is not None:
            log.warning("risk: %s (%s)", transition.state, transition.reason)
            self.recorder.risk(transition)
        self.telemetry.risk_state, self.telemetry.risk_reason = str(self.risk.state), self.risk.reason

    def _check_emergency_stop(self) -> None:
        path = self.config.control.emergency_stop_file
        if path and self.risk.state is not RiskState.HALTED and Path(path).exists():
            self._risk_moved(self.risk.halt(f"emergency stop file {path} present", time.time()))

    async def _start_control(self, store: Store) -> asyncio.AbstractServer | None:
        control = self.config.control
        if not control.socket_path or not control.operators:
            return None
        policy = ControlPolicy(control.daemon_id, control.operators, control.thresholds, control.max_ttl_s)
        gate = ControlGate(policy, store, self.writer, self._apply_command)
        return await serve_control(gate, control.socket_path)

    async def _apply_command(self, verdict: Verdict) -> str | None:
        """Applied at once, in the event loop: a kill is in force before the next opportunity is taken."""
        args = dict(verdict.args or {})
        who = "+".join(verdict.signers)
        if verdict.command == "kill":
            self._risk_moved(self.risk.halt(f"kill by {who}: {args.get('reason', '')}".strip(), time.time()))
        elif verdict.command == "resume":
            self._risk_moved(self.risk.resume(f"resume by {who}", time.time()))
        elif verdict.command == "set-limit":
            name, value = args.get("name"), args.get("value")
            if (
                not isinstance(name, str)
                or not isinstance(getattr(self.risk.limits, name, None), int | float)
                or not isinstance(value, int | float)
            ):
                return f"set-limit needs name (one of the numeric risk limits) and a numeric value, got {args}"
            self.risk.limits = replace(
                self.risk.limits, **{name: type(getattr(self.risk.limits, name))(value)}
            )
            self._cap_sizing()
        elif verdict.command == "set-bandit":
            share = args.get("max_explore_share")
            if not isinstance(share, int | float) or not 0 <= share <= 1:
                return f"set-bandit needs max_explore_share in [0, 1], got {args}"
            for bandit in self._bandits.values():
                bandit.max_explore_share = float(share)
        log.warning("control: %s accepted (signed by %s)", verdict.command, who)
        return None

    # --- settings ---------------------------------------------------------------------------------

    def _bandit(self, context: str) -> Bandit:
        bandit = self._bandits.get(context)
        if bandit is None:
            bandit = tip_bandit(context, self.config.decide.tip_fractions, max_explore_share=self.config.decide.max_explore_share,
                                seed=self.config.sandbox.seed)  # fmt: skip
            restore_bandit(bandit, self._saved_bandits)
            self._bandits[context] = bandit
        return bandit

    def _risk_limits(self) -> RiskLimits:
        decide_config = self.config.decide
        return RiskLimits(max_notional=decide_config.max_notional_lamports, max_daily_loss=decide_config.max_daily_loss_lamports,
                          max_failures_in_row=decide_config.max_failures_in_row, max_tips_per_hour=decide_config.max_tips_per_hour_lamports,
                          cooldown_s=decide_config.cooldown_s, max_cooldowns_per_hour=decide_config.max_cooldowns_per_hour,
                          max_state_age_slots=decide_config.max_opportunity_age_slots,
                          max_inventory=dict(decide_config.max_inventory))  # fmt: skip

    def _search_settings(self) -> SearchSettings:
        mints = self.endpoints.base_mints or tuple(
            Pubkey.from_string(m) for m in self.config.search.base_mints
        )
        return SearchSettings(base_mints=mints, max_hops=self.config.search.max_hops,
                              min_profit=self.config.search.min_profit_lamports)  # fmt: skip

    def _region_rate(self, name: str) -> float:
        for region in self.config.jito.regions:
            if region.name == name:
                return region.rate_limit_per_s
        return self.config.sandbox.rate_limit_per_s


def collect_young_garbage() -> None:
    """The young collections the interpreter is about to run by itself, run now, while the loop is
    idle: left to it, they run inside a pass (~50 µs for the youngest generation, ~0.7 ms for the
    middle one at 5,000 pools). The bars sit below its own (700 allocations, 10 young collections)."""
    young, middle, _ = gc.get_count()
    if middle >= YOUNG_GC_AT[1]:
        gc.collect(1)
    elif young >= YOUNG_GC_AT[0]:
        gc.collect(0)


@contextlib.contextmanager
def long_lived_heap() -> Iterator[None]:
    """Keep what exists now (the market, its search tables) out of the garbage collector's passes.

    The market lives as long as the daemon; left in the collector's reach, each full collection
    walks all of it (100+ ms at 5,000 pools, in the middle of a decision). Released on exit, so
    the interpreter can still finalize it.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def run_daemon(
    config: Config, *, slots: int | None = None, duration: float | None = None,
    on_tick: Callable[[Telemetry], None] | None = None, on_engine: Callable[[Engine], None] | None = None,
) -> RunSummary:  # fmt: skip
    """Run against the configured node, or start the sandbox in-process when none is configured."""
    if not config.uses_sandbox:
        endpoints = Endpoints(config.node.rpc_urls, config.node.ws_urls,
                              tuple((r.name, r.url) for r in config.jito.regions), Path(config.keys.keypair_path))  # fmt: skip
        engine = Engine(config, endpoints, on_tick=on_tick)
        if on_engine:
            on_engine(engine)
        return await engine.run(slots=slots, duration=duration)
    from mevbot.sandbox.cluster import start_sandbox
    from mevbot.sandbox.settings import settings_from_config

    async with start_sandbox(settings_from_config(config.sandbox)) as sandbox:
        endpoints = Endpoints((sandbox.rpc_url,), (sandbox.ws_url,), (("sandbox", sandbox.block_engine_url),),
                              sandbox.payer_keypair_path, base_mints=(sandbox.universe.base_mints[0],))  # fmt: skip
        engine = Engine(config, endpoints, on_tick=on_tick)
        engine.sandbox = sandbox
        if on_engine:
            on_engine(engine)
        return await engine.run(slots=slots, duration=duration)
