"""The model's update shortcuts give exactly what a full decode and load give, and refuse the same.

`MarketModel.apply` takes most updates on a pool's lane (the float view from the changed bytes,
the exact state built when read), re-reads only the vault that moved, re-decodes only the fields
of a Whirlpool that a swap moves, keeps the tick arrays a pool still reads and skips the dependency
recompute. Every update here goes to a model with the shortcuts and to one without them (no lanes,
every pool decoded and loaded in full); both must return the same ids, count the same, and hold
equal float views and dependencies. Their states and pools are compared after some updates only,
so that a lane's updates pile up before the state is built from them; and every so often both
are compared with a model built from scratch out of the accounts they accepted.
"""

from __future__ import annotations

import dataclasses
import random
import struct
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, whirlpool
from mevbot.dex.base import U64, DecodeError
from mevbot.dex.clmm_math import MAX_TICK_INDEX, MIN_TICK_INDEX, sqrt_price_from_tick, tick_from_sqrt_price
from mevbot.dex.spl_token import ACCOUNT_LEN, TOKEN_PROGRAM_ID
from mevbot.events import AccountUpdate
from mevbot.market import model as model_module
from mevbot.market.model import MarketModel
from mevbot.sandbox.universe import generate_universe

_HOT_COLUMNS = ("kind", "reserve_a", "reserve_b", "fee", "sqrt_price", "liquidity")


class Twins:
    """A model with the shortcuts and one without, fed the same updates."""

    def __init__(self, accounts: list[AccountUpdate], monkeypatch: pytest.MonkeyPatch) -> None:
        self.fast = MarketModel.from_accounts(accounts)[0]
        with monkeypatch.context() as patch:
            patch.setattr(model_module, "lane_of", lambda *args: None)
            self.full = MarketModel.from_accounts(accounts)[0]
        self.rng = random.Random(0)  # which updates are followed by a comparison of states
        self.accepted = {a.pubkey: a for a in accounts}  # the bytes both models hold
        self.original = dict(self.accepted)
        self.slot = max(a.slot for a in accounts) + 1
        self._monkeypatch = monkeypatch
        self.taken: Counter[str] = Counter()  # shortcuts the fast model took, by name
        for name in ("refresh", "redecode_pool"):
            monkeypatch.setattr(model_module, name, self._counted(name, getattr(model_module, name)))
        took, catch_up = self.fast._took, self.fast._catch_up
        pending: Counter[int] = Counter()  # lane updates per pool since its state was last built

        def counted_took(pool_id: int, *args: object) -> None:
            self.taken["lane"] += 1
            pending[pool_id] += 1
            took(pool_id, *args)  # type: ignore[arg-type]

        def counted_catch_up(pool_id: int) -> None:
            self.taken["state built after several"] += pending.pop(pool_id, 0) > 1
            catch_up(pool_id)

        monkeypatch.setattr(self.fast, "_took", counted_took)
        monkeypatch.setattr(self.fast, "_catch_up", counted_catch_up)

    def _counted(self, name: str, shortcut: Callable[..., object]) -> Callable[..., object]:
        def counted(*args: object) -> object:
            result = shortcut(*args)
            self.taken[name] += result is not None
            return result

        return counted

    def apply(self, update: AccountUpdate) -> tuple[int, ...]:
        changed = self.fast.apply(update)
        with self._monkeypatch.context() as patch:  # no shortcut: decode and load in full
            patch.setattr(model_module, "refresh", lambda *args: None)
            patch.setattr(model_module, "redecode_pool", lambda *args: None)
            patch.setattr(model_module, "lane_of", lambda *args: None)
            assert self.full.apply(update) == changed
        assert self.fast.stats == self.full.stats
        for pool_id in changed:
            self.assert_same_view(pool_id)
            if self.rng.random() < 0.2:
                self.assert_same_pool(pool_id)
        if self.fast.account_slot(update.pubkey) == update.slot:
            assert self.fast.account_data(update.pubkey) is update.data
            self.accepted[update.pubkey] = update
        return changed

    def update(self, pubkey: Pubkey, data: bytes, owner: Pubkey | None = None, slot: int | None = None) -> AccountUpdate:
        if slot is None:
            self.slot += 1
        held = self.accepted[pubkey]
        return AccountUpdate(pubkey, owner or held.owner, held.lamports, data, self.slot if slot is None else slot)

    def assert_same_view(self, pool_id: int, fast: MarketModel | None = None) -> None:
        fast, full = fast or self.fast, self.full
        assert fast.registry.dependencies(pool_id) == full.registry.dependencies(pool_id)
        for column in _HOT_COLUMNS:
            assert getattr(fast.hot, column)[pool_id] == getattr(full.hot, column)[pool_id], column

    def assert_same_pool(self, pool_id: int, fast: MarketModel | None = None) -> None:
        fast, full = fast or self.fast, self.full
        assert fast.state(pool_id) == full.state(pool_id)
        assert fast.registry.pool(pool_id) == full.registry.pool(pool_id)
        self.assert_same_view(pool_id, fast)

    def assert_same_market(self) -> None:
        """Every pool equal in both models and in one built from scratch from the accepted bytes."""
        scratch = MarketModel.from_accounts(list(self.accepted.values()))[0]
        assert len(scratch.registry) == len(self.fast.registry) == len(self.full.registry)
        for pool_id in range(len(self.fast.registry)):
            self.assert_same_pool(pool_id)
            self.assert_same_pool(pool_id, fast=scratch)
        for pubkey in self.accepted:
            assert self.fast.registry.readers(pubkey) == scratch.registry.readers(pubkey)


@pytest.fixture(scope="module")
def universe_accounts() -> list[AccountUpdate]:
    return [account.at(1) for account in generate_universe(11, 45).accounts]


@pytest.fixture
def twins(universe_accounts: list[AccountUpdate], monkeypatch: pytest.MonkeyPatch) -> Twins:
    return Twins(universe_accounts, monkeypatch)


# --- mutations: each returns the update to apply (or None when it does not apply to this pool) ----


def _with_amount(data: bytes, amount: int) -> bytes:
    out = bytearray(data)
    U64.pack_into(out, 64, amount)
    return bytes(out)


def _transfer_fee_vault(data: bytes) -> bytes:
    """A Token-2022 account whose mint charges a transfer fee (type byte, TransferFeeAmount TLV)."""
    return data[:ACCOUNT_LEN] + b"\x02" + struct.pack("<HHQ", 2, 8, 0)


def _vault_update(twins: Twins, pool_id: int, rng: random.Random) -> AccountUpdate | None:
    info = twins.fast.registry.pool(info_id := pool_id)
    if info.venue.name == "whirlpool":
        return None
    vaults = [a for a in twins.fast.registry.dependencies(info_id) if len(twins.accepted[a].data) >= ACCOUNT_LEN]
    vault = rng.choice(vaults)
    data = twins.accepted[vault].data[:ACCOUNT_LEN]
    amount = U64.unpack_from(data, 64)[0]
    roll = rng.random()
    if roll < 0.06:
        return twins.update(vault, data[:40])  # truncated: refused, counted
    if roll < 0.11:
        return twins.update(vault, _transfer_fee_vault(_with_amount(data, amount + 1)))  # CPMM: unquotable
    if roll < 0.14:
        return twins.update(vault, _with_amount(data, rng.randrange(0, 50)))  # below what the pool owes
    if roll < 0.17:
        return twins.update(vault, _with_amount(data, amount), slot=twins.accepted[vault].slot - 1)  # stale
    return twins.update(vault, _with_amount(data, max(0, int(amount * rng.uniform(0.97, 1.03)))))


def _amm_v4_pool_update(twins: Twins, pool_id: int, rng: random.Random) -> AccountUpdate | None:
    info = twins.fast.registry.pool(pool_id)
    if info.venue.name != "raydium_amm_v4":
        return None
    pool = raydium_amm_v4.decode_amm_info(info.address, twins.original[info.address].data)  # one change at a time
    changes = rng.choice([
        {"need_take_pnl_coin": rng.randrange(0, 10**6)},
        {"need_take_pnl_pc": rng.choice([0, rng.randrange(0, 10**6), rng.randrange(0, 1 << 63)])},  # may
        # exceed the vault: unquotable
        {"status": rng.choice([1, 2, 6, 7])},
        {"swap_fee_numerator": rng.randrange(0, 100)},
        {"swap_fee_denominator": 0},
        {"coin_vault": pool.pc_vault, "pc_vault": pool.coin_vault},  # reads other accounts: full load
    ])  # fmt: skip
    data = raydium_amm_v4.encode_amm_info(dataclasses.replace(pool, **changes))
    if rng.random() < 0.1:
        data = data[:-1]  # wrong size
    return twins.update(info.address, data)


def _cpmm_pool_update(twins: Twins, pool_id: int, rng: random.Random) -> AccountUpdate | None:
    info = twins.fast.registry.pool(pool_id)
    if info.venue.name != "raydium_cpmm":
        return None
    pool = raydium_cpmm.decode_pool_state(info.address, twins.original[info.address].data)
    changes = rng.choice([
        {"protocol_fees_token_0": rng.randrange(0, 10**6)},
        {"fund_fees_token_1": rng.choice([0, rng.randrange(0, 10**6), rng.randrange(0, 1 << 63)])},
        {"creator_fee_on": rng.randrange(0, 4), "enable_creator_fee": rng.random() < 0.5},  # 3 is invalid
        {"status": rng.choice([0, raydium_cpmm.STATUS_DISABLE_SWAP])},
        {"creator_fees_token_0": rng.randrange(0, 10**4)},
        {"token_0_vault": pool.token_1_vault, "token_1_vault": pool.token_0_vault},
    ])  # fmt: skip
    return twins.update(info.address, raydium_cpmm.encode_pool_state(dataclasses.replace(pool, **changes)))


def _cpmm_config_update(twins: Twins, pool_id: int, rng: random.Random) -> AccountUpdate | None:
    info = twins.fast.registry.pool(pool_id)
    if info.venue.name != "raydium_cpmm":
        return None
    address = info.pool.amm_config
    config = raydium_cpmm.decode_amm_config(address, twins.accepted[address].data)
    changed = dataclasses.replace(config, trade_fee_rate=rng.randrange(0, 30_000), creator_fee_rate=rng.randrange(0, 900))
    return twins.update(address, raydium_cpmm.encode_amm_config(changed))


def _moved(pool: whirlpool.WhirlpoolPool, rng: random.Random) -> whirlpool.WhirlpoolPool:
    """The pool after what a swap, a fee or reward update, or an admin would write."""
    span = 88 * pool.tick_spacing
    roll = rng.random()
    if roll < 0.3:  # a small swap: usually within the array
        price = int(pool.sqrt_price * (1 + rng.uniform(-5e-4, 5e-4)))
        return dataclasses.replace(pool, sqrt_price=price, tick_current_index=tick_from_sqrt_price(price))
    if roll < 0.5:  # a large one, or a move to an array boundary or its last slot (b→a reads one up)
        base = pool.tick_current_index // span * span
        tick = rng.choice([
            pool.tick_current_index + rng.randint(-3, 3) * span + rng.randint(-span, span),
            base + span - pool.tick_spacing, base + span - pool.tick_spacing - 1, base - 1, base, base + span,
        ])  # fmt: skip
        tick = min(max(tick, MIN_TICK_INDEX), MAX_TICK_INDEX - 1)
        return dataclasses.replace(pool, sqrt_price=sqrt_price_from_tick(tick), tick_current_index=tick)
    if roll < 0.65:
        return dataclasses.replace(
            pool,
            liquidity=rng.choice([0, pool.liquidity * 2, pool.liquidity // 3, pool.liquidity * 3 + 1]),  # 0:
            # unquotable
            protocol_fee_owed_a=rng.randrange(0, 10**9),
            fee_growth_global_b=rng.randrange(0, 1 << 128),
            reward_last_updated_timestamp=rng.randrange(0, 1 << 40),
        )
    if roll < 0.75:  # reward growth moves: the reward infos are re-read
        first, *rest = pool.reward_infos
        grown = dataclasses.replace(first, growth_global_x64=rng.randrange(0, 1 << 128))
        return dataclasses.replace(pool, reward_infos=(grown, *rest))
    if roll < 0.82:  # an admin changes a static field: decoded in full
        return dataclasses.replace(pool, fee_rate=rng.randrange(0, 60_000), protocol_fee_rate=rng.randrange(0, 2_500))
    if roll < 0.85:  # bytes in the static ranges change (which the program never does): decoded in full
        return dataclasses.replace(pool, **{rng.choice(["vault_a", "vault_b"]): Pubkey.new_unique()})
    if roll < 0.9:  # an adaptive-fee tier: refused
        return dataclasses.replace(pool, fee_tier_index_seed=pool.tick_spacing + 1)
    return dataclasses.replace(pool, tick_spacing=rng.choice([1, 8, 64]), fee_tier_index_seed=0)


def _whirlpool_update(twins: Twins, pool_id: int, rng: random.Random) -> AccountUpdate | None:
    info = twins.fast.registry.pool(pool_id)
    if info.venue.name != "whirlpool":
        return None
    data = twins.accepted[info.address].data
    pool = whirlpool.decode_whirlpool(info.address, data)
    moved = _moved(pool, rng)
    if moved.tick_spacing != pool.tick_spacing:
        moved = dataclasses.replace(moved, fee_tier_index_seed=moved.tick_spacing)
    new = whirlpool.encode_whirlpool(moved)
    roll = rng.random()
    if roll < 0.04:
        return twins.update(info.address, new + b"\x00")  # same static bytes, not a Whirlpool's size
    if roll < 0.07:
        return twins.update(info.address, new, owner=TOKEN_PROGRAM_ID)
    if roll < 0.1:
        return twins.update(info.address, b"\x00" * 8 + new[8:])  # not a Whirlpool's tag
    if roll < 0.12:
        return twins.update(info.address, data)  # the same bytes again
    return twins.update(info.address, new)


def _tick_array_update(twins: Twins, pool_id: int, rng: random.Random) -> AccountUpdate | None:
    info = twins.fast.registry.pool(pool_id)
    if info.venue.name != "whirlpool":
        return None
    held = [a for a in twins.fast.registry.dependencies(pool_id) if a in twins.accepted]
    if not held:
        return None
    address = rng.choice(held)
    data = twins.accepted[address].data
    if not data:
        return None
    array = whirlpool.decode_tick_array(data)
    ticks = list(array.ticks)
    slot = rng.randrange(len(ticks))
    ticks[slot] = whirlpool.Tick(True, rng.randrange(-(10**12), 10**12), 10**12, 0, 0, (0, 0, 0))
    changed = dataclasses.replace(array, ticks=tuple(ticks))
    roll = rng.random()
    if roll < 0.1:
        changed = dataclasses.replace(changed, whirlpool=Pubkey.new_unique())  # another pool's: refused
    if roll < 0.15:
        return twins.update(address, b"")  # the account closed: read as all-zero ticks
    return twins.update(address, whirlpool.encode_tick_array(changed))


_MUTATIONS: tuple[Callable[[Twins, int, random.Random], AccountUpdate | None], ...] = (
    _vault_update, _vault_update, _vault_update, _whirlpool_update, _whirlpool_update, _whirlpool_update,
    _tick_array_update, _amm_v4_pool_update, _cpmm_pool_update, _cpmm_config_update,
)  # fmt: skip


def _updates(twins: Twins, count: int, seed: int) -> Iterator[AccountUpdate]:
    """`count` random updates on four pools of each venue, so that changes pile up on each."""
    rng = random.Random(seed)
    registry = twins.fast.registry
    pools = [
        pool_id
        for venue in ("raydium_amm_v4", "raydium_cpmm", "whirlpool")
        for pool_id in rng.sample([i for i in range(len(registry)) if registry.pool(i).venue.name == venue], 4)
    ]
    while count:
        update = rng.choice(_MUTATIONS)(twins, rng.choice(pools), rng)
        if update is not None:
            count -= 1
            yield update


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_updates_of_every_account_kind_match_a_full_reload(twins: Twins, seed: int) -> None:
    for index, update in enumerate(_updates(twins, 1_000, seed)):
        twins.apply(update)
        if index % 100 == 99:
            twins.assert_same_market()
    twins.assert_same_market()
    stats = twins.fast.stats
    assert stats.malformed and stats.stale and stats.unquotable and stats.applied > 750  # every path ran
    assert twins.taken["refresh"] > 250 and twins.taken["redecode_pool"] > 120
    assert twins.taken["lane"] > 200 and twins.taken["state built after several"] > 30


def test_a_whirlpool_moving_back_and_forth_across_an_array_boundary(twins: Twins) -> None:
    pools = [i for i in range(len(twins.fast.registry)) if twins.fast.registry.pool(i).venue.name == "whirlpool"]
    for pool_id in pools:
        address = twins.fast.registry.pool(pool_id).address
        pool = whirlpool.decode_whirlpool(address, twins.accepted[address].data)
        span = 88 * pool.tick_spacing
        base = pool.tick_current_index // span * span
        for tick in (base - 1, base, base + span - pool.tick_spacing, base + span - pool.tick_spacing - 1, base - 1):
            moved = dataclasses.replace(pool, sqrt_price=sqrt_price_from_tick(tick), tick_current_index=tick)
            assert twins.apply(twins.update(address, whirlpool.encode_whirlpool(moved))) == (pool_id,)
    assert twins.fast.stats.malformed == 0
    twins.assert_same_market()


def _first(twins: Twins, venue: str) -> int:
    return next(i for i in range(len(twins.fast.registry)) if twins.fast.registry.pool(i).venue.name == venue)


@pytest.mark.parametrize("venue", ["raydium_amm_v4", "raydium_cpmm"])
def test_a_truncated_vault_is_refused_on_the_shortcut_and_leaves_everything(twins: Twins, venue: str) -> None:
    pool_id = _first(twins, venue)
    vault = twins.fast.registry.dependencies(pool_id)[-1]
    before = (twins.fast.state(pool_id), twins.fast.account_data(vault), twins.fast.hot.version[pool_id])
    assert twins.apply(twins.update(vault, twins.accepted[vault].data[:100])) == ()
    assert twins.fast.stats.malformed == 1
    assert (twins.fast.state(pool_id), twins.fast.account_data(vault), twins.fast.hot.version[pool_id]) == before


def test_a_whirlpool_update_with_only_moving_fields_changed_but_a_bad_tick_array_is_refused(twins: Twins) -> None:
    """The pool crosses into an array whose stored bytes belong to another pool: the whole update is
    refused, as a full load refuses it, though the pool account itself decodes on the shortcut."""
    pool_id = _first(twins, "whirlpool")
    address = twins.fast.registry.pool(pool_id).address
    pool = whirlpool.decode_whirlpool(address, twins.accepted[address].data)
    span = 88 * pool.tick_spacing
    tick = pool.tick_current_index + 2 * span
    far = dataclasses.replace(pool, sqrt_price=sqrt_price_from_tick(tick), tick_current_index=tick)
    new_array = next(a for a in whirlpool.VENUE.dependencies(far) if a not in twins.fast.registry.dependencies(pool_id))
    foreign = whirlpool.empty_tick_array(Pubkey.new_unique(), tick // span * span)
    twins.apply(AccountUpdate(new_array, whirlpool.PROGRAM_ID, 1, whirlpool.encode_tick_array(foreign), twins.slot))
    state = twins.fast.state(pool_id)
    assert twins.apply(twins.update(address, whirlpool.encode_whirlpool(far))) == ()
    assert twins.fast.stats.malformed == 1 and twins.fast.state(pool_id) is state


@pytest.mark.parametrize("venue", ["raydium_amm_v4", "raydium_cpmm"])
def test_a_vault_gaining_a_transfer_fee_on_the_shortcut(twins: Twins, venue: str) -> None:
    """CPMM refuses to quote a mint with a Token-2022 transfer fee (AMM v4 reads only the balance):
    the shortcut must say so as the full load does, and recover when the extension goes."""
    pool_id = _first(twins, venue)
    vault = twins.fast.registry.dependencies(pool_id)[-1]
    data = twins.accepted[vault].data
    assert twins.apply(twins.update(vault, _transfer_fee_vault(data))) == (pool_id,)
    assert (twins.fast.state(pool_id) is None) == (venue == "raydium_cpmm")
    assert twins.apply(twins.update(vault, data)) == (pool_id,)
    assert twins.fast.state(pool_id) is not None


def test_a_state_its_lane_cannot_be_caught_up_with_is_loaded_in_full(twins: Twins) -> None:
    """A lane takes only bytes the refresh accepts; were one refused all the same (a bug), the
    state is loaded in full from the stored bytes, not left behind them."""
    pool_id = _first(twins, "raydium_cpmm")
    vault = twins.fast.registry.dependencies(pool_id)[-1]
    amount = U64.unpack_from(twins.accepted[vault].data, 64)[0]
    twins.apply(twins.update(vault, _with_amount(twins.accepted[vault].data, amount + 12_345)))
    assert twins.taken["lane"] == 1

    def refused(*args: object) -> None:
        raise DecodeError("refused")

    twins._monkeypatch.setattr(model_module, "refresh", refused)
    assert twins.fast.state(pool_id) == twins.full.state(pool_id)
    assert twins.fast.state(pool_id).vault_1_amount == amount + 12_345  # type: ignore[union-attr]
