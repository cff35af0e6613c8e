"""The live panel of `mevbot run` (and `mevbot watch`): one rich table built from a telemetry snapshot."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from mevbot.observe.render import pnl, sol


class Rates:
    """Per-second rates between two snapshots of monotonically growing counters."""

    def __init__(self) -> None:
        self._last: tuple[float, dict[str, Any]] | None = None

    def update(self, snapshot: dict[str, Any]) -> dict[str, float]:
        now = float(snapshot["uptime_s"])
        rates = {"updates": 0.0, "opportunities": 0.0}
        if self._last is not None and now > self._last[0]:
            elapsed = now - self._last[0]
            rates = {name: (snapshot[name] - self._last[1][name]) / elapsed for name in rates}
        self._last = (now, snapshot)
        return rates


def panel(snapshot: dict[str, Any], rates: dict[str, float], *, title: str = "mevbot") -> Table:
    table = Table(title=f"{title} — slot {snapshot['slot']:,} — risk {snapshot['risk']}", show_header=False,
                  min_width=60)  # fmt: skip
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("updates/s", f"{rates['updates']:,.0f}  (total {snapshot['updates']:,})"),
        ("opportunities/s", f"{rates['opportunities']:,.1f}  (total {snapshot['opportunities']:,})"),
        ("bundles sent", f"{snapshot['bundles_sent']:,}" + (f"  (+{snapshot['bundles_dry_run']:,} dry run)"
                                                            if snapshot["bundles_dry_run"] else "")),
        ("landed / lost / failed", f"{snapshot['landed']:,} / {snapshot['lost']:,} / {snapshot['failed']:,}"),
        ("PnL", pnl(snapshot["pnl_lamports"], snapshot["pnl_unknown"])),
        ("tips", sol(snapshot["tips_lamports"])),
        ("dropped: stale / full / malformed",
         f"{snapshot['opportunities_stale']:,} / {snapshot['opportunities_dropped']:,} / "
         f"{snapshot['updates_malformed'] + snapshot['notifications_malformed']:,}"),
    ]  # fmt: skip
    wallet = snapshot.get("wallet", {})
    if "lamports" in wallet:
        accounts = f", token accounts {wallet['token_accounts']:,}/{wallet['tokens']:,}" if "tokens" in wallet else ""
        rows.append(("wallet", f"{sol(wallet['lamports'])}, {sol(wallet['wrapped_sol'])} wrapped{accounts}"))
    if snapshot.get("risk_reason") and snapshot["risk"] != "ACTIVE":
        rows.append(("risk reason", snapshot["risk_reason"]))
    for stage, figures in snapshot["latency"].items():
        if figures["n"]:
            rows.append((f"latency {stage}", f"p50 {figures['p50_us']:,.0f} µs  p99 {figures['p99_us']:,.0f} µs"))
    for name, value in rows:
        table.add_row(name, value)
    return table
