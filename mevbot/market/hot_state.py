"""Per-pool float state in numpy arrays, indexed by pool id, for the search kernels.

Every pool, whatever its venue, is seen by the kernels as a constant-product curve around its
current price: real reserves for AMM v4 and CPMM, the virtual reserves L/√P and L·√P of the active
range for a Whirlpool. That is exact for constant-product pools up to rounding and a first-order
guess for concentrated liquidity; either way only ranking and the sizing guess read these floats.
An unquotable pool has zero reserves, which no cycle can profit from.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CONSTANT_PRODUCT = 0
CONCENTRATED = 1


class HotView(NamedTuple):
    """One pool's float state. `fee` is the input fee as a rate (0.0025 for 25 bps).

    A named tuple, not a dataclass: one is built per account update, and a tuple costs a quarter.
    """

    kind: int
    reserve_a: float
    reserve_b: float
    fee: float
    sqrt_price: float = 0.0  # √(b per a) in raw units; concentrated pools only
    liquidity: float = 0.0  # concentrated pools only


_FIELDS = {
    "kind": np.int8,
    "reserve_a": np.float64,
    "reserve_b": np.float64,
    "fee": np.float64,
    "sqrt_price": np.float64,
    "liquidity": np.float64,
    "version": np.int64,  # bumped on every write: which state a quote read
    "slot": np.int64,  # slot of the newest account the state was loaded from
}
_UNQUOTABLE = HotView(CONSTANT_PRODUCT, 0.0, 0.0, 0.0)


class HotState:
    """Column arrays, one row per pool id; grows as pools are registered.

    Writes go through memoryviews of the columns: storing a Python number into one is about twice
    as fast as numpy's scalar assignment, and every account update writes a row.
    """

    kind: np.ndarray
    reserve_a: np.ndarray
    reserve_b: np.ndarray
    fee: np.ndarray
    sqrt_price: np.ndarray
    liquidity: np.ndarray
    version: np.ndarray
    slot: np.ndarray

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        for name, dtype in _FIELDS.items():
            setattr(self, name, np.zeros(capacity, dtype))
        self._columns = self._memoryviews()

    def _memoryviews(self) -> tuple[memoryview, ...]:
        return tuple(memoryview(getattr(self, name)) for name in _FIELDS)

    def add(self) -> int:
        """Append an empty (unquotable) row and return its pool id."""
        if self.size == self.kind.shape[0]:
            for name in _FIELDS:
                old = getattr(self, name)
                grown = np.zeros(2 * old.shape[0], old.dtype)
                grown[: old.shape[0]] = old
                setattr(self, name, grown)
            self._columns = self._memoryviews()
        self.size += 1
        return self.size - 1

    def write(self, pool_id: int, view: HotView | None, slot: int) -> None:
        """Store `view` (None: the pool cannot be quoted now) and bump the row's version."""
        kind, reserve_a, reserve_b, fee, sqrt_price, liquidity, version, slots = self._columns
        (
            kind[pool_id], reserve_a[pool_id], reserve_b[pool_id], fee[pool_id], sqrt_price[pool_id],
            liquidity[pool_id],
        ) = view or _UNQUOTABLE  # fmt: skip
        version[pool_id] += 1
        if slot > slots[pool_id]:
            slots[pool_id] = slot

    def view(self, pool_id: int) -> HotView:
        return HotView(
            int(self.kind[pool_id]),
            float(self.reserve_a[pool_id]),
            float(self.reserve_b[pool_id]),
            float(self.fee[pool_id]),
            float(self.sqrt_price[pool_id]),
            float(self.liquidity[pool_id]),
        )

    def sides(self, edge: int) -> tuple[float, float, float]:
        """(reserve in, reserve out, fee) of a directed edge (2·pool + direction, 1 for b→a)."""
        pool = edge >> 1
        if edge & 1:
            return float(self.reserve_b[pool]), float(self.reserve_a[pool]), float(self.fee[pool])
        return float(self.reserve_a[pool]), float(self.reserve_b[pool]), float(self.fee[pool])

    def is_quotable(self, pool_id: int) -> bool:
        return bool(self.reserve_a[pool_id] > 0.0 and self.reserve_b[pool_id] > 0.0)

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in _FIELDS)
