"""The risk engine: explicit states, limits, and every transition recorded with its reason.

ACTIVE trades. REDUCING takes no new exposure (a later inventory unwind may still trade) and returns to
ACTIVE when its cooldown ends. HALTED sends nothing until an operator resumes it. A breach that would
start yet another cooldown within the hour halts instead: a searcher that keeps losing bundles after
every pause has something wrong that waiting will not fix. Holding more of a token than its inventory
limit is REDUCING until the holding is back within the limit. Transitions are
returned as `RiskTransition` records; the store persists them and `RiskEngine.restore` replays them, so
a HALTED daemon is still HALTED after a restart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class RiskState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_notional: int = 10_000_000_000  # per trade, in the start token's raw units
    max_daily_loss: int = 1_000_000_000  # realised, rolling 24 h
    max_failures_in_row: int = 10  # failed or reverted bundles
    max_tips_per_hour: int = 1_000_000_000
    cooldown_s: float = 60.0
    max_cooldowns_per_hour: int = 3  # one more breach within the hour halts
    max_inventory: Mapping[str, int] = field(default_factory=dict)  # mint (or "default") → raw units
    max_state_age_slots: int = 10  # quote state older than this many slots is stale


@dataclass(frozen=True, slots=True)
class RiskTransition:
    at: float  # unix seconds
    state: RiskState
    reason: str
    until: float | None = None  # end of a REDUCING cooldown


@dataclass
class RiskEngine:
    limits: RiskLimits = field(default_factory=RiskLimits)
    state: RiskState = RiskState.ACTIVE
    reason: str = "start"
    cooldown_until: float | None = None
    failures_in_row: int = 0
    _losses: deque[tuple[float, int]] = field(default_factory=deque)  # (at, realised pnl < 0)
    _tips: deque[tuple[float, int]] = field(default_factory=deque)
    _cooldowns: deque[tuple[float, int]] = field(default_factory=deque)  # (at, 1) per REDUCING entered
    inventory: dict[str, int] = field(default_factory=dict)  # mint → what the wallet holds, raw units

    def restore(self, transitions: Iterable[RiskTransition]) -> None:
        """Replay persisted transitions; the last one decides the state."""
        for transition in transitions:
            self.state, self.reason, self.cooldown_until = transition.state, transition.reason, transition.until
            if transition.state is RiskState.REDUCING:
                self._cooldowns.append((transition.at, 1))

    def refresh(self, now: float) -> RiskTransition | None:
        """End a finished cooldown, or an inventory breach that is over. Call once per loop iteration."""
        if self.state is not RiskState.REDUCING:
            return None
        if self.cooldown_until is None:
            if self.over_inventory() is None:
                return self._move(now, RiskState.ACTIVE, "inventory within limits")
        elif now >= self.cooldown_until:
            return self._move(now, RiskState.ACTIVE, "cooldown over")
        return None

    def on_inventory(self, mint: str, amount: int, now: float) -> RiskTransition | None:
        """Book what the wallet now holds of `mint`; over its limit, take no new exposure."""
        self.inventory[mint] = amount
        if self.state is RiskState.ACTIVE and (over := self.over_inventory()) is not None:
            return self._move(now, RiskState.REDUCING, over)
        return None

    def over_inventory(self) -> str | None:
        """Why the holdings are over a limit, or None."""
        limits = self.limits.max_inventory
        default = limits.get("default")
        for mint, amount in self.inventory.items():
            limit = limits.get(mint, default)
            if limit is not None and amount > limit:
                return f"inventory of {mint} {amount} > limit {limit}"
        return None

    def check(self, *, notional: int, tip: int, state_age_slots: int, now: float) -> str | None:
        """Why this trade may not be sent now, or None if it may."""
        if self.state is RiskState.HALTED:
            return f"halted: {self.reason}"
        if self.state is RiskState.REDUCING:
            return f"reducing: {self.reason}"
        if notional > self.limits.max_notional:
            return f"notional {notional} > limit {self.limits.max_notional}"
        if state_age_slots > self.limits.max_state_age_slots:
            return f"stale state: {state_age_slots} slots old > {self.limits.max_state_age_slots}"
        if self._window_sum(self._tips, now, 3600.0) + tip > self.limits.max_tips_per_hour:
            return f"tips this hour would exceed {self.limits.max_tips_per_hour}"
        return None

    def on_outcome(self, *, landed: bool, pnl: int, tip_paid: int, now: float) -> RiskTransition | None:
        """Account for one finished bundle; return the transition a breach caused, if any."""
        if tip_paid:
            self._tips.append((now, tip_paid))
        if pnl < 0:
            self._losses.append((now, -pnl))
        self.failures_in_row = 0 if landed else self.failures_in_row + 1
        loss = self._window_sum(self._losses, now, 86_400.0)
        if loss > self.limits.max_daily_loss and self.state is not RiskState.HALTED:
            return self._move(now, RiskState.HALTED, f"daily loss {loss} > {self.limits.max_daily_loss}")
        if self.state is RiskState.ACTIVE:
            if self.failures_in_row >= self.limits.max_failures_in_row:
                self.failures_in_row = 0
                return self._cool_down(now, f"{self.limits.max_failures_in_row} failed bundles in a row")
            tips = self._window_sum(self._tips, now, 3600.0)
            if tips > self.limits.max_tips_per_hour:
                return self._cool_down(now, f"tips this hour {tips} > {self.limits.max_tips_per_hour}")
        return None

    def halt(self, reason: str, now: float) -> RiskTransition:
        return self._move(now, RiskState.HALTED, reason)

    def resume(self, reason: str, now: float) -> RiskTransition:
        self.failures_in_row = 0
        return self._move(now, RiskState.ACTIVE, reason)

    def _cool_down(self, now: float, reason: str) -> RiskTransition:
        earlier = self._window_sum(self._cooldowns, now, 3600.0)
        if earlier >= self.limits.max_cooldowns_per_hour:
            return self._move(now, RiskState.HALTED, f"{reason}, after {earlier} cooldowns within the hour")
        self._cooldowns.append((now, 1))
        return self._move(now, RiskState.REDUCING, reason, until=now + self.limits.cooldown_s)

    def _move(self, now: float, state: RiskState, reason: str, until: float | None = None) -> RiskTransition:
        self.state, self.reason, self.cooldown_until = state, reason, until
        return RiskTransition(now, state, reason, until)

    @staticmethod
    def _window_sum(window: deque[tuple[float, int]], now: float, span_s: float) -> int:
        while window and window[0][0] <= now - span_s:
            window.popleft()
        return sum(amount for _, amount in window)
