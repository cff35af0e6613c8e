"""Dense integer ids for pools and tokens, and which pools read which account.

The search works on arrays indexed by pool id and token id; this registry is the one place that
maps them back to addresses. It also answers the question every account update asks: which pools
must be re-loaded because they read this account (the pool account itself, its vaults, its config,
its tick arrays)?
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from solders.pubkey import Pubkey

from mevbot.dex.base import Venue, positional_constructor


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """A registered pool. `pool` is the venue's decoded pool account, replaced when it changes. While
    a lane has moved the pool ahead of its exact state (`MarketModel.state` brings both up to date),
    the fields a swap rewrites may be older; its addresses, mints and tick-array layout are current."""

    id: int
    address: Pubkey
    venue: Venue
    pool: Any
    token_a: int
    token_b: int


_build_info = positional_constructor(PoolInfo)  # one per pool account update


class Tracking:
    """Which pools read one account: `pool_id` if it is a pool's own account, and `readers`, the
    ids of the pools that read it, ascending (empty: none does now).

    The registry keeps one per account it has ever tracked and updates it in place, so a caller may
    hold on to it: the market model keeps it with the account's bytes and finds both with one lookup.
    """

    __slots__ = ("pool_id", "readers")

    def __init__(self) -> None:
        self.pool_id: int | None = None
        self.readers: tuple[int, ...] = ()


class PoolRegistry:
    """Pool pubkey ↔ pool id, mint ↔ token id, and account → ids of the pools that read it."""

    def __init__(self) -> None:
        self._pools: list[PoolInfo] = []
        self._mints: list[Pubkey] = []
        self._token_ids: dict[Pubkey, int] = {}
        self._dependencies: list[tuple[Pubkey, ...]] = []
        # Every account ever tracked → its pool id if it is a pool account and the pools that read
        # it: one table, so an update finds both with one lookup. Entries are never dropped (an
        # account no pool reads any more keeps an empty one), so a `Tracking` handed out stays live.
        self._tracked: dict[Pubkey, Tracking] = {}
        self._token_programs: dict[Pubkey, Pubkey] = {}  # mint → the token program that owns it
        self._newly_tracked: list[Pubkey] = []  # accounts tracked since `take_newly_tracked` last ran

    def __len__(self) -> int:
        return len(self._pools)

    @property
    def token_count(self) -> int:
        return len(self._mints)

    def add_pool(self, address: Pubkey, venue: Venue, pool: Any, dependencies: Iterable[Pubkey]) -> PoolInfo:
        """Register a pool (its mints get token ids on first sight). Refuses a pool seen before."""
        if self.pool_id(address) is not None:
            raise ValueError(f"pool {address} is already registered")
        if pool.mint_a == pool.mint_b:
            raise ValueError(f"pool {address} trades {pool.mint_a} against itself")
        info = PoolInfo(
            len(self._pools), address, venue, pool, self.token_id(pool.mint_a), self.token_id(pool.mint_b)
        )
        self._pools.append(info)
        self._dependencies.append(())
        self._add_reader(address, info.id).pool_id = info.id
        self.set_dependencies(info.id, dependencies)
        return info

    def replace_pool(self, pool_id: int, pool: Any, dependencies: Iterable[Pubkey]) -> PoolInfo:
        """Swap in a re-decoded pool account, e.g. a Whirlpool whose price moved to other tick arrays."""
        old = self._pools[pool_id]
        # By identity first: a pool re-decoded from the fields that move keeps its mint objects.
        if (pool.mint_a is not old.pool.mint_a and pool.mint_a != old.pool.mint_a) or (
            pool.mint_b is not old.pool.mint_b and pool.mint_b != old.pool.mint_b
        ):
            raise ValueError(f"pool {old.address} changed its mints")
        info = _build_info(pool_id, old.address, old.venue, pool, old.token_a, old.token_b)
        self._pools[pool_id] = info
        self.set_dependencies(pool_id, dependencies)
        return info

    def set_dependencies(self, pool_id: int, dependencies: Iterable[Pubkey]) -> None:
        if dependencies == self._dependencies[pool_id]:
            return  # most pool updates: checked before the copy below, which costs more
        new = tuple(dict.fromkeys(dependencies))
        if new == self._dependencies[pool_id]:
            return
        for account in self._dependencies[pool_id]:
            if account not in new and account != self._pools[pool_id].address:
                tracking = self._tracked[account]
                tracking.readers = tuple(r for r in tracking.readers if r != pool_id)
        for account in new:
            self._add_reader(account, pool_id)
        self._dependencies[pool_id] = new

    def _add_reader(self, account: Pubkey, pool_id: int) -> Tracking:
        tracking = self._tracked.get(account)
        if tracking is None:
            tracking = self._tracked[account] = Tracking()
            self._newly_tracked.append(account)
        if pool_id not in tracking.readers:
            tracking.readers = tuple(sorted((*tracking.readers, pool_id)))
        return tracking

    def token_id(self, mint: Pubkey) -> int:
        """The mint's token id, assigned on first use."""
        token = self._token_ids.get(mint)
        if token is None:
            token = self._token_ids[mint] = len(self._mints)
            self._mints.append(mint)
        return token

    def token_program(self, mint: Pubkey) -> Pubkey | None:
        """The program that owns `mint` (Token or Token-2022), if known: a swap names it, and the
        owner's associated token account for the mint is derived with it."""
        return self._token_programs.get(mint)

    def set_token_program(self, mint: Pubkey, program: Pubkey) -> None:
        self._token_programs[mint] = program

    def find_token(self, mint: Pubkey) -> int | None:
        return self._token_ids.get(mint)

    def mint(self, token_id: int) -> Pubkey:
        return self._mints[token_id]

    def pool(self, pool_id: int) -> PoolInfo:
        return self._pools[pool_id]

    def pools(self) -> list[PoolInfo]:
        return list(self._pools)

    def pool_id(self, address: Pubkey) -> int | None:
        tracking = self._tracked.get(address)
        return None if tracking is None else tracking.pool_id

    def dependencies(self, pool_id: int) -> tuple[Pubkey, ...]:
        return self._dependencies[pool_id]

    def readers(self, account: Pubkey) -> frozenset[int]:
        """Ids of the pools whose state reads `account` (empty for an account no pool reads)."""
        tracking = self._tracked.get(account)
        return frozenset() if tracking is None else frozenset(tracking.readers)

    def tracking(self, account: Pubkey) -> Tracking | None:
        """The live `Tracking` of an account some pool reads or once read; None for any other."""
        return self._tracked.get(account)

    def take_newly_tracked(self) -> list[Pubkey]:
        """The accounts some pool started reading since the last call (a Whirlpool whose price moved
        to other tick arrays, a new pool's vaults): what a feed must subscribe to from now on."""
        taken, self._newly_tracked = self._newly_tracked, []
        return taken

    def tracked_accounts(self) -> list[Pubkey]:
        """Every account some pool reads: what an ingest source should subscribe to."""
        return [account for account, tracking in self._tracked.items() if tracking.readers]

    def token_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(token_a, token_b) per pool id, as int32 arrays."""
        token_a = np.fromiter((p.token_a for p in self._pools), np.int32, len(self._pools))
        token_b = np.fromiter((p.token_b for p in self._pools), np.int32, len(self._pools))
        return token_a, token_b
