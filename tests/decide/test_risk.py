"""Risk engine transitions and the first decision policy."""

from __future__ import annotations

from solders.pubkey import Pubkey

from mevbot.decide.policy import Policy, decide, fee_lamports, tip_for
from mevbot.decide.risk import RiskEngine, RiskLimits, RiskState
from mevbot.events import Opportunity, RouteHop

SOL = Pubkey.from_string("So11111111111111111111111111111111111111112")


def _opportunity(amount_in: int = 1_000_000, profit: int = 100_000) -> Opportunity:
    other = Pubkey.new_unique()
    hops = (
        RouteHop(Pubkey.new_unique(), 0, "raydium_amm_v4", True, SOL, other, amount_in, 5, 1, 10),
        RouteHop(Pubkey.new_unique(), 1, "raydium_cpmm", False, other, SOL, 5, amount_in + profit, 1, 10),
    )
    return Opportunity(hops, amount_in, amount_in + profit, profit, 10)


def test_losing_bundles_halt_and_a_restart_stays_halted() -> None:
    limits = RiskLimits(max_daily_loss=50_000, max_failures_in_row=100)
    risk = RiskEngine(limits)
    transitions = [risk.on_outcome(landed=True, pnl=-20_000, tip_paid=1_000, now=float(t)) for t in range(3)]
    assert risk.state is RiskState.HALTED
    assert [t for t in transitions if t] and "daily loss" in risk.reason
    assert risk.check(notional=1, tip=1, state_age_slots=0, now=10.0).startswith("halted")
    reborn = RiskEngine(limits)
    reborn.restore(t for t in transitions if t)
    assert reborn.state is RiskState.HALTED


def test_losses_older_than_a_day_roll_off() -> None:
    risk = RiskEngine(RiskLimits(max_daily_loss=50_000, max_failures_in_row=100))
    risk.on_outcome(landed=True, pnl=-40_000, tip_paid=0, now=0.0)
    assert risk.on_outcome(landed=True, pnl=-40_000, tip_paid=0, now=90_000.0) is None
    assert risk.state is RiskState.ACTIVE


def test_failures_in_a_row_cool_down_then_resume() -> None:
    risk = RiskEngine(RiskLimits(max_failures_in_row=3, cooldown_s=30.0))
    for t in range(2):
        assert risk.on_outcome(landed=False, pnl=0, tip_paid=0, now=float(t)) is None
    transition = risk.on_outcome(landed=False, pnl=0, tip_paid=0, now=2.0)
    assert transition is not None and transition.state is RiskState.REDUCING and transition.until == 32.0
    assert risk.check(notional=1, tip=1, state_age_slots=0, now=5.0).startswith("reducing")
    assert risk.refresh(10.0) is None
    assert risk.refresh(32.0).state is RiskState.ACTIVE
    assert risk.check(notional=1, tip=1, state_age_slots=0, now=33.0) is None


def test_a_landed_bundle_resets_the_failure_run() -> None:
    risk = RiskEngine(RiskLimits(max_failures_in_row=3))
    for landed in (False, False, True, False, False):
        risk.on_outcome(landed=landed, pnl=0, tip_paid=0, now=0.0)
    assert risk.state is RiskState.ACTIVE


def test_limits_on_notional_stale_state_and_hourly_tips() -> None:
    risk = RiskEngine(RiskLimits(max_notional=1_000, max_state_age_slots=5, max_tips_per_hour=10_000))
    assert "notional" in risk.check(notional=1_001, tip=0, state_age_slots=0, now=0.0)
    assert "stale" in risk.check(notional=1, tip=0, state_age_slots=6, now=0.0)
    risk.on_outcome(landed=True, pnl=1, tip_paid=9_000, now=0.0)
    assert "tips" in risk.check(notional=1, tip=2_000, state_age_slots=0, now=100.0)
    assert risk.check(notional=1, tip=2_000, state_age_slots=0, now=3_700.0) is None


def test_kill_and_resume() -> None:
    risk = RiskEngine()
    assert risk.halt("operator kill", 1.0).state is RiskState.HALTED
    assert risk.refresh(1e9) is None  # a halt never times out
    assert risk.resume("2 of 3 signed resume", 2.0).state is RiskState.ACTIVE


def test_policy_sends_only_with_enough_net_profit() -> None:
    policy = Policy(tip_fraction=0.5, min_profit_lamports=10_000, compute_unit_limit=200_000, compute_unit_price=10)
    assert fee_lamports(policy) == 5_000 + 2  # 200k CU × 10 µlamports, rounded up
    assert tip_for(100_000, 0.5) == 50_000 and tip_for(10, 0.5) == 1_000
    good = decide(_opportunity(), profit_lamports=100_000, policy=policy, risk=RiskEngine(), state_age_slots=0, now=0)
    assert good.send and good.tip_lamports == 50_000 and good.expected_net_lamports == 100_000 - 50_000 - 5_002
    thin = decide(_opportunity(), profit_lamports=20_000, policy=policy, risk=RiskEngine(), state_age_slots=0, now=0)
    assert not thin.send and "minimum" in thin.reason
    halted = RiskEngine()
    halted.halt("test", 0.0)
    refused = decide(_opportunity(), profit_lamports=100_000, policy=policy, risk=halted, state_age_slots=0, now=0)
    assert not refused.send and refused.reason.startswith("halted")


def test_breaching_again_after_the_cooldowns_of_the_hour_halts_and_stays_halted() -> None:
    limits = RiskLimits(max_failures_in_row=2, cooldown_s=10.0, max_cooldowns_per_hour=2)
    risk = RiskEngine(limits)
    transitions = []
    now = 0.0
    for _ in range(3):
        for _ in range(2):
            now += 1.0
            transitions.append(risk.on_outcome(landed=False, pnl=0, tip_paid=0, now=now))
        now += 10.0
        transitions.append(risk.refresh(now))
    moves = [t for t in transitions if t is not None]
    assert [t.state for t in moves] == [RiskState.REDUCING, RiskState.ACTIVE] * 2 + [RiskState.HALTED]
    assert "after 2 cooldowns within the hour" in risk.reason
    assert risk.refresh(now + 10_000) is None and risk.state is RiskState.HALTED
    reborn = RiskEngine(limits)
    reborn.restore(moves)
    assert reborn.state is RiskState.HALTED


def test_cooldowns_older_than_an_hour_do_not_count_towards_a_halt() -> None:
    risk = RiskEngine(RiskLimits(max_failures_in_row=1, cooldown_s=1.0, max_cooldowns_per_hour=1))
    assert risk.on_outcome(landed=False, pnl=0, tip_paid=0, now=0.0).state is RiskState.REDUCING
    risk.refresh(2.0)
    assert risk.on_outcome(landed=False, pnl=0, tip_paid=0, now=4_000.0).state is RiskState.REDUCING


def test_inventory_over_its_limit_reduces_until_it_is_back_within() -> None:
    risk = RiskEngine(RiskLimits(max_inventory={"USDC": 5_000_000, "default": 0}))
    assert risk.on_inventory("USDC", 4_000_000, now=1.0) is None
    moved = risk.on_inventory("BONK", 7, now=2.0)  # unlisted: the default limit
    assert moved is not None and moved.state is RiskState.REDUCING and moved.until is None
    assert risk.reason == "inventory of BONK 7 > limit 0"
    assert risk.check(notional=1, tip=1, state_age_slots=0, now=3.0).startswith("reducing")
    assert risk.refresh(1e9) is None  # no cooldown ends it: only the holding coming back
    assert risk.on_inventory("BONK", 0, now=4.0) is None
    assert risk.refresh(5.0).reason == "inventory within limits" and risk.state is RiskState.ACTIVE


def test_no_inventory_limit_unless_configured() -> None:
    risk = RiskEngine(RiskLimits(max_inventory={"USDC": 10}))
    assert risk.on_inventory("BONK", 10**12, now=1.0) is None and risk.state is RiskState.ACTIVE
