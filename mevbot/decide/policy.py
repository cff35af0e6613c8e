"""The first decision rule: enough profit after tip and fees, within the risk engine's limits.

Pure: everything it needs comes in as arguments, so a decision can be replayed from its record.
"""

from __future__ import annotations

from dataclasses import dataclass

from mevbot.decide.risk import RiskEngine
from mevbot.events import Decision, Opportunity

LAMPORTS_PER_SIGNATURE = 5_000


@dataclass(frozen=True, slots=True)
class Policy:
    tip_fraction: float = 0.5
    min_profit_lamports: int = 10_000
    compute_unit_limit: int = 400_000
    compute_unit_price: int = 0  # micro-lamports per compute unit


def fee_lamports(policy: Policy, signatures: int = 1) -> int:
    priority = -(-policy.compute_unit_limit * policy.compute_unit_price // 1_000_000)
    return LAMPORTS_PER_SIGNATURE * signatures + priority


def tip_for(profit_lamports: int, tip_fraction: float) -> int:
    """The tip is a share of the expected profit, rounded down, and never below Jito's 1,000-lamport floor."""
    return max(1_000, int(profit_lamports * tip_fraction))


def decide(
    opportunity: Opportunity,
    *,
    profit_lamports: int,
    policy: Policy,
    risk: RiskEngine,
    state_age_slots: int,
    now: float,
    tip_fraction: float | None = None,
) -> Decision:
    fraction = policy.tip_fraction if tip_fraction is None else tip_fraction
    tip = tip_for(profit_lamports, fraction)
    fees = fee_lamports(policy)
    net = profit_lamports - tip - fees

    def verdict(send: bool, reason: str) -> Decision:
        return Decision(opportunity, send, reason, tip, fees, net)

    if net < policy.min_profit_lamports:
        return verdict(False, f"net {net} < minimum {policy.min_profit_lamports}")
    refusal = risk.check(notional=opportunity.amount_in, tip=tip, state_age_slots=state_age_slots, now=now)
    if refusal is not None:
        return verdict(False, refusal)
    return verdict(True, "send")
