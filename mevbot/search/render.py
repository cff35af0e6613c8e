"""Rich tables for `mevbot scan`: the opportunities, the accounts that could not be used, a summary."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from solders.pubkey import Pubkey

from mevbot.events import Opportunity
from mevbot.search.scan import ScanReport

_VENUE_TAGS = {"raydium_amm_v4": "amm", "raydium_cpmm": "cpmm", "whirlpool": "whirl"}


def short(mint: Pubkey, labels: Mapping[Pubkey, str]) -> str:
    label = labels.get(mint)
    if label:
        return label
    text = str(mint)
    return f"{text[:4]}…{text[-4:]}"


def route_text(opportunity: Opportunity, labels: Mapping[Pubkey, str]) -> str:
    """SOL -amm-> T00012 -whirl-> SOL: the tokens, and the venue of each hop."""
    parts = [short(opportunity.mint, labels)]
    for hop in opportunity.hops:
        parts.append(f"-{_VENUE_TAGS.get(hop.venue, hop.venue)}-> {short(hop.mint_out, labels)}")
    return " ".join(parts)


def scan_tables(report: ScanReport, labels: Mapping[Pubkey, str]) -> list[Table]:
    tables = [_opportunities(report, labels)]
    if report.rejected:
        rejected = Table(title=f"{len(report.rejected)} accounts not used", header_style="bold")
        rejected.add_column("account")
        rejected.add_column("reason", overflow="fold")
        for entry in report.rejected:
            rejected.add_row(str(entry.pubkey), entry.reason)
        tables.append(rejected)
    tables.append(_summary(report))
    return tables


def _opportunities(report: ScanReport, labels: Mapping[Pubkey, str]) -> Table:
    table = Table(
        title="opportunities (raw units of the start token; no two share a pool)", header_style="bold"
    )
    for column in ("#", "route", "input", "output", "profit", "hops"):
        table.add_column(column, justify="left" if column == "route" else "right", overflow="fold")
    for rank, opportunity in enumerate(report.opportunities, start=1):
        table.add_row(
            str(rank),
            route_text(opportunity, labels),
            f"{opportunity.amount_in:,}",
            f"{opportunity.amount_out:,}",
            f"{opportunity.profit:,}",
            str(len(opportunity.hops)),
        )
    if not report.opportunities:
        table.caption = "no profitable cycle"
    return table


def _summary(report: ScanReport) -> Table:
    stats = report.stats
    table = Table(title="scan", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in (
        ("accounts", stats.accounts),
        ("pools", stats.pools),
        ("tokens", stats.tokens),
        ("cycles (2-4 hops through base tokens)", stats.cycles),
        ("profitable by the float model", stats.float_profitable),
        ("negative cycles (Bellman-Ford)", stats.negative_cycles),
        ("sized on exact quotes", stats.sized),
    ):
        table.add_row(name, f"{value:,}")
    for stage, seconds in stats.seconds.items():
        table.add_row(f"{stage} time", f"{seconds * 1000:,.1f} ms")
    return table
