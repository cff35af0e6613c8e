"""Counters and per-stage latency windows: what the panel, the logs, the store and metrics report."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np


class LatencyWindow:
    """The last `size` samples in microseconds, in a preallocated ring: recording never allocates."""

    def __init__(self, size: int = 4096) -> None:
        self._samples = np.zeros(size, dtype=np.float64)
        self._slots = memoryview(self._samples)  # a store through it is ~2× numpy's scalar assignment
        self._size = size
        self._next = 0
        self.count = 0

    def record_us(self, microseconds: float) -> None:
        self._slots[self._next] = microseconds
        self._next = (self._next + 1) % self._size
        self.count += 1

    def since(self, started_ns: int) -> None:
        self.record_us((time.perf_counter_ns() - started_ns) / 1_000)

    def percentiles(self) -> tuple[int, float, float]:
        """(samples, p50 µs, p99 µs) over the window; zeros when empty."""
        n = min(self.count, len(self._samples))
        if not n:
            return 0, 0.0, 0.0
        p50, p99 = np.percentile(self._samples[:n], [50, 99])
        return self.count, float(p50), float(p99)


@dataclass
class Counters:
    updates: int = 0
    updates_coalesced: int = 0
    updates_stale: int = 0
    updates_malformed: int = 0  # account bytes a venue refused
    notifications_malformed: int = 0  # PubSub messages that were not valid notifications
    reconnects: int = 0
    opportunities: int = 0
    opportunities_stale: int = 0
    opportunities_dropped: int = 0
    decisions: int = 0
    refused: int = 0
    rejected_by_simulation: int = 0
    bundles_sent: int = 0
    bundles_dry_run: int = 0
    send_failures: int = 0
    landed: int = 0
    lost: int = 0
    failed: int = 0
    lost_to_self: int = 0  # of lost and failed: while another bundle of ours in flight beside it landed
    pnl_lamports: int = 0
    pnl_unknown: int = 0  # of landed: transaction not found, so what it made is not in pnl_lamports
    # Bundles that failed without a reason from the block engine, by what the chain said (`observe/rivals.py`):
    losses_outbid: int = 0  # a transaction that bid more took their pools: booked as lost
    losses_taken: int = 0  # one took them bidding no more than we did
    losses_unexplained: int = 0  # none found, the lookup failed, or too many were under way
    tips_lamports: int = 0
    stage_restarts: int = 0
    warm_passes: int = 0  # hot-path rehearsals while idle (`Engine.keep_warm`)
    routes_compiled_ahead: int = 0  # routes near profit compiled while idle (`Engine.compile_ahead`)


STAGES = ("ingest_to_model", "search", "decide_to_bundle", "update_to_bundle")


@dataclass
class Telemetry:
    counters: Counters = field(default_factory=Counters)
    latency: dict[str, LatencyWindow] = field(default_factory=lambda: {stage: LatencyWindow() for stage in STAGES})
    slot: int = 0
    risk_state: str = "ACTIVE"
    risk_reason: str = ""
    started: float = field(default_factory=time.monotonic)
    wallet: dict[str, int] = field(default_factory=dict)  # lamports, wrapped_sol, token_accounts, tokens: once read

    def snapshot(self) -> dict[str, object]:
        latencies = {}
        for stage, window in self.latency.items():
            n, p50, p99 = window.percentiles()
            latencies[stage] = {"n": n, "p50_us": round(p50, 1), "p99_us": round(p99, 1)}
        return {
            "slot": self.slot,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "risk": self.risk_state,
            "risk_reason": self.risk_reason,
            **asdict(self.counters),
            "latency": latencies,
            **({"wallet": dict(self.wallet)} if self.wallet else {}),
        }
