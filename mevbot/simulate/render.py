"""Rich tables for `mevbot simulate`: the exact replay hop by hop, and what the preflight saw."""

from __future__ import annotations

from rich.table import Table
from solders.pubkey import Pubkey

from mevbot.events import Opportunity
from mevbot.simulate.preflight import Preflight
from mevbot.simulate.replay import Rejection


def expected_deltas(opportunity: Opportunity) -> dict[Pubkey, int]:
    """What the owner's balances should do if the chain agrees with the replay, per mint."""
    out = dict.fromkeys(opportunity.token_path, 0)
    out[opportunity.hops[0].mint_in] -= opportunity.amount_in
    out[opportunity.hops[-1].mint_out] += opportunity.amount_out
    return out


def replay_table(opportunity: Opportunity) -> Table:
    table = Table(title="exact replay (raw units)", header_style="bold")
    for column in ("hop", "venue", "pool", "direction", "in", "out", "mint in → mint out"):
        table.add_column(
            column, justify="right" if column in ("hop", "in", "out") else "left", overflow="fold"
        )
    for index, hop in enumerate(opportunity.hops):
        table.add_row(
            str(index),
            hop.venue,
            str(hop.pool),
            "a2b" if hop.a_to_b else "b2a",
            f"{hop.amount_in:,}",
            f"{hop.amount_out:,}",
            f"{hop.mint_in} → {hop.mint_out}",
        )
    table.caption = (
        f"in {opportunity.amount_in:,}  out {opportunity.amount_out:,}  profit {opportunity.profit:,}"
    )
    return table


def preflight_tables(
    opportunity: Opportunity, report: Preflight, *, compute_unit_limit: int, size: int, lookup_table: bool
) -> list[Table]:
    summary = Table(title="LiteSVM preflight", header_style="bold")
    summary.add_column("check")
    summary.add_column("value", justify="right")
    for name, value in (
        ("compute units consumed", f"{report.units_consumed:,}"),
        ("compute-unit limit asked", f"{compute_unit_limit:,}"),
        ("fee (lamports)", f"{report.fee:,}"),
        ("tip (lamports)", f"{report.tip:,}"),
        ("owner SOL change (lamports)", f"{report.lamports_delta:,}"),
        ("transaction bytes", f"{size:,} / 1,232"),
        ("address lookup table", "yes" if lookup_table else "no"),
    ):
        summary.add_row(name, value)
    balances = Table(title="owner token balance changes", header_style="bold")
    for column in ("mint", "change", "replay expects", "agrees"):
        balances.add_column(column, justify="left" if column == "mint" else "right", overflow="fold")
    deltas = report.token_deltas
    for mint, expected in expected_deltas(opportunity).items():
        change = deltas.get(mint, 0)
        balances.add_row(
            str(mint), f"{change:,}", f"{expected:,}", "yes" if change == expected else "[red]NO[/]"
        )
    return [summary, balances]


def rejection_text(stage: str, rejection: Rejection) -> str:
    return f"[bold red]{stage} rejected:[/] {rejection.code}: {rejection.detail}"
