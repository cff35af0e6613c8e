"""Trade sizing on the exact integer quotes.

The float model (`kernels.optimum`) guesses the best input; this module finds the input the exact
quotes reward most. A route's output is concave in its input (every hop's marginal rate only
worsens as the input grows, for constant-product and concentrated-liquidity pools alike), so the
exact profit is unimodal up to the jitter of integer rounding (about a unit per hop).

1. If the exact profit at the guess is the model's, the route follows the model's curve up to
   there (no tick crossed that moved it), so its marginal profit at the guess is the model's,
   zero: by concavity the guess is the optimum up to rounding (1 quote). Neighbours a band away
   could only win by rounding, which step 4 settles where it matters.
2. If not (a tick was crossed, a fee stepped), the same curve family is refitted through exact
   points until a fit predicts its own optimum (a secant method, usually 2–4 more quotes), and
   the neighbours a quarter-unit band away must lose to it (a fit is no proof).
3. Otherwise golden-section search from a bracket around the best input yet, down to a few
   units or to 2⁻²⁰ of the input, whichever is wider: a comparison that rounding fools loses at
   most about the jitter, since the bracket is wide when values differ much and narrow when they
   do not; and within 2⁻²⁰·x* of the optimum x* the profit P* falls by at most about P*·2⁻⁴⁰
   (curvature 2P*/x*²), under a unit for any profit below 10¹² units. Given the model's rounding
   jitter, it stops sooner, once the bracket's ends and probes agree within the jitter: from there
   on every comparison is as likely to be fooled by rounding as not (it saves ~12 quotes of ~35).
4. When the band of inputs that rounding can reorder is at most `POLISH_LIMIT` wide (small pools),
   all of it is tried, which gives the exact integer maximum.

Each exact profit is the route's smooth curve give or take the rounding jitter, so the returned
profit is within about twice the jitter of the exact integer maximum (concavity bounds it by four
times when the golden section stopped on a level bracket), and equal to it on small pools.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from mevbot.dex.base import positional_constructor

_INV_PHI = (math.sqrt(5) - 1) / 2
_SCAN_WIDTH = 8  # below this bracket width, every remaining input is tried
_PRECISION_BITS = 20  # golden section stops at 2^-20 of the input (or _SCAN_WIDTH, if wider)
POLISH_LIMIT = 256  # widest near-optimal band worth trying input by input
_MAX_REFITS = 6


@dataclass(frozen=True, slots=True)
class Maximum:
    amount_in: int
    profit: int  # the exact profit at amount_in; may be ≤ 0 when nothing profits
    evaluations: int


@dataclass(frozen=True, slots=True)
class FloatModel:
    """What the float model says about a route: best input `guess`, `profit` there, and `hops`.

    The model x ↦ a·x/(1 + c·x) − x peaks at x* with P* = x*(√a − 1), so √a = 1 + P*/x*,
    c = P*/x*² and |P''(x*)| = 2c/√a; within `band(q)` = √(2q/|P''|) of x* its profit drops by less
    than q units.
    """

    guess: float
    profit: float
    hops: int
    jitter: float = 0.0  # how far rounding moves the exact profit, in start-token units (default: hops)

    @property
    def rounding(self) -> float:
        return self.jitter or float(self.hops)

    def band(self, units: float) -> float:
        if not (self.guess > 0 and self.profit > 0):
            return 0.0
        curvature = 2 * (self.profit / (self.guess * self.guess)) / (1.0 + self.profit / self.guess)
        return math.sqrt(2 * units / curvature)

    @classmethod
    def through(
        cls, x1: int, p1: float, x2: int, p2: float, hops: int, jitter: float = 0.0
    ) -> FloatModel | None:
        """The curve x ↦ a·x/(1 + c·x) − x through two exact (input, profit) points, at its optimum.

        1/out = (1/a)·(1/x) + c/a is a line in 1/x, so two points fix a and c. A concentrated-
        liquidity hop is exactly such a curve between initialized ticks, so a fit near the optimum
        predicts it. None when the points give no profitable curve.
        """
        out1, out2 = p1 + x1, p2 + x2
        if x1 == x2 or out1 <= 0 or out2 <= 0:
            return None
        slope = (1 / out1 - 1 / out2) / (1 / x1 - 1 / x2)
        if slope <= 0:
            return None
        a = 1 / slope
        c = (1 / out1 - slope / x1) * a
        if not (a > 1 and c > 0):
            return None
        guess = (math.sqrt(a) - 1) / c
        return cls(guess, a * guess / (1 + c * guess) - guess, hops, jitter)

    def agrees(self, amount_in: int, exact_profit: float) -> bool:
        """Whether the exact profit at the guess is the model's, up to rounding: then the route
        behaves as the model's curve near its optimum (no tick crossed, no fee step)."""
        slack = self.rounding + 2 + 1e-11 * amount_in  # integer rounding, and float error
        return abs(exact_profit - self.profit) <= slack


# Every opportunity is sized: its records are built positionally (`positional_constructor`).
float_model = positional_constructor(FloatModel)
_maximum = positional_constructor(Maximum)


class _Memo:
    """Exact profit by input, each input quoted once; a refused input counts as no profit at all."""

    __slots__ = ("best_x", "best_y", "profit", "seen")

    def __init__(self, profit: Callable[[int], int | None]) -> None:
        self.profit = profit
        self.seen: dict[int, float] = {}
        self.best_x = 0
        self.best_y = -math.inf

    def __call__(self, x: int) -> float:
        y = self.seen.get(x)
        if y is None:
            exact = self.profit(x)
            y = self.seen[x] = -math.inf if exact is None else exact
            if y > self.best_y or (y == self.best_y and x < self.best_x):
                self.best_x, self.best_y = x, y
        return y


def maximize_profit(
    profit: Callable[[int], int | None], guess: float, upper: int, model: FloatModel | None = None
) -> Maximum:
    """The input in [1, `upper`] with the highest exact `profit` (None: the route refuses that input).

    Without a `model`, brackets from `guess` with steps of 1/32 of it and narrows to a few units
    (or 2⁻²⁰ of the input).
    With one whose profit the exact quote confirms at the guess, the guess is the optimum up to
    rounding (the route's curve is the model's up to it, and concave). With one refitted through
    exact points until it predicts its own optimum, that optimum is the answer unless a neighbour
    a quarter-unit band away (`model.band(0.25)`) does better. Finally, when rounding jitter can
    reorder a band of at most `POLISH_LIMIT` inputs around the best one, every input of that band
    is tried.
    """
    if upper < 1:
        return Maximum(0, 0, 0)
    f = _Memo(profit)
    x0, upper = _accepted(f, min(max(int(guess), 1), upper), upper)
    if model is None or not model.agrees(x0, f(x0)):
        confirmed = None if model is None else _refit(f, x0, upper, model)
        if confirmed is not None:
            x0 = min(max(int(confirmed.guess), 1), upper)
            step = max(_SCAN_WIDTH, int(confirmed.band(0.25)))
            width = 2 * step
            model = confirmed
        else:  # search on from the best input yet: a failed refit may have come closer
            x0 = f.best_x if f.best_y > -math.inf else x0
            step, width = max(1, x0 >> 5), max(_SCAN_WIDTH, x0 >> _PRECISION_BITS)
        lo, hi = _bracket(f, x0, upper, step)
        _golden(f, lo, hi, width, level=0.0 if model is None else model.rounding)
    polish = math.ceil(model.band(model.rounding)) if model is not None else 0
    if 0 < polish <= POLISH_LIMIT and f.best_y > -math.inf:
        for x in range(max(1, f.best_x - polish), min(upper, f.best_x + polish) + 1):
            f(x)
    if f.best_y == -math.inf:
        return _maximum(0, 0, len(f.seen))
    return _maximum(f.best_x, int(f.best_y), len(f.seen))


def _refit(f: _Memo, x0: int, upper: int, model: FloatModel) -> FloatModel | None:
    """Where the float model missed (a tick was crossed), fit the model's curve family through the
    two latest exact points and jump to its optimum, until a fit predicts the exact profit at its
    own optimum (a secant method on the curve family). None if that does not happen quickly."""
    xa, ya = x0, f(x0)
    xb = max(1, xa - max(1, xa >> 6))
    yb = f(xb)
    for _ in range(_MAX_REFITS):
        if ya == -math.inf or yb == -math.inf:
            return None
        fitted = FloatModel.through(xa, ya, xb, yb, model.hops, model.jitter)
        if fitted is None:
            return None
        xn = min(max(int(fitted.guess), 1), upper)
        yn = f(xn)
        if fitted.agrees(xn, yn):
            return fitted
        xa, ya, xb, yb = xn, yn, xa, ya
    return None


def _accepted(f: _Memo, x0: int, upper: int) -> tuple[int, int]:
    """An input the route accepts, and the bound below the first refused one found.

    A refused input is taken as too large (a pool runs out of liquidity or of tick arrays): halve
    it until the route accepts (or 1 is reached).
    """
    while f(x0) == -math.inf and x0 > 1:
        upper, x0 = x0 - 1, max(1, x0 // 2)
    return x0, upper


def _bracket(f: _Memo, x0: int, upper: int, step: int) -> tuple[int, int]:
    """[lo, hi] holding the maximum: step away from x0 in the rising direction, doubling the step."""
    y0 = f(x0)
    for direction in (1, -1):
        x1 = min(max(x0 + direction * step, 1), upper)
        if x1 == x0 or f(x1) <= y0:
            continue
        behind, here = x0, x1
        while True:
            step *= 2
            ahead = min(max(here + direction * step, 1), upper)
            if ahead == here or f(ahead) <= f(here):
                return (behind, ahead) if direction > 0 else (ahead, behind)
            behind, here = here, ahead
    return max(x0 - step, 1), min(x0 + step, upper)


def _golden(f: _Memo, lo: int, hi: int, width: int, level: float = 0.0) -> None:
    """Narrow [lo, hi] around the maximum of the (nearly) unimodal f, then try what is left.

    With a `level` (the rounding jitter), stop as soon as both ends and both probes are within it
    of each other: the profit is then flat up to rounding across the bracket (and, being concave,
    rises between the probes by less than about that again), so narrowing on would only chase the
    jitter, each comparison as likely wrong as right.
    """
    m1 = hi - round((hi - lo) * _INV_PHI)
    m2 = lo + round((hi - lo) * _INV_PHI)
    while hi - lo > width:
        if m1 >= m2:  # rounding collapsed the probes; re-place them
            m1, m2 = lo + (hi - lo) // 3, hi - (hi - lo) // 3
        y1, y2 = f(m1), f(m2)
        if level and _level(f, (lo, hi), y1, y2) <= level:
            return
        if y1 < y2:
            lo, m1 = m1, m2
            m2 = lo + round((hi - lo) * _INV_PHI)
        else:
            hi, m2 = m2, m1
            m1 = hi - round((hi - lo) * _INV_PHI)
    if hi - lo <= _SCAN_WIDTH:
        for x in range(lo, hi + 1):
            f(x)


def _level(f: _Memo, ends: tuple[int, int], y1: float, y2: float) -> float:
    """How far apart the probes and the bracket's ends are (infinite if an end is unquoted or refused)."""
    values = [y1, y2, *(f.seen.get(x, -math.inf) for x in ends)]
    return max(values) - min(values)
