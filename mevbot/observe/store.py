"""The DuckDB store and its single writer task.

Only `StoreWriter` writes while the daemon runs: stages hand it rows through a queue and it inserts them
in batches on a worker thread, so disk I/O never blocks the event loop. `stop()` flushes everything
queued, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from mevbot.observe.schema import TABLES

log = logging.getLogger(__name__)

SNAPSHOT_SHARE = 0.01
"""At most this share of the time goes to exporting reader snapshots. An export copies the whole
database, so as the file grows the snapshots space out instead of taking a core from the loop."""


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
        """All of `rows` or, on a bad one, none (raises duckdb.Error).

        Through an appender: a tenth of the CPU of one multi-row INSERT (whose binding of a few
        thousand parameters holds the GIL for milliseconds), and executemany costs milliseconds
        per row.
        """
        if table not in TABLES:
            raise KeyError(f"unknown table {table!r}")
        if not rows:
            return
        appender = self._db.appender(table)
        try:
            appender.append_rows(rows)
            appender.flush()
        except duckdb.Error:
            appender.clear()
            raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Through a cursor of its own: the writer's thread may be using the store's connection,
        which refuses a second caller instead of waiting (a cursor is a connection to the same
        database, and sees what the writer has committed)."""
        cursor = self._db.cursor()
        try:
            return cursor.execute(sql, list(params)).fetchall()
        finally:
            cursor.close()

    def export_snapshot(self) -> None:
        """Copy the database to `<path>.snapshot` atomically, for readers while the daemon holds the lock."""
        target = snapshot_path(self.path)
        partial = target + ".partial"
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        (catalog,) = self._db.execute("SELECT current_database()").fetchone() or ("",)
        self._db.execute(f"ATTACH '{partial}' AS mevbot_snapshot")
        try:
            self._db.execute(f'COPY FROM DATABASE "{catalog}" TO mevbot_snapshot')
        finally:
            self._db.execute("DETACH mevbot_snapshot")
        os.replace(partial, target)

    def close(self) -> None:
        self._db.close()


def snapshot_path(path: str) -> str:
    return path + ".snapshot"


def open_reader(path: str | Path) -> Store:
    """Open for reading while the daemon may be running: the live file if its lock allows, else its snapshot."""
    path = str(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such database")
    try:
        return Store(path, read_only=True)
    except duckdb.IOException:
        if not Path(snapshot_path(path)).exists():
            raise FileNotFoundError(f"{path} is locked by the daemon and has no snapshot yet; retry in a few seconds") from None
        return Store(snapshot_path(path), read_only=True)


class StoreWriter:
    """Batches rows per table and writes them from one task; exports a reader snapshot now and then:
    every `snapshot_every_s`, or less often when an export takes more than `SNAPSHOT_SHARE` of that."""

    def __init__(
        self, store: Store, *, flush_interval_s: float = 0.2, max_batch: int = 1_000, snapshot_every_s: float = 5.0
    ) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self.snapshot_every_s = snapshot_every_s
        self._last_snapshot = 0.0
        self._snapshot_gap = snapshot_every_s
        self._pending: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self._count = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._flushing = asyncio.Lock()
        self._before_flush: list[Callable[[], None]] = []
        self.rows_written = 0
        self.rows_failed = 0

    def put(self, table: str, row: tuple[Any, ...]) -> None:
        self._pending[table].append(row)
        self._count += 1
        if self._count >= self.max_batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Rows queued and not yet handed to the database."""
        return self._count

    def before_flush(self, callback: Callable[[], None]) -> None:
        """Call `callback` at the start of every flush: a source that defers making its rows (the
        recorder) puts them then, so a flush, and the final one at stop, misses none."""
        self._before_flush.append(callback)

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
        """Write what is queued now. Callers that must know a row is on disk (control acks) await this."""
        async with self._flushing:
            for callback in self._before_flush:
                callback()
            if self._count:
                batch, self._pending, self._count = self._pending, defaultdict(list), 0
                await asyncio.to_thread(self._write, batch)
            if self.snapshot_every_s and time.monotonic() - self._last_snapshot >= self._snapshot_gap:
                self._last_snapshot = started = time.monotonic()
                await asyncio.to_thread(self._snapshot)
                self._snapshot_gap = max(self.snapshot_every_s, (time.monotonic() - started) / SNAPSHOT_SHARE)

    def _snapshot(self) -> None:
        try:
            self.store.export_snapshot()
        except (duckdb.Error, OSError) as exc:
            log.warning("store: snapshot for readers failed: %s", exc)

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
        self._last_snapshot = 0.0
        await self.flush()  # a final snapshot, so readers see everything
