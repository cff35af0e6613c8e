"""Exact route replay: re-quote every hop with the integer venue math on the freshest state.

The search ranked and sized the route; this is the last word before money moves. Each hop's minimum
out is the replayed output, so a transaction built from the replay fails on chain rather than trade at
a worse price than the one decided on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mevbot.dex.base import QuoteError, Venue
from mevbot.events import Opportunity


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a candidate may not be sent; `code` is stable for counting."""

    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Replay:
    hop_amounts: tuple[tuple[int, int], ...]  # (amount_in, amount_out) per hop
    amount_in: int
    amount_out: int

    @property
    def profit(self) -> int:
        return self.amount_out - self.amount_in


def replay_route(
    opportunity: Opportunity,
    venues_and_states: Sequence[tuple[Venue, Any]],
    amount_in: int | None = None,
    *,
    quoted_states: Sequence[Any] = (),
) -> Replay | Rejection:
    """Chain exact-in quotes along the route; any hop the program would refuse rejects the route.

    `quoted_states` are the states the opportunity's own quotes read (`CycleSearch.quoted_states`).
    A hop whose state is still that very object, asked for the amount the opportunity quoted, is
    not quoted again: a quote is a pure function of an immutable state, so it gives the
    opportunity's amounts.
    """
    if len(venues_and_states) != len(opportunity.hops):
        return Rejection("route_mismatch", f"{len(venues_and_states)} states for {len(opportunity.hops)} hops")
    start = opportunity.amount_in if amount_in is None else amount_in
    amount = start
    hops: list[tuple[int, int]] = []
    for index, (hop, (venue, state)) in enumerate(zip(opportunity.hops, venues_and_states, strict=True)):
        if index < len(quoted_states) and state is quoted_states[index] and amount == hop.amount_in:
            hops.append((hop.amount_in, hop.amount_out))
            amount = hop.amount_out
            continue
        try:
            quote = venue.quote_exact_in(state, amount, hop.a_to_b)
        except QuoteError as exc:
            return Rejection("hop_refused", f"hop {index} ({hop.venue} {hop.pool}): {exc}")
        if quote.amount_in != amount:
            return Rejection("partial_fill", f"hop {index} takes {quote.amount_in} of {amount}")
        hops.append((quote.amount_in, quote.amount_out))
        amount = quote.amount_out
    return Replay(tuple(hops), start, amount)


def check_profit(replay: Replay, *, tip_lamports: int, fee_lamports: int, min_profit: int) -> Rejection | None:
    """Profit after tip and fees must clear the configured minimum (amounts in lamports)."""
    net = replay.profit - tip_lamports - fee_lamports
    if net <= min_profit:
        return Rejection("unprofitable", f"net {net} ≤ minimum {min_profit} (profit {replay.profit})")
    return None
