"""Mint one synthetic pool as real account bytes, in its venue's layout, with the venue's encoders.

Each builder takes a priced pool (two tokens, a price, a depth) and appends the pool account, its
vault token accounts and, for a Whirlpool, its tick arrays to an `AccountSink`. Addresses come
from the caller's seeded `random.Random`, or are the PDAs the venue derives (Whirlpool pools and
tick arrays, whose addresses a quote re-derives), so the same seed gives the same bytes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, whirlpool
from mevbot.dex.clmm_math import (
    MAX_SQRT_PRICE_X64,
    MAX_TICK_INDEX,
    MIN_SQRT_PRICE_X64,
    MIN_TICK_INDEX,
    sqrt_price_from_tick,
    tick_from_sqrt_price,
)
from mevbot.dex.spl_token import NATIVE_MINT, TOKEN_PROGRAM_ID, encode_mint, encode_token_account
from mevbot.events import Account
from mevbot.ingest.snapshot import rent_exempt_minimum

_Q64 = 1 << 64
TOKEN_ACCOUNT_RENT = rent_exempt_minimum(165)


def random_pubkey(rng: random.Random) -> Pubkey:
    return Pubkey.from_bytes(rng.randbytes(32))


@dataclass(frozen=True, slots=True)
class Token:
    mint: Pubkey
    symbol: str
    decimals: int
    price_usd: float
    is_base: bool = False
    program: Pubkey = TOKEN_PROGRAM_ID  # Token-2022 for a mint of that program
    extensions: tuple[tuple[int, bytes], ...] = ()  # a Token-2022 mint's (type, value) extensions


@dataclass(frozen=True, slots=True)
class PricedPool:
    """What to mint. `price` is raw units of token_b per raw unit of token_a (any skew included);
    `depth_a` the raw amount of token_a on its side (a reserve, or the virtual reserve of the active
    liquidity); `tier` indexes the venue's fee tiers."""

    venue: str
    token_a: Token
    token_b: Token
    price: float
    depth_a: int
    tier: int = 0


@dataclass(slots=True)
class AccountSink:
    accounts: list[Account] = field(default_factory=list)
    token_programs: dict[Pubkey, Pubkey] = field(default_factory=dict)  # mint → its program, as minted

    def add(self, pubkey: Pubkey, owner: Pubkey, data: bytes, lamports: int | None = None) -> None:
        self.accounts.append(
            Account(pubkey, owner, rent_exempt_minimum(len(data)) if lamports is None else lamports, data)
        )

    def add_mint(self, token: Token, supply: int) -> None:
        self.add(token.mint, token.program, encode_mint(supply, token.decimals, extensions=token.extensions))
        self.token_programs[token.mint] = token.program

    def add_vault(self, address: Pubkey, mint: Pubkey, authority: Pubkey, amount: int) -> None:
        """A token account of `mint`, owned by the mint's program (SPL Token unless minted otherwise)."""
        if mint == NATIVE_MINT:  # wrapped SOL: the balance is lamports above the rent reserve
            data = encode_token_account(mint, authority, amount, is_native=TOKEN_ACCOUNT_RENT)
            self.add(address, TOKEN_PROGRAM_ID, data, TOKEN_ACCOUNT_RENT + amount)
        else:
            program = self.token_programs.get(mint, TOKEN_PROGRAM_ID)
            self.add(address, program, encode_token_account(mint, authority, amount))


# --- constant product -------------------------------------------------------------------------

AMM_V4_FEE = (25, 10_000)


def build_amm_v4(spec: PricedPool, rng: random.Random, sink: AccountSink) -> Pubkey:
    """An AmmInfo (coin = token_a, pc = token_b) and its two vaults."""
    if {spec.token_a.program, spec.token_b.program} != {TOKEN_PROGRAM_ID}:
        raise ValueError("the AMM v4 program moves SPL Token only")
    address, coin_vault, pc_vault = (random_pubkey(rng) for _ in range(3))
    reserve_a, reserve_b = spec.depth_a, max(1, round(spec.depth_a * spec.price))
    pool = raydium_amm_v4.AmmV4Pool(
        address=address,
        mint_a=spec.token_a.mint,
        mint_b=spec.token_b.mint,
        coin_vault=coin_vault,
        pc_vault=pc_vault,
        lp_mint=random_pubkey(rng),
        open_orders=random_pubkey(rng),
        market=random_pubkey(rng),
        target_orders=random_pubkey(rng),
        coin_decimals=spec.token_a.decimals,
        pc_decimals=spec.token_b.decimals,
        trade_fee_numerator=AMM_V4_FEE[0],
        trade_fee_denominator=AMM_V4_FEE[1],
        swap_fee_numerator=AMM_V4_FEE[0],
        swap_fee_denominator=AMM_V4_FEE[1],
        lp_amount=math.isqrt(reserve_a * reserve_b),
    )
    sink.add(address, raydium_amm_v4.PROGRAM_ID, raydium_amm_v4.encode_amm_info(pool))
    sink.add_vault(coin_vault, spec.token_a.mint, raydium_amm_v4.AUTHORITY, reserve_a)
    sink.add_vault(pc_vault, spec.token_b.mint, raydium_amm_v4.AUTHORITY, reserve_b)
    return address


# (trade, protocol, fund) fee rates of Raydium's CPMM configs, parts per million.
CPMM_TIERS = (
    (2_500, 120_000, 40_000),
    (10_000, 120_000, 40_000),
    (20_000, 120_000, 40_000),
    (400, 120_000, 40_000),
)


def cpmm_config_address(index: int) -> Pubkey:
    """PDA ``["amm_config", index as u16 big-endian]``."""
    return Pubkey.find_program_address([b"amm_config", index.to_bytes(2, "big")], raydium_cpmm.PROGRAM_ID)[0]


def build_cpmm_configs(sink: AccountSink) -> None:
    for index, (trade, protocol, fund) in enumerate(CPMM_TIERS):
        config = raydium_cpmm.CpmmConfig(
            address=cpmm_config_address(index), trade_fee_rate=trade, protocol_fee_rate=protocol,
            fund_fee_rate=fund, index=index,
        )  # fmt: skip
        sink.add(config.address, raydium_cpmm.PROGRAM_ID, raydium_cpmm.encode_amm_config(config))


def build_cpmm(spec: PricedPool, rng: random.Random, sink: AccountSink) -> Pubkey:
    """A PoolState (token_0 = token_a, which must sort first) on config `spec.tier`, and its vaults."""
    if bytes(spec.token_a.mint) >= bytes(spec.token_b.mint):
        raise ValueError("CPMM needs token_0_mint < token_1_mint")
    address, vault_0, vault_1 = (random_pubkey(rng) for _ in range(3))
    reserve_a, reserve_b = spec.depth_a, max(1, round(spec.depth_a * spec.price))
    pool = raydium_cpmm.CpmmPool(
        address=address,
        amm_config=cpmm_config_address(spec.tier),
        mint_a=spec.token_a.mint,
        mint_b=spec.token_b.mint,
        token_0_vault=vault_0,
        token_1_vault=vault_1,
        pool_creator=random_pubkey(rng),
        lp_mint=random_pubkey(rng),
        observation_key=random_pubkey(rng),
        mint_0_decimals=spec.token_a.decimals,
        mint_1_decimals=spec.token_b.decimals,
        token_0_program=spec.token_a.program,
        token_1_program=spec.token_b.program,
        lp_supply=math.isqrt(reserve_a * reserve_b),
    )
    sink.add(address, raydium_cpmm.PROGRAM_ID, raydium_cpmm.encode_pool_state(pool))
    sink.add_vault(vault_0, spec.token_a.mint, raydium_cpmm.AUTHORITY, reserve_a)
    sink.add_vault(vault_1, spec.token_b.mint, raydium_cpmm.AUTHORITY, reserve_b)
    return address


# --- concentrated liquidity -------------------------------------------------------------------

# (tick spacing, fee rate in hundredths of a basis point): Orca's common fee tiers.
WHIRLPOOL_TIERS = ((64, 3_000), (8, 500), (1, 100), (128, 10_000), (16, 1_600))
WHIRLPOOL_PROTOCOL_FEE_RATE = 1_300  # basis points of the fee
FIXED_TICK_ARRAY_SHARE = 0.25  # older pools keep the fixed 9988-byte layout


@dataclass(frozen=True, slots=True)
class _Position:
    lower: int
    upper: int
    liquidity: int


def build_whirlpool(spec: PricedPool, config: Pubkey, rng: random.Random, sink: AccountSink) -> Pubkey:
    """A Whirlpool at `spec.price` whose active liquidity gives a virtual reserve of `depth_a`,
    spread over a few positions, with every tick array a swap may read and both vaults."""
    if bytes(spec.token_a.mint) >= bytes(spec.token_b.mint):
        raise ValueError("a Whirlpool needs mint_a < mint_b")
    spacing, fee_rate = WHIRLPOOL_TIERS[spec.tier]
    address, bump = whirlpool.whirlpool_address(config, spec.token_a.mint, spec.token_b.mint, spacing)
    sqrt_price = min(max(int(math.sqrt(spec.price) * _Q64), MIN_SQRT_PRICE_X64 + 1), MAX_SQRT_PRICE_X64 - 1)
    tick = tick_from_sqrt_price(sqrt_price)
    starts = sorted(
        set(whirlpool.swap_tick_array_starts(tick, spacing, True))
        | set(whirlpool.swap_tick_array_starts(tick, spacing, False))
    )
    low = max(starts[0], MIN_TICK_INDEX // spacing * spacing + spacing)
    high = min(starts[-1] + 88 * spacing - spacing, MAX_TICK_INDEX // spacing * spacing - spacing)
    positions = _positions(tick, spacing, low, high, int(spec.depth_a * sqrt_price / _Q64), rng)
    liquidity = sum(p.liquidity for p in positions if p.lower <= tick < p.upper)
    vault_a, vault_b = random_pubkey(rng), random_pubkey(rng)
    amount_a, amount_b = _position_amounts(positions, sqrt_price)
    empty_reward = whirlpool.RewardInfo(Pubkey.default(), Pubkey.default(), Pubkey.default(), 0, 0)
    pool = whirlpool.WhirlpoolPool(
        address=address, whirlpools_config=config, whirlpool_bump=bump, tick_spacing=spacing,
        fee_tier_index_seed=spacing, fee_rate=fee_rate, protocol_fee_rate=WHIRLPOOL_PROTOCOL_FEE_RATE,
        liquidity=liquidity, sqrt_price=sqrt_price, tick_current_index=tick,
        protocol_fee_owed_a=0, protocol_fee_owed_b=0,
        mint_a=spec.token_a.mint, vault_a=vault_a, fee_growth_global_a=0,
        mint_b=spec.token_b.mint, vault_b=vault_b, fee_growth_global_b=0,
        reward_last_updated_timestamp=0, reward_infos=(empty_reward,) * 3,
    )  # fmt: skip
    sink.add(address, whirlpool.PROGRAM_ID, whirlpool.encode_whirlpool(pool))
    dynamic = rng.random() >= FIXED_TICK_ARRAY_SHARE
    for start in starts:
        array = whirlpool.TickArray(start, address, _ticks(positions, start, spacing), is_dynamic=dynamic)
        sink.add(
            whirlpool.tick_array_address(address, start),
            whirlpool.PROGRAM_ID,
            whirlpool.encode_tick_array(array),
        )
    sink.add_vault(vault_a, spec.token_a.mint, address, amount_a)
    sink.add_vault(vault_b, spec.token_b.mint, address, amount_b)
    return address


def _positions(
    tick: int, spacing: int, low: int, high: int, active: int, rng: random.Random
) -> list[_Position]:
    """Two to four positions around the price sharing `active` liquidity, and one out of range above
    and below it, so a large swap crosses initialized ticks. Bounds stay within [low, high]."""
    aligned = tick // spacing * spacing
    steps_down = max(1, (aligned - low) // spacing)
    steps_up = max(1, (high - aligned) // spacing)
    count = rng.randint(2, 4)
    weights = [rng.uniform(0.5, 1.5) for _ in range(count)]
    positions = []
    for weight in weights:
        lower = aligned - spacing * rng.randint(1, steps_down)
        upper = aligned + spacing * rng.randint(1, steps_up)
        positions.append(
            _Position(max(lower, low), min(upper, high), max(1, int(active * weight / sum(weights))))
        )
    for lower, upper in (
        (aligned + spacing * rng.randint(1, steps_up), high),
        (low, aligned - spacing * rng.randint(0, steps_down - 1)),
    ):
        if lower < upper:
            positions.append(_Position(lower, upper, max(1, active // 4)))
    return [p for p in positions if p.lower < p.upper]


def _ticks(positions: list[_Position], start: int, spacing: int) -> tuple[whirlpool.Tick, ...]:
    net: dict[int, int] = {}
    gross: dict[int, int] = {}
    for p in positions:
        for index, delta in ((p.lower, p.liquidity), (p.upper, -p.liquidity)):
            net[index] = net.get(index, 0) + delta
            gross[index] = gross.get(index, 0) + p.liquidity
    ticks = []
    for slot in range(88):
        index = start + slot * spacing
        if index in gross:
            ticks.append(whirlpool.Tick(True, net[index], gross[index], 0, 0, (0, 0, 0)))
        else:
            ticks.append(whirlpool.Tick(False, 0, 0, 0, 0, (0, 0, 0)))
    return tuple(ticks)


def _position_amounts(positions: list[_Position], sqrt_price: int) -> tuple[int, int]:
    """Tokens the positions hold (rounded up): what the vaults must contain to pay every LP out."""
    amount_a = amount_b = 0
    for p in positions:
        lower, upper = sqrt_price_from_tick(p.lower), sqrt_price_from_tick(p.upper)
        price = min(max(sqrt_price, lower), upper)
        amount_a += -(-p.liquidity * (upper - price) * _Q64 // (price * upper))
        amount_b += -(-p.liquidity * (price - lower) // _Q64)
    return amount_a + 1, amount_b + 1


# --- any venue --------------------------------------------------------------------------------


def mints_out_of_order(venue: str, token_a: Token, token_b: Token) -> bool:
    """True when `venue` keeps its mints in byte order (CPMM and Whirlpool do; AMM v4 takes any
    order) and (token_a, token_b) is not in it: the caller swaps the two sides first."""
    return venue != "raydium_amm_v4" and bytes(token_a.mint) > bytes(token_b.mint)


def build_pool(spec: PricedPool, whirlpools_config: Pubkey, rng: random.Random, sink: AccountSink) -> Pubkey:
    """The pool `spec` describes, on its own venue's builder (Whirlpools under `whirlpools_config`)."""
    if spec.venue == "raydium_amm_v4":
        return build_amm_v4(spec, rng, sink)
    if spec.venue == "raydium_cpmm":
        return build_cpmm(spec, rng, sink)
    return build_whirlpool(spec, whirlpools_config, rng, sink)
