"""The tip bandit in the running daemon learns the better arm against a competitor whose tip is known.

The competitor bids in every auction the daemon enters, with 25 % of its profit as tip. The daemon's
arms are 10 %, 50 % and 90 %. A 10 % tip cannot win: auctions rank tip per requested compute unit,
and no route of ours asks for less than 2.5 times fewer units than the competitor's (it asks for
80k per hop plus 10k; our bounds are 50k–150k per hop). 50 % wins wherever the competitor values the
route about as we do, and keeps five times what 90 % keeps. So 50 % is the better arm.
"""

from __future__ import annotations

from pathlib import Path

from mevbot.config import parse_config
from mevbot.decide.bandit import Bandit
from mevbot.engine import EXIT_OK, Engine
from mevbot.observe.recorder import load_bandit_arms
from mevbot.observe.store import Store
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.competitors import CompetitorSettings
from mevbot.sandbox.settings import settings_from_config
from tests.test_engine_e2e import sandbox_endpoints

KNOWN = CompetitorSettings(name="known", tip_fraction=0.25, latency_ms=None, min_profit_lamports=1)


async def test_the_bandit_converges_on_the_better_tip(tmp_path: Path) -> None:
    config = parse_config(
        {
            "sandbox": {"seed": 5, "pools": 40, "slot_ms": 25, "user_swaps_per_slot": 3.0, "rate_limit_per_s": 1000.0},
            "search": {"max_hops": 3, "min_profit_lamports": 1},
            "decide": {"tip_fractions": [0.1, 0.5, 0.9], "min_profit_lamports": 1, "max_failures_in_row": 10_000},
            "storage": {"db_path": str(tmp_path / "bandit.duckdb")},
            "control": {"emergency_stop_file": str(tmp_path / "STOP")},
            "metrics": {"port": 0},
        }
    )  # fmt: skip
    async with start_sandbox(settings_from_config(config.sandbox, competitors=(KNOWN,))) as sandbox:
        endpoints = sandbox_endpoints(sandbox)
        summary = await Engine(config, endpoints).run(slots=800, duration=150)
    assert summary.exit_code == EXIT_OK, summary.reason

    store = Store(config.storage.db_path, read_only=True)
    try:
        saved = load_bandit_arms(store)  # what the daemon persisted at shutdown
    finally:
        store.close()
    pulls = {"tip=0.10": 0, "tip=0.50": 0, "tip=0.90": 0}
    learned = []
    for context, (arms, _) in saved.items():
        if context == "regions":
            continue
        for arm in arms:
            pulls[arm.name] += arm.pulls
        if sum(arm.pulls for arm in arms) >= 20:
            learned.append((context, Bandit(context, arms).best().name))
    assert learned, pulls
    assert all(best == "tip=0.50" for _, best in learned), learned
    assert pulls["tip=0.50"] > pulls["tip=0.10"] + pulls["tip=0.90"], pulls
