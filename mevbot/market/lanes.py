"""Lanes: a pool's float view after the updates that make most of the feed, before its exact state.

Nearly every account update is a vault balance of a constant-product pool or the price of a
Whirlpool. The kernels read only the pool's float view after it; the exact state is read only when
a route through the pool is quoted, which few updates lead to. A lane, made from a pool's exact
state and its view, turns such an update into the new view directly; the market model builds the
exact state from the same bytes, with the same code as for any update, when it is next read
(`MarketModel.state`).

A lane takes only an update the general path would accept with a tradable result, and returns
None for anything else (bytes of another size, a pool account whose static fields changed, a price
that moves to other tick arrays, reserves the pool owes more than): the general path then decides.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, whirlpool
from mevbot.dex.base import U64
from mevbot.dex.spl_token import ACCOUNT_LEN
from mevbot.dex.whirlpool_accounts import moved_only, read_moving
from mevbot.events import AccountUpdate
from mevbot.market.hot_state import HotView
from mevbot.market.venue_views import concentrated_view, constant_product_view


class VaultLane:
    """A constant-product pool seen through its vaults: each reserve is the vault's balance less
    what the pool owes out of it, which only a change of the pool account moves."""

    __slots__ = ("amount_a", "amount_b", "fee", "owed_a", "owed_b", "vault_a", "vault_b")

    def __init__(
        self, vaults: tuple[Pubkey, Pubkey], amounts: tuple[int, int], reserves: tuple[int, int], fee: float
    ):
        self.vault_a, self.vault_b = vaults
        self.amount_a, self.amount_b = amounts
        self.owed_a, self.owed_b = amounts[0] - reserves[0], amounts[1] - reserves[1]
        self.fee = fee

    def pool_view(self, update: AccountUpdate, stored: bytes) -> HotView | None:
        return None  # the pool account holds the fees owed and the status: the general path reads it

    def vault_view(self, update: AccountUpdate) -> HotView | None:
        data = update.data
        if len(data) != ACCOUNT_LEN:  # a Token-2022 account with extensions (a transfer fee?), or broken
            return None
        amount = U64.unpack_from(data, 64)[0]
        account, vault_a, vault_b = update.pubkey, self.vault_a, self.vault_b
        # By identity first: an update carries the registry's own Pubkey objects (see `venue_views`).
        if account is vault_a or (account is not vault_b and account == vault_a):
            amount_a, amount_b = amount, self.amount_b
        elif account is vault_b or account == vault_b:
            amount_a, amount_b = self.amount_a, amount
        else:
            return None
        if amount_a < self.owed_a or amount_b < self.owed_b:
            return None
        self.amount_a, self.amount_b = amount_a, amount_b
        return constant_product_view(amount_a - self.owed_a, amount_b - self.owed_b, self.fee)


class PriceLane:
    """A Whirlpool seen through its pool account, while only the fields a swap rewrites change and
    the price stays where the pool reads the same tick arrays (its dependencies do not change)."""

    __slots__ = ("fee", "position", "spacing")

    def __init__(self, pool: whirlpool.WhirlpoolPool, fee: float):
        self.fee, self.spacing = fee, pool.tick_spacing
        self.position = whirlpool.array_position(pool.tick_current_index, pool.tick_spacing)

    def pool_view(self, update: AccountUpdate, stored: bytes) -> HotView | None:
        data, owner = update.data, update.owner
        if not moved_only(stored, data) or (
            owner is not whirlpool.PROGRAM_ID and owner != whirlpool.PROGRAM_ID
        ):
            return None
        liquidity, sqrt_price, tick = read_moving(data)[:3]
        if whirlpool.array_position(tick, self.spacing) != self.position:
            return None
        return concentrated_view(liquidity, sqrt_price, self.fee)

    def vault_view(self, update: AccountUpdate) -> HotView | None:
        return None  # a tick array: decoded by the general path


Lane = VaultLane | PriceLane


# Per constant-product state: (vault a, vault b) of its pool, their balances, and the reserves left.
_VAULT_FIELDS = {
    raydium_cpmm.CpmmState: (
        attrgetter("pool.token_0_vault", "pool.token_1_vault"),
        attrgetter("vault_0_amount", "vault_1_amount"),
        attrgetter("reserve_0", "reserve_1"),
    ),
    raydium_amm_v4.AmmV4State: (
        attrgetter("pool.coin_vault", "pool.pc_vault"),
        attrgetter("coin_vault_amount", "pc_vault_amount"),
        attrgetter("reserve_coin", "reserve_pc"),
    ),
}


def lane_of(state: Any, view: HotView) -> Lane | None:
    """The lane of a pool whose exact state is `state` and float view `view` (a tradable one)."""
    if type(state) is whirlpool.WhirlpoolState:
        return PriceLane(state.pool, view.fee)
    fields = _VAULT_FIELDS.get(type(state))
    if fields is None:
        return None
    vaults, amounts, reserves = (get(state) for get in fields)
    return VaultLane(vaults, amounts, reserves, view.fee)
