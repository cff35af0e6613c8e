"""Orca Whirlpool account bytes: the Whirlpool, fixed and dynamic TickArrays, and their addresses.

Layouts are the program's (Anchor accounts, 8-byte discriminator first). Decoders refuse anything
that is not exactly such an account, and encoders write bytes the decoders read back unchanged, so
the sandbox and synthetic universes can mint pools that the market decodes like mainnet ones.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from solders.pubkey import Pubkey

from mevbot.dex.base import (
    I32,
    U64,
    DecodeError,
    OversizedAccount,
    TruncatedAccount,
    WrongAccountType,
    WrongOwner,
    anchor_discriminator,
    check_account,
    positional_constructor,
    read_i128,
    read_pubkey,
    read_u128,
)
from mevbot.dex.clmm_math import MAX_TICK_INDEX, MIN_TICK_INDEX

PROGRAM_ID = Pubkey.from_string("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc")

WHIRLPOOL_DISCRIMINATOR = anchor_discriminator("account", "Whirlpool")
FIXED_TICK_ARRAY_DISCRIMINATOR = anchor_discriminator("account", "TickArray")
DYNAMIC_TICK_ARRAY_DISCRIMINATOR = anchor_discriminator("account", "DynamicTickArray")

WHIRLPOOL_LEN = 653
TICK_ARRAY_SIZE = 88
NUM_REWARDS = 3
FULL_RANGE_ONLY_TICK_SPACING_THRESHOLD = 32768
"""Tick spacings from 2^15 up mark splash pools: positions may only span the full range."""

_TICK_DATA_LEN = 112  # liquidity_net, liquidity_gross, fee growth a/b, 3 reward growths: 7 x 16 bytes
_FIXED_TICK_LEN = 1 + _TICK_DATA_LEN
_FIXED_TICKS_OFFSET = 12
FIXED_TICK_ARRAY_LEN = _FIXED_TICKS_OFFSET + TICK_ARRAY_SIZE * _FIXED_TICK_LEN + 32  # 9988
_FIXED_WHIRLPOOL_OFFSET = FIXED_TICK_ARRAY_LEN - 32
_DYNAMIC_TICKS_OFFSET = 60  # discriminator 8, start 4, whirlpool 32, tick_bitmap 16
DYNAMIC_TICK_ARRAY_MIN_LEN = _DYNAMIC_TICKS_OFFSET + TICK_ARRAY_SIZE
DYNAMIC_TICK_ARRAY_MAX_LEN = _DYNAMIC_TICKS_OFFSET + TICK_ARRAY_SIZE * _FIXED_TICK_LEN
_REWARD_INFOS_OFFSET = 269
_REWARD_INFO_LEN = 128
_U16 = struct.Struct("<H")


@dataclass(frozen=True, slots=True)
class RewardInfo:
    """One liquidity-mining reward slot. Rewards never change a swap's amounts.

    `authority` holds 32 bytes that the program used as the reward authority; since 2025 slots 1
    and 2 reuse them for pool extension flags. Kept verbatim so encoding round-trips.
    """

    mint: Pubkey
    vault: Pubkey
    authority: Pubkey
    emissions_per_second_x64: int
    growth_global_x64: int


@dataclass(frozen=True, slots=True)
class WhirlpoolPool:
    """A decoded Whirlpool account (every field, so `encode_whirlpool` reproduces the bytes)."""

    address: Pubkey
    whirlpools_config: Pubkey
    whirlpool_bump: int
    tick_spacing: int
    fee_tier_index_seed: int  # the 2 seed bytes as a little-endian u16
    fee_rate: int  # hundredths of a basis point
    protocol_fee_rate: int  # basis points of the fee
    liquidity: int
    sqrt_price: int  # Q64.64
    tick_current_index: int
    protocol_fee_owed_a: int
    protocol_fee_owed_b: int
    mint_a: Pubkey
    vault_a: Pubkey
    fee_growth_global_a: int
    mint_b: Pubkey
    vault_b: Pubkey
    fee_growth_global_b: int
    reward_last_updated_timestamp: int
    reward_infos: tuple[RewardInfo, ...]

    @property
    def is_adaptive_fee(self) -> bool:
        """Pools made from an AdaptiveFeeTier carry its index, which the program keeps distinct from
        every tick spacing (`Whirlpool::is_initialized_with_adaptive_fee_tier`)."""
        return self.fee_tier_index_seed != self.tick_spacing

    @property
    def is_splash_pool(self) -> bool:
        return self.tick_spacing >= FULL_RANGE_ONLY_TICK_SPACING_THRESHOLD


@dataclass(frozen=True, slots=True)
class Tick:
    initialized: bool
    liquidity_net: int  # i128: added to the liquidity when the price crosses the tick upwards
    liquidity_gross: int
    fee_growth_outside_a: int
    fee_growth_outside_b: int
    reward_growths_outside: tuple[int, int, int]


EMPTY_TICK = Tick(False, 0, 0, 0, 0, (0, 0, 0))
_ZERO_TICK_DATA = bytes(_TICK_DATA_LEN)
EMPTY_TICKS: tuple[Tick, ...] = (EMPTY_TICK,) * TICK_ARRAY_SIZE


@dataclass(frozen=True, slots=True, repr=False)
class TickArray:
    """88 consecutive initializable ticks starting at `start_tick_index` (step: the pool's tick spacing).

    `is_dynamic` says which account layout holds it: the fixed 9988-byte TickArray or the
    DynamicTickArray that stores only initialized ticks in full.
    """

    start_tick_index: int
    whirlpool: Pubkey
    ticks: tuple[Tick, ...]
    is_dynamic: bool = False

    def __repr__(self) -> str:
        initialized = {i: t.liquidity_net for i, t in enumerate(self.ticks) if t.initialized}
        kind = "DynamicTickArray" if self.is_dynamic else "TickArray"
        return f"{kind}(start={self.start_tick_index}, whirlpool={self.whirlpool}, liquidity_net by offset={initialized})"


def _read_tick_data(data: bytes, offset: int, initialized: bool) -> Tick:
    return Tick(
        initialized=initialized,
        liquidity_net=read_i128(data, offset),
        liquidity_gross=read_u128(data, offset + 16),
        fee_growth_outside_a=read_u128(data, offset + 32),
        fee_growth_outside_b=read_u128(data, offset + 48),
        reward_growths_outside=(
            read_u128(data, offset + 64),
            read_u128(data, offset + 80),
            read_u128(data, offset + 96),
        ),
    )


def _write_tick_data(tick: Tick) -> bytes:
    values = (
        tick.liquidity_gross,
        tick.fee_growth_outside_a,
        tick.fee_growth_outside_b,
        *tick.reward_growths_outside,
    )
    return tick.liquidity_net.to_bytes(16, "little", signed=True) + b"".join(
        v.to_bytes(16, "little") for v in values
    )


def decode_whirlpool(address: Pubkey, data: bytes, owner: Pubkey | None = None) -> WhirlpoolPool:
    """Decode a Whirlpool account; `owner`, when known, must be the Whirlpool program."""
    check_account(
        data,
        kind="Whirlpool",
        size=WHIRLPOOL_LEN,
        owner=owner,
        expected_owner=PROGRAM_ID,
        discriminator=WHIRLPOOL_DISCRIMINATOR,
    )
    tick_spacing = _U16.unpack_from(data, 41)[0]
    if tick_spacing == 0:
        raise DecodeError("Whirlpool: tick_spacing 0 (the program never creates such a pool)")
    liquidity, sqrt_price, tick, owed_a, owed_b, growth_a, growth_b, timestamp = read_moving(data)
    return WhirlpoolPool(
        address=address,
        whirlpools_config=read_pubkey(data, 8),
        whirlpool_bump=data[40],
        tick_spacing=tick_spacing,
        fee_tier_index_seed=_U16.unpack_from(data, 43)[0],
        fee_rate=_U16.unpack_from(data, 45)[0],
        protocol_fee_rate=_U16.unpack_from(data, 47)[0],
        liquidity=liquidity,
        sqrt_price=sqrt_price,
        tick_current_index=tick,
        protocol_fee_owed_a=owed_a,
        protocol_fee_owed_b=owed_b,
        mint_a=read_pubkey(data, 101),
        vault_a=read_pubkey(data, 133),
        fee_growth_global_a=growth_a,
        mint_b=read_pubkey(data, 181),
        vault_b=read_pubkey(data, 213),
        fee_growth_global_b=growth_b,
        reward_last_updated_timestamp=timestamp,
        reward_infos=_read_rewards(data),
    )


_build_whirlpool = positional_constructor(WhirlpoolPool)  # every field, in declaration order


def redecode_whirlpool(previous: WhirlpoolPool, old: bytes, data: bytes) -> WhirlpoolPool | None:
    """What `decode_whirlpool(previous.address, data)` gives, when `previous` was decoded from `old`:
    only the fields swaps and reward updates rewrite are read, the rest is taken from `previous`.

    None when any other byte differs (an admin set a fee rate) or the length is not a Whirlpool's:
    the caller then decodes in full, which also decides whether the bytes are valid. The owner is
    the caller's to check.
    """
    if not moved_only(old, data):
        return None
    same_rewards = data[_REWARD_INFOS_OFFSET:] == old[_REWARD_INFOS_OFFSET:]
    rewards = previous.reward_infos if same_rewards else _read_rewards(data)
    liquidity, sqrt_price, tick, owed_a, owed_b, growth_a, growth_b, timestamp = read_moving(data)
    return _build_whirlpool(
        previous.address, previous.whirlpools_config, previous.whirlpool_bump, previous.tick_spacing,
        previous.fee_tier_index_seed, previous.fee_rate, previous.protocol_fee_rate, liquidity, sqrt_price,
        tick, owed_a, owed_b, previous.mint_a, previous.vault_a, growth_a, previous.mint_b, previous.vault_b,
        growth_b, timestamp, rewards,
    )  # fmt: skip


def moved_only(old: bytes, data: bytes) -> bool:
    """True when `data`, like `old` a Whirlpool account's bytes, differs from it only in the fields
    swaps and reward updates rewrite. The static ranges are the tag … fee rates, mint and vault A,
    mint and vault B (see `_MOVING`)."""
    return (
        len(data) == WHIRLPOOL_LEN
        and data[:49] == old[:49]
        and data[101:165] == old[101:165]
        and data[181:245] == old[181:245]
    )


# What a swap (and a reward update) rewrites, from offset 49 to the reward infos, in one read:
# liquidity and sqrt_price (u128s as u64 halves), tick_current_index, protocol_fee_owed_a/b,
# (mint_a, vault_a), fee_growth_global_a, (mint_b, vault_b), fee_growth_global_b,
# reward_last_updated_timestamp. Each reward's growth_global_x64 moves too (`_read_rewards`).
_MOVING_OFFSET = 49
_MOVING = struct.Struct("<QQQQiQQ64xQQ64xQQQ")
assert _MOVING_OFFSET + _MOVING.size == _REWARD_INFOS_OFFSET


def read_moving(data: bytes) -> tuple[int, int, int, int, int, int, int, int]:
    """(liquidity, sqrt_price, tick_current_index, protocol_fee_owed_a, protocol_fee_owed_b,
    fee_growth_global_a, fee_growth_global_b, reward_last_updated_timestamp)."""
    (
        liquidity, liquidity_high, sqrt_price, sqrt_price_high, tick, owed_a, owed_b,
        growth_a, growth_a_high, growth_b, growth_b_high, timestamp,
    ) = _MOVING.unpack_from(data, _MOVING_OFFSET)  # fmt: skip
    return (
        liquidity | liquidity_high << 64, sqrt_price | sqrt_price_high << 64, tick, owed_a, owed_b,
        growth_a | growth_a_high << 64, growth_b | growth_b_high << 64, timestamp,
    )  # fmt: skip


def _read_rewards(data: bytes) -> tuple[RewardInfo, ...]:
    rewards = []
    for index in range(NUM_REWARDS):
        base = _REWARD_INFOS_OFFSET + index * _REWARD_INFO_LEN
        rewards.append(
            RewardInfo(
                mint=read_pubkey(data, base),
                vault=read_pubkey(data, base + 32),
                authority=read_pubkey(data, base + 64),
                emissions_per_second_x64=read_u128(data, base + 96),
                growth_global_x64=read_u128(data, base + 112),
            )
        )
    return tuple(rewards)


def encode_whirlpool(pool: WhirlpoolPool) -> bytes:
    """The account bytes of `pool` (its `address` is not stored in them)."""
    if len(pool.reward_infos) != NUM_REWARDS:
        raise ValueError(f"a Whirlpool has {NUM_REWARDS} reward infos, got {len(pool.reward_infos)}")
    out = bytearray(WHIRLPOOL_LEN)
    out[0:8] = WHIRLPOOL_DISCRIMINATOR
    out[8:40] = bytes(pool.whirlpools_config)
    out[40] = pool.whirlpool_bump
    for offset, value in (
        (41, pool.tick_spacing),
        (43, pool.fee_tier_index_seed),
        (45, pool.fee_rate),
        (47, pool.protocol_fee_rate),
    ):
        _U16.pack_into(out, offset, value)
    out[49:65] = pool.liquidity.to_bytes(16, "little")
    out[65:81] = pool.sqrt_price.to_bytes(16, "little")
    I32.pack_into(out, 81, pool.tick_current_index)
    U64.pack_into(out, 85, pool.protocol_fee_owed_a)
    U64.pack_into(out, 93, pool.protocol_fee_owed_b)
    out[101:133] = bytes(pool.mint_a)
    out[133:165] = bytes(pool.vault_a)
    out[165:181] = pool.fee_growth_global_a.to_bytes(16, "little")
    out[181:213] = bytes(pool.mint_b)
    out[213:245] = bytes(pool.vault_b)
    out[245:261] = pool.fee_growth_global_b.to_bytes(16, "little")
    U64.pack_into(out, 261, pool.reward_last_updated_timestamp)
    for index, reward in enumerate(pool.reward_infos):
        base = _REWARD_INFOS_OFFSET + index * _REWARD_INFO_LEN
        out[base : base + 32] = bytes(reward.mint)
        out[base + 32 : base + 64] = bytes(reward.vault)
        out[base + 64 : base + 96] = bytes(reward.authority)
        out[base + 96 : base + 112] = reward.emissions_per_second_x64.to_bytes(16, "little")
        out[base + 112 : base + 128] = reward.growth_global_x64.to_bytes(16, "little")
    return bytes(out)


def decode_tick_array(data: bytes, owner: Pubkey | None = None) -> TickArray:
    """Decode a fixed TickArray or a DynamicTickArray, told apart by the discriminator."""
    if owner is not None and owner != PROGRAM_ID:
        raise WrongOwner(f"TickArray: owner {owner} is not {PROGRAM_ID}")
    if len(data) < 8:
        raise TruncatedAccount(f"TickArray: {len(data)} bytes, need a discriminator")
    tag = bytes(data[:8])
    if tag == FIXED_TICK_ARRAY_DISCRIMINATOR:
        return _decode_fixed(data)
    if tag == DYNAMIC_TICK_ARRAY_DISCRIMINATOR:
        return _decode_dynamic(data)
    raise WrongAccountType(f"TickArray: discriminator {tag.hex()} is neither TickArray nor DynamicTickArray")


def _decode_fixed(data: bytes) -> TickArray:
    check_account(data, kind="TickArray", size=FIXED_TICK_ARRAY_LEN)
    ticks = []
    for index in range(TICK_ARRAY_SIZE):
        offset = _FIXED_TICKS_OFFSET + index * _FIXED_TICK_LEN
        flag = data[offset]
        if flag > 1:
            raise DecodeError(f"TickArray: tick {index} has initialized byte {flag}, not a bool")
        if not flag and data[offset + 1 : offset + _FIXED_TICK_LEN] == _ZERO_TICK_DATA:
            ticks.append(EMPTY_TICK)  # most slots: the Tick they decode to is equal, 20 times slower
        else:
            ticks.append(_read_tick_data(data, offset + 1, bool(flag)))
    return TickArray(
        start_tick_index=I32.unpack_from(data, 8)[0],
        whirlpool=read_pubkey(data, _FIXED_WHIRLPOOL_OFFSET),
        ticks=tuple(ticks),
    )


def _decode_dynamic(data: bytes) -> TickArray:
    check_account(
        data, kind="DynamicTickArray", size=(DYNAMIC_TICK_ARRAY_MIN_LEN, DYNAMIC_TICK_ARRAY_MAX_LEN)
    )
    bitmap = read_u128(data, 44)
    ticks = []
    offset = _DYNAMIC_TICKS_OFFSET
    for index in range(TICK_ARRAY_SIZE):
        if offset >= len(data):
            raise TruncatedAccount(f"DynamicTickArray: data ends before tick {index}")
        flag = data[offset]
        if flag == 0:
            ticks.append(EMPTY_TICK)
            offset += 1
        elif flag == 1:
            if offset + _FIXED_TICK_LEN > len(data):
                raise TruncatedAccount(f"DynamicTickArray: tick {index} is cut short")
            ticks.append(_read_tick_data(data, offset + 1, True))
            offset += _FIXED_TICK_LEN
        else:
            raise DecodeError(f"DynamicTickArray: tick {index} has tag {flag}, not 0 or 1")
        if bool(bitmap >> index & 1) != (flag == 1):
            raise DecodeError(f"DynamicTickArray: tick_bitmap disagrees with tick {index}")
    if offset != len(data):
        raise OversizedAccount(f"DynamicTickArray: {len(data) - offset} bytes after the last tick")
    if bitmap >> TICK_ARRAY_SIZE:
        raise DecodeError("DynamicTickArray: tick_bitmap has bits beyond tick 87")
    return TickArray(
        start_tick_index=I32.unpack_from(data, 8)[0],
        whirlpool=read_pubkey(data, 12),
        ticks=tuple(ticks),
        is_dynamic=True,
    )


def encode_tick_array(array: TickArray) -> bytes:
    """The account bytes of `array` in its layout (fixed, or dynamic if `array.is_dynamic`)."""
    if len(array.ticks) != TICK_ARRAY_SIZE:
        raise ValueError(f"a tick array has {TICK_ARRAY_SIZE} ticks, got {len(array.ticks)}")
    start = I32.pack(array.start_tick_index)
    if not array.is_dynamic:
        body = b"".join(bytes([tick.initialized]) + _write_tick_data(tick) for tick in array.ticks)
        return FIXED_TICK_ARRAY_DISCRIMINATOR + start + body + bytes(array.whirlpool)
    bitmap = 0
    parts = []
    for index, tick in enumerate(array.ticks):
        if tick.initialized:
            bitmap |= 1 << index
            parts.append(b"\x01" + _write_tick_data(tick))
        elif tick != EMPTY_TICK:
            raise ValueError(f"tick {index}: a DynamicTickArray cannot store data for an uninitialized tick")
        else:
            parts.append(b"\x00")
    return (
        DYNAMIC_TICK_ARRAY_DISCRIMINATOR
        + start
        + bytes(array.whirlpool)
        + bitmap.to_bytes(16, "little")
        + b"".join(parts)
    )


def empty_tick_array(whirlpool: Pubkey, start_tick_index: int) -> TickArray:
    """The ticks of a tick-array address that has no account yet: the program reads it as all zero."""
    return TickArray(start_tick_index=start_tick_index, whirlpool=whirlpool, ticks=EMPTY_TICKS)


# --- addresses -----------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def tick_array_address(whirlpool: Pubkey, start_tick_index: int) -> Pubkey:
    """PDA ``["tick_array", whirlpool, start_tick_index as decimal text]``."""
    seeds = [b"tick_array", bytes(whirlpool), str(start_tick_index).encode()]
    return Pubkey.find_program_address(seeds, PROGRAM_ID)[0]


@lru_cache(maxsize=1 << 12)
def oracle_address(whirlpool: Pubkey) -> Pubkey:
    """PDA ``["oracle", whirlpool]``: swap_v2 takes it even for pools without an adaptive fee."""
    return Pubkey.find_program_address([b"oracle", bytes(whirlpool)], PROGRAM_ID)[0]


def whirlpool_address(
    config: Pubkey, mint_a: Pubkey, mint_b: Pubkey, fee_tier_index: int
) -> tuple[Pubkey, int]:
    """PDA and bump ``["whirlpool", config, mint_a, mint_b, fee_tier_index as u16 little-endian]``."""
    seeds = [b"whirlpool", bytes(config), bytes(mint_a), bytes(mint_b), _U16.pack(fee_tier_index)]
    return Pubkey.find_program_address(seeds, PROGRAM_ID)


# --- which tick arrays a swap reads --------------------------------------------------------------


def ticks_per_array(tick_spacing: int) -> int:
    return TICK_ARRAY_SIZE * tick_spacing


def tick_array_start_index(tick_index: int, tick_spacing: int) -> int:
    """Start of the array holding `tick_index` (floor, also for negative ticks)."""
    span = ticks_per_array(tick_spacing)
    return tick_index // span * span


def is_valid_start_tick(start_tick_index: int, tick_spacing: int) -> bool:
    """Starts the program accepts: multiples of the span within the tick bounds, plus the one array
    that begins below MIN_TICK_INDEX and holds it."""
    span = ticks_per_array(tick_spacing)
    if MIN_TICK_INDEX <= start_tick_index <= MAX_TICK_INDEX:
        return start_tick_index % span == 0
    if start_tick_index > MIN_TICK_INDEX:
        return False
    rust_remainder = -(-MIN_TICK_INDEX % span)  # Rust's `%` keeps the dividend's sign
    return start_tick_index == MIN_TICK_INDEX - (rust_remainder + span)


def swap_tick_array_starts(
    tick_current_index: int, tick_spacing: int, a_to_b: bool, count: int = 3
) -> tuple[int, ...]:
    """The start indexes of the arrays a swap walks, in order, as swap_v2 picks them.

    a→b walks down from the array holding the current tick. b→a walks up from it, or from the
    next array when the current tick sits in the last slot (the next initialized tick can only be
    above it). Starts the program would not accept are skipped.
    """
    span = ticks_per_array(tick_spacing)
    base = tick_array_start_index(tick_current_index, tick_spacing)
    if a_to_b:
        offsets = range(0, -count, -1)
    else:
        first = 1 if tick_current_index + tick_spacing >= base + span else 0
        offsets = range(first, first + count)
    return tuple(base + o * span for o in offsets if is_valid_start_tick(base + o * span, tick_spacing))
