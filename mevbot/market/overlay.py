"""Pending state: hypothetical swaps layered over the market without touching it.

A backrun prices the market as it will be after someone else's pending swap. The overlay applies
that swap with the venue's exact math to a copy of the pool's state and answers reads from the
copy, falling through to the base model for every other pool. The base state, its arrays and
its versions are never written.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mevbot.dex.base import Quote, QuoteError
from mevbot.market.hot_state import HotState, HotView
from mevbot.market.model import MarketView
from mevbot.market.registry import PoolRegistry
from mevbot.market.venue_views import after_swap, hot_view


class PendingOverlay:
    def __init__(self, base: MarketView) -> None:
        self._base = base
        self._states: dict[int, Any] = {}
        self._views: dict[int, HotView | None] = {}

    @property
    def registry(self) -> PoolRegistry:
        return self._base.registry

    @property
    def hot(self) -> HotState:
        """The base arrays; the pools this overlay changed are in `patches()`."""
        return self._base.hot

    def state(self, pool_id: int) -> Any | None:
        if pool_id in self._states:
            return self._states[pool_id]
        return self._base.state(pool_id)

    def apply_swap(self, pool_id: int, amount_in: int, a_to_b: bool) -> Quote:
        """Apply an exact-in swap on `pool_id` (on top of earlier ones) and return its exact quote."""
        state = self.state(pool_id)
        if state is None:
            raise QuoteError("Unquotable", f"pool {pool_id} has no tradable state")
        quote, after = after_swap(state, amount_in, a_to_b)
        self._states[pool_id] = after
        self._views[pool_id] = hot_view(after)
        return quote

    @property
    def changed_pools(self) -> tuple[int, ...]:
        return tuple(self._states)

    def patches(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pool ids, reserve_a, reserve_b) to read instead of the base arrays, for the kernels."""
        pools = np.fromiter(self._views, np.int64, len(self._views))
        reserve_a = np.array([v.reserve_a if v else 0.0 for v in self._views.values()], np.float64)
        reserve_b = np.array([v.reserve_b if v else 0.0 for v in self._views.values()], np.float64)
        return pools, reserve_a, reserve_b
