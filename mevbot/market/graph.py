"""The token graph: tokens are nodes, each pool gives two directed edges (a→b and b→a).

Edge ids are ``2 * pool_id + direction`` (0 for a→b, 1 for b→a), so an edge names its pool and
direction without a lookup. Adjacency is CSR: token t's outgoing edges are
``edges_out[out_ptr[t]:out_ptr[t + 1]]``, sorted by destination so a kernel can binary-search the
edges between two tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def edge_id(pool_id: int, a_to_b: bool) -> int:
    return 2 * pool_id + (0 if a_to_b else 1)


def edge_pool(edge: int) -> int:
    return edge >> 1


def edge_a_to_b(edge: int) -> bool:
    return not edge & 1


@dataclass(frozen=True, slots=True)
class TokenGraph:
    token_count: int
    edge_src: np.ndarray  # int32 per edge id
    edge_dst: np.ndarray  # int32 per edge id
    out_ptr: np.ndarray  # int64, token_count + 1
    edges_out: np.ndarray  # int32 edge ids grouped by source token, each group sorted by destination

    @property
    def pool_count(self) -> int:
        return self.edge_src.shape[0] // 2

    @classmethod
    def from_pools(cls, token_a: np.ndarray, token_b: np.ndarray, token_count: int) -> TokenGraph:
        """Build from each pool's (token_a, token_b), as `PoolRegistry.token_pairs` gives them."""
        pools = token_a.shape[0]
        edge_src = np.empty(2 * pools, np.int32)
        edge_dst = np.empty(2 * pools, np.int32)
        edge_src[0::2], edge_dst[0::2] = token_a, token_b
        edge_src[1::2], edge_dst[1::2] = token_b, token_a
        order = np.lexsort((np.arange(2 * pools), edge_dst, edge_src)).astype(np.int32)
        out_ptr = np.zeros(token_count + 1, np.int64)
        np.cumsum(np.bincount(edge_src, minlength=token_count), out=out_ptr[1:])
        return cls(token_count, edge_src, edge_dst, out_ptr, order)

    def degree(self, token: int) -> int:
        return int(self.out_ptr[token + 1] - self.out_ptr[token])
