"""The DuckDB store and its single writer task.

Only `StoreWriter` writes while the daemon runs: stages hand it rows through a queue and it inserts them
in batches on a worker thread, so disk I/O never blocks the event loop. `stop()` flushes everything
queued, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from mevbot.observe.schema import TABLES

log = logging.getLogger(__name__)


class Store:
    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = duckdb.connect(self.path, read_only=read_only)
        if not read_only:
            for name, columns in TABLES.items():
                self._db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")

    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if table not in TABLES:
            raise KeyError(f"unknown table {table!r}")
        if not rows:
            return
        marks = ", ".join("?" * len(rows[0]))
        self._db.executemany(f"INSERT INTO {table} VALUES ({marks})", [list(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, list(params)).fetchall()

    def close(self) -> None:
        self._db.close()


class StoreWriter:
    """Batches rows per table and writes them from one task."""

    def __init__(self, store: Store, *, flush_interval_s: float = 0.2, max_batch: int = 1_000) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self._pending: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self._count = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.rows_written = 0
        self.rows_failed = 0

    def put(self, table: str, row: tuple[Any, ...]) -> None:
        self._pending[table].append(row)
        self._count += 1
        if self._count >= self.max_batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="store-writer")

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            self._wake.clear()
            await self.flush()
        await self.flush()

    async def flush(self) -> None:
        if not self._count:
            return
        batch, self._pending, self._count = self._pending, defaultdict(list), 0
        await asyncio.to_thread(self._write, batch)

    def _write(self, batch: dict[str, list[tuple[Any, ...]]]) -> None:
        for table, rows in batch.items():
            try:
                self.store.insert(table, rows)
            except duckdb.Error as exc:  # a bad row must not take the writer (and every later row) down
                self.rows_failed += len(rows)
                log.error("store: %d rows for %s not written: %s", len(rows), table, exc)
            else:
                self.rows_written += len(rows)

    async def stop(self) -> None:
        """Let the task write whatever is still queued, then end it."""
        if self._task is None:
            await self.flush()
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
