"""`mevbot run` around the engine: logging, uvloop, signals, the live panel or JSON lines, the summary."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from typing import Any

import uvloop
from rich.console import Console
from rich.live import Live

from mevbot.config import Config
from mevbot.engine import EXIT_FAILURE, Engine, RunSummary, run_daemon
from mevbot.observe.panel import Rates, panel
from mevbot.observe.render import pnl
from mevbot.telemetry import Telemetry


class JsonLines(logging.Formatter):
    """One JSON object per log line, for journald and log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                 "msg": record.getMessage()}  # fmt: skip
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def run_from_cli(config: Config, *, slots: int | None, duration: float | None, console: Console) -> int:
    interactive = console.is_terminal
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s") if interactive else JsonLines()
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per RPC call drowns what matters
    rates = Rates()
    live = Live(console=console, refresh_per_second=4, transient=False) if interactive else None

    def on_tick(telemetry: Telemetry) -> None:
        snapshot = telemetry.snapshot()
        figures = rates.update(snapshot)
        if live is not None:
            live.update(panel(snapshot, figures))
        else:
            print(json.dumps({"ts": round(time.time(), 3), **snapshot}), flush=True)

    def on_engine(engine: Engine) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, engine.request_stop, signal.Signals(signum).name)

    async def main() -> RunSummary:
        return await run_daemon(config, slots=slots, duration=duration, on_tick=on_tick, on_engine=on_engine)

    try:
        if live is not None:
            with live:
                summary = uvloop.run(main())
        else:
            summary = uvloop.run(main())
    except OSError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return EXIT_FAILURE
    _print_summary(console, summary)
    return summary.exit_code


def _print_summary(console: Console, summary: RunSummary) -> None:
    figures: dict[str, Any] = summary.figures
    line = (
        f"{summary.reason}: slot {figures['slot']:,}, {figures['opportunities']:,} opportunities, "
        f"{figures['bundles_sent']:,} bundles sent, {figures['landed']:,} landed, {figures['lost']:,} lost, "
        f"{figures['failed']:,} failed, PnL {pnl(figures['pnl_lamports'], figures['pnl_unknown'])}, risk {figures['risk']}; "
        f"store {summary.db_path}"
    )
    if console.is_terminal:
        console.print(f"[bold]{line}[/]")
    else:
        print(json.dumps({"summary": line, "exit_code": summary.exit_code, **figures}), flush=True)
