"""Dense ids, the account → pools index, and the token graph built from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from solders.pubkey import Pubkey

from mevbot.dex.raydium_amm_v4 import VENUE
from mevbot.market.graph import TokenGraph, edge_a_to_b, edge_id, edge_pool
from mevbot.market.registry import PoolRegistry


@dataclass(frozen=True)
class FakePool:
    address: Pubkey
    mint_a: Pubkey
    mint_b: Pubkey


def key(n: int) -> Pubkey:
    return Pubkey.from_bytes(bytes([n]) * 32)


def test_ids_are_dense_and_tokens_are_assigned_on_first_sight() -> None:
    registry = PoolRegistry()
    first = registry.add_pool(key(1), VENUE, FakePool(key(1), key(10), key(11)), [key(20), key(21)])
    second = registry.add_pool(key(2), VENUE, FakePool(key(2), key(11), key(12)), [key(22)])
    assert (first.id, second.id) == (0, 1)
    assert (first.token_a, first.token_b, second.token_a, second.token_b) == (0, 1, 1, 2)
    assert registry.pool_id(key(2)) == 1 and registry.pool_id(key(99)) is None
    assert registry.mint(2) == key(12) and registry.find_token(key(11)) == 1
    token_a, token_b = registry.token_pairs()
    assert token_a.tolist() == [0, 1] and token_b.tolist() == [1, 2]


def test_readers_cover_the_pool_account_and_its_dependencies() -> None:
    registry = PoolRegistry()
    registry.add_pool(key(1), VENUE, FakePool(key(1), key(10), key(11)), [key(20), key(30)])
    registry.add_pool(key(2), VENUE, FakePool(key(2), key(10), key(11)), [key(21), key(30)])
    assert registry.readers(key(1)) == {0}
    assert registry.readers(key(20)) == {0}
    assert registry.readers(key(30)) == {0, 1}  # a shared config
    assert registry.readers(key(99)) == frozenset()

    registry.replace_pool(0, FakePool(key(1), key(10), key(11)), [key(25)])  # its price moved on
    assert registry.readers(key(20)) == frozenset()
    assert registry.readers(key(25)) == {0}
    assert registry.readers(key(30)) == {1}
    assert registry.readers(key(1)) == {0}


def test_refuses_duplicates_and_self_pairs() -> None:
    registry = PoolRegistry()
    registry.add_pool(key(1), VENUE, FakePool(key(1), key(10), key(11)), [])
    with pytest.raises(ValueError, match="already registered"):
        registry.add_pool(key(1), VENUE, FakePool(key(1), key(10), key(11)), [])
    with pytest.raises(ValueError, match="against itself"):
        registry.add_pool(key(2), VENUE, FakePool(key(2), key(10), key(10)), [])
    with pytest.raises(ValueError, match="changed its mints"):
        registry.replace_pool(0, FakePool(key(1), key(10), key(12)), [])


def test_graph_edges_name_their_pool_and_direction() -> None:
    token_a = np.array([0, 0, 1], np.int32)
    token_b = np.array([1, 2, 2], np.int32)
    graph = TokenGraph.from_pools(token_a, token_b, 3)
    for pool in range(3):
        forward, backward = edge_id(pool, True), edge_id(pool, False)
        assert (edge_pool(forward), edge_a_to_b(forward)) == (pool, True)
        assert (edge_pool(backward), edge_a_to_b(backward)) == (pool, False)
        assert (graph.edge_src[forward], graph.edge_dst[forward]) == (token_a[pool], token_b[pool])
        assert (graph.edge_src[backward], graph.edge_dst[backward]) == (token_b[pool], token_a[pool])
    for token in range(3):
        out = graph.edges_out[graph.out_ptr[token] : graph.out_ptr[token + 1]]
        assert all(graph.edge_src[e] == token for e in out)
        assert list(graph.edge_dst[out]) == sorted(graph.edge_dst[out])
    assert [graph.degree(t) for t in range(3)] == [2, 2, 2]
