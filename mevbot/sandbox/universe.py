"""A seeded synthetic Solana DEX universe: tokens, pools on three venues, and a few planted arbitrages.

``generate_universe(seed, pools)`` returns every account a searcher would read: mints, pool
accounts (Raydium AMM v4, Raydium CPMM with its configs, Orca Whirlpools with their tick arrays)
and vault token accounts, as real account bytes written by the venues' own encoders. Same seed,
same bytes.

The shape follows mainnet: three base tokens (wrapped SOL at the real native mint, and USD-pegged
USDC-like and USDT-like tokens) pooled with each other on every venue; every other token has a SOL
pool; extra pools add more SOL pools, USD pools for the larger tokens and a few token/token pools.
All pools price every token at one consistent "true" price, so no cycle pays after fees, except
the planted ones: in each, one pool's price is skewed by 2.5–6 %, which makes the recorded cycle
(and usually others through the same pool) profitable. As on mainnet, some mints are Token-2022
(every other token that no AMM v4 pool trades, with a metadata pointer): their accounts belong to
that program, and a swap must name it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from solders.pubkey import Pubkey

from mevbot.dex.spl_token import NATIVE_MINT, TOKEN_2022_PROGRAM_ID
from mevbot.events import Account
from mevbot.sandbox.universe_pools import (
    CPMM_TIERS,
    WHIRLPOOL_TIERS,
    AccountSink,
    PricedPool,
    Token,
    build_cpmm_configs,
    build_pool,
    mints_out_of_order,
    random_pubkey,
)

__all__ = ["PlantedCycle", "PoolSpec", "Token", "Universe", "generate_universe"]

VENUE_NAMES = ("raydium_amm_v4", "raydium_cpmm", "whirlpool")
_VENUE_SHARES = (0.35, 0.30, 0.35)


@dataclass(frozen=True, slots=True)
class PoolSpec:
    address: Pubkey
    venue: str
    mint_a: Pubkey
    mint_b: Pubkey


@dataclass(frozen=True, slots=True)
class PlantedCycle:
    """A cycle made profitable on purpose: trade `pools[i]` from `mints[i]` to `mints[i + 1]`.

    `mints` starts and ends at a base token; `skewed_pool` is the pool whose price was moved by
    `skew` (relative).
    """

    mints: tuple[Pubkey, ...]
    pools: tuple[Pubkey, ...]
    skewed_pool: Pubkey
    skew: float


@dataclass(frozen=True, slots=True)
class Universe:
    seed: int
    accounts: tuple[Account, ...]
    base_mints: tuple[Pubkey, ...]  # SOL first: the numeraire of profits
    tokens: tuple[Token, ...]
    pools: tuple[PoolSpec, ...]
    planted: tuple[PlantedCycle, ...]


@dataclass(slots=True)
class _Plan:
    """A pool before minting: token indexes, venue, depth in USD and a price multiplier for skews."""

    x: int
    y: int
    venue: str
    tier: int
    depth_usd: float
    skew: float = 1.0  # multiplies the price of token x in token y


def generate_universe(
    seed: int, pools: int, tokens: int | None = None, planted: int | None = None
) -> Universe:
    """A universe of `pools` pools over `tokens` tokens (default about pools / 3) with `planted`
    profitable cycles (default 2 + pools // 1000, at most 24)."""
    if pools < 8:
        raise ValueError("a universe needs at least 8 pools")
    rng = random.Random(seed)
    token_count = min(tokens or max(6, pools // 3), pools - 3)
    all_tokens = _tokens(rng, max(token_count, 4))
    plans = _plan_pools(rng, len(all_tokens), pools)
    cycles = _plant(rng, plans, planted if planted is not None else min(24, 2 + pools // 1000))
    return _mint(rng, seed, _with_token_2022(all_tokens, plans), plans, cycles)


# --- tokens and topology ----------------------------------------------------------------------


def _tokens(rng: random.Random, count: int) -> list[Token]:
    tokens = [
        Token(NATIVE_MINT, "SOL", 9, 150.0, is_base=True),
        Token(random_pubkey(rng), "USDC", 6, 1.0, is_base=True),
        Token(random_pubkey(rng), "USDT", 6, 1.0, is_base=True),
    ]
    for index in range(count - 3):
        price = 10 ** rng.uniform(-5, 2)
        decimals = rng.choice((5, 6)) if price < 0.01 else rng.choice((6, 8, 9))
        tokens.append(Token(random_pubkey(rng), f"T{index:05d}", decimals, price))
    return tokens


_SOL, _USDC, _USDT = 0, 1, 2
_METADATA_POINTER = 18  # a Token-2022 extension that leaves transfers as they are


def _with_token_2022(tokens: list[Token], plans: list[_Plan]) -> list[Token]:
    """Every other non-base token that no AMM v4 pool trades (that program moves SPL Token only)
    made a Token-2022 mint with a metadata pointer (authority none, metadata in the mint). Chosen
    after the topology, drawing nothing: the pools and their prices do not depend on it."""
    on_amm_v4 = {index for plan in plans if plan.venue == "raydium_amm_v4" for index in (plan.x, plan.y)}
    eligible = [index for index, token in enumerate(tokens) if not token.is_base and index not in on_amm_v4]
    chosen = set(eligible[::2])
    return [
        replace(token, program=TOKEN_2022_PROGRAM_ID, extensions=((_METADATA_POINTER, bytes(32) + bytes(token.mint)),))
        if index in chosen
        else token
        for index, token in enumerate(tokens)
    ]


def _venue(rng: random.Random) -> tuple[str, int]:
    venue = rng.choices(VENUE_NAMES, _VENUE_SHARES)[0]
    if venue == "raydium_cpmm":
        return venue, rng.choices(range(len(CPMM_TIERS)), (6, 2, 1, 1))[0]
    if venue == "whirlpool":
        return venue, rng.choices(range(len(WHIRLPOOL_TIERS)), (4, 3, 1, 2, 1))[0]
    return venue, 0


def _plan_pools(rng: random.Random, token_count: int, pool_count: int) -> list[_Plan]:
    """Base pairs, one SOL pool per token, a USD pool per major token, token/token pools among
    majors, then more SOL pools (other venues and fee tiers) up to `pool_count`.

    Majors number about 2·√tokens, as the tokens with USD pools do on mainnet: far fewer than
    the long tail, which keeps the 4-hop cycles through USD pools from growing quadratically.
    """
    plans = []
    base_pairs = ((_SOL, _USDC), (_SOL, _USDT), (_USDC, _USDT))
    for index in range(min(12, max(3, pool_count // 60))):
        x, y = base_pairs[index % 3]
        plans.append(_Plan(x, y, *_venue(rng), depth_usd=10 ** rng.uniform(6, 7.5)))
    others = range(3, token_count)
    majors = others[: max(2, int(2 * math.sqrt(len(others))))]
    for x in others:
        depth = 10 ** rng.uniform(5, 7) if x in majors else 10 ** rng.uniform(3.3, 6)
        plans.append(_Plan(x, _SOL, *_venue(rng), depth_usd=depth))
    for x in majors:
        usd = _USDC if rng.random() < 0.7 else _USDT
        plans.append(_Plan(x, usd, *_venue(rng), depth_usd=10 ** rng.uniform(4.5, 6.5)))
    for _ in majors:
        x, y = rng.sample(majors, 2)
        plans.append(_Plan(x, y, *_venue(rng), depth_usd=10 ** rng.uniform(4, 6)))
    while len(plans) < pool_count:
        plans.append(_Plan(rng.choice(others), _SOL, *_venue(rng), depth_usd=10 ** rng.uniform(3.5, 6.5)))
    return _one_whirlpool_per_tier(plans[:pool_count])


def _one_whirlpool_per_tier(plans: list[_Plan]) -> list[_Plan]:
    """A Whirlpool's address derives from its pair and tick spacing, so a pair has one per tier:
    move a repeat to a free tier, or to CPMM when every tier is taken."""
    taken: set[tuple[int, int, int]] = set()
    for plan in plans:
        if plan.venue != "whirlpool":
            continue
        pair = (min(plan.x, plan.y), max(plan.x, plan.y))
        free = [t for t in range(len(WHIRLPOOL_TIERS)) if (*pair, t) not in taken]
        if not free:
            plan.venue, plan.tier = "raydium_cpmm", 0
            continue
        if plan.tier not in free:
            plan.tier = free[0]
        taken.add((*pair, plan.tier))
    return plans


def _plant(rng: random.Random, plans: list[_Plan], count: int) -> list[tuple[list[int], int]]:
    """Skew `count` pools so that a 2-hop (two SOL pools of one token) or 3-hop (token/SOL,
    token/USD, USD/SOL) cycle pays; returns (plan indexes in trade order, skewed plan index)."""
    by_pair: dict[tuple[int, int], list[int]] = {}
    for index, plan in enumerate(plans):
        by_pair.setdefault((plan.x, plan.y), []).append(index)
    two_hop = [pair for pair, found in by_pair.items() if pair[1] == _SOL and pair[0] > 2 and len(found) >= 2]
    three_hop = [
        (x, usd)
        for (x, usd) in by_pair
        if usd in (_USDC, _USDT) and x > 2 and (x, _SOL) in by_pair and (_SOL, usd) in by_pair
    ]
    rng.shuffle(two_hop)
    rng.shuffle(three_hop)
    used: set[int] = set()
    planted = []
    for turn in range(count):
        source = three_hop if turn % 2 and three_hop else two_hop or three_hop
        while source and source[-1][0] in used:
            source.pop()
        if not source:
            break
        x, y = source.pop()
        used.add(x)
        skew = 1 + rng.uniform(0.025, 0.06) * rng.choice((1, -1))
        if y == _SOL:
            cheap, skewed = rng.sample(by_pair[(x, _SOL)], 2)
            route = [cheap, skewed] if skew > 1 else [skewed, cheap]
        else:
            skewed, via_sol, base = by_pair[(x, y)][0], by_pair[(x, _SOL)][0], by_pair[(_SOL, y)][0]
            route = [via_sol, skewed, base] if skew > 1 else [base, skewed, via_sol]
        plans[skewed].skew = skew
        plans[skewed].depth_usd = max(plans[skewed].depth_usd, 2e5)
        planted.append((route, skewed))
    return planted


# --- minting ----------------------------------------------------------------------------------


def _mint(
    rng: random.Random,
    seed: int,
    tokens: list[Token],
    plans: list[_Plan],
    planted: list[tuple[list[int], int]],
) -> Universe:
    sink = AccountSink()
    for token in tokens:
        sink.add_mint(token, supply=0 if token.mint == NATIVE_MINT else 10 ** (token.decimals + 10))
    build_cpmm_configs(sink)
    whirlpools_config = random_pubkey(rng)
    specs = []
    for plan in plans:
        x, y = tokens[plan.x], tokens[plan.y]
        if mints_out_of_order(plan.venue, x, y):
            x, y, skew = y, x, 1 / plan.skew
        else:
            skew = plan.skew
        price = (x.price_usd / 10**x.decimals) / (y.price_usd / 10**y.decimals) * skew
        depth_a = max(1000, int(plan.depth_usd / 2 / x.price_usd * 10**x.decimals))
        priced = PricedPool(plan.venue, x, y, price, depth_a, plan.tier)
        address = build_pool(priced, whirlpools_config, rng, sink)
        specs.append(PoolSpec(address, plan.venue, x.mint, y.mint))
    cycles = tuple(_planted_cycle(route, skewed, plans, tokens, specs) for route, skewed in planted)
    return Universe(
        seed=seed,
        accounts=tuple(sink.accounts),
        base_mints=tuple(t.mint for t in tokens[:3]),
        tokens=tuple(tokens),
        pools=tuple(specs),
        planted=cycles,
    )


def _planted_cycle(
    route: list[int], skewed: int, plans: list[_Plan], tokens: list[Token], specs: list[PoolSpec]
) -> PlantedCycle:
    """Walk the route from SOL, each pool leading from the current token to its other one."""
    mints = [tokens[_SOL].mint]
    for index in route:
        spec = specs[index]
        mints.append(spec.mint_b if mints[-1] == spec.mint_a else spec.mint_a)
    if mints[-1] != mints[0]:
        raise AssertionError("planted route does not return to SOL")
    skew = plans[skewed].skew
    return PlantedCycle(tuple(mints), tuple(specs[i].address for i in route), specs[skewed].address, skew - 1)
