"""What `mevbot stats` reports, computed by SQL over the store. Pure queries; the CLI renders them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from mevbot.observe.store import Store

GroupBy = Literal["route", "venue", "region", "hour"]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str) -> float:
    """'90s', '15m', '1h', '1d', '2w' → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not match:
        raise ValueError(f"--since {text!r}: expected a number and a unit s, m, h, d or w (e.g. 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Summary:
    opportunities: int
    decisions: int
    sends_decided: int
    bundles_sent: int
    outcomes: dict[str, int]
    pnl_lamports: int
    pnl_unknown: int  # landed bundles whose transaction was not found: not in pnl_lamports
    tips_paid_lamports: int
    fees_paid_lamports: int
    costs_lamports: int  # spending outside bundles (lookup-table rent and fees)
    groups: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def landed(self) -> int:
        return self.outcomes.get("landed", 0)

    @property
    def land_rate(self) -> float:
        return self.landed / self.bundles_sent if self.bundles_sent else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "opportunities": self.opportunities,
            "decisions": self.decisions,
            "sends_decided": self.sends_decided,
            "bundles_sent": self.bundles_sent,
            "landed": self.landed,
            "lost": self.outcomes.get("lost_auction", 0),
            "failed": sum(v for k, v in self.outcomes.items() if k not in ("landed", "lost_auction")),
            "outcomes": self.outcomes,
            "land_rate": round(self.land_rate, 6),
            "pnl_lamports": self.pnl_lamports,
            "pnl_unknown": self.pnl_unknown,
            "tips_paid_lamports": self.tips_paid_lamports,
            "fees_paid_lamports": self.fees_paid_lamports,
            "costs_lamports": self.costs_lamports,
            "net_lamports": self.pnl_lamports - self.costs_lamports,
            "groups": self.groups,
            "latencies": self.latencies,
        }


_RESULTS = """
    SELECT r.*, d.seq, o.route, o.venues, b.regions
    FROM bundle_results r
    JOIN bundles b USING (bundle_id)
    JOIN decisions d ON d.seq = b.decision_seq
    JOIN opportunities o ON o.id = d.opportunity_id
    WHERE r.ts >= ?
"""

_GROUP_KEYS: dict[str, str] = {
    "route": "route",
    "venue": "venues",
    "region": "regions",
    "hour": "strftime(to_timestamp(ts), '%Y-%m-%d %H:00')",
}


def summarize(store: Store, *, since_ts: float = 0.0, by: GroupBy | None = None) -> Summary:
    def one(sql: str) -> Any:
        return store.query(sql, [since_ts])[0][0] or 0

    outcomes = dict(store.query("SELECT outcome, count(*) FROM bundle_results WHERE ts >= ? GROUP BY 1", [since_ts]))
    groups: list[dict[str, Any]] = []
    if by is not None:
        key = _GROUP_KEYS[by]
        rows = store.query(
            f"""SELECT {key} AS k, count(*) AS n, count(*) FILTER (WHERE outcome = 'landed') AS landed,
                       sum(pnl_lamports) AS pnl, sum(tip_paid_lamports) AS tips
                FROM ({_RESULTS}) GROUP BY k ORDER BY pnl DESC NULLS LAST, k""",
            [since_ts],
        )
        groups = [{"key": k, "bundles": n, "landed": landed, "pnl_lamports": int(pnl or 0), "tips_lamports": int(tips or 0)}
                  for k, n, landed, pnl, tips in rows]
    latencies = [
        {"stage": stage, "n": int(n), "p50_us": p50, "p99_us": p99}
        for stage, n, p50, p99 in store.query(
            """SELECT stage, n, p50_us, p99_us FROM latencies
               WHERE ts = (SELECT max(ts) FROM latencies) ORDER BY stage"""
        )
    ]
    return Summary(
        opportunities=int(one("SELECT count(*) FROM opportunities WHERE ts >= ?")),
        decisions=int(one("SELECT count(*) FROM decisions WHERE ts >= ?")),
        sends_decided=int(one("SELECT count(*) FROM decisions WHERE ts >= ? AND send")),
        bundles_sent=int(one("SELECT count(*) FROM bundles WHERE ts >= ? AND NOT dry_run")),
        outcomes={str(k): int(v) for k, v in outcomes.items()},
        pnl_lamports=int(one("SELECT sum(pnl_lamports) FROM bundle_results WHERE ts >= ?")),
        pnl_unknown=int(one("SELECT count(*) FROM bundle_results WHERE ts >= ? AND outcome = 'landed' "
                            "AND pnl_lamports IS NULL")),
        tips_paid_lamports=int(one("SELECT sum(tip_paid_lamports) FROM bundle_results WHERE ts >= ?")),
        fees_paid_lamports=int(one("SELECT sum(fee_paid_lamports) FROM bundle_results WHERE ts >= ?")),
        costs_lamports=int(one("SELECT sum(lamports) FROM costs WHERE ts >= ?")),
        groups=groups,
        latencies=latencies,
    )
