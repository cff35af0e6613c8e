"""The cycles the search watches, and which of them run through each pool.

Cycles are enumerated once per graph (2 to 4 hops, from and back to a base token) and indexed by
pool in CSR form, so an update to one pool re-evaluates only ``CycleIndex.through(pool)``. The
index also keeps a copy of those cycles' edges in that order (``through_edges``): an update then
reads its cycles as one contiguous block, not as rows scattered over the whole cycle table, each
a cache miss once a quiet millisecond has evicted the table (the kernel took 2-3× as long).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mevbot.market.graph import TokenGraph
from mevbot.search import kernels
from mevbot.search.kernels import MAX_HOPS


@dataclass(frozen=True, slots=True)
class CycleIndex:
    edges: np.ndarray  # int32 (cycles, MAX_HOPS): edge ids in travel order, padded with -1
    length: np.ndarray  # int8 hop count per cycle
    start_token: np.ndarray  # int32 token each cycle starts and ends at
    pool_ptr: np.ndarray  # int64 (pools + 1): pool p's cycles are pool_cycles[pool_ptr[p]:pool_ptr[p + 1]]
    pool_cycles: np.ndarray  # int32 cycle ids
    through_edges: np.ndarray  # int32 (len(pool_cycles), MAX_HOPS): edges[pool_cycles], side by side
    through_length: np.ndarray  # int8: length[pool_cycles]

    def __len__(self) -> int:
        return self.edges.shape[0]

    def through(self, pool_id: int) -> np.ndarray:
        """Ids of the cycles that trade on `pool_id` (a view, no copy)."""
        return self.pool_cycles[self.pool_ptr[pool_id] : self.pool_ptr[pool_id + 1]]

    def hops(self, cycle: int) -> list[int]:
        """Edge ids of `cycle`, in travel order."""
        return self.edges[cycle, : self.length[cycle]].tolist()

    def through_hops(self, row: int) -> list[int]:
        """Edge ids of the cycle in `row` of `through_edges`, in travel order."""
        return self.through_edges[row, : self.through_length[row]].tolist()

    @classmethod
    def build(cls, graph: TokenGraph, base_tokens: Sequence[int], max_hops: int = MAX_HOPS) -> CycleIndex:
        """Enumerate every simple cycle of 2..`max_hops` hops through `base_tokens` (in priority order).

        A cycle through several base tokens is listed once, starting at the first of them in
        `base_tokens`, so its profit is counted in that token.
        """
        if not 2 <= max_hops <= MAX_HOPS:
            raise ValueError(f"max_hops must be 2..{MAX_HOPS}, not {max_hops}")
        bases = np.asarray(list(dict.fromkeys(base_tokens)), np.int32)
        base_rank = np.full(graph.token_count, len(bases), np.int32)
        base_rank[bases] = np.arange(len(bases), dtype=np.int32)
        args = (graph.out_ptr, graph.edges_out, graph.edge_dst, bases, base_rank, max_hops)
        count = kernels.enumerate_cycles(*args, np.empty((0, MAX_HOPS), np.int32))
        edges = np.full((count, MAX_HOPS), -1, np.int32)
        kernels.enumerate_cycles(*args, edges)
        length = (edges >= 0).sum(axis=1).astype(np.int8)
        start_token = graph.edge_src[edges[:, 0]] if count else np.empty(0, np.int32)
        pool_ptr, pool_cycles = _index_by_pool(edges, graph.pool_count)
        return cls(
            edges, length, start_token.astype(np.int32), pool_ptr, pool_cycles, edges[pool_cycles], length[pool_cycles]
        )

    def rows_through(self, pool_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends): the rows of `through_edges` (and of `pool_cycles`) holding the cycles
        through each pool, `starts[j]` to `ends[j]` − 1; pools the index does not know are skipped."""
        ptr = self.pool_ptr
        known = [p for p in pool_ids if p < len(ptr) - 1]
        if len(known) == 1:  # most updates: slices, no index arrays
            pool = known[0]
            return ptr[pool : pool + 1], ptr[pool + 1 : pool + 2]
        pools = np.array(known, np.int64)
        return ptr[pools], ptr[pools + 1]


def _index_by_pool(edges: np.ndarray, pool_count: int) -> tuple[np.ndarray, np.ndarray]:
    valid = edges >= 0
    pools = (edges[valid] >> 1).astype(np.int64)
    cycle_of = np.nonzero(valid)[0].astype(np.int32)
    order = np.argsort(pools, kind="stable")
    pool_ptr = np.zeros(pool_count + 1, np.int64)
    np.cumsum(np.bincount(pools, minlength=pool_count), out=pool_ptr[1:])
    return pool_ptr, cycle_of[order]
