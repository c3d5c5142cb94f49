"""Proportions with Wilson score intervals, and funnel-plot control limits (pure).

Wilson score interval (Wilson 1927, J Am Stat Assoc 22:209-212; recommended for small n by
Brown, Cai & DasGupta 2001, Stat Sci 16:101-133), for x events in n with z = 1.959964 (95 %):

    centre    = (p + z²/(2n)) / (1 + z²/n)
    half-wide = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/(4n²)),   p = x/n

Funnel plot for comparing units (Spiegelhalter 2005, Stat Med 24:1185-1202): around the
overall proportion p0, the limits at size n are p0 ± z sqrt(p0 (1 - p0) / n) (normal
approximation, clipped to [0, 1]) for z = 1.96 (95 %) and z = 3.09 (99.8 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

Z95: Final = 1.959963984540054
Z998: Final = 3.090232306167813


@dataclass(frozen=True)
class Proportion:
    """x of n with the Wilson 95 % interval; everything None when n is 0."""

    events: int
    n: int
    estimate: float | None
    ci_lb: float | None
    ci_ub: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "n": self.n,
            "estimate": self.estimate,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
        }

    def text(self) -> str:
        """E.g. ``"17/33 = 51.5 % (95 % CI 35.2 to 67.5)"``; ``"no data"`` when n is 0."""
        if self.estimate is None or self.ci_lb is None or self.ci_ub is None:
            return "no data"
        return (
            f"{self.events}/{self.n} = {100 * self.estimate:.1f} % "
            f"(95 % CI {100 * self.ci_lb:.1f} to {100 * self.ci_ub:.1f})"
        )


def wilson(events: int, n: int, z: float = Z95) -> Proportion:
    """The proportion ``events / n`` with its Wilson score interval."""
    if n < 0 or events < 0 or events > n:
        raise ValueError(f"need 0 <= events <= n, got {events} of {n}")
    if n == 0:
        return Proportion(events, n, None, None, None)
    p = events / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return Proportion(events, n, p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class FunnelLimits:
    """Control limits around ``p0`` at size ``n``."""

    n: int
    lower95: float
    upper95: float
    lower998: float
    upper998: float


def funnel_limits(p0: float, n: int) -> FunnelLimits:
    """Spiegelhalter's normal-approximation limits at 95 % and 99.8 % for size ``n``."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= p0 <= 1:
        raise ValueError("p0 must be a proportion")
    se = math.sqrt(p0 * (1 - p0) / n)

    def clip(x: float) -> float:
        return min(1.0, max(0.0, x))

    return FunnelLimits(
        n, clip(p0 - Z95 * se), clip(p0 + Z95 * se), clip(p0 - Z998 * se), clip(p0 + Z998 * se)
    )


def funnel_position(events: int, n: int, p0: float) -> str:
    """Where a unit falls: "within", "above95"/"below95" or "above998"/"below998"."""
    limits = funnel_limits(p0, n)
    p = events / n
    if p > limits.upper998:
        return "above998"
    if p < limits.lower998:
        return "below998"
    if p > limits.upper95:
        return "above95"
    if p < limits.lower95:
        return "below95"
    return "within"
