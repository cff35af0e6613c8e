"""The search's numeric kernels: cycle enumeration, cycle evaluation, negative-cycle discovery.

Each kernel is plain Python over numpy arrays, compiled by numba (``nogil=True`` so a worker
thread can run it beside the event loop, ``cache=True`` so a fresh process skips the compile).
The uncompiled function stays reachable as ``kernel.py_func``: it is the fallback when numba is
missing, and the tests check both paths agree.

Conventions shared with `mevbot.market`: pools have dense ids; a directed *edge* is
``2 * pool + direction`` with direction 0 for a→b and 1 for b→a. Floats here only rank and guess;
amounts that move money are recomputed with the exact integer quotes.

A constant-product hop with reserves (r_in, r_out) and input fee f maps x ↦ a·x / (b + c·x) with
a = (1−f)·r_out, b = r_in, c = 1−f. Maps of that form compose into the same form, so a whole cycle is
one (a, b, c); it is profitable when a > b and its best input is x* = (√(a·b) − b) / c.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a declared dependency
    numba = None

MAX_HOPS = 4
NO_PATCH = np.empty(0, np.int64)
NO_RESERVES = np.empty(0, np.float64)


def kernel(fn: Callable[..., Any]) -> Any:
    """Compile `fn` with numba when available; keep the Python original as ``.py_func`` either way."""
    if numba is None:  # pragma: no cover
        fn.py_func = fn  # type: ignore[attr-defined]
        return fn
    return numba.njit(nogil=True, cache=True)(fn)


# --- cycle enumeration ---------------------------------------------------------------------------


@kernel
def _edges_between(tok_ptr, tok_edges, edge_dst, src, dst):  # type: ignore[no-untyped-def]
    """[lo, hi) positions in `tok_edges` of the edges src → dst (each token's edges sorted by dst)."""
    lo = tok_ptr[src]
    hi = tok_ptr[src + 1]
    while lo < hi:  # first position whose destination is >= dst
        mid = (lo + hi) // 2
        if edge_dst[tok_edges[mid]] < dst:
            lo = mid + 1
        else:
            hi = mid
    end = lo
    stop = tok_ptr[src + 1]
    while end < stop and edge_dst[tok_edges[end]] == dst:
        end += 1
    return lo, end


@kernel
def enumerate_cycles(tok_ptr, tok_edges, edge_dst, bases, base_rank, max_hops, out):  # type: ignore[no-untyped-def]
    """Write the simple cycles of 2..`max_hops` edges that start and end at a base token into `out`.

    Returns how many there are; pass a (0, 4) `out` to count, then a sized one to fill (rows padded
    with -1). A cycle is listed once, from its highest-priority base token (lowest `base_rank`;
    non-base tokens rank above every base), so rotations are not repeated. `tok_edges` holds each
    token's outgoing edges sorted by destination, between ``tok_ptr[t]`` and ``tok_ptr[t + 1]``.
    """
    write = out.shape[0] > 0
    n = 0
    for bi in range(bases.shape[0]):
        s = bases[bi]
        rank = base_rank[s]
        for i1 in range(tok_ptr[s], tok_ptr[s + 1]):
            e1 = tok_edges[i1]
            t1 = edge_dst[e1]
            if base_rank[t1] <= rank:
                continue
            for i2 in range(tok_ptr[t1], tok_ptr[t1 + 1]):
                e2 = tok_edges[i2]
                t2 = edge_dst[e2]
                if t2 == s:
                    if (e2 >> 1) != (e1 >> 1):
                        if write:
                            out[n, 0] = e1
                            out[n, 1] = e2
                        n += 1
                    continue
                if max_hops < 3 or base_rank[t2] <= rank:
                    continue
                for i3 in range(tok_ptr[t2], tok_ptr[t2 + 1]):
                    e3 = tok_edges[i3]
                    t3 = edge_dst[e3]
                    if t3 == s:
                        if write:
                            out[n, 0] = e1
                            out[n, 1] = e2
                            out[n, 2] = e3
                        n += 1
                        continue
                    if max_hops < 4 or t3 == t1 or base_rank[t3] <= rank:
                        continue
                    lo, hi = _edges_between(tok_ptr, tok_edges, edge_dst, t3, s)
                    for i4 in range(lo, hi):
                        if write:
                            out[n, 0] = e1
                            out[n, 1] = e2
                            out[n, 2] = e3
                            out[n, 3] = tok_edges[i4]
                        n += 1
    return n


# --- cycle evaluation ----------------------------------------------------------------------------


@kernel
def _oriented(edge, reserve_a, reserve_b):  # type: ignore[no-untyped-def]
    """(reserve in, reserve out) of a pool's reserves along `edge` (odd: b→a)."""
    if edge & 1:
        return reserve_b, reserve_a
    return reserve_a, reserve_b


@kernel
def cycle_mobius(edges, length, reserve_a, reserve_b, fee, patch_pools, patch_a, patch_b):  # type: ignore[no-untyped-def]
    """The (a, c) of a cycle's composed map x ↦ a·x / (1 + c·x) (normalised to b = 1).

    Returns (0, 0) when a hop has an empty side. Pool ``patch_pools[j]`` reads reserves
    (``patch_a[j]``, ``patch_b[j]``) instead of the arrays': a hypothetical state (a pending swap)
    without writing the base state.
    """
    a = 1.0
    c = 0.0
    for h in range(length):
        e = edges[h]
        pool = e >> 1
        ra = reserve_a[pool]
        rb = reserve_b[pool]
        for j in range(patch_pools.shape[0]):
            if patch_pools[j] == pool:
                ra = patch_a[j]
                rb = patch_b[j]
        r_in, r_out = _oriented(e, ra, rb)
        if not (r_in > 0.0 and r_out > 0.0):
            return 0.0, 0.0
        gamma = 1.0 - fee[pool]
        # (a, 1, c) then (γ·r_out, r_in, γ), divided through by r_in to keep b = 1.
        c = c + gamma * a / r_in
        a = a * gamma * r_out / r_in
    return a, c


@kernel
def optimum(a, c):  # type: ignore[no-untyped-def]
    """Best input and profit of x ↦ a·x / (1 + c·x) − x; (0, 0) when no input profits."""
    if not (a > 1.0 and c > 0.0):
        return 0.0, 0.0
    x = (math.sqrt(a) - 1.0) / c
    return x, a * x / (1.0 + c * x) - x


@kernel
def evaluate_cycles(cycle_ids, cycle_edges, cycle_len, reserve_a, reserve_b, fee, out_x, out_profit):  # type: ignore[no-untyped-def]
    """Best float input and profit of each listed cycle, into `out_x[i]`, `out_profit[i]`."""
    for i in range(cycle_ids.shape[0]):
        k = cycle_ids[i]
        a, c = cycle_mobius(
            cycle_edges[k], cycle_len[k], reserve_a, reserve_b, fee, NO_PATCH, NO_RESERVES, NO_RESERVES
        )
        x, profit = optimum(a, c)
        out_x[i] = x
        out_profit[i] = profit


@kernel
def cycle_rates(lo, hi, cycle_edges, cycle_len, reserve_a, reserve_b, fee, out):  # type: ignore[no-untyped-def]
    """Each cycle's rate at zero size, fees included (the `a` of `cycle_mobius`: above 1 exactly
    when it profits), for cycles `lo` to `hi` − 1, into `out[lo:hi]`."""
    for k in range(lo, hi):
        a, _ = cycle_mobius(
            cycle_edges[k], cycle_len[k], reserve_a, reserve_b, fee, NO_PATCH, NO_RESERVES, NO_RESERVES
        )
        out[k] = a


@kernel
def route_jitter(edges, length, reserve_a, reserve_b, fee):  # type: ignore[no-untyped-def]
    """How many start-token units integer rounding can move a route's profit (`FloatModel.jitter`):
    each hop but the last floors its output to a whole unit of its token, worth 1/(rates so far)
    start-token units."""
    jitter = 1.0
    rate = 1.0
    for h in range(length - 1):
        e = edges[h]
        pool = e >> 1
        r_in, r_out = _oriented(e, reserve_a[pool], reserve_b[pool])
        rate *= (1.0 - fee[pool]) * r_out / r_in if r_in > 0 else 1.0
        jitter += max(1.0, 1.0 / rate) if rate > 0 else 1.0
    return jitter


@kernel
def best_cycle(  # type: ignore[no-untyped-def]
    starts, ends, cycle_edges, cycle_len, cycle_value, reserve_a, reserve_b, fee, patch_pools, patch_a, patch_b
):
    """Among rows `starts[j]` to `ends[j]` − 1 (every j) of the cycle arrays, the cycle with the
    largest valued float profit: (row, x*, profit, its `route_jitter` on the unpatched arrays), or
    (-1, 0, 0, 0). A row in two ranges is evaluated twice, which a maximum does not mind.

    `cycle_value[k]` converts row k's start-token units into a common numeraire for the ranking;
    the patch arrays are those of `cycle_mobius`.
    """
    best = -1
    best_x = 0.0
    best_profit = 0.0
    best_value = 0.0
    for j in range(starts.shape[0]):
        for k in range(starts[j], ends[j]):
            a, c = cycle_mobius(
                cycle_edges[k], cycle_len[k], reserve_a, reserve_b, fee, patch_pools, patch_a, patch_b
            )
            if a <= 1.0:
                continue
            x, profit = optimum(a, c)
            value = profit * cycle_value[k]
            if value > best_value:
                best = k
                best_x = x
                best_profit = profit
                best_value = value
    if best < 0:
        return best, best_x, best_profit, 0.0
    return best, best_x, best_profit, route_jitter(cycle_edges[best], cycle_len[best], reserve_a, reserve_b, fee)


# --- negative-cycle discovery --------------------------------------------------------------------


@kernel
def negative_cycles(n_nodes, src, dst, weight, max_passes, out_edges, out_ptr):  # type: ignore[no-untyped-def]
    """Bellman-Ford from a virtual source joined to every node; returns how many cycles it found.

    After each relaxation pass the predecessor graph is searched for cycles (each one is a negative
    cycle), so a short arbitrage loop shows up after a few passes instead of after `n_nodes`. Cycle
    j's edges, in travel order, are ``out_edges[out_ptr[j]:out_ptr[j + 1]]``; both buffers need
    ``n_nodes`` (+1) slots since the cycles of a predecessor graph are disjoint. 0 means no
    negative cycle was seen within `max_passes` passes.
    """
    dist = np.zeros(n_nodes)
    pred = np.empty(n_nodes, np.int64)
    pred[:] = -1
    stamp = np.empty(n_nodes, np.int64)
    out_ptr[0] = 0
    for _ in range(max_passes):
        changed = False
        for e in range(src.shape[0]):
            candidate = dist[src[e]] + weight[e]
            if candidate < dist[dst[e]] - 1e-12:
                dist[dst[e]] = candidate
                pred[dst[e]] = e
                changed = True
        if not changed:
            return 0
        stamp[:] = -1
        found = 0
        filled = 0
        for v in range(n_nodes):
            u = v
            while u != -1 and stamp[u] == -1:
                stamp[u] = v
                u = src[pred[u]] if pred[u] != -1 else -1
            if u == -1 or stamp[u] != v:
                continue
            # u lies on a cycle of the predecessor graph: walk it backwards, then reverse.
            start = filled
            w = u
            while True:
                out_edges[filled] = pred[w]
                filled += 1
                w = src[pred[w]]
                if w == u:
                    break
            i, j = start, filled - 1
            while i < j:
                out_edges[i], out_edges[j] = out_edges[j], out_edges[i]
                i += 1
                j -= 1
            found += 1
            out_ptr[found] = filled
        if found:
            return found
    return 0
