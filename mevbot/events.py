"""The few types that cross stage boundaries. Stages exchange these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from solders.pubkey import Pubkey


class AccountUpdate(NamedTuple):
    """An account's bytes as seen at `slot` (from a snapshot, a PubSub notification or a replay).

    A named tuple, not a frozen dataclass: the feed builds one per message, and a tuple costs a
    third as much to build. It is as immutable, and compares and hashes by its fields too.
    """

    pubkey: Pubkey
    owner: Pubkey
    lamports: int
    data: bytes
    slot: int


@dataclass(frozen=True, slots=True)
class SlotTick:
    slot: int


@dataclass(frozen=True, slots=True)
class Account:
    """An account's content with no time attached: a snapshot entry or a generated one."""

    pubkey: Pubkey
    owner: Pubkey
    lamports: int
    data: bytes

    def at(self, slot: int) -> AccountUpdate:
        return AccountUpdate(self.pubkey, self.owner, self.lamports, self.data, slot)


@dataclass(frozen=True, slots=True)
class RouteHop:
    """One swap of a route, with the exact amounts the venue's quote gave for it."""

    pool: Pubkey
    pool_id: int  # dense id in the market model that produced the route
    venue: str
    a_to_b: bool
    mint_in: Pubkey
    mint_out: Pubkey
    amount_in: int
    amount_out: int
    state_version: int  # the pool state the quote read: bumped on every reload of the pool
    state_slot: int


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A cyclic trade found by the search, priced by the exact integer quotes.

    Amounts are raw units of the start token (`hops[0].mint_in`, also the last hop's output).
    `profit` = `amount_out` − `amount_in` and is always > 0.
    """

    hops: tuple[RouteHop, ...]
    amount_in: int
    amount_out: int
    profit: int
    slot: int  # the newest slot among the pool states used

    @property
    def mint(self) -> Pubkey:
        return self.hops[0].mint_in

    @property
    def token_path(self) -> tuple[Pubkey, ...]:
        return (self.hops[0].mint_in, *(hop.mint_out for hop in self.hops))

    @property
    def pools(self) -> tuple[Pubkey, ...]:
        return tuple(hop.pool for hop in self.hops)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the decide stage made of an opportunity: send it with this tip, or why not."""

    opportunity: Opportunity
    send: bool
    reason: str  # "send", or the rule that refused it
    tip_lamports: int
    fee_lamports: int
    expected_net_lamports: int  # profit in lamports − tip − fees
