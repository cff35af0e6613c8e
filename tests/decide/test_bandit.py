"""The bandit learns the tip that keeps the most, persists, and can cap exploration."""

from __future__ import annotations

import random
from pathlib import Path

from typer.testing import CliRunner

from mevbot.cli import app
from mevbot.decide.bandit import fraction_of, region_bandit, route_class, tip_bandit
from mevbot.observe.recorder import Recorder, load_bandit_arms, restore_bandit
from mevbot.observe.store import Store, StoreWriter

FRACTIONS = [0.1, 0.3, 0.5, 0.7, 0.9]


def _play(bandit, rounds: int, competitor: float, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """A competitor bids `competitor` of the profit ± noise; we land when we bid more."""
    for _ in range(rounds):
        arm = bandit.choose()
        fraction = fraction_of(arm)
        landed = fraction > competitor + rng.gauss(0, 0.05)
        bandit.update(arm.name, landed=landed, net_profit=round(100_000 * (1 - fraction)) if landed else 0,
                      outbid=not landed)  # fmt: skip


def test_converges_on_the_cheapest_tip_that_beats_the_competitor() -> None:
    bandit = tip_bandit("whirlpool>raydium_cpmm", FRACTIONS, seed=7)
    _play(bandit, 600, competitor=0.4, rng=random.Random(1))
    best = bandit.best()
    assert best.name == "tip=0.50"
    assert best.pulls == max(arm.pulls for arm in bandit.arms)
    assert bandit.arm("tip=0.10").pulls < 60  # a losing arm is abandoned quickly


def test_exploration_cap_limits_non_greedy_pulls() -> None:
    bandit = tip_bandit("x", FRACTIONS, max_explore_share=0.05, seed=3)
    _play(bandit, 400, competitor=0.4, rng=random.Random(2))
    total = sum(arm.pulls for arm in bandit.arms)
    assert bandit.explored <= 0.05 * total + 1


async def test_state_persists_and_reloads(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.duckdb")
    writer = StoreWriter(store)
    recorder = Recorder(store, writer)
    bandit = tip_bandit("whirlpool>raydium_cpmm", FRACTIONS, seed=7)
    regions = region_bandit(["ny", "amsterdam"], seed=1)
    _play(bandit, 200, competitor=0.4, rng=random.Random(1))
    regions.update("region=ny", landed=True, net_profit=10)
    recorder.bandit(bandit, 1.0)
    recorder.bandit(regions, 1.0)
    await writer.stop()
    saved = load_bandit_arms(store)
    store.close()

    fresh = tip_bandit("whirlpool>raydium_cpmm", [*FRACTIONS, 0.95], seed=9)
    restore_bandit(fresh, saved)
    assert [(a.name, a.alpha, a.beta, a.pulls) for a in fresh.arms[:5]] == [
        (a.name, a.alpha, a.beta, a.pulls) for a in bandit.arms
    ]
    assert fresh.arms[5].pulls == 0 and fresh.explored == bandit.explored
    assert route_class(["whirlpool", "raydium_amm_v4", "whirlpool"]) == "raydium_amm_v4+whirlpool+whirlpool"
    assert route_class(["whirlpool", "raydium_cpmm"]) == route_class(["raydium_cpmm", "whirlpool"])

    result = CliRunner().invoke(app, ["bandit", "--db", str(tmp_path / "b.duckdb")])
    assert result.exit_code == 0, result.stderr
    assert "tip=0.50" in result.stdout and "best" in result.stdout and "region=ny" in result.stdout
