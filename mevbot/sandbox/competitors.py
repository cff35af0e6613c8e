"""Competing searchers: in-process bidders that go after the same cycles as the daemon.

A competitor watches the bank. It bids in an auction in two cases:

* **contested**: the auction holds a bundle that write-locks a pool the competitor can profit
  from. Searchers see the same state updates at about the same time, so it bids in that same
  auction (with probability `participation`);
* **alone**: `latency_ms` after a pool changed (or since start, for the universe's planted
  mispricings) if the cycle through it still pays. `latency_ms` None means it only contests.

Its bundle is one transaction: the cycle's swaps from wrapped SOL back to wrapped SOL, each with
the exact quote as its minimum out, then a tip of `tip_fraction` of the profit to a tip account.
Sizing uses the exact quotes and `mevbot.search.sizing`. Cycles are the 2- and 3-hop loops from
SOL through a pool.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solders.account import Account
from solders.compute_budget import set_compute_unit_limit
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.dex import spl_token
from mevbot.sandbox.bank import Bank, ExecutionResult
from mevbot.sandbox.bundles import MIN_TIP_LAMPORTS, TIP_ACCOUNTS, BundleRecord
from mevbot.sandbox.pools import Hop, LoadedRoute, PoolBook, swap_instruction
from mevbot.sandbox.user_flow import Trader
from mevbot.search.sizing import maximize_profit

COMPUTE_UNITS_PER_HOP = 80_000
PROBE_LAMPORTS = 10_000_000  # 0.01 SOL: small enough to read the marginal rate, large against rounding

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompetitorSettings:
    """One competing searcher's behaviour."""

    name: str = "competitor-1"
    tip_fraction: float = 0.5
    latency_ms: int | None = 400
    min_profit_lamports: int = 20_000
    participation: float = 1.0


def competitor_lineup(count: int) -> tuple[CompetitorSettings, ...]:
    """`count` competitors that differ: tip fractions from 0.3 to 0.7, latencies from 200 to 600 ms."""
    lineup = []
    for index in range(count):
        share = index / max(count - 1, 1)
        lineup.append(CompetitorSettings(name=f"competitor-{index + 1}", tip_fraction=round(0.3 + 0.4 * share, 3),
                                         latency_ms=int(200 + 400 * share)))  # fmt: skip
    return tuple(lineup)


Cycle = tuple[Hop, ...]


class CycleIndex:
    """The 2- and 3-hop cycles from `home` (wrapped SOL) through each pool, from the pool pairs.

    Built on first use: every cycle home → x (→ y) → home, indexed by the pools it trades.
    """

    def __init__(self, pairs: Mapping[Pubkey, tuple[Pubkey, Pubkey]], home: Pubkey) -> None:
        self._home = home
        self._pairs = dict(pairs)
        self._by_pool: dict[Pubkey, list[Cycle]] | None = None

    @property
    def home(self) -> Pubkey:
        return self._home

    def through(self, pool: Pubkey) -> tuple[Cycle, ...]:
        if self._by_pool is None:
            self._by_pool = self._index()
        return tuple(self._by_pool.get(pool, ()))

    def _index(self) -> dict[Pubkey, list[Cycle]]:
        by_mint: dict[Pubkey, list[Pubkey]] = {}
        by_pair: dict[frozenset[Pubkey], list[Pubkey]] = {}
        for pool, (mint_a, mint_b) in self._pairs.items():
            by_mint.setdefault(mint_a, []).append(pool)
            by_mint.setdefault(mint_b, []).append(pool)
            by_pair.setdefault(frozenset((mint_a, mint_b)), []).append(pool)
        home = self._home
        by_pool: dict[Pubkey, list[Cycle]] = {}
        for first in by_mint.get(home, ()):
            middle = self._other(first, home)
            for second in by_mint.get(middle, ()):
                if second == first:
                    continue
                after = self._other(second, middle)
                if after == home:
                    self._add(by_pool, (Hop(first, home), Hop(second, middle)))
                    continue
                for third in by_pair.get(frozenset((after, home)), ()):
                    self._add(by_pool, (Hop(first, home), Hop(second, middle), Hop(third, after)))
        return by_pool

    def _other(self, pool: Pubkey, mint: Pubkey) -> Pubkey:
        mint_a, mint_b = self._pairs[pool]
        return mint_b if mint == mint_a else mint_a

    @staticmethod
    def _add(by_pool: dict[Pubkey, list[Cycle]], cycle: Cycle) -> None:
        for pool in dict.fromkeys(hop.pool for hop in cycle):
            by_pool.setdefault(pool, []).append(cycle)


class Competitor:
    """An `AuctionBidder` that bids on the best cycle through contested or recently changed pools."""

    def __init__(
        self,
        settings: CompetitorSettings,
        bank: Bank,
        book: PoolBook,
        cycles: CycleIndex,
        trader: Trader,
        seed: int,
        watch_from_start: Sequence[Pubkey] = (),
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._bank = bank
        self._book = book
        self._cycles = cycles
        self._trader = trader
        self._rng = random.Random(f"competitor:{seed}:{settings.name}")
        self._pools = frozenset(book.addresses)
        self._changed: dict[Pubkey, float] = dict.fromkeys(watch_from_start, time.monotonic())
        self.bids_made = 0
        bank.add_commit_listener(self._on_commit)

    def bids(self, contested: Sequence[BundleRecord], slot: int) -> list[list[VersionedTransaction]]:
        candidates: set[Pubkey] = set()
        if contested and self._rng.random() < self.settings.participation:
            for record in contested:
                if record.source != self.name:
                    candidates |= record.locks()[0] & self._pools
        if self.settings.latency_ms is not None:
            ready = time.monotonic() - self.settings.latency_ms / 1000
            for pool, changed_at in list(self._changed.items()):
                if changed_at <= ready:
                    candidates.add(pool)
                    del self._changed[pool]
        best = self._best_cycle(candidates)
        if best is None:
            return []
        route, amount_in, profit = best
        self.bids_made += 1
        return [[self._bundle_transaction(route, amount_in, profit)]]

    def _on_commit(
        self, slot: int, results: Sequence[ExecutionResult], changed: Mapping[Pubkey, Account | None]
    ) -> None:
        mine = self._trader.keypair.pubkey()
        if any(result.transaction.message.account_keys[0] == mine for result in results):
            return  # our own trade: nothing new to chase
        now = time.monotonic()
        for key in changed.keys() & self._pools:
            self._changed.setdefault(key, now)

    def _best_cycle(self, pools: set[Pubkey]) -> tuple[LoadedRoute, int, int] | None:
        budget = self._home_balance()
        best: tuple[LoadedRoute, int, int] | None = None
        seen: set[tuple[Hop, ...]] = set()
        loaded: dict[Pubkey, tuple] = {}
        for pool in sorted(pools, key=bytes):
            for cycle in self._cycles.through(pool):
                if cycle in seen:
                    continue
                seen.add(cycle)
                route = self._book.load_route(cycle, loaded)
                if route is None or (route.profit(PROBE_LAMPORTS) or 0) <= 0:
                    continue  # profit is concave in size: a loss on a small trade is a loss on all
                found = maximize_profit(
                    lambda x, r=route: r.profit(x), guess=max(budget / 1000, 1.0), upper=budget
                )
                if found.profit >= self.settings.min_profit_lamports and (
                    best is None or found.profit > best[2]
                ):
                    best = (route, found.amount_in, found.profit)
        return best

    def _home_balance(self) -> int:
        home = self._cycles.home
        account = self._bank.get_account(self._trader.token_accounts[home])
        return spl_token.token_amount(bytes(account.data)) if account is not None else 0

    def _bundle_transaction(self, route: LoadedRoute, amount_in: int, profit: int) -> VersionedTransaction:
        owner = self._trader.keypair.pubkey()
        quotes = route.quote(amount_in)
        assert quotes is not None, "the size came from these quotes"
        instructions = [set_compute_unit_limit(COMPUTE_UNITS_PER_HOP * len(route.legs) + 10_000)]
        amount = amount_in
        for (venue, pool, _, mint_in), quote in zip(route.legs, quotes, strict=True):
            instructions.append(
                swap_instruction(
                    venue.name, pool, owner, self._trader.token_accounts, mint_in, amount, quote.amount_out,
                    self._book.token_programs(pool),
                )
            )
            amount = quote.amount_out
        tip = max(MIN_TIP_LAMPORTS, int(profit * self.settings.tip_fraction))
        tip_account = TIP_ACCOUNTS[self._rng.randrange(len(TIP_ACCOUNTS))]
        instructions.append(transfer(TransferParams(from_pubkey=owner, to_pubkey=tip_account, lamports=tip)))
        message = MessageV0.try_compile(owner, instructions, [], self._bank.latest_blockhash)
        return VersionedTransaction(message, [self._trader.keypair])
