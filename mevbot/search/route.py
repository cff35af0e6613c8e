"""A route's exact integer quote, hop by hop, and the `Opportunity` it becomes.

Every amount that leaves this module comes from the venues' exact quotes (`Venue.quote_exact_in`
on the state the market view holds), never from the float model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mevbot.dex.base import Quote, QuoteError, positional_constructor, swap_mints
from mevbot.events import Opportunity, RouteHop
from mevbot.market.graph import edge_a_to_b, edge_pool
from mevbot.market.model import MarketView


def quote_route(view: MarketView, edges: Sequence[int], amount_in: int) -> list[Quote] | None:
    """Each hop's exact quote when `amount_in` runs through `edges`; None if any hop would be refused."""
    return RouteQuoter(view, edges).quotes(amount_in)


class RouteQuoter:
    """x ↦ exact output − x for a route (None where it would be refused), keeping each input's
    quotes so the chosen size is not quoted twice.

    The hops' venues and states are looked up once: the view does not change while a route is sized.
    """

    __slots__ = ("_hops", "_quotes", "edges", "view")

    def __init__(self, view: MarketView, edges: Sequence[int]) -> None:
        self.view = view
        self.edges = edges
        self._quotes: dict[int, list[Quote] | None] = {}
        registry = view.registry
        hops = [(registry.pool(edge_pool(e)).venue, view.state(edge_pool(e)), edge_a_to_b(e)) for e in edges]
        self._hops = None if any(state is None for _, state, _ in hops) else hops

    def __call__(self, amount_in: int) -> int | None:
        quotes = self._quotes[amount_in] = self._chain(amount_in)
        return None if quotes is None else quotes[-1].amount_out - amount_in

    def quotes(self, amount_in: int) -> list[Quote] | None:
        if amount_in not in self._quotes:
            self(amount_in)
        return self._quotes[amount_in]

    @property
    def states(self) -> tuple[Any, ...]:
        """The hops' states the quotes read (empty when a hop has none)."""
        return () if self._hops is None else tuple(state for _, state, _ in self._hops)

    def _chain(self, amount_in: int) -> list[Quote] | None:
        if self._hops is None:
            return None
        quotes = []
        amount = amount_in
        for venue, state, a_to_b in self._hops:
            try:
                quote = venue.quote_exact_in(state, amount, a_to_b)
            except (QuoteError, ValueError):  # ValueError: an amount outside u64
                return None
            quotes.append(quote)
            amount = quote.amount_out
        return quotes


_route_hop = positional_constructor(RouteHop)
_opportunity = positional_constructor(Opportunity)


def make_opportunity(view: MarketView, edges: Sequence[int], quotes: Sequence[Quote]) -> Opportunity:
    """The opportunity for a quoted route. Its profit is exact; the caller has checked it is > 0.
    (The records are made by `positional_constructor`: this runs for every bundle.)"""
    registry, versions, slots = view.registry, view.hot.version, view.hot.slot
    hops = []
    for edge, quote in zip(edges, quotes, strict=True):
        info = registry.pool(edge_pool(edge))
        a_to_b = edge_a_to_b(edge)
        mint_in, mint_out = swap_mints(info.pool, a_to_b)
        hop = _route_hop(info.address, info.id, info.venue.name, a_to_b, mint_in, mint_out, quote.amount_in,
                         quote.amount_out, versions.item(info.id), slots.item(info.id))  # fmt: skip
        hops.append(hop)
    amount_in, amount_out = quotes[0].amount_in, quotes[-1].amount_out
    return _opportunity(tuple(hops), amount_in, amount_out, amount_out - amount_in, max(hop.state_slot for hop in hops))
