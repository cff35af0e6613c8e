"""The decoding shortcuts account updates take give what the full decoders give.

A Whirlpool re-decoded from the fields a swap moves, the cached tick-array dependencies, the fixed
tick-array decoder's all-zero slots, and the positional constructor of frozen records.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from solders.pubkey import Pubkey

from mevbot.dex.base import positional_constructor
from mevbot.dex.clmm_math import MAX_TICK_INDEX, MIN_TICK_INDEX
from mevbot.dex.whirlpool import (
    VENUE,
    RewardInfo,
    Tick,
    TickArray,
    WhirlpoolPool,
    decode_tick_array,
    decode_whirlpool,
    dependency_starts,
    encode_tick_array,
    encode_whirlpool,
    swap_tick_array_starts,
    tick_array_address,
)
from mevbot.dex.whirlpool_accounts import EMPTY_TICK, redecode_whirlpool
from tests.dex.cases_whirlpool import make_pool

_U128 = (1 << 128) - 1


def _pool(rng: random.Random) -> WhirlpoolPool:
    rewards = tuple(
        RewardInfo(Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique(), rng.randrange(_U128), rng.randrange(_U128))
        for _ in range(3)
    )
    return dataclasses.replace(
        make_pool(tick_spacing=64, fee_rate=3_000, protocol_fee_rate=1_300, liquidity=10**12, sqrt_price=1 << 64,
                  tick_current_index=0, address=Pubkey.new_unique()),
        whirlpools_config=Pubkey.new_unique(), mint_a=Pubkey.new_unique(), vault_a=Pubkey.new_unique(),
        mint_b=Pubkey.new_unique(), vault_b=Pubkey.new_unique(), reward_infos=rewards,
    )  # fmt: skip


def _moved(pool: WhirlpoolPool, rng: random.Random) -> WhirlpoolPool:
    """Every field a swap, a fee collection or a reward update writes, at random."""
    first, *rest = pool.reward_infos
    return dataclasses.replace(
        pool,
        liquidity=rng.randrange(_U128), sqrt_price=rng.randrange(_U128),
        tick_current_index=rng.randrange(-(1 << 31), 1 << 31),
        protocol_fee_owed_a=rng.randrange(1 << 64), protocol_fee_owed_b=rng.randrange(1 << 64),
        fee_growth_global_a=rng.randrange(_U128), fee_growth_global_b=rng.randrange(_U128),
        reward_last_updated_timestamp=rng.randrange(1 << 64),
        reward_infos=(dataclasses.replace(first, growth_global_x64=rng.randrange(_U128)), *rest)
        if rng.random() < 0.5 else pool.reward_infos,
    )  # fmt: skip


def test_a_whirlpool_redecoded_from_its_moving_fields_equals_a_full_decode() -> None:
    rng = random.Random(5)
    for _ in range(200):
        pool = _pool(rng)
        old = encode_whirlpool(pool)
        previous = decode_whirlpool(pool.address, old)
        data = encode_whirlpool(_moved(pool, rng))
        assert redecode_whirlpool(previous, old, data) == decode_whirlpool(pool.address, data)


@pytest.mark.parametrize(
    "change",
    [
        {"fee_rate": 3_001},
        {"protocol_fee_rate": 1},
        {"tick_spacing": 8},
        {"fee_tier_index_seed": 1},
        {"whirlpool_bump": 7},
        {"whirlpools_config": Pubkey.new_unique()},
        {"vault_a": Pubkey.new_unique()},
        {"mint_b": Pubkey.new_unique()},
    ],
)
def test_a_whirlpool_whose_static_bytes_changed_is_left_to_the_full_decode(change: dict[str, object]) -> None:
    pool = _pool(random.Random(6))
    old = encode_whirlpool(pool)
    previous = decode_whirlpool(pool.address, old)
    assert redecode_whirlpool(previous, old, encode_whirlpool(dataclasses.replace(pool, **change))) is None
    assert redecode_whirlpool(previous, old, old + b"\x00") is None
    assert redecode_whirlpool(previous, old, old[:-1]) is None


@pytest.mark.parametrize("spacing", [1, 2, 8, 64, 128, 256, 32768])
def test_cached_dependencies_are_the_arrays_swaps_read(spacing: int) -> None:
    """Dependencies and swap layouts are cached per array and last-slot position: every tick must
    still get the starts `swap_tick_array_starts` gives it, array edges and tick bounds included."""
    rng = random.Random(spacing)
    span = 88 * spacing
    ticks = [rng.randrange(MIN_TICK_INDEX, MAX_TICK_INDEX) for _ in range(300)]
    for base in (0, -span, 5 * span, MIN_TICK_INDEX // span * span, MAX_TICK_INDEX // span * span):
        ticks += [base + offset for offset in (-spacing - 1, -spacing, -1, 0, 1, span - spacing - 1, span - spacing, span - 1)]
    address = Pubkey.new_unique()
    for tick in ticks:
        pool = make_pool(tick_spacing=spacing, fee_rate=0, protocol_fee_rate=0, liquidity=1, sqrt_price=1 << 64,
                         tick_current_index=tick, address=address)  # fmt: skip
        starts = set(swap_tick_array_starts(tick, spacing, True)) | set(swap_tick_array_starts(tick, spacing, False))
        assert dependency_starts(pool) == tuple(sorted(starts)), tick
        assert VENUE.dependencies(pool) == tuple(tick_array_address(address, start) for start in sorted(starts))
        for a_to_b in (True, False):  # the swap's own arrays, cached the same way
            assert VENUE.swap_layout(pool, a_to_b) == swap_tick_array_starts(tick, spacing, a_to_b), tick


def test_a_fixed_tick_array_decodes_zero_slots_as_empty_ticks_and_keeps_any_other() -> None:
    ticks = [EMPTY_TICK] * 88
    ticks[3] = Tick(True, -5, 5, 1, 2, (3, 4, 5))
    ticks[4] = Tick(False, 0, 0, 7, 0, (0, 0, 0))  # not initialized, yet not all zero
    ticks[5] = Tick(True, 0, 0, 0, 0, (0, 0, 0))  # initialized, all zero
    array = TickArray(-5632, Pubkey.new_unique(), tuple(ticks))
    decoded = decode_tick_array(encode_tick_array(array))
    assert decoded == array
    assert decoded.ticks[0] is EMPTY_TICK and decoded.ticks[4] is not EMPTY_TICK


@dataclasses.dataclass(frozen=True, slots=True)
class _Record:
    a: int
    b: str
    c: dict[str, int] = dataclasses.field(default_factory=dict, init=False, compare=False)
    d: int = dataclasses.field(default=3, init=False)


def test_the_positional_constructor_builds_what_init_builds() -> None:
    build = positional_constructor(_Record)
    record = build(1, "x")
    assert record == _Record(1, "x") and type(record) is _Record
    assert record.c == {} and record.c is not build(1, "x").c and record.d == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.a = 2  # type: ignore[misc]


def test_the_positional_constructor_refuses_records_whose_init_does_more() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            assert self.a > 0

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        a: int

    for cls in (Checked, Unslotted):
        with pytest.raises(TypeError):
            positional_constructor(cls)
