"""Rich tables for `mevbot stats`: presentation only, the figures come from `observe.stats`."""

from __future__ import annotations

import math

from rich.table import Table

from mevbot.decide.bandit import Arm, Bandit
from mevbot.observe.stats import Summary

LAMPORTS_PER_SOL = 1_000_000_000


def sol(lamports: int) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:,.9f} SOL"


def pnl(lamports: int, unknown: int) -> str:
    """Realised PnL, and how many landed bundles it leaves out because their transaction was not found."""
    return sol(lamports) + (f" (not counting {unknown:,} landed with PnL unknown)" if unknown else "")


def stats_tables(summary: Summary, *, since: str, by: str | None) -> list[Table]:
    figures = summary.as_json()
    overview = Table(title=f"mevbot — last {since}", show_header=False)
    overview.add_column("figure")
    overview.add_column("value", justify="right")
    for label, value in (
        ("opportunities", f"{summary.opportunities:,}"),
        ("decisions (send)", f"{summary.decisions:,} ({summary.sends_decided:,})"),
        ("bundles sent", f"{summary.bundles_sent:,}"),
        ("landed / lost / failed", f"{figures['landed']:,} / {figures['lost']:,} / {figures['failed']:,}"),
        ("land rate", f"{summary.land_rate:.1%}"),
        ("PnL", pnl(summary.pnl_lamports, summary.pnl_unknown)),
        ("tips paid", sol(summary.tips_paid_lamports)),
        ("fees paid", sol(summary.fees_paid_lamports)),
        ("setup costs (lookup tables)", sol(summary.costs_lamports)),
        ("net of setup", sol(summary.pnl_lamports - summary.costs_lamports)),
    ):
        overview.add_row(label, value)
    tables = [overview]
    if by is not None:
        grouped = Table(title=f"by {by}")
        for column in (by, "bundles", "landed", "PnL", "tips"):
            grouped.add_column(column, justify="left" if column == by else "right")
        for row in summary.groups:
            grouped.add_row(
                str(row["key"]), f"{row['bundles']:,}", f"{row['landed']:,}", sol(row["pnl_lamports"]),
                sol(row["tips_lamports"]),
            )
        tables.append(grouped)
    if summary.latencies:
        latency = Table(title="stage latency")
        for column in ("stage", "n", "p50 µs", "p99 µs"):
            latency.add_column(column, justify="left" if column == "stage" else "right")
        for row in summary.latencies:
            latency.add_row(row["stage"], f"{row['n']:,}", f"{row['p50_us']:.1f}", f"{row['p99_us']:.1f}")
        tables.append(latency)
    return tables


def bandit_tables(saved: dict[str, tuple[list[Arm], int]]) -> list[Table]:
    tables = []
    for context, (arms, explored) in sorted(saved.items()):
        best = Bandit(context, arms).best()
        table = Table(title=f"{context} (exploratory pulls: {explored})")
        for column in ("arm", "posterior P(land)", "± sd", "expected share", "pulls", "mean reward", ""):
            table.add_column(column, justify="left" if column in ("arm", "") else "right")
        for arm in arms:
            total = arm.alpha + arm.beta
            sd = math.sqrt(arm.alpha * arm.beta / (total * total * (total + 1)))
            table.add_row(
                arm.name, f"Beta({arm.alpha:g}, {arm.beta:g}) = {arm.mean:.3f}", f"{sd:.3f}",
                f"{arm.mean * arm.payoff:.3f}", f"{arm.pulls:,}", sol(round(arm.mean_reward)),
                "[bold green]best[/]" if arm is best else "",
            )
        tables.append(table)
    return tables
