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


def test_an_auction_result_is_booked_on_every_arm_it_implies() -> None:
    bandit = tip_bandit("x", [0.9, 0.1, 0.5], seed=1)  # kept sorted: weakest bid first
    assert [arm.name for arm in bandit.arms] == ["tip=0.10", "tip=0.50", "tip=0.90"]
    prior = [(a.alpha, a.beta) for a in bandit.arms]
    assert [round(a / (a + b), 2) for a, b in prior] == [0.18, 0.5, 0.82]  # lands about as often as it bids

    def booked() -> list[tuple[float, float, int]]:
        return [(a.alpha - p[0], a.beta - p[1], a.pulls) for a, p in zip(bandit.arms, prior, strict=True)]

    bandit.update("tip=0.50", landed=True, net_profit=50)  # 0.9 would have landed too
    assert booked() == [(0, 0, 0), (1, 0, 1), (1, 0, 0)]
    bandit.update("tip=0.50", landed=False, net_profit=0, outbid=True)  # 0.1 would have lost too
    assert booked() == [(0, 1, 0), (1, 1, 2), (1, 0, 0)]
    bandit.update("tip=0.90", landed=False, net_profit=0)  # failed for another reason: no evidence
    assert booked() == [(0, 1, 0), (1, 1, 2), (1, 0, 1)]
    assert bandit.arm("tip=0.50").reward_sum == 50


def test_large_opportunities_are_not_explored_on() -> None:
    bandit = tip_bandit("x", FRACTIONS, seed=2)
    greedy = bandit.best()
    assert greedy.name == "tip=0.50"  # the prior's best before any evidence
    assert bandit.choose(stake=10_000) is greedy  # the first: nothing to compare it with
    for _ in range(50):
        bandit.choose(stake=10_000)
    assert all(bandit.choose(stake=10**9) is greedy for _ in range(100))
    assert len({bandit.choose(stake=1).name for _ in range(100)}) > 1  # small ones still explore


def test_regions_are_independent_arms() -> None:
    regions = region_bandit(["ny", "frankfurt"], seed=1)
    regions.update("region=ny", landed=False, net_profit=0)
    assert [(a.alpha, a.beta) for a in regions.arms] == [(1, 2), (1, 1)]


class _CountingRandom(random.Random):
    """A generator that counts the Thompson draws it is asked for."""

    draws = 0

    def betavariate(self, alpha: float, beta: float) -> float:
        self.draws += 1
        return super().betavariate(alpha, beta)


def test_a_prepared_draw_serves_the_next_choice_until_a_posterior_moves() -> None:
    prepared, fresh = tip_bandit("c", FRACTIONS), tip_bandit("c", FRACTIONS)
    prepared.rng, fresh.rng = _CountingRandom(4), _CountingRandom(4)
    picks = []
    for bandit in (prepared, fresh):
        if bandit is prepared:
            bandit.prepare()
            bandit.prepare()  # a draw that is waiting is kept
        drawn = bandit.rng.draws
        picks.append(bandit.choose())
        assert bandit.rng.draws - drawn == (0 if bandit is prepared else len(FRACTIONS))
    assert picks[0] is prepared.arms[fresh.arms.index(picks[1])]  # the same draw, made earlier

    prepared.prepare()
    # high stakes: the posterior-mean best, worked out ahead too; the draw stays for the next choice
    assert prepared.choose(stake=10**9) is prepared.best()
    drawn = prepared.rng.draws
    prepared.choose()
    assert prepared.rng.draws == drawn

    prepared.prepare()
    prepared.update(prepared.arms[0].name, landed=False, net_profit=0, outbid=True)
    drawn = prepared.rng.draws
    prepared.choose()  # the posterior moved: drawn again, from the new one
    assert prepared.rng.draws - drawn == len(FRACTIONS)


def test_a_prepared_draw_is_dropped_when_saved_posteriors_replace_the_arms() -> None:
    bandit = tip_bandit("c", FRACTIONS)
    bandit.rng = _CountingRandom(1)
    bandit.prepare()
    saved = tip_bandit("c", FRACTIONS)
    restore_bandit(bandit, {"c": (saved.arms, 0)})
    drawn = bandit.rng.draws
    assert bandit.choose() in saved.arms
    assert bandit.rng.draws - drawn == len(FRACTIONS)
