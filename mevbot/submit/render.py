"""Rich table for `mevbot bundle status`: what the block engine says about each bundle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from mevbot.submit.jito import InflightStatus
from mevbot.submit.tracker import classify


def bundle_status_table(
    ids: Sequence[str], inflight: Sequence[InflightStatus], landed: Sequence[dict[str, Any] | None]
) -> Table:
    """One row per id: the in-flight status (and our outcome for it), and the landed record if any."""
    by_id = {status.bundle_id: status for status in inflight}
    table = Table(title="bundle statuses", header_style="bold")
    for column in ("bundle id", "status", "outcome", "slot", "confirmation", "transactions", "reason / err"):
        table.add_column(column, overflow="fold")
    for identifier, record in zip(ids, landed, strict=True):
        status = by_id.get(identifier)
        slot = record.get("slot") if record else (status.landed_slot if status else None)
        reason = (status.reason if status else None) or (str(record.get("err")) if record else "")
        table.add_row(
            identifier,
            status.status if status else "Unknown",
            classify(status).value if status and status.status != "Pending" else "-",
            "" if slot is None else str(slot),
            str(record.get("confirmation_status", "")) if record else "",
            str(len(record.get("transactions") or ())) if record else "",
            reason,
        )
    return table
