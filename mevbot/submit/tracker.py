"""Follow a sent bundle until it lands, fails or runs out of time, and say what happened.

Outcomes are a closed set so the risk engine, the bandit and the store can count them:
landed, lost_auction, simulation_failure, expired_blockhash, dropped, rate_limited.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import StrEnum

from mevbot.submit.jito import BlockEngineClient, BlockEngineError, InflightStatus


class Outcome(StrEnum):
    LANDED = "landed"
    LOST_AUCTION = "lost_auction"
    SIMULATION_FAILURE = "simulation_failure"
    EXPIRED_BLOCKHASH = "expired_blockhash"
    DROPPED = "dropped"
    RATE_LIMITED = "rate_limited"


TERMINAL = frozenset({"Landed", "Failed", "Invalid"})
DEADLINE = "deadline"  # the reason of a bundle with no terminal status in time


@dataclass(frozen=True, slots=True)
class TrackedResult:
    bundle_id: str
    outcome: Outcome
    landed_slot: int | None
    status: str
    reason: str | None

    @property
    def unexplained(self) -> bool:
        """Failed or dropped, and the block engine did not say why (mainnet's never does)."""
        return self.outcome in (Outcome.SIMULATION_FAILURE, Outcome.DROPPED) and self.reason in (None, DEADLINE)


def classify(status: InflightStatus | None) -> Outcome:
    """Map a block engine status (and the reason the sandbox adds) to an outcome."""
    if status is None:
        return Outcome.DROPPED
    if status.status == "Landed":
        return Outcome.LANDED
    reason = (status.reason or "").lower()
    if "auction" in reason or "outbid" in reason:
        return Outcome.LOST_AUCTION
    if "blockhash" in reason:
        return Outcome.EXPIRED_BLOCKHASH
    if status.status == "Failed" or "simulation" in reason or "failed" in reason:
        return Outcome.SIMULATION_FAILURE
    return Outcome.DROPPED


async def track(
    client: BlockEngineClient, bundle_id: str, *, deadline_s: float = 30.0, poll_s: float = 0.2,
    unknown_grace_s: float = 0.0,
) -> TrackedResult:  # fmt: skip
    """Poll getInflightBundleStatuses until a terminal status or the deadline (then: dropped).

    `Invalid` is the engine's "no such bundle"; for `unknown_grace_s` it is not taken as final (a
    bundle whose send got no reply may still be on its way in).
    """
    started = time.monotonic()
    stop = started + deadline_s
    last: InflightStatus | None = None
    while True:
        try:
            statuses = await client.inflight_statuses([bundle_id])
            last = next((s for s in statuses if s.bundle_id == bundle_id), last)
        except BlockEngineError:
            pass  # a missed poll is not an outcome; the deadline bounds the wait
        unknown_for_now = last is not None and last.status == "Invalid" and time.monotonic() < started + unknown_grace_s
        if last is not None and last.status in TERMINAL and not unknown_for_now:
            break
        if time.monotonic() >= stop:
            return TrackedResult(bundle_id, Outcome.DROPPED, None, last.status if last else "Unknown", DEADLINE)
        await asyncio.sleep(poll_s)
    return TrackedResult(bundle_id, classify(last), last.landed_slot, last.status, last.reason)
