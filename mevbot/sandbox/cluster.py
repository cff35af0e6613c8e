"""Wires the sandbox together and runs it: bank, clock, RPC, PubSub, block engine, users, competitors.

`start_sandbox(settings)` is the API the daemon and the tests use in-process; `run_sandbox` is
what `mevbot sandbox` calls to serve until interrupted. Every slot, in order: the bank enters the
slot (new blockhash), the users' swaps land, PubSub announces the slot; auctions run on their own
50 ms timer in Jito slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from solders.pubkey import Pubkey

from mevbot.dex.registry import venue_by_name
from mevbot.sandbox.bank import Bank
from mevbot.sandbox.block_engine import BlockEngine
from mevbot.sandbox.clock import LeaderSchedule, SlotClock
from mevbot.sandbox.competitors import Competitor, CycleIndex
from mevbot.sandbox.genesis import deepest_vaults, fund_trader, fund_traders, load_universe
from mevbot.sandbox.http_service import LOOPBACK, JsonRpcHttpService
from mevbot.sandbox.pools import PoolBook
from mevbot.sandbox.programs import venue_programs
from mevbot.sandbox.pubsub import PubSubServer
from mevbot.sandbox.rpc_server import SolanaRpc
from mevbot.sandbox.settings import SandboxSettings
from mevbot.sandbox.universe import Universe, generate_universe
from mevbot.sandbox.user_flow import Trader, UserFlow
from mevbot.sandbox.wallets import seeded_keypair, write_keypair_file

USER_COUNT = 8
PAYER_DEPTH_MULTIPLE = 10
USER_DEPTH_MULTIPLE = 100
COMPETITOR_DEPTH_MULTIPLE = 10
TRADER_LAMPORTS = 10_000 * 10**9


@dataclass
class Sandbox:
    """A running sandbox: its endpoints, the funded test payer, and the parts behind them."""

    settings: SandboxSettings
    rpc_url: str
    ws_url: str
    block_engine_url: str
    payer_keypair_path: Path
    payer: Trader
    universe: Universe
    bank: Bank
    clock: SlotClock
    schedule: LeaderSchedule
    block_engine: BlockEngine
    pubsub: PubSubServer
    user_flow: UserFlow
    competitors: tuple[Competitor, ...]

    @property
    def payer_pubkey(self) -> Pubkey:
        return self.payer.keypair.pubkey()

    def token_account(self, mint: Pubkey) -> Pubkey:
        """The payer's associated token account for `mint`."""
        return self.payer.token_accounts[mint]


@contextlib.asynccontextmanager
async def start_sandbox(settings: SandboxSettings) -> AsyncIterator[Sandbox]:
    """Start everything on loopback; stop everything (and remove a temporary state dir) on exit."""
    async with contextlib.AsyncExitStack() as stack:
        state_dir = settings.state_dir
        if state_dir is None:
            state_dir = Path(tempfile.mkdtemp(prefix="mevbot-sandbox-"))
            stack.callback(shutil.rmtree, state_dir, ignore_errors=True)
        yield await _start(settings, state_dir, stack)


async def _start(settings: SandboxSettings, state_dir: Path, stack: contextlib.AsyncExitStack) -> Sandbox:
    seed = settings.seed
    binaries = {
        venue_by_name(name).program_id: Path(path) for name, path in settings.program_binaries.items()
    }
    bank = Bank(seed=seed, native_programs=venue_programs(), program_binaries=binaries)
    universe = generate_universe(
        seed, settings.pools, tokens=settings.tokens, planted=settings.planted_cycles
    )
    load_universe(bank, universe)
    depths = deepest_vaults(universe)
    payer = fund_trader(
        bank, seeded_keypair(seed, "payer"), settings.payer_lamports, depths, PAYER_DEPTH_MULTIPLE
    )
    users = fund_traders(bank, (seeded_keypair(seed, f"user-{i}") for i in range(USER_COUNT)), TRADER_LAMPORTS,
                         depths, USER_DEPTH_MULTIPLE)  # fmt: skip
    book = PoolBook({spec.address: spec.venue for spec in universe.pools}, bank.get_account)
    cycles = CycleIndex(
        {spec.address: (spec.mint_a, spec.mint_b) for spec in universe.pools}, universe.base_mints[0]
    )
    planted_pools = tuple(dict.fromkeys(pool for cycle in universe.planted for pool in cycle.pools))
    competitors = tuple(
        Competitor(
            competitor, bank, book, cycles,
            fund_trader(bank, seeded_keypair(seed, f"competitor:{competitor.name}"), TRADER_LAMPORTS, depths,
                        COMPETITOR_DEPTH_MULTIPLE),
            seed, watch_from_start=planted_pools,
        )
        for competitor in settings.competitors
    )  # fmt: skip
    user_flow = UserFlow(bank, book, users, settings.user_flow, seed)
    schedule = LeaderSchedule(seed, settings.jito_slot_share)
    clock = SlotClock(settings.slot_ms)

    rpc = SolanaRpc(bank, seed=seed, confirmation_slots=settings.confirmation_slots)
    rpc_http = JsonRpcHttpService({"/": rpc.dispatcher})
    pubsub = PubSubServer(bank)
    engine = BlockEngine(bank, schedule, auction_interval_ms=settings.auction_interval_ms,
                         rate_limit_per_s=settings.rate_limit_per_s, bidders=competitors,
                         reasons=settings.status_reasons)  # fmt: skip
    rpc_port = await rpc_http.start(settings.rpc_port)
    stack.push_async_callback(rpc_http.stop)
    ws_port = await pubsub.start(settings.ws_port)
    stack.push_async_callback(pubsub.stop)
    engine_port = await engine.start(settings.block_engine_port)
    stack.push_async_callback(engine.stop)

    clock.add_listener(bank.advance_slot)
    clock.add_listener(user_flow.on_slot)
    clock.add_listener(pubsub.on_slot)
    clock.start()
    stack.push_async_callback(clock.stop)

    keypair_path = write_keypair_file(payer.keypair, state_dir / "payer.json")
    return Sandbox(
        settings=settings,
        rpc_url=f"http://{LOOPBACK}:{rpc_port}",
        ws_url=f"ws://{LOOPBACK}:{ws_port}",
        block_engine_url=f"http://{LOOPBACK}:{engine_port}",
        payer_keypair_path=keypair_path,
        payer=payer,
        universe=universe,
        bank=bank,
        clock=clock,
        schedule=schedule,
        block_engine=engine,
        pubsub=pubsub,
        user_flow=user_flow,
        competitors=competitors,
    )


async def run_sandbox(
    settings: SandboxSettings, on_ready: Callable[[Sandbox], Awaitable[None] | None]
) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly. `on_ready` runs once everything listens."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with start_sandbox(settings) as sandbox:
            ready = on_ready(sandbox)
            if ready is not None:
                await ready
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
