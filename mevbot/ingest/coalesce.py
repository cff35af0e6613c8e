"""Backpressure for account updates: between two model passes, the latest slot per account wins.

The queue can never hold more entries than there are tracked accounts, so a burst of updates costs
memory bounded by the market's size and the model only ever applies the newest bytes.
"""

from __future__ import annotations

import asyncio

from solders.pubkey import Pubkey

from mevbot.events import AccountUpdate


class UpdateCoalescer:
    def __init__(self) -> None:
        self._pending: dict[Pubkey, tuple[AccountUpdate, int]] = {}
        self.ready = asyncio.Event()
        self.coalesced = 0  # replaced by a newer update before the model saw it
        self.out_of_order = 0  # older than the one already waiting

    def push(self, update: AccountUpdate, arrived_ns: int) -> None:
        waiting = self._pending.get(update.pubkey)
        if waiting is not None:
            if waiting[0].slot > update.slot:
                self.out_of_order += 1
                return
            self.coalesced += 1
            arrived_ns = waiting[1]  # latency counts from the first arrival the model has not served
        self._pending[update.pubkey] = (update, arrived_ns)
        self.ready.set()

    def drain(self) -> list[tuple[AccountUpdate, int]]:
        pending, self._pending = self._pending, {}
        self.ready.clear()
        return list(pending.values())

    def __len__(self) -> int:
        return len(self._pending)
