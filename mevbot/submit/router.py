"""Hedged sends across block-engine regions.

The same bundle goes to the k regions with the lowest recent latency that have a token in their bucket
and are not backing off after a 429. A 429 from one region is absorbed: that region backs off and the
next-fastest takes its place, so the bundle still goes out while any region can take it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from mevbot.retry import Backoff
from mevbot.submit.jito import BlockEngineClient, BlockEngineError, RateLimited
from mevbot.submit.ratelimit import TokenBucket


@dataclass
class Region:
    client: BlockEngineClient
    bucket: TokenBucket
    backoff: Backoff = field(default_factory=Backoff)
    latency_ewma_s: float = 0.05
    blocked_until: float = 0.0

    @property
    def name(self) -> str:
        return self.client.name

    def observe_latency(self, seconds: float, weight: float = 0.2) -> None:
        self.latency_ewma_s += weight * (seconds - self.latency_ewma_s)


@dataclass(frozen=True, slots=True)
class SendReport:
    """Which regions took the bundle, which refused and why. `bundle_id` is None if none took it;
    `maybe_delivered` then says whether one of them may have taken it without telling us."""

    bundle_id: str | None
    accepted: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]
    maybe_delivered: bool = False

    @property
    def rate_limited(self) -> bool:
        return self.bundle_id is None and any(reason == "rate_limited" for _, reason in self.refused)


class RegionRouter:
    def __init__(self, regions: list[Region], hedge: int = 2) -> None:
        if not regions:
            raise ValueError("at least one block-engine region is needed")
        self.regions = regions
        self.hedge = max(1, hedge)

    def candidates(self, now: float | None = None) -> list[Region]:
        now = time.monotonic() if now is None else now
        ready = [r for r in self.regions if r.blocked_until <= now]
        return sorted(ready, key=lambda r: r.latency_ewma_s)

    async def send_bundle(self, encoded: list[str]) -> SendReport:
        """Send to up to `hedge` regions; fall through to the next ones when a region refuses."""
        accepted: list[str] = []
        refused: list[tuple[str, str]] = []
        bundle_id: str | None = None
        maybe_delivered = False
        queue = self.candidates()
        while queue and len(accepted) < self.hedge:
            batch: list[Region] = []
            while queue and len(batch) < self.hedge - len(accepted):
                region = queue.pop(0)
                if region.bucket.try_take():
                    batch.append(region)
                else:
                    refused.append((region.name, "rate_limited"))
            if not batch:
                break
            results = await asyncio.gather(*(self._send_one(region, encoded) for region in batch))
            for region, (result, reason, unsure) in zip(batch, results, strict=True):
                if result is not None:
                    accepted.append(region.name)
                    bundle_id = bundle_id or result
                else:
                    refused.append((region.name, reason))
                    maybe_delivered = maybe_delivered or unsure
        return SendReport(bundle_id, tuple(accepted), tuple(refused), maybe_delivered and bundle_id is None)

    async def _send_one(self, region: Region, encoded: list[str]) -> tuple[str | None, str, bool]:
        """(bundle id, refusal reason, whether a refused request may still have been taken)."""
        started = time.monotonic()
        try:
            bundle_id = await region.client.send_bundle(encoded)
        except RateLimited:
            region.blocked_until = time.monotonic() + region.backoff.next_delay()
            return None, "rate_limited", False
        except BlockEngineError as exc:
            if exc.code in (408, 503):
                region.blocked_until = time.monotonic() + region.backoff.next_delay()
            return None, str(exc), exc.maybe_delivered
        region.backoff.reset()
        region.observe_latency(time.monotonic() - started)
        return bundle_id, "", False

    async def close(self) -> None:
        await asyncio.gather(*(region.client.close() for region in self.regions))
