"""The market model: every pool's exact state and its float view, kept current by account updates.

An account update re-loads every pool that reads the account (the pool account itself, a vault,
a config, a tick array). Updates older than what the model already holds for that account are
ignored; bytes that a venue refuses to decode are rejected and the previous state kept. Both are
counted in `MarketStats`, never raised: one bad account must not stop the loop.

Each pool mint's token program is known from the pool account where it records it (CPMM), from the
program where only one is possible (AMM v4), else from the mint account (`missing_accounts` lists
the mints still unknown). A pool with a mint whose Token-2022 extensions change or guard transfers
(a fee, a hook…) is not registered: its quotes and instructions would be wrong.

Pools whose program refuses swaps until an open time (new CPMM and AMM v4 pools) are unquotable
until the cluster clock, which the owner of the model sets (`set_clock`), reaches it: a cycle
through one would look like the best there is and fail on chain every time.

Most updates are a vault balance or a pool's price. For those a pool's lane (`lanes`) gives its
float view from the changed bytes alone, and its exact state is brought up to date when something
reads it (`state`): most updates lead to no quote. Otherwise `venue_views` re-reads only the
account that changed (and only the fields of a pool account that moved) where that gives exactly
what a full decode and load would; everything else is decoded and loaded in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from solders.pubkey import Pubkey

from mevbot.dex.base import DecodeError, QuoteError, Venue
from mevbot.dex.registry import VENUES
from mevbot.dex.spl_token import TOKEN_PROGRAMS, untradable_mint
from mevbot.events import Account, AccountUpdate
from mevbot.market.hot_state import HotState
from mevbot.market.lanes import Lane, lane_of
from mevbot.market.registry import PoolRegistry, Tracking
from mevbot.market.venue_views import (
    claims_to_be_pool,
    hot_view,
    opens_at,
    pool_token_programs,
    redecode_pool,
    refresh,
)


@dataclass(slots=True)
class MarketStats:
    updates: int = 0
    applied: int = 0
    stale: int = 0  # older than the slot already applied for that account
    malformed: int = 0  # bytes a venue refused; the previous state was kept
    untracked: int = 0  # no pool reads the account
    unquotable: int = 0  # re-loads that left a pool untradable (missing account, program would refuse)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An account the model could not use, and why."""

    pubkey: Pubkey
    reason: str


class MarketView(Protocol):
    """What route quoting reads: the registry, the float arrays and the exact states.

    `MarketModel` is one; `PendingOverlay` is another that layers hypothetical swaps on it.
    """

    @property
    def registry(self) -> PoolRegistry: ...

    @property
    def hot(self) -> HotState: ...

    def state(self, pool_id: int) -> Any | None: ...


class MarketModel:
    def __init__(self, venues: Sequence[Venue] = VENUES) -> None:
        self.registry = PoolRegistry()
        self.hot = HotState()
        self.stats = MarketStats()
        self.topology_version = 0  # bumped when pools are added: cycles must be re-enumerated
        self._venues: dict[Pubkey, Venue] = {venue.program_id: venue for venue in venues}
        self._states: list[Any | None] = []
        self._lanes: list[Lane | None] = []  # per pool, from its last exact state
        # Pools whose exact state is behind their bytes: pool id → the accounts their lane took since,
        # each with the bytes the state was built from.
        self._behind: dict[int, dict[Pubkey, bytes]] = {}
        self._accounts: dict[Pubkey, _Stored] = {}
        self._data: Mapping[Pubkey, bytes] = _StoredBytes(self._accounts)
        self._untradable_mints: dict[Pubkey, str] = {}  # mint → why no pool trading it is registered
        self._clock: int | None = None  # cluster unix time; None: not known, open times not checked
        self._not_open: dict[int, int] = {}  # pool id → open time still ahead of the clock

    # --- building --------------------------------------------------------------------------------

    @classmethod
    def from_accounts(
        cls, accounts: Iterable[Account | AccountUpdate], slot: int = 0, venues: Sequence[Venue] = VENUES
    ) -> tuple[MarketModel, list[Rejected]]:
        """A model of every pool in a snapshot, and the accounts it had to reject (with reasons).

        Accounts of a venue program that are not pools (tick arrays, configs) are kept as
        possible dependencies; anything else no pool reads is dropped. An account given twice
        counts once, as its last copy: a pool is always decoded from the bytes the model keeps for
        it, which `apply` compares the next bytes with.
        """
        model = cls(venues)
        rejected: list[Rejected] = []
        owners: dict[Pubkey, Pubkey] = {}
        unique = {account.pubkey: account for account in accounts}.values()
        for account in unique:  # mints first: a pool is registered only if its mints can be traded
            model._note_mint(account.pubkey, account.data, account.owner)
        for account in unique:
            model._accounts[account.pubkey] = _Stored(account.data, getattr(account, "slot", slot))
            owners[account.pubkey] = account.owner
            venue = model._venues.get(account.owner)
            if venue is not None:
                reason = model._try_register(venue, account.pubkey, account.data, account.owner)
                if reason:
                    rejected.append(Rejected(account.pubkey, reason))
        for pubkey in list(model._accounts):
            if owners[pubkey] not in model._venues and not model.registry.readers(pubkey):
                del model._accounts[pubkey]
        # Keyed by the registry's own Pubkey objects, which a feed subscribes with: an update's
        # lookup then matches by identity instead of calling `Pubkey.__eq__` (a vault's key was
        # the snapshot's object, its pool's field another).
        for pubkey in model.registry.tracked_accounts():
            stored = model._accounts.pop(pubkey, None)
            if stored is not None:
                model._accounts[pubkey] = stored
        for pool_id in range(len(model.registry)):
            reason = model._load_into(pool_id)
            if reason:
                rejected.append(Rejected(model.registry.pool(pool_id).address, reason))
        model.topology_version += 1
        return model, rejected

    def _note_mint(self, address: Pubkey, data: bytes, owner: Pubkey) -> None:
        """Remember a mint's token program, and why it cannot be traded if so; anything else is ignored."""
        if owner not in TOKEN_PROGRAMS:
            return
        try:
            reason = untradable_mint(data, owner)
        except DecodeError:
            return  # a token account, or not a valid mint
        self.registry.set_token_program(address, owner)
        if reason is not None:
            self._untradable_mints[address] = reason

    def _try_register(self, venue: Venue, address: Pubkey, data: bytes, owner: Pubkey) -> str | None:
        """Register `address` if it is a pool; the reason it is a broken or untradable one, else None."""
        try:
            pool = venue.decode_pool(address, data, owner)
        except (DecodeError, QuoteError) as exc:
            if isinstance(exc, DecodeError) and not claims_to_be_pool(venue.program_id, data):
                return None  # another account type of the same program
            return f"{venue.name}: {exc}"
        for mint in (pool.mint_a, pool.mint_b):
            if mint in self._untradable_mints:
                return f"{venue.name}: mint {mint}: {self._untradable_mints[mint]}"
        try:
            self.registry.add_pool(address, venue, pool, venue.dependencies(pool))
        except ValueError as exc:
            return str(exc)
        for mint, program in zip((pool.mint_a, pool.mint_b), pool_token_programs(pool), strict=True):
            if program is not None and self.registry.token_program(mint) is None:
                self.registry.set_token_program(mint, program)
        self.hot.add()
        self._states.append(None)
        self._lanes.append(None)
        self._note_open_time(len(self._states) - 1, pool)
        return None

    def _note_open_time(self, pool_id: int, pool: Any) -> None:
        """Hold the pool back while its open time is ahead of the clock (checked at each commit)."""
        opens = opens_at(pool)
        if self._clock is not None and opens > self._clock:
            self._not_open[pool_id] = opens
        else:
            self._not_open.pop(pool_id, None)

    def set_clock(self, now: int) -> tuple[int, ...]:
        """Move the cluster clock to `now` (unix seconds; it never goes back); returns the ids of
        the pools that open by then, quotable again from their current state."""
        if self._clock is None:  # first reading: every pool's open time is checked against it
            self._clock = now
            for pool_id in range(len(self.registry)):
                self._note_open_time(pool_id, self.registry.pool(pool_id).pool)
                if pool_id in self._not_open:
                    self._catch_up(pool_id)
                    self._commit(pool_id, None, int(self.hot.slot[pool_id]))
            return ()
        self._clock = max(self._clock, now)
        opened = tuple(pool_id for pool_id, opens in self._not_open.items() if opens <= self._clock)
        for pool_id in opened:
            del self._not_open[pool_id]
            self._load_into(pool_id)
        return opened

    def opens_later(self) -> dict[int, int]:
        """Pool id → open time, for the pools held back until the clock reaches it."""
        return dict(self._not_open)

    def _load_into(self, pool_id: int) -> str | None:
        """(Re-)load one pool from the stored bytes; the reason it cannot be quoted, else None."""
        self._catch_up(pool_id)  # the registry's pool is then the stored bytes' too
        info = self.registry.pool(pool_id)
        state, reason = _load(info.venue, info.pool, self._data)
        accounts = (info.address, *self.registry.dependencies(pool_id))
        self._commit(pool_id, state, max(self.account_slot(a) or 0 for a in accounts))
        return reason

    # --- reading ---------------------------------------------------------------------------------

    def state(self, pool_id: int) -> Any | None:
        """The exact quotable state (what the venue's `load` returned), or None if untradable."""
        if pool_id in self._behind:
            self._catch_up(pool_id)
        return self._states[pool_id]

    def venue(self, pool_id: int) -> Venue:
        return self.registry.pool(pool_id).venue

    def account_data(self, pubkey: Pubkey) -> bytes | None:
        """The bytes last applied for `pubkey`, if the model keeps that account."""
        stored = self._accounts.get(pubkey)
        return None if stored is None else stored.data

    def account_slot(self, pubkey: Pubkey) -> int | None:
        stored = self._accounts.get(pubkey)
        return None if stored is None else stored.slot

    def missing_accounts(self) -> list[Pubkey]:
        """Accounts some pool reads that the model has never seen, and the pools' mints whose token
        program is unknown: what an ingest source should fetch."""
        registry = self.registry
        mints = (registry.mint(token) for token in range(registry.token_count))
        return [
            *(a for a in registry.tracked_accounts() if a not in self._accounts),
            *(mint for mint in mints if registry.token_program(mint) is None),
        ]

    # --- updating --------------------------------------------------------------------------------

    def apply(self, update: AccountUpdate) -> tuple[int, ...]:
        """Apply one account update; returns the ids of the pools whose state it changed."""
        self.stats.updates += 1
        pubkey, slot = update.pubkey, update.slot
        stored = self._accounts.get(pubkey)
        if stored is None:
            tracking = self.registry.tracking(pubkey)
        elif slot < stored.slot:
            self.stats.stale += 1
            return ()
        else:
            tracking = stored.tracking
            if tracking is None:  # not looked up since the bytes were stored
                tracking = stored.tracking = self.registry.tracking(pubkey)
        if tracking is None or not tracking.readers:
            return self._apply_untracked(update, stored)
        own_id, readers = tracking.pool_id, tracking.readers
        if stored is not None and len(readers) == 1:
            lane = self._lanes[readers[0]]
            if lane is not None:
                view = lane.vault_view(update) if own_id is None else lane.pool_view(update, stored.data)
                if view is not None:
                    self._took(readers[0], pubkey, stored, update)
                    self.hot.write(readers[0], view, slot)
                    self.stats.applied += 1
                    return readers
        for pool_id in readers:
            if pool_id in self._behind:
                self._catch_up(pool_id)
        pool = dependencies = None  # the re-decoded pool, when this is a pool's own account
        if own_id is not None:
            assert stored is not None  # a pool is registered from bytes the model keeps
            decoded = self._decode_pool(own_id, update, stored.data)
            if decoded is None:
                self.stats.malformed += 1
                return ()
            pool, dependencies = decoded
        data = update.data
        loaded = self._reload(pubkey, data, readers, own_id, pool, dependencies)
        if loaded is None:
            self.stats.malformed += 1
            return ()
        if stored is None:
            self._accounts[pubkey] = _Stored(data, slot, tracking)
        else:  # in place: no second lookup
            stored.data, stored.slot = data, slot
        if own_id is not None:
            self.registry.replace_pool(own_id, pool, dependencies)
            if self._clock is not None:
                self._note_open_time(own_id, pool)
        for pool_id, state in loaded:
            self._commit(pool_id, state, slot)
        self.stats.applied += 1
        return readers

    def _took(self, pool_id: int, pubkey: Pubkey, stored: _Stored, update: AccountUpdate) -> None:
        """Store bytes a lane took, noting the pool's state as behind them."""
        behind = self._behind.get(pool_id)
        if behind is None:
            self._behind[pool_id] = {pubkey: stored.data}
        elif pubkey not in behind:
            behind[pubkey] = stored.data
        stored.data, stored.slot = update.data, update.slot

    def _catch_up(self, pool_id: int) -> None:
        """Build the exact state of a pool its lane moved ahead, from the bytes the lane took, as
        `apply` would have built it from each: the pool account re-decoded, then every changed
        account refreshed. A lane took only what the general path accepts, so nothing here should
        refuse; if something does, the pool is loaded in full from the stored bytes."""
        behind = self._behind.pop(pool_id, None)
        if behind is None:
            return
        info = self.registry.pool(pool_id)
        state = self._states[pool_id]
        for account, built_from in behind.items():
            data = self._data[account]
            pool = None
            try:
                if account is info.address or account == info.address:
                    pool = redecode_pool(info.pool, built_from, data) or info.venue.decode_pool(
                        account, data, info.venue.program_id
                    )
                    info = self.registry.replace_pool(pool_id, pool, info.venue.dependencies(pool))
                state = refresh(state, pool, account, data, True)
            except (DecodeError, QuoteError):
                state = None
            if state is None:
                self._load_into(pool_id)
                return
        self._states[pool_id] = state

    def _decode_pool(self, pool_id: int, update: AccountUpdate, old: bytes) -> tuple[Any, tuple[Pubkey, ...]] | None:
        """The pool account re-decoded and the accounts it reads; None if its venue refuses the
        bytes, or if they move the pool to other mints (its tokens are registered by them).

        When only the fields a swap moves differ from the bytes the pool was decoded from, only
        those are read (a full decode is most of the cost of a pool update).
        """
        info = self.registry.pool(pool_id)
        venue = info.venue
        pool = None
        if update.owner == venue.program_id:  # else the full decode refuses it
            pool = redecode_pool(info.pool, old, update.data)  # the mints are among what it compares
        if pool is None:
            try:
                pool = venue.decode_pool(update.pubkey, update.data, update.owner)
            except (DecodeError, QuoteError):
                return None
            if pool.mint_a != info.pool.mint_a or pool.mint_b != info.pool.mint_b:
                return None
        return pool, venue.dependencies(pool)

    def _apply_untracked(self, update: AccountUpdate, stored: _Stored | None) -> tuple[int, ...]:
        """An account no pool reads: a new pool, or a tick array or config some pool may read
        later. Kept only if its venue accepts it; what was `stored` for it before stays otherwise."""
        venue = self._venues.get(update.owner)
        if venue is None:
            self.stats.untracked += 1
            return ()
        before = len(self.registry)
        if self._try_register(venue, update.pubkey, update.data, update.owner):
            self.stats.malformed += 1
            return ()
        if stored is None:
            self._accounts[update.pubkey] = _Stored(update.data, update.slot)
        else:
            stored.data, stored.slot = update.data, update.slot
        if len(self.registry) == before:
            self.stats.untracked += 1
            return ()
        self.topology_version += 1
        self.stats.applied += 1
        self._load_into(before)
        return (before,)

    def _reload(
        self, pubkey: Pubkey, data: bytes, readers: tuple[int, ...], own_id: int | None, pool: Any, dependencies: Any
    ) -> list[tuple[int, Any | None]] | None:
        """(id, state) of each reader once `pubkey` holds `data` (state None: untradable), or None
        if a venue refuses the bytes. `pool` and `dependencies` are the re-decoded pool `own_id`'s."""
        loaded = []
        for pool_id in readers:
            new_pool, same_reads = None, True  # None: the pool account is not what changed
            if pool_id == own_id:
                new_pool, same_reads = pool, dependencies == self.registry.dependencies(pool_id)
            previous = self._states[pool_id]
            try:
                state = None if previous is None else refresh(previous, new_pool, pubkey, data, same_reads)
                if state is None:
                    info = self.registry.pool(pool_id)
                    state = info.venue.load(
                        info.pool if new_pool is None else new_pool, _Overlaid(self._data, pubkey, data)
                    )
            except DecodeError:
                return None
            except (KeyError, QuoteError):
                state = None
            loaded.append((pool_id, state))
        return loaded

    def _commit(self, pool_id: int, state: Any | None, slot: int) -> None:
        """Store the pool's exact state and its float view (None and zeros: unquotable, as is a
        pool not open yet)."""
        view = None
        if self._not_open and pool_id in self._not_open:
            state = None
        elif state is not None:
            try:
                view = hot_view(state)
            except QuoteError:
                state = None
        if view is None:
            state = None
            self.stats.unquotable += 1
        self._states[pool_id] = state
        self._lanes[pool_id] = None if view is None else lane_of(state, view)
        self.hot.write(pool_id, view, slot)


def _load(venue: Venue, pool: Any, data: Mapping[Pubkey, bytes]) -> tuple[Any | None, str | None]:
    try:
        return venue.load(pool, data), None
    except KeyError as exc:
        return None, f"missing account {exc.args[0]}"
    except (DecodeError, QuoteError) as exc:
        return None, f"{venue.name}: {exc}"


@dataclass(slots=True)
class _Stored:
    """An account's bytes and the slot they are from, updated in place, and the registry's live
    record of the pools that read it (None until an update looks it up)."""

    data: bytes
    slot: int
    tracking: Tracking | None = None


class _StoredBytes(Mapping[Pubkey, bytes]):
    """The stored accounts' bytes, as `Venue.load` reads them."""

    __slots__ = ("_accounts",)

    def __init__(self, accounts: dict[Pubkey, _Stored]) -> None:
        self._accounts = accounts

    def __getitem__(self, key: Pubkey) -> bytes:
        return self._accounts[key].data

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._accounts)

    def __len__(self) -> int:
        return len(self._accounts)


class _Overlaid(Mapping[Pubkey, bytes]):
    """The stored accounts with one replaced, without copying the store."""

    __slots__ = ("_base", "_data", "_key")

    def __init__(self, base: Mapping[Pubkey, bytes], key: Pubkey, data: bytes) -> None:
        self._base, self._key, self._data = base, key, data

    def __getitem__(self, key: Pubkey) -> bytes:
        return self._data if key == self._key else self._base[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self._base
        if self._key not in self._base:
            yield self._key

    def __len__(self) -> int:
        return len(self._base) + (self._key not in self._base)

    def get(self, key: Pubkey, default: Any = None) -> Any:
        return self._data if key == self._key else self._base.get(key, default)
