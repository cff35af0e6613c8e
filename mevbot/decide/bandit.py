"""Thompson sampling over tip fractions (per route class) and block-engine regions.

Model. The choice of tip fraction f trades landing probability against what is kept: a landed bundle
keeps (1 − f) of the expected profit, a lost one keeps nothing. The payoff given a landing is known
exactly from f, so the only unknown is P(land | f). Each arm therefore holds a Beta posterior on
"landed", and Thompson sampling draws p ~ Beta(α, β) per arm and plays argmax p · (1 − f). This learns
faster than a Gaussian on raw profit (whose scale swings with each opportunity's size) and, unlike a
plain Beta on "landed", does not drift to the largest tip, which lands most but keeps least. Regions
have no payoff difference given a landing, so they are plain Beta-Bernoulli arms.

Tip arms are ordered bids in one sealed-bid auction, so one result speaks for several arms: a bundle
that landed at f would have landed at any larger f, and one outbid at f would have lost at any
smaller f. An ordered bandit books those implied results too (pulls and rewards stay the real ones).
Without this, every low arm must be lost on for real, many times, before the posterior lets it go;
that exploration cost more than the bandit won against a fixed tip. A bundle that failed for a
reason other than price (state moved, blockhash expired, dropped) says nothing about the tip and
leaves the tip posterior alone.

Exploration costs what the lost opportunity was worth, while what it teaches does not depend on the
size, so the bandit explores only on opportunities no larger than the typical one (a running median
of the stakes it has seen) and plays the posterior-mean best on the larger ones. Tip arms start from
the prior that a bid of f lands a share f of the time (what a rival bidding a uniform share would
allow), worth `PRIOR_WEIGHT` observations: a flat prior would favour the lowest tips, which keep the
most if they land, and the first opportunities after a start, often the largest, would go to
lowball bids. Exploration can also be capped: when more than `max_explore_share` of pulls so far went
to an arm other than the posterior-mean best, the greedy arm is played instead.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PRIOR_WEIGHT = 8.0
STAKE_STEP = 1.05  # the running median moves by this factor per stake seen


@dataclass
class Arm:
    name: str
    payoff: float = 1.0  # share of the expected profit kept when it lands
    alpha: float = 1.0
    beta: float = 1.0
    pulls: int = 0
    reward_sum: float = 0.0  # realised net profit, lamports

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.pulls if self.pulls else 0.0


@dataclass
class Bandit:
    """One context (a route class, or the region set): a handful of arms and the Thompson draw."""

    context: str
    arms: list[Arm]
    max_explore_share: float = 1.0
    explored: int = 0
    rng: random.Random = field(default_factory=random.Random)
    ordered: bool = False  # arms are bids from weakest to strongest (see the module docstring)
    typical_stake: float | None = None  # running median of the stakes `choose` was given
    # (arms, posterior-mean best, Thompson pick) worked out ahead by `prepare`, until a posterior moves
    _ready: tuple[list[Arm], Arm, Arm] | None = field(default=None, init=False, repr=False, compare=False)

    def best(self) -> Arm:
        return max(self.arms, key=lambda arm: arm.mean * arm.payoff)

    def choose(self, stake: float | None = None) -> Arm:
        """An arm for one opportunity worth `stake` (None: every pull may explore). Explores with
        the draw `prepare` made, if the posteriors have not moved since; a draw serves one choice."""
        ready = self._ready if self._ready is not None and self._ready[0] is self.arms else None
        greedy = self.best() if ready is None else ready[1]
        if (stake is not None and self._high_stakes(stake)) or len(self.arms) == 1:
            return greedy
        self._ready = None
        sampled = self._thompson() if ready is None else ready[2]
        if sampled is not greedy:
            total = sum(arm.pulls for arm in self.arms)
            if total and (self.explored + 1) / (total + 1) > self.max_explore_share:
                return greedy
            self.explored += 1
        return sampled

    def prepare(self) -> None:
        """Draw the next choice's Thompson samples now, in idle time (~1 µs an arm, more when the
        caches are cold), and find the posterior-mean best: the posteriors, not the moment, decide
        what either is worth."""
        if self._ready is None or self._ready[0] is not self.arms:
            self._ready = (self.arms, self.best(), self._thompson())

    def _thompson(self) -> Arm:
        return max(self.arms, key=lambda arm: self.rng.betavariate(arm.alpha, arm.beta) * arm.payoff)

    def _high_stakes(self, stake: float) -> bool:
        typical = self.typical_stake
        if typical is None:  # nothing to compare with yet: do not gamble the first one
            self.typical_stake = float(stake)
            return True
        self.typical_stake = typical * STAKE_STEP if stake > typical else typical / STAKE_STEP
        return stake > typical

    def update(self, arm_name: str, *, landed: bool, net_profit: int, outbid: bool = False) -> Arm:
        """Book one finished bundle. `outbid`: it lost the auction on price."""
        arm = self.arm(arm_name)
        self._ready = None  # drawn from the posteriors this changes
        arm.pulls += 1
        arm.reward_sum += net_profit
        if not self.ordered:
            if landed and net_profit > 0:
                arm.alpha += 1
            else:
                arm.beta += 1
            return arm
        index = self.arms.index(arm)
        if landed and net_profit > 0:
            for stronger in self.arms[index:]:
                stronger.alpha += 1
        elif outbid:
            for weaker in self.arms[: index + 1]:
                weaker.beta += 1
        elif landed:  # landed at a loss: this tip was too high for this profit
            arm.beta += 1
        return arm

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f"{self.context}: no arm {name!r}")


def tip_arm_name(fraction: float) -> str:
    return f"tip={fraction:.2f}"


def tip_bandit(context: str, fractions: Sequence[float], *, max_explore_share: float = 1.0, seed: int | None = None) -> Bandit:
    arms = [Arm(tip_arm_name(f), payoff=1.0 - f, alpha=1.0 + PRIOR_WEIGHT * f, beta=1.0 + PRIOR_WEIGHT * (1.0 - f))
            for f in sorted(set(fractions))]  # fmt: skip
    return Bandit(context, arms, max_explore_share, rng=random.Random(seed), ordered=True)


def region_bandit(regions: Iterable[str], *, seed: int | None = None) -> Bandit:
    return Bandit("regions", [Arm(f"region={name}") for name in regions], rng=random.Random(seed))


def fraction_of(arm: Arm) -> float:
    return 1.0 - arm.payoff


def route_class(venues: Sequence[str]) -> str:
    """Routes through the same venues, in any order, share what they learn. Auctions rank tip per
    requested compute unit, and the units a route asks for are set by its venues (a Whirlpool swap
    asks for three times a Raydium v4 one), so the share of profit that wins differs by venue mix,
    not by order. Finer classes (each pool) would be too thin to learn from."""
    return "+".join(sorted(venues))
