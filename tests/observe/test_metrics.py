"""The Prometheus endpoint over real loopback HTTP, and `mevbot watch` reading it."""

from __future__ import annotations

import dataclasses
import math
import socket
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.config import parse_config
from mevbot.observe.metrics import (
    COUNTERS,
    MetricsServer,
    ScrapeError,
    metrics_url,
    scrape,
    serve_metrics,
    start_metrics_server,
)
from mevbot.telemetry import Counters, Telemetry

runner = CliRunner()


def _telemetry() -> Telemetry:
    telemetry = Telemetry()
    for i, f in enumerate(dataclasses.fields(Counters)):
        setattr(telemetry.counters, f.name, 1000 + i)  # every counter distinct, so a swapped mapping shows
    telemetry.counters.pnl_lamports = -2_500_000_000
    telemetry.counters.tips_lamports = 123_456_789
    telemetry.slot = 312_456_789
    telemetry.risk_state, telemetry.risk_reason = "REDUCING", "3 failures in a row"
    for sample in range(1, 101):
        telemetry.latency["search"].record_us(sample * 10.0)  # p50 505 µs, p99 990.1 µs
    telemetry.latency["ingest_to_model"].record_us(42.0)
    telemetry.wallet.update(lamports=7_250_000_000, wrapped_sol=40_000_000_000, token_accounts=37, tokens=1_234)
    return telemetry


@pytest.fixture
def served() -> Iterator[tuple[Telemetry, MetricsServer]]:
    telemetry = _telemetry()
    with start_metrics_server(telemetry, "127.0.0.1", 0) as server:
        yield telemetry, server


def _get(url: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.read().decode()


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def test_scrape_exposes_the_telemetry(served: tuple[Telemetry, MetricsServer]) -> None:
    telemetry, server = served
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/metrics"
    samples = _samples(_get(server.url))
    c = telemetry.counters

    def value(name: str, **labels: str) -> float:
        return samples[name, frozenset(labels.items())]

    assert value("mevbot_updates_total") == c.updates
    assert value("mevbot_updates_skipped_total", reason="coalesced") == c.updates_coalesced
    assert value("mevbot_updates_skipped_total", reason="stale") == c.updates_stale
    assert value("mevbot_updates_skipped_total", reason="malformed") == c.updates_malformed
    assert value("mevbot_opportunities_total") == c.opportunities
    assert value("mevbot_opportunities_skipped_total", reason="queue_full") == c.opportunities_dropped
    assert value("mevbot_decisions_total") == c.decisions
    assert value("mevbot_decisions_refused_total") == c.refused
    assert value("mevbot_bundles_total", result="sent") == c.bundles_sent
    assert value("mevbot_bundles_total", result="dry_run") == c.bundles_dry_run
    assert value("mevbot_bundle_outcomes_total", outcome="landed") == c.landed
    assert value("mevbot_bundle_outcomes_total", outcome="lost") == c.lost
    assert value("mevbot_bundle_outcomes_total", outcome="failed") == c.failed
    assert value("mevbot_pnl_lamports") == -2_500_000_000
    assert value("mevbot_tips_lamports_total") == 123_456_789
    assert value("mevbot_stage_restarts_total") == c.stage_restarts
    assert value("mevbot_slot") == 312_456_789
    assert value("mevbot_risk_state", mevbot_risk_state="REDUCING") == 1
    assert value("mevbot_risk_state", mevbot_risk_state="ACTIVE") == 0
    assert value("mevbot_risk_state", mevbot_risk_state="HALTED") == 0
    assert value("mevbot_risk_info", reason="3 failures in a row") == 1
    assert value("mevbot_stage_latency_seconds_count", stage="search") == 100
    assert value("mevbot_stage_latency_seconds", stage="search", quantile="0.5") == pytest.approx(505e-6)
    assert value("mevbot_stage_latency_seconds", stage="search", quantile="0.99") == pytest.approx(990.1e-6)
    assert value("mevbot_stage_latency_seconds_count", stage="decide_to_bundle") == 0
    assert math.isnan(value("mevbot_stage_latency_seconds", stage="decide_to_bundle", quantile="0.5"))
    assert ("process_resident_memory_bytes", frozenset()) in samples or not _has_proc()


def test_values_are_read_at_scrape_time(served: tuple[Telemetry, MetricsServer]) -> None:
    telemetry, server = served
    telemetry.counters.landed += 5
    telemetry.risk_state, telemetry.risk_reason = "HALTED", "operator kill"
    samples = _samples(_get(server.url))
    landed = samples["mevbot_bundle_outcomes_total", frozenset({("outcome", "landed")})]
    assert landed == telemetry.counters.landed
    assert samples["mevbot_risk_state", frozenset({("mevbot_risk_state", "HALTED")})] == 1


def test_scrape_rebuilds_the_snapshot_exactly(served: tuple[Telemetry, MetricsServer]) -> None:
    telemetry, server = served
    rebuilt, expected = scrape(server.url), telemetry.snapshot()
    assert rebuilt.pop("uptime_s") == pytest.approx(expected.pop("uptime_s"), abs=1.0)
    assert rebuilt == expected


def test_every_counter_has_a_series() -> None:
    assert set(COUNTERS) | {"pnl_lamports"} == {f.name for f in dataclasses.fields(Counters)}


def test_watch_once_prints_the_panel(served: tuple[Telemetry, MetricsServer]) -> None:
    _, server = served
    result = runner.invoke(app, ["watch", "--once", "--url", server.url], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "slot 312,456,789" in out and "risk REDUCING" in out
    assert "(total 1,000)" in out  # updates
    assert "1,012" in out and "(+1,013 dry run)" in out  # bundles sent, dry run
    assert "1,015 / 1,016 / 1,017" in out  # landed / lost / failed
    assert "-2.500000000 SOL" in out and "0.123456789 SOL" in out  # PnL, tips
    assert "3 failures in a row" in out
    assert "p50 505 µs  p99 990 µs" in out
    assert "7.250000000 SOL, 40.000000000 SOL wrapped, token accounts 37/1,234" in out


def test_watch_unreachable_exits_1_with_a_clear_message() -> None:
    port = _free_port()
    result = runner.invoke(app, ["watch", "--once", "--url", f"http://127.0.0.1:{port}/metrics"])
    assert result.exit_code == 1
    assert f"cannot reach the daemon's metrics at http://127.0.0.1:{port}/metrics" in result.stderr


def test_watch_reads_the_endpoint_from_a_config(served: tuple[Telemetry, MetricsServer], tmp_path) -> None:
    _, server = served
    path = tmp_path / "c.toml"
    path.write_text(f'[metrics]\nhost = "0.0.0.0"\nport = {server.port}\n')
    result = runner.invoke(app, ["watch", "--once", "--config", str(path)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "slot 312,456,789" in result.stdout
    path.write_text("[metrics]\nport = 0\n")
    result = runner.invoke(app, ["watch", "--once", "--config", str(path)])
    assert result.exit_code == 2 and "endpoint is off" in result.stderr


def test_something_else_on_the_port_is_not_mevbot(tmp_path) -> None:
    from prometheus_client import CollectorRegistry, start_http_server

    server, thread = start_http_server(0, addr="127.0.0.1", registry=CollectorRegistry())
    try:
        with pytest.raises(ScrapeError, match="does not serve mevbot metrics"):
            scrape(f"http://127.0.0.1:{server.server_port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_config_metrics_section_and_serve_metrics() -> None:
    config = parse_config({})
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", 9464)
    assert serve_metrics(Telemetry(), parse_config({"metrics": {"port": 0}}).metrics) is None
    with pytest.raises(ValueError, match=r"metrics\.port"):
        parse_config({"metrics": {"port": 70000}})
    assert metrics_url("::", 9464) == "http://[::1]:9464/metrics"


def test_serve_metrics_logs_and_carries_on_when_the_port_is_taken(caplog: pytest.LogCaptureFixture) -> None:
    with start_metrics_server(Telemetry(), "127.0.0.1", 0) as taken:
        config = parse_config({"metrics": {"port": taken.port}}).metrics
        assert serve_metrics(Telemetry(), config) is None
    assert "not started" in caplog.text


def test_stop_frees_the_port() -> None:
    server = start_metrics_server(Telemetry(), "127.0.0.1", 0)
    server.stop()
    with pytest.raises(ScrapeError):
        scrape(server.url, timeout=2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _has_proc() -> bool:
    from pathlib import Path

    return Path("/proc/self/stat").exists()
