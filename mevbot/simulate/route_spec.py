"""A route an operator names by hand (``POOL`` or ``POOL:a2b|b2a`` per hop) → an exactly quoted
`Opportunity`, for `mevbot simulate`.

Bad input (a malformed argument, a pool the snapshot lacks, a direction that does not chain) is a
`ValueError` with a message that names the hop; a hop the program itself would refuse is a
`Rejection`, because that is an answer, not a mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey

from mevbot.dex.base import U64_MAX, Quote, QuoteError, swap_mints
from mevbot.events import Opportunity
from mevbot.market.graph import edge_id
from mevbot.market.model import MarketModel
from mevbot.search.route import make_opportunity
from mevbot.simulate.replay import Rejection

_DIRECTIONS = {"a2b": True, "b2a": False}


@dataclass(frozen=True, slots=True)
class HopSpec:
    pool: Pubkey
    a_to_b: bool | None  # None: follow the token the previous hop produced


def parse_route(texts: Sequence[str]) -> list[HopSpec]:
    if not texts:
        raise ValueError("a route needs at least one pool")
    specs = []
    for index, text in enumerate(texts):
        address, _, direction = text.partition(":")
        try:
            pool = Pubkey.from_string(address)
        except ValueError:
            raise ValueError(f"hop {index}: {address!r} is not a base58 pool address") from None
        if direction and direction not in _DIRECTIONS:
            raise ValueError(f"hop {index}: direction {direction!r} is not a2b or b2a")
        specs.append(HopSpec(pool, _DIRECTIONS[direction] if direction else None))
    return specs


def route_opportunity(
    model: MarketModel, specs: Sequence[HopSpec], amount_in: int, start_mint: Pubkey | None = None
) -> Opportunity | Rejection:
    """Chain exact-in quotes from `amount_in` of `start_mint` (or of the first hop's input side)."""
    if not 0 < amount_in <= U64_MAX:
        raise ValueError(f"amount {amount_in} must be positive and fit a u64")
    mint = start_mint
    edges: list[int] = []
    quotes: list[Quote] = []
    amount = amount_in
    for index, spec in enumerate(specs):
        pool_id = model.registry.pool_id(spec.pool)
        if pool_id is None:
            raise ValueError(f"hop {index}: {spec.pool} is not a pool of a supported venue in the snapshot")
        info = model.registry.pool(pool_id)
        state = model.state(pool_id)
        if state is None:
            raise ValueError(
                f"hop {index}: {spec.pool} cannot be quoted from the snapshot (missing vaults or ticks?)"
            )
        a_to_b = _direction(index, spec, info.pool.mint_a, info.pool.mint_b, mint)
        try:
            quote = info.venue.quote_exact_in(state, amount, a_to_b)
        except QuoteError as exc:
            return Rejection("hop_refused", f"hop {index} ({info.venue.name} {spec.pool}): {exc}")
        except ValueError as exc:  # an amount outside u64
            raise ValueError(f"hop {index}: {exc}") from None
        if quote.amount_in != amount:
            return Rejection("partial_fill", f"hop {index} takes {quote.amount_in} of {amount}")
        edges.append(edge_id(pool_id, a_to_b))
        quotes.append(quote)
        amount = quote.amount_out
        _, mint = swap_mints(info.pool, a_to_b)
    return make_opportunity(model, edges, quotes)


def _direction(index: int, spec: HopSpec, mint_a: Pubkey, mint_b: Pubkey, mint: Pubkey | None) -> bool:
    if spec.a_to_b is not None:
        given_in = mint_a if spec.a_to_b else mint_b
        if mint is not None and given_in != mint:
            raise ValueError(f"hop {index}: {spec.pool} sold in that direction takes {given_in}, not {mint}")
        return spec.a_to_b
    if mint is None:
        raise ValueError("give --start-mint or a direction (POOL:a2b or POOL:b2a) on the first hop")
    if mint not in (mint_a, mint_b):
        raise ValueError(f"hop {index}: {spec.pool} trades {mint_a}/{mint_b}, not {mint}")
    return mint == mint_a
