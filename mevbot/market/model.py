"""The market model: every pool's exact state and its float view, kept current by account updates.

An account update re-loads every pool that reads the account (the pool account itself, a vault,
a config, a tick array). Updates older than what the model already holds for that account are
ignored; bytes that a venue refuses to decode are rejected and the previous state kept. Both are
counted in `MarketStats`, never raised: one bad account must not stop the loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from solders.pubkey import Pubkey

from mevbot.dex.base import DecodeError, QuoteError, Venue
from mevbot.dex.registry import VENUES
from mevbot.events import Account, AccountUpdate
from mevbot.market.hot_state import HotState
from mevbot.market.registry import PoolRegistry
from mevbot.market.venue_views import claims_to_be_pool, hot_view, refresh


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


@dataclass(slots=True)
class _Reload:
    """A pool account update in flight: applied only if every reader re-loads cleanly."""

    pool_id: int
    pool: Any
    dependencies: tuple[Pubkey, ...]


class MarketModel:
    def __init__(self, venues: Sequence[Venue] = VENUES) -> None:
        self.registry = PoolRegistry()
        self.hot = HotState()
        self.stats = MarketStats()
        self.topology_version = 0  # bumped when pools are added: cycles must be re-enumerated
        self._venues: dict[Pubkey, Venue] = {venue.program_id: venue for venue in venues}
        self._states: list[Any | None] = []
        self._data: dict[Pubkey, bytes] = {}
        self._slots: dict[Pubkey, int] = {}

    # --- building --------------------------------------------------------------------------------

    @classmethod
    def from_accounts(
        cls, accounts: Iterable[Account | AccountUpdate], slot: int = 0, venues: Sequence[Venue] = VENUES
    ) -> tuple[MarketModel, list[Rejected]]:
        """A model of every pool in a snapshot, and the accounts it had to reject (with reasons).

        Accounts of a venue program that are not pools (tick arrays, configs) are kept as
        possible dependencies; anything else no pool reads is dropped.
        """
        model = cls(venues)
        rejected: list[Rejected] = []
        owners: dict[Pubkey, Pubkey] = {}
        for account in accounts:
            at = getattr(account, "slot", slot)
            model._data[account.pubkey] = account.data
            model._slots[account.pubkey] = at
            owners[account.pubkey] = account.owner
            venue = model._venues.get(account.owner)
            if venue is not None and model.registry.pool_id(account.pubkey) is None:
                reason = model._try_register(venue, account.pubkey, account.data, account.owner)
                if reason:
                    rejected.append(Rejected(account.pubkey, reason))
        for pubkey in list(model._data):
            if owners[pubkey] not in model._venues and not model.registry.readers(pubkey):
                del model._data[pubkey], model._slots[pubkey]
        for pool_id in range(len(model.registry)):
            reason = model._load_into(pool_id)
            if reason:
                rejected.append(Rejected(model.registry.pool(pool_id).address, reason))
        model.topology_version += 1
        return model, rejected

    def _try_register(self, venue: Venue, address: Pubkey, data: bytes, owner: Pubkey) -> str | None:
        """Register `address` if it is a pool; the reason it is a broken one, else None."""
        try:
            pool = venue.decode_pool(address, data, owner)
        except (DecodeError, QuoteError) as exc:
            if isinstance(exc, DecodeError) and not claims_to_be_pool(venue.program_id, data):
                return None  # another account type of the same program
            return f"{venue.name}: {exc}"
        try:
            self.registry.add_pool(address, venue, pool, venue.dependencies(pool))
        except ValueError as exc:
            return str(exc)
        self.hot.add()
        self._states.append(None)
        return None

    def _load_into(self, pool_id: int) -> str | None:
        """(Re-)load one pool from the stored bytes; the reason it cannot be quoted, else None."""
        info = self.registry.pool(pool_id)
        state, reason = _load(info.venue, info.pool, self._data)
        accounts = (info.address, *self.registry.dependencies(pool_id))
        self._commit(pool_id, state, max(self._slots.get(a, 0) for a in accounts))
        return reason

    # --- reading ---------------------------------------------------------------------------------

    def state(self, pool_id: int) -> Any | None:
        """The exact quotable state (what the venue's `load` returned), or None if untradable."""
        return self._states[pool_id]

    def venue(self, pool_id: int) -> Venue:
        return self.registry.pool(pool_id).venue

    def account_data(self, pubkey: Pubkey) -> bytes | None:
        """The bytes last applied for `pubkey`, if the model keeps that account."""
        return self._data.get(pubkey)

    def account_slot(self, pubkey: Pubkey) -> int | None:
        return self._slots.get(pubkey)

    def missing_accounts(self) -> list[Pubkey]:
        """Accounts some pool reads that the model has never seen: what an ingest source should fetch."""
        return [a for a in self.registry.tracked_accounts() if a not in self._data]

    # --- updating --------------------------------------------------------------------------------

    def apply(self, update: AccountUpdate) -> tuple[int, ...]:
        """Apply one account update; returns the ids of the pools whose state it changed."""
        self.stats.updates += 1
        last = self._slots.get(update.pubkey)
        if last is not None and update.slot < last:
            self.stats.stale += 1
            return ()
        reload: _Reload | None = None
        pool_id = self.registry.pool_id(update.pubkey)
        if pool_id is not None:
            info = self.registry.pool(pool_id)
            try:
                pool = info.venue.decode_pool(update.pubkey, update.data, update.owner)
            except (DecodeError, QuoteError):
                self.stats.malformed += 1
                return ()
            reload = _Reload(pool_id, pool, info.venue.dependencies(pool))
        elif not self.registry.readers(update.pubkey):
            return self._apply_untracked(update)
        return self._reload_readers(update, reload)

    def _apply_untracked(self, update: AccountUpdate) -> tuple[int, ...]:
        venue = self._venues.get(update.owner)
        if venue is None:
            self.stats.untracked += 1
            return ()
        self._data[update.pubkey] = update.data  # a tick array or config some pool may read later
        self._slots[update.pubkey] = update.slot
        before = len(self.registry)
        reason = self._try_register(venue, update.pubkey, update.data, update.owner)
        if reason:
            self.stats.malformed += 1
            del self._data[update.pubkey], self._slots[update.pubkey]
            return ()
        if len(self.registry) == before:
            self.stats.untracked += 1
            return ()
        self.topology_version += 1
        self.stats.applied += 1
        self._load_into(before)
        return (before,)

    def _reload_readers(self, update: AccountUpdate, reload: _Reload | None) -> tuple[int, ...]:
        readers = self.registry.readers(update.pubkey)
        view = _Overlaid(self._data, update.pubkey, update.data)
        loaded: dict[int, Any | None] = {}
        for pool_id in sorted(readers):
            info = self.registry.pool(pool_id)
            pool, same_reads = info.pool, True
            if reload is not None and reload.pool_id == pool_id:
                pool, same_reads = reload.pool, reload.dependencies == self.registry.dependencies(pool_id)
            previous = self._states[pool_id]
            try:
                shortcut = (
                    None
                    if previous is None
                    else refresh(previous, pool, update.pubkey, update.data, same_reads)
                )
                loaded[pool_id] = shortcut if shortcut is not None else info.venue.load(pool, view)
            except DecodeError:
                self.stats.malformed += 1
                return ()
            except (KeyError, QuoteError):
                loaded[pool_id] = None
        self._data[update.pubkey] = update.data
        self._slots[update.pubkey] = update.slot
        if reload is not None:
            self.registry.replace_pool(reload.pool_id, reload.pool, reload.dependencies)
        for pool_id, state in loaded.items():
            self._commit(pool_id, state, update.slot)
        self.stats.applied += 1
        return tuple(sorted(loaded))

    def _commit(self, pool_id: int, state: Any | None, slot: int) -> None:
        view = None
        if state is not None:
            try:
                view = hot_view(state)
            except QuoteError:
                state = None
        if view is None:
            state = None
            self.stats.unquotable += 1
        self._states[pool_id] = state
        self.hot.write(pool_id, view, slot)


def _load(venue: Venue, pool: Any, data: Mapping[Pubkey, bytes]) -> tuple[Any | None, str | None]:
    try:
        return venue.load(pool, data), None
    except KeyError as exc:
        return None, f"missing account {exc.args[0]}"
    except (DecodeError, QuoteError) as exc:
        return None, f"{venue.name}: {exc}"


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
