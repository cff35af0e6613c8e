"""Slot time: a clock that ticks every `slot_ms`, and a leader schedule that says which slots are Jito's.

Mainnet leaders hold four consecutive slots; about nine in ten of them run Jito-Solana and accept
bundles. The schedule is a pure, seeded function of the slot, so every run of a seed agrees on which
slots take bundles.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

NUM_CONSECUTIVE_LEADER_SLOTS = 4

log = logging.getLogger(__name__)

SlotListener = Callable[[int], Awaitable[None] | None]


class LeaderSchedule:
    """Which slots a Jito-enabled leader produces: a seeded draw per four-slot leader window."""

    def __init__(self, seed: int, jito_slot_share: float) -> None:
        if not 0.0 <= jito_slot_share <= 1.0:
            raise ValueError(f"jito_slot_share {jito_slot_share} is not within [0, 1]")
        self._seed = seed
        self._share = jito_slot_share

    def is_jito_slot(self, slot: int) -> bool:
        if self._share >= 1.0:
            return True
        window = slot // NUM_CONSECUTIVE_LEADER_SLOTS
        digest = hashlib.sha256(f"leader:{self._seed}:{window}".encode()).digest()
        return int.from_bytes(digest[:8], "little") / 2**64 < self._share


class SlotClock:
    """Advances the slot every `slot_ms` and calls the listeners, in registration order, for each slot.

    Listeners run one slot at a time: a slow listener delays the next tick rather than letting two
    slots overlap, so every observer sees slots in order.
    """

    def __init__(self, slot_ms: int, first_slot: int = 0) -> None:
        if slot_ms <= 0:
            raise ValueError(f"slot_ms must be positive, got {slot_ms}")
        self.slot_ms = slot_ms
        self.slot = first_slot
        self._listeners: list[SlotListener] = []
        self._task: asyncio.Task[None] | None = None

    def add_listener(self, listener: SlotListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sandbox-slot-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def advance(self) -> int:
        """Move to the next slot now and notify the listeners (the timer calls this; tests may too)."""
        self.slot += 1
        for listener in self._listeners:
            try:
                result = listener(self.slot)
                if result is not None:
                    await result
            except Exception:  # one broken observer must not stop the cluster's time
                log.exception("slot listener failed at slot %d", self.slot)
        return self.slot

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            next_tick += self.slot_ms / 1000
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            await self.advance()
            if loop.time() - next_tick > self.slot_ms / 1000:
                next_tick = loop.time()  # fell behind: skip, don't burst
