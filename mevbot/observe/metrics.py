"""The Prometheus endpoint of a running daemon, and the scraper `mevbot watch` reads it with.

Nothing here touches the hot path: a custom collector takes one `Telemetry.snapshot()` when Prometheus
(or `mevbot watch`) scrapes, in the HTTP server's thread, and translates it. The engine keeps
incrementing plain ints as before. One table (`COUNTERS`) maps every `Counters` field to its series, and
`snapshot_from_text` inverts the translation with it, so `mevbot watch` renders the very panel that
`mevbot run` shows, from another SSH session.

Names follow Prometheus practice: counters end in `_total`, latency is in seconds, and a label only
splits a family into disjoint parts (so `sum()` over it means something). Received updates and found
opportunities are therefore their own counters, and what was skipped of them is a separate family by
reason; "applied" is `mevbot_updates_total - ignoring(reason) sum(mevbot_updates_skipped_total)`
rather than a derived counter that could step backwards while updates sit in the coalescer.
Likewise bundles: `mevbot_bundles_total{result}` (sent / dry_run / send_failed, one per built bundle)
and `mevbot_bundle_outcomes_total{outcome}` (landed / lost / failed). PnL can fall, so it is a gauge.

Latency is a summary, not a histogram. A `LatencyWindow` keeps the last few thousand samples, not
cumulative bucket counts, and histogram buckets must only ever grow between scrapes: buckets computed
from a sliding window would shrink and read as counter resets to `rate()` and `histogram_quantile()`.
Quantiles over a recent window are exactly what a Prometheus summary is defined to carry, they are the
p50 / p99 the panel shows, and `_count` is the window's all-time sample count, which only grows. The
window keeps no running sum, so the summary has no `_sum` (optional in the exposition formats); an
empty window's quantiles are NaN, as the client library would publish them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from mevbot.decide.risk import RiskState
from mevbot.telemetry import Telemetry

if TYPE_CHECKING:
    from rich.table import Table

    from mevbot.config import MetricsConfig

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:9464/metrics"

# Counters field -> (counter family without `_total`, labels). Both directions read this table.
COUNTERS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "updates": ("mevbot_updates", {}),
    "updates_coalesced": ("mevbot_updates_skipped", {"reason": "coalesced"}),
    "updates_stale": ("mevbot_updates_skipped", {"reason": "stale"}),
    "updates_malformed": ("mevbot_updates_skipped", {"reason": "malformed"}),
    "notifications_malformed": ("mevbot_notifications_malformed", {}),
    "reconnects": ("mevbot_reconnects", {}),
    "opportunities": ("mevbot_opportunities", {}),
    "opportunities_stale": ("mevbot_opportunities_skipped", {"reason": "stale"}),
    "opportunities_dropped": ("mevbot_opportunities_skipped", {"reason": "queue_full"}),
    "decisions": ("mevbot_decisions", {}),
    "refused": ("mevbot_decisions_refused", {}),
    "rejected_by_simulation": ("mevbot_rejected_by_simulation", {}),
    "bundles_sent": ("mevbot_bundles", {"result": "sent"}),
    "bundles_dry_run": ("mevbot_bundles", {"result": "dry_run"}),
    "send_failures": ("mevbot_bundles", {"result": "send_failed"}),
    "landed": ("mevbot_bundle_outcomes", {"outcome": "landed"}),
    "lost": ("mevbot_bundle_outcomes", {"outcome": "lost"}),
    "failed": ("mevbot_bundle_outcomes", {"outcome": "failed"}),
    "lost_to_self": ("mevbot_bundles_lost_to_self", {}),
    "pnl_unknown": ("mevbot_landed_pnl_unknown", {}),
    "losses_outbid": ("mevbot_unexplained_failures", {"found": "outbid"}),
    "losses_taken": ("mevbot_unexplained_failures", {"found": "taken"}),
    "losses_unexplained": ("mevbot_unexplained_failures", {"found": "nothing"}),
    "tips_lamports": ("mevbot_tips_lamports", {}),
    "stage_restarts": ("mevbot_stage_restarts", {}),
    "warm_passes": ("mevbot_warm_passes", {}),
    "routes_compiled_ahead": ("mevbot_routes_compiled_ahead", {}),
}
GAUGES = {"slot": "mevbot_slot", "uptime_s": "mevbot_uptime_seconds", "pnl_lamports": "mevbot_pnl_lamports"}
# Telemetry.wallet key -> gauge: served once the daemon has read its wallet (never in a bench).
WALLET_GAUGES = {
    "lamports": "mevbot_wallet_lamports",
    "wrapped_sol": "mevbot_wallet_wrapped_sol_lamports",
    "token_accounts": "mevbot_wallet_token_accounts",
    "tokens": "mevbot_market_tokens",
}
HELP = {
    "mevbot_updates": "Account updates received from the feed.",
    "mevbot_updates_skipped": "Received account updates not applied to the model, by reason.",
    "mevbot_notifications_malformed": "PubSub messages that were not valid notifications.",
    "mevbot_reconnects": "Feed reconnections.",
    "mevbot_opportunities": "Profitable cycles found by the search.",
    "mevbot_opportunities_skipped": "Opportunities never decided on: too old, or pushed out of a full queue.",
    "mevbot_decisions": "Decisions recorded (send or refuse).",
    "mevbot_decisions_refused": "Decisions not to send.",
    "mevbot_rejected_by_simulation": "Bundles the packager refused to build.",
    "mevbot_bundles": "Bundles built, by what happened to them: sent, dry_run (recorded only), send_failed.",
    "mevbot_bundle_outcomes": "Resolved bundles by outcome.",
    "mevbot_bundles_lost_to_self": "Lost or failed bundles while another of ours in flight beside them landed (they all write our fee payer).",
    "mevbot_landed_pnl_unknown": "Landed bundles whose transaction was not found: their PnL is not in mevbot_pnl_lamports.",
    "mevbot_unexplained_failures": "Bundles failed with no reason from the block engine, by what the chain showed: "
    "outbid (another transaction took their pools with a better bid; counted as lost), taken (with no better "
    "bid), nothing.",
    "mevbot_tips_lamports": "Tips paid by landed bundles, in lamports.",
    "mevbot_stage_restarts": "Pipeline stages restarted after a failure.",
    "mevbot_warm_passes": "Rehearsals of the hot path while idle, results discarded (keeps the CPU caches warm).",
    "mevbot_routes_compiled_ahead": "Transactions of routes near profit compiled while idle, before their first bundle.",
    "mevbot_slot": "Highest slot seen.",
    "mevbot_uptime_seconds": "Seconds since the daemon started.",
    "mevbot_pnl_lamports": "Realised PnL of landed bundles, in lamports (can fall).",
    "mevbot_wallet_lamports": "The trading wallet's SOL, which pays tips and fees, as last read.",
    "mevbot_wallet_wrapped_sol_lamports": "The wrapped SOL the trading wallet holds (what trades are sized within).",
    "mevbot_wallet_token_accounts": "Market tokens the trading wallet has its associated token account for.",
    "mevbot_market_tokens": "Tokens in the market.",
}
LATENCY = "mevbot_stage_latency_seconds"
QUANTILES = {"0.5": "p50_us", "0.99": "p99_us"}
RISK = "mevbot_risk_state"
RISK_INFO = "mevbot_risk"


class TelemetryCollector:
    """Translates one `Telemetry.snapshot()` into metric families at each scrape."""

    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry

    def collect(self) -> Iterator[Metric]:
        snapshot = self._telemetry.snapshot()
        families: dict[str, CounterMetricFamily] = {}
        for name, (family, labels) in COUNTERS.items():
            if family not in families:
                families[family] = CounterMetricFamily(family, HELP[family], labels=list(labels))
            families[family].add_metric(list(labels.values()), snapshot[name])
        yield from families.values()
        for name, family in GAUGES.items():
            yield GaugeMetricFamily(family, HELP[family], value=snapshot[name])
        wallet = snapshot.get("wallet", {})
        for name, family in WALLET_GAUGES.items():
            if name in wallet:
                yield GaugeMetricFamily(family, HELP[family], value=wallet[name])
        state = str(snapshot["risk"])
        states = [str(s) for s in RiskState]
        states += [] if state in states else [state]
        yield StateSetMetricFamily(RISK, "Risk engine state: ACTIVE trades, REDUCING takes no new exposure, "
                                   "HALTED sends nothing.", value={s: s == state for s in states})  # fmt: skip
        yield InfoMetricFamily(RISK_INFO, "Why the risk engine is in its state.",
                               value={"reason": str(snapshot["risk_reason"])})  # fmt: skip
        latency = Metric(
            LATENCY, "Stage latency: quantiles over the recent window, samples ever taken.", "summary"
        )
        for stage, figures in snapshot["latency"].items():
            for quantile, key in QUANTILES.items():
                value = figures[key] / 1e6 if figures["n"] else math.nan
                latency.samples.append(Sample(LATENCY, {"stage": stage, "quantile": quantile}, value))
            latency.samples.append(Sample(LATENCY + "_count", {"stage": stage}, figures["n"]))
        yield latency


@dataclass
class MetricsServer:
    """A running endpoint: `port` is the one bound (useful with port 0); `stop()` frees it."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return metrics_url(self.host, self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_metrics_server(telemetry: Telemetry, host: str = "127.0.0.1", port: int = 9464) -> MetricsServer:
    """Serve `telemetry` on http://host:port/metrics from a daemon thread; port 0 picks a free one.

    A thread rather than the event loop: a slow or stuck scraper never holds up the loop's tasks, and
    reading the ints the loop writes is safe under the GIL. The GIL is shared, so a scrape still costs
    the loop its CPU time (under 1 ms with full latency windows), once per scrape interval. Raises
    OSError if it cannot bind.
    The registry is private to this server (plus the standard process_* figures), so two servers in
    one process, as in tests, do not collide.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TelemetryCollector(telemetry))
    ProcessCollector(registry=registry)
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(host, server.server_port, server, thread)


def serve_metrics(telemetry: Telemetry, config: MetricsConfig) -> MetricsServer | None:
    """What the engine calls at start: the `[metrics]` server, or None when port = 0 or it cannot bind.

    A port that is taken only costs visibility, so it is logged and trading goes on; Prometheus's own
    `up` series and `mevbot watch` make the missing endpoint obvious.
    """
    if config.port == 0:
        return None
    try:
        server = start_metrics_server(telemetry, config.host, config.port)
    except OSError as exc:
        log.error("metrics endpoint %s:%d not started: %s", config.host, config.port, exc)
        return None
    log.info("metrics on %s", server.url)
    return server


def metrics_url(host: str, port: int) -> str:
    """The scrape URL of an endpoint bound to host:port; a wildcard bind is reached on loopback."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}/metrics" if ":" in host else f"http://{host}:{port}/metrics"


class ScrapeError(Exception):
    """The endpoint could not be reached, or did not serve mevbot metrics."""


def scrape(url: str, timeout: float = 3.0) -> dict[str, Any]:
    """GET `url` and rebuild the daemon's telemetry snapshot. Never through a proxy: it is a local port."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ScrapeError(f"cannot reach the daemon's metrics at {url}: {reason} "
                          "(is `mevbot run` up, with metrics.port set?)") from None  # fmt: skip
    try:
        return snapshot_from_text(text)
    except (ValueError, KeyError) as exc:
        raise ScrapeError(f"{url} does not serve mevbot metrics: {exc}") from None


def snapshot_from_text(text: str) -> dict[str, Any]:
    """The inverse of `TelemetryCollector`: Prometheus text back to the `Telemetry.snapshot()` shape."""
    values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    latency: dict[str, dict[str, float]] = {}
    risk, reason = None, ""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name, frozenset(sample.labels.items())] = sample.value
            if sample.name == RISK and sample.value == 1:
                risk = sample.labels[RISK]
            elif sample.name == RISK_INFO + "_info":
                reason = sample.labels.get("reason", "")
            elif sample.name == LATENCY + "_count":
                latency.setdefault(sample.labels["stage"], {})["n"] = int(sample.value)
            elif sample.name == LATENCY and sample.labels.get("quantile") in QUANTILES:
                seconds = 0.0 if math.isnan(sample.value) else sample.value
                key = QUANTILES[sample.labels["quantile"]]
                latency.setdefault(sample.labels["stage"], {})[key] = round(seconds * 1e6, 1)

    def value(name: str, labels: Mapping[str, str] | None = None) -> float:
        key = (name, frozenset((labels or {}).items()))
        if key not in values:
            shown = ",".join(f'{k}="{v}"' for k, v in (labels or {}).items())
            raise KeyError(f"no {name}{{{shown}}} sample" if shown else f"no {name} sample")
        return values[key]

    if risk is None:
        raise KeyError(f"no {RISK} sample")
    snapshot: dict[str, Any] = {
        "slot": int(value(GAUGES["slot"])),
        "uptime_s": value(GAUGES["uptime_s"]),
        "risk": risk,
        "risk_reason": reason,
    }
    snapshot |= {name: int(value(family + "_total", labels)) for name, (family, labels) in COUNTERS.items()}
    snapshot["pnl_lamports"] = int(value(GAUGES["pnl_lamports"]))
    empty = {"n": 0, "p50_us": 0.0, "p99_us": 0.0}
    snapshot["latency"] = {stage: empty | figures for stage, figures in latency.items()}
    wallet = {name: int(values[family, frozenset()]) for name, family in WALLET_GAUGES.items()
              if (family, frozenset()) in values}  # fmt: skip
    if wallet:
        snapshot["wallet"] = wallet
    return snapshot


def watch_panels(url: str, *, interval: float, once: bool = False) -> Iterator[Table]:
    """Scrape `url` every `interval` seconds and yield the `mevbot run` panel of each scrape.

    The first panel's rates are averages since the daemon started: there is no earlier scrape to
    difference against yet, and a rate of 0 would read as a stalled feed. Raises ScrapeError.
    """
    from mevbot.observe.panel import Rates, panel

    rates, title = Rates(), f"mevbot @ {urlsplit(url).netloc}"
    snapshot = scrape(url)
    rates.update({**snapshot, "uptime_s": 0.0, "updates": 0, "opportunities": 0})
    while True:
        yield panel(snapshot, rates.update(snapshot), title=title)
        if once:
            return
        time.sleep(interval)
        snapshot = scrape(url)
