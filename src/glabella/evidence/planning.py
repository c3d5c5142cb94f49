"""Trial planning: power, sample size, assurance and simulation for two-arm trials.

Pure functions (NumPy and SciPy only; no I/O). Conventions used throughout:

* ``d`` is a standardised mean difference (group 1 minus group 2, in SD units); a positive ``d``
  favours group 1.
* ``ratio`` is n2 / n1; for a given n1 the second group gets ``n2 = ceil(ratio * n1)``.
* ``sides=2`` is a two-sided test at level ``alpha`` (power counts both rejection tails);
  ``sides=1`` is a one-sided test at level ``alpha`` of H1: δ > −margin (group 1 better).
* Sample sizes are the *smallest integers* reaching the target, per group; drop-out inflation
  ``n / (1 − dropout)`` is rounded up and applied last.

References
----------
* Chow SC, Shao J, Wang H (2008). *Sample Size Calculations in Clinical Research*, 2nd ed.
  Chapman & Hall/CRC. Ch. 3 (two-sample means), ch. 4 (proportions).
* Julious SA (2010). *Sample Sizes for Clinical Trials*. Chapman & Hall/CRC.
* Cohen J (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed.
* Borm GF, Fransen J, Lemmens WA (2007). A simple sample size formula for analysis of
  covariance in randomized clinical trials. *J Clin Epidemiol* 60:1234-1238.
* O'Hagan A, Stevens JW, Campbell MJ (2005). Assurance in clinical trial design.
  *Pharm Stat* 4:187-201.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

__all__ = [
    "AssuranceDraws",
    "AssuranceSampleSize",
    "CrossoverSampleSize",
    "PlanningError",
    "ProportionsSampleSize",
    "SampleSize",
    "SimulationResult",
    "assurance",
    "assurance_from_draws",
    "assurance_mixture",
    "minimum_detectable_effect",
    "n_crossover",
    "n_for_assurance",
    "n_two_means",
    "n_two_means_raw",
    "n_two_proportions",
    "n_two_proportions_arcsine",
    "power_crossover",
    "power_two_means",
    "power_two_proportions",
    "power_two_proportions_arcsine",
    "retrospective",
    "simulate_power",
    "unblinding_scenario",
]

#: Largest per-group sample size searched before giving up.
N_MAX = 10_000_000


class PlanningError(ValueError):
    """Bad planning input; the message names the offending field."""

    @property
    def field(self) -> str | None:
        """The field the message starts with (``power``, ``baseline_correlation``, ...)."""
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", str(self))
        return m.group(0) if m else None


# --------------------------------------------------------------------------- validation


def _finite(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise PlanningError(f"{name} must be a number (got {value!r})") from None
    if not math.isfinite(x):
        raise PlanningError(f"{name} must be a finite number (got {x})")
    return x


def _open_unit(name: str, value: float) -> float:
    x = _finite(name, value)
    if not 0.0 < x < 1.0:
        raise PlanningError(f"{name} must be between 0 and 1, exclusive (got {x:g})")
    return x


def _alpha(value: float) -> float:
    x = _finite("alpha", value)
    if not 0.0 < x < 0.5:
        raise PlanningError(f"alpha must be greater than 0 and less than 0.5 (got {x:g})")
    return x


def _sides(value: int) -> int:
    if value not in (1, 2):
        raise PlanningError(f"sides must be 1 or 2 (got {value!r})")
    return int(value)


def _positive(name: str, value: float) -> float:
    x = _finite(name, value)
    if x <= 0.0:
        raise PlanningError(f"{name} must be positive (got {x:g})")
    return x


#: Allocation ratios outside this range are refused (no trial randomises 1:1000).
RATIO_RANGE = (0.01, 100.0)


def _ratio(value: float) -> float:
    x = _finite("ratio", value)
    lo, hi = RATIO_RANGE
    if not lo <= x <= hi:
        raise PlanningError(f"ratio must be between {lo:g} and {hi:g} (got {x:g})")
    return x


def _dropout(value: float, name: str = "dropout") -> float:
    x = _finite(name, value)
    if not 0.0 <= x < 1.0:
        raise PlanningError(f"{name} must be at least 0 and less than 1 (got {x:g})")
    return x


def _margin(value: float, sides: int) -> float:
    x = _finite("margin", value)
    if x < 0.0:
        raise PlanningError(f"margin must be zero or positive (got {x:g})")
    if x > 0.0 and sides != 1:
        raise PlanningError("margin (non-inferiority) needs a one-sided test: sides=1")
    return x


def _n(name: str, value: int, minimum: int = 2) -> int:
    x = _finite(name, value)
    if x != int(x):
        raise PlanningError(f"{name} must be a whole number (got {x:g})")
    if x < minimum:
        raise PlanningError(f"{name} must be at least {minimum} (got {int(x)})")
    return int(x)


def _n2(n1: int, n2: int | None) -> int:
    return n1 if n2 is None else _n("n2", n2)


def _ceil(x: float) -> int:
    """Round up, ignoring floating-point noise (0.75 * 64 is 48, not 49)."""
    return math.ceil(x - 1e-9)


def _inflate(n: int, dropout: float) -> int:
    return _ceil(n / (1.0 - dropout))


def _smallest_n(power_at: Callable[[int], float], target: float, field: str) -> int:
    """Smallest n >= 2 with power_at(n) >= target (power_at non-decreasing in n)."""
    if power_at(2) >= target:
        return 2
    hi = 4
    while power_at(hi) < target:
        if hi >= N_MAX:
            raise PlanningError(
                f"{field} is too small: more than {N_MAX} per group would be needed"
            )
        hi = min(hi * 2, N_MAX)
    lo = hi // 2  # power_at(lo) < target <= power_at(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power_at(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------- t-test power


def _t_power(
    ncp: float | NDArray[np.float64], df: float, alpha: float, sides: int, directional: bool = False
) -> NDArray[np.float64]:
    """Power of a t test: P(T' > t_crit) (+ P(T' < −t_crit) if two-sided and not directional)."""
    ncp_arr = np.asarray(ncp, dtype=float)
    crit = stats.t.ppf(1.0 - alpha / sides, df)
    upper = stats.nct.sf(crit, df, ncp_arr)
    if sides == 2 and not directional:
        upper = upper + stats.nct.cdf(-crit, df, ncp_arr)
    return np.asarray(upper, dtype=float)


def power_two_means(
    d: float,
    n1: int,
    n2: int | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    margin: float = 0.0,
) -> float:
    """Exact power of the two-sample Student t test (noncentral t).

    With df = n1 + n2 − 2, noncentrality λ = (d + margin)·√(n1·n2 / (n1 + n2)) and
    T' ~ t'(df, λ):

    * two-sided: power = P(T' > t_{1−α/2, df}) + P(T' < −t_{1−α/2, df});
    * one-sided (H1: δ > −margin): power = P(T' > t_{1−α, df}).

    ``margin`` (≥ 0, SD units, one-sided only) is the non-inferiority margin: H0 δ ≤ −margin.
    Chow, Shao & Wang (2008) §3.2 (equality, non-inferiority), exact form as in Julious (2010)
    ch. 3 and Cohen (1988) ch. 2.
    """
    d = _finite("d", d)
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    alpha = _alpha(alpha)
    sides = _sides(sides)
    margin = _margin(margin, sides)
    ncp = (d + margin) * math.sqrt(n1 * n2 / (n1 + n2))
    return float(_t_power(ncp, n1 + n2 - 2, alpha, sides))


@dataclass(frozen=True)
class SampleSize:
    """Per-group sample size for a two-arm trial (``n1``/``n2`` are the numbers to enrol)."""

    n1: int
    n2: int
    n_total: int
    n1_evaluable: int
    n2_evaluable: int
    power: float  # achieved power at the evaluable sizes
    target_power: float
    d: float
    alpha: float
    sides: int
    ratio: float
    dropout: float
    margin: float
    baseline_correlation: float | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def n_two_means(
    d: float,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
    baseline_correlation: float | None = None,
    margin: float = 0.0,
) -> SampleSize:
    """Smallest per-group n for the two-sample t test, by the noncentral t.

    1. n1 = smallest integer with ``power_two_means(d, n1, ceil(ratio·n1)) >= power`` (exact
       noncentral t; the normal approximation is n1 = (z_{1−α/s} + z_{1−β})²(1 + 1/r)/d²,
       Chow, Shao & Wang 2008 §3.2.1).
    2. ANCOVA on a baseline measurement with correlation ρ (``baseline_correlation``):
       n1 ← ceil(n1·(1 − ρ²)) (Borm, Fransen & Lemmens 2007); n2 = ceil(ratio·n1) again.
       ``power`` then reports the t-test power at d/√(1 − ρ²), an approximation.
    3. Drop-out: n ← ceil(n / (1 − dropout)) per group.

    Two-sided tests use |d|; one-sided tests need d + margin > 0 (the alternative favours
    group 1). Cohen (1988) Table 2.4.1 gives 64 per group for d = 0.5, power 0.8, α = 0.05
    two-sided.
    """
    d = _finite("d", d)
    power = _open_unit("power", power)
    alpha = _alpha(alpha)
    ratio = _ratio(ratio)
    sides = _sides(sides)
    dropout = _dropout(dropout)
    margin = _margin(margin, sides)
    rho: float | None = None
    if baseline_correlation is not None:
        rho = _finite("baseline_correlation", baseline_correlation)
        if not -1.0 < rho < 1.0:
            raise PlanningError(
                f"baseline_correlation must be between -1 and 1, exclusive (got {rho:g})"
            )
    effect = abs(d) if sides == 2 else d + margin
    if effect == 0.0:
        raise PlanningError("d must be non-zero (no effect: no sample size reaches the power)")
    if effect < 0.0:
        raise PlanningError(
            "d + margin must be positive for a one-sided test (the alternative is that group 1 "
            "is better); swap the groups or use sides=2"
        )

    def _n2_of(n1: int) -> int:
        return max(2, _ceil(ratio * n1))

    def _power(eff: float, n1: int) -> float:
        n2 = _n2_of(n1)
        return float(_t_power(eff * math.sqrt(n1 * n2 / (n1 + n2)), n1 + n2 - 2, alpha, sides))

    def power_at(n1: int) -> float:
        return _power(effect, n1)

    n1 = _smallest_n(power_at, power, "d")
    method = "noncentral t (two-sample Student t test)"
    achieved = power_at(n1)
    if rho is not None:
        shrink = 1.0 - rho * rho
        n1 = max(2, _ceil(n1 * shrink))
        achieved = _power(effect / math.sqrt(shrink), n1)
        method += "; ANCOVA deflation n·(1 − ρ²) (Borm et al. 2007)"
    n2 = _n2_of(n1)
    e1, e2 = _inflate(n1, dropout), _inflate(n2, dropout)
    return SampleSize(
        n1=e1,
        n2=e2,
        n_total=e1 + e2,
        n1_evaluable=n1,
        n2_evaluable=n2,
        power=achieved,
        target_power=power,
        d=d,
        alpha=alpha,
        sides=sides,
        ratio=ratio,
        dropout=dropout,
        margin=margin,
        baseline_correlation=rho,
        method=method,
    )


def n_two_means_raw(
    diff: float,
    sd: float,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
    baseline_correlation: float | None = None,
    margin: float = 0.0,
) -> SampleSize:
    """:func:`n_two_means` with a raw difference and common SD: d = diff / sd.

    ``margin`` is in the units of ``diff`` (converted to margin / sd). Chow, Shao & Wang (2008)
    §3.2.1: n1 = (z_{1−α/2} + z_{1−β})² σ² (1 + 1/r) / δ² (normal approximation).
    """
    diff = _finite("diff", diff)
    sd = _positive("sd", sd)
    margin = _finite("margin", margin)
    return n_two_means(
        diff / sd,
        power=power,
        alpha=alpha,
        ratio=ratio,
        sides=sides,
        dropout=dropout,
        baseline_correlation=baseline_correlation,
        margin=margin / sd,
    )


# --------------------------------------------------------------------------- crossover


def power_crossover(
    d_within: float, n_total: int, alpha: float = 0.05, sides: int = 2, margin: float = 0.0
) -> float:
    """Power of a 2×2 (AB/BA) crossover, period-adjusted t test, balanced sequences.

    ``d_within`` = treatment difference / within-subject SD σ_w (√ residual mean square).
    Var(estimate) = 2σ_w²/n, df = n − 2, λ = (d_within + margin)·√(n/2):
    power = P(T' > t_{1−α/s, n−2}) (+ lower tail if two-sided). Julious (2010) ch. 3;
    Chow, Shao & Wang (2008) §3.3.
    """
    d_within = _finite("d_within", d_within)
    n_total = _n("n_total", n_total, minimum=3)
    alpha = _alpha(alpha)
    sides = _sides(sides)
    margin = _margin(margin, sides)
    ncp = (d_within + margin) * math.sqrt(n_total / 2.0)
    return float(_t_power(ncp, n_total - 2, alpha, sides))


@dataclass(frozen=True)
class CrossoverSampleSize:
    """Total size of a balanced 2×2 crossover (``n_total`` enrolled, even)."""

    n_total: int
    n_per_sequence: int
    n_total_evaluable: int
    power: float
    target_power: float
    d_within: float
    alpha: float
    sides: int
    dropout: float
    margin: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def n_crossover(
    d_within: float,
    power: float = 0.8,
    alpha: float = 0.05,
    sides: int = 2,
    dropout: float = 0.0,
    margin: float = 0.0,
) -> CrossoverSampleSize:
    """Smallest even total n for a 2×2 crossover reaching the power (see :func:`power_crossover`).

    Julious (2010) ch. 3: with the noncentral t, λ = d_w·√(n/2), df = n − 2, i.e. the normal
    approximation n = 2(z_{1−α/2} + z_{1−β})²/d_w² (total) plus a small-sample correction.
    n is rounded up to an even number (equal sequences), then inflated for drop-out
    (rounded up to even again).
    """
    d_within = _finite("d_within", d_within)
    power = _open_unit("power", power)
    alpha = _alpha(alpha)
    sides = _sides(sides)
    dropout = _dropout(dropout)
    margin = _margin(margin, sides)
    effect = abs(d_within) if sides == 2 else d_within + margin
    if effect == 0.0:
        raise PlanningError("d_within must be non-zero")
    if effect < 0.0:
        raise PlanningError("d_within + margin must be positive for a one-sided test")

    def power_at(m: int) -> float:  # m per sequence, n = 2m
        return float(_t_power(effect * math.sqrt(m), 2 * m - 2, alpha, sides))

    m = _smallest_n(power_at, power, "d_within")
    n = 2 * m
    enrolled = _inflate(n, dropout)
    enrolled += enrolled % 2
    return CrossoverSampleSize(
        n_total=enrolled,
        n_per_sequence=enrolled // 2,
        n_total_evaluable=n,
        power=power_at(m),
        target_power=power,
        d_within=d_within,
        alpha=alpha,
        sides=sides,
        dropout=dropout,
        margin=margin,
    )


# --------------------------------------------------------------------------- proportions


def _prop_power(
    p1: float,
    p2: float,
    n1: float,
    n2: float,
    alpha: float,
    sides: int,
    pooled: bool,
    margin: float = 0.0,
) -> float:
    z = stats.norm.ppf(1.0 - alpha / sides)
    diff = p1 - p2 + margin
    se1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)  # under H1
    if pooled:
        pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
        se0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))  # under H0
    else:
        se0 = se1
    upper = stats.norm.cdf((diff - z * se0) / se1)
    if sides == 2:
        upper += stats.norm.cdf((-diff - z * se0) / se1)
    return float(upper)


def power_two_proportions(
    p1: float,
    p2: float,
    n1: int,
    n2: int | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    pooled: bool = False,
    margin: float = 0.0,
) -> float:
    """Power of the two-sample z test for proportions (normal approximation, no continuity
    correction).

    Unpooled (default; Chow, Shao & Wang 2008 §4.2.1): with Δ = p1 − p2 and
    SE = √(p1q1/n1 + p2q2/n2), power = Φ(Δ/SE − z_{1−α/s}) (+ Φ(−Δ/SE − z_{1−α/2}) two-sided).
    Pooled (``pooled=True``; H0 variance from p̄ = (n1p1 + n2p2)/(n1 + n2), the Fleiss form):
    power = Φ((Δ − z·SE₀)/SE) with SE₀ = √(p̄q̄(1/n1 + 1/n2)). One-sided: H1 p1 > p2.
    Non-inferiority (``margin`` > 0, one-sided, unpooled; Chow, Shao & Wang 2008 §4.2.2):
    H0 p1 − p2 ≤ −margin, power = Φ((Δ + margin)/SE − z_{1−α}).
    """
    p1 = _open_unit("p1", p1)
    p2 = _open_unit("p2", p2)
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    sides = _sides(sides)
    margin = _prop_margin(margin, sides, pooled)
    return _prop_power(p1, p2, n1, n2, _alpha(alpha), sides, pooled, margin)


def _prop_margin(value: float, sides: int, pooled: bool) -> float:
    margin = _margin(value, sides)
    if margin >= 1.0:
        raise PlanningError(f"margin must be less than 1 for proportions (got {margin:g})")
    if margin > 0.0 and pooled:
        raise PlanningError("margin (non-inferiority) uses the unpooled variance: pooled=False")
    return margin


@dataclass(frozen=True)
class ProportionsSampleSize:
    """Per-group sample size for comparing two proportions (``n1``/``n2`` to enrol)."""

    n1: int
    n2: int
    n_total: int
    n1_evaluable: int
    n2_evaluable: int
    power: float
    target_power: float
    p1: float
    p2: float
    alpha: float
    sides: int
    ratio: float
    dropout: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_props(p1: float, p2: float, sides: int, margin: float = 0.0) -> tuple[float, float]:
    p1 = _open_unit("p1", p1)
    p2 = _open_unit("p2", p2)
    if sides == 2 and p1 == p2:
        raise PlanningError("p1 and p2 must differ (no effect: no sample size reaches the power)")
    if sides == 1 and p1 - p2 + margin <= 0.0:
        raise PlanningError(
            "p1 − p2 + margin must be positive for a one-sided test (H1: p1 > p2 − margin); "
            "swap p1 and p2"
        )
    return p1, p2


def _n_props(
    power_at: Callable[[int], float],
    ratio: float,
    target: float,
    dropout: float,
    p1: float,
    p2: float,
    alpha: float,
    sides: int,
    method: str,
) -> ProportionsSampleSize:
    n1 = _smallest_n(power_at, target, "p1 − p2")
    n2 = max(2, _ceil(ratio * n1))
    e1, e2 = _inflate(n1, dropout), _inflate(n2, dropout)
    return ProportionsSampleSize(
        n1=e1,
        n2=e2,
        n_total=e1 + e2,
        n1_evaluable=n1,
        n2_evaluable=n2,
        power=power_at(n1),
        target_power=target,
        p1=p1,
        p2=p2,
        alpha=alpha,
        sides=sides,
        ratio=ratio,
        dropout=dropout,
        method=method,
    )


def n_two_proportions(
    p1: float,
    p2: float,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
    pooled: bool = False,
    margin: float = 0.0,
) -> ProportionsSampleSize:
    """Smallest per-group n for the two-sample z test of proportions (normal approximation).

    Chow, Shao & Wang (2008) §4.2 (unpooled variance, the default), with r = n2/n1:
    n1 = (z_{1−α/2} + z_{1−β})² (p1q1 + p2q2/r) / (p1 − p2)²; here n1 is the smallest integer
    whose :func:`power_two_proportions` reaches the target (the same up to the negligible far
    tail). ``pooled=True`` uses the pooled H0 variance (Fleiss, no continuity correction).
    ``margin``: non-inferiority, one-sided (Chow, Shao & Wang 2008 §4.2.2):
    n1 = (z_{1−α} + z_{1−β})² (p1q1 + p2q2/r) / (p1 − p2 + margin)².
    Drop-out inflation n/(1 − dropout), rounded up.
    """
    sides = _sides(sides)
    margin = _prop_margin(margin, sides, pooled)
    p1, p2 = _check_props(p1, p2, sides, margin)
    power = _open_unit("power", power)
    alpha = _alpha(alpha)
    ratio = _ratio(ratio)
    dropout = _dropout(dropout)

    def power_at(n1: int) -> float:
        return _prop_power(p1, p2, n1, max(2, _ceil(ratio * n1)), alpha, sides, pooled, margin)

    method = "normal approximation, " + ("pooled (Fleiss)" if pooled else "unpooled (Chow et al.)")
    return _n_props(power_at, ratio, power, dropout, p1, p2, alpha, sides, method)


def _arcsine_h(p1: float, p2: float) -> float:
    return 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p2))


def _arcsine_power(h: float, n1: float, n2: float, alpha: float, sides: int) -> float:
    z = stats.norm.ppf(1.0 - alpha / sides)
    lam = h * math.sqrt(n1 * n2 / (n1 + n2))
    upper = stats.norm.sf(z - lam)
    if sides == 2:
        upper += stats.norm.cdf(-z - lam)
    return float(upper)


def power_two_proportions_arcsine(
    p1: float, p2: float, n1: int, n2: int | None = None, alpha: float = 0.05, sides: int = 2
) -> float:
    """Power with Cohen's arcsine effect size h = 2·asin√p1 − 2·asin√p2 (Cohen 1988 ch. 6).

    power = Φ(h·√(n1n2/(n1+n2)) − z_{1−α/s}) (+ Φ(−h·√(…) − z_{1−α/2}) if two-sided);
    this is statsmodels' ``NormalIndPower`` with ``proportion_effectsize``.
    """
    p1 = _open_unit("p1", p1)
    p2 = _open_unit("p2", p2)
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    return _arcsine_power(_arcsine_h(p1, p2), n1, n2, _alpha(alpha), _sides(sides))


def n_two_proportions_arcsine(
    p1: float,
    p2: float,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
) -> ProportionsSampleSize:
    """Smallest per-group n by the arcsine approximation (Cohen 1988 ch. 6):
    n1 ≈ (z_{1−α/2} + z_{1−β})² (1 + 1/r) / h², with h = 2·asin√p1 − 2·asin√p2; solved exactly
    on the integers with :func:`power_two_proportions_arcsine`.
    """
    sides = _sides(sides)
    p1, p2 = _check_props(p1, p2, sides)
    power = _open_unit("power", power)
    alpha = _alpha(alpha)
    ratio = _ratio(ratio)
    dropout = _dropout(dropout)
    h = _arcsine_h(p1, p2)
    h = abs(h) if sides == 2 else h

    def power_at(n1: int) -> float:
        return _arcsine_power(h, n1, max(2, _ceil(ratio * n1)), alpha, sides)

    method = "arcsine transformation (Cohen's h), normal approximation"
    return _n_props(power_at, ratio, power, dropout, p1, p2, alpha, sides, method)


# --------------------------------------------------------------------------- retrospective


def retrospective(n1: int, n2: int, d: float, alpha: float = 0.05, sides: int = 2) -> float:
    """Power a finished trial with n1, n2 had to detect a standardised effect ``d``.

    Same formula as :func:`power_two_means`. Give a *clinically relevant* d: "observed power"
    computed at the observed effect is a one-to-one function of the p value and says nothing
    new (Hoenig & Heisey 2001, Am Stat 55:19). Cohen (1988) ch. 2.
    """
    return power_two_means(d, n1, n2, alpha=alpha, sides=sides)


def minimum_detectable_effect(
    n1: int, n2: int | None = None, power: float = 0.8, alpha: float = 0.05, sides: int = 2
) -> float:
    """Smallest standardised d > 0 detected with the given power: solves
    ``power_two_means(d, n1, n2) = power`` (noncentral t) for d by Brent's method.

    Normal approximation: d = (z_{1−α/s} + z_{1−β})·√(1/n1 + 1/n2) (Chow et al. 2008 §3.2;
    Cohen 1988 ch. 2).
    """
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    power = _open_unit("power", power)
    alpha = _alpha(alpha)
    sides = _sides(sides)
    if power <= alpha:
        raise PlanningError(f"power must exceed alpha ({alpha:g}) for a detectable effect")
    scale = math.sqrt(n1 * n2 / (n1 + n2))
    df = n1 + n2 - 2

    def gap(d: float) -> float:
        return float(_t_power(d * scale, df, alpha, sides)) - power

    hi = 1.0
    while gap(hi) < 0.0:
        hi *= 2.0
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-12, rtol=1e-12))


def unblinding_scenario(d: float, shrink: float) -> float:
    """Effect after attenuation, e.g. by functional unblinding: d × (1 − shrink), shrink ∈ [0, 1).

    A planning scenario (sensitivity analysis), not an estimate: e.g. shrink = 0.3 plans for
    a true effect 30% smaller than hoped.
    """
    d = _finite("d", d)
    shrink = _finite("shrink", shrink)
    if not 0.0 <= shrink < 1.0:
        raise PlanningError(f"shrink must be at least 0 and less than 1 (got {shrink:g})")
    return d * (1.0 - shrink)


# --------------------------------------------------------------------------- assurance


def _success_power(
    delta: NDArray[np.float64], n1: int, n2: int, alpha: float, sides: int, direction: float
) -> NDArray[np.float64]:
    """P(significant in the favourable direction | true effect δ), vectorised over δ."""
    ncp = direction * delta * math.sqrt(n1 * n2 / (n1 + n2))
    return _t_power(ncp, n1 + n2 - 2, alpha, sides, directional=True)


def _direction(mean: float, sides: int) -> float:
    return 1.0 if sides == 1 or mean >= 0.0 else -1.0


def _assurance_exact(
    means: NDArray[np.float64],
    sds: NDArray[np.float64],
    n1: int,
    n2: int,
    alpha: float,
    sides: int,
    direction: float,
) -> NDArray[np.float64]:
    """P(T > t_{1−α/s, df}) for δ ~ N(mean, sd²), exactly, vectorised over (mean, sd).

    With σ_e = √(1/n1 + 1/n2) the SD of the estimate (SD units), δ̂ | δ ~ N(δ, σ_e²) and
    δ ~ N(m, v) give δ̂ ~ N(m, σ_e² + v), independent of the pooled SD. Hence
    T = δ̂/(σ_e·S) with S² ~ χ²_df/df and P(T > c) = P(T'' > c·σ_e/√(σ_e² + v)) where
    T'' ~ t'(df, m/√(σ_e² + v)): a noncentral t tail (the known-variance form is O'Hagan,
    Stevens & Campbell 2005: Φ((m − z·σ_e)/√(σ_e² + v))).
    """
    se_e = math.sqrt(1.0 / n1 + 1.0 / n2)
    df = n1 + n2 - 2
    crit = float(stats.t.ppf(1.0 - alpha / sides, df))
    scale = np.sqrt(se_e * se_e + sds * sds)
    return np.asarray(stats.nct.sf(crit * se_e / scale, df, direction * means / scale), dtype=float)


def _assurance(mean: float, sd: float, n1: int, n2: int, alpha: float, sides: int) -> float:
    p = _assurance_exact(
        np.array([mean]), np.array([sd]), n1, n2, alpha, sides, _direction(mean, sides)
    )
    return float(np.clip(p[0], 0.0, 1.0))


def _assurance_args(mean_effect: float, se_effect: float, tau: float) -> tuple[float, float]:
    mean = _finite("mean_effect", mean_effect)
    se = _finite("se_effect", se_effect)
    if se < 0.0:
        raise PlanningError(f"se_effect must be zero or positive (got {se:g})")
    tau = _finite("tau", tau)
    if tau < 0.0:
        raise PlanningError(f"tau must be zero or positive (got {tau:g})")
    return mean, math.sqrt(se * se + tau * tau)


def assurance(
    mean_effect: float,
    se_effect: float,
    n1: int,
    n2: int | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    tau: float = 0.0,
) -> float:
    """Assurance (expected power) of a two-arm t-test trial: O'Hagan, Stevens & Campbell (2005).

    assurance = ∫ P(success | δ) N(δ; m, s² + τ²) dδ, with m = ``mean_effect`` and s =
    ``se_effect`` (standardised d; e.g. a meta-analytic estimate and its SE) and τ the
    between-study SD of true effects (a new trial draws its own effect). Success = a
    significant result in the favourable direction: P(T' > t_{1−α/s, df}) with λ = δ·√(n1n2/(n1+n2))
    (for two-sided tests the direction of m). Computed exactly as a noncentral t tail (no
    quadrature; derivation in :func:`_assurance_exact`): with v = s² + τ² and
    σ_e = √(1/n1 + 1/n2), assurance = P(t'(df, m/√(σ_e² + v)) > t_{1−α/s, df}·σ_e/√(σ_e² + v)).
    As n → ∞ assurance tends to P(δ > 0) = Φ(|m|/√(s² + τ²)), not to 1.
    """
    mean, sd = _assurance_args(mean_effect, se_effect, tau)
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    return _assurance(mean, sd, n1, n2, _alpha(alpha), _sides(sides))


def assurance_mixture(
    weights: ArrayLike,
    means: ArrayLike,
    sds: ArrayLike,
    n1: int,
    n2: int | None = None,
    alpha: float = 0.05,
    sides: int = 2,
) -> float:
    """Assurance when the true effect follows a mixture of normals Σ_j w_j N(m_j, s_j²).

    A Bayesian random-effects posterior predictive for a new trial's effect is such a mixture
    over the quadrature nodes of τ (Röver 2020, J Stat Softw 93(6), §2.7, eq. 18; see
    :attr:`glabella.evidence.bayes.BayesResult.predictive`). By linearity of the integral,
    assurance = Σ_j w_j ∫ P(success | δ) N(δ; m_j, s_j²) dδ (O'Hagan, Stevens & Campbell 2005),
    each term exactly as in :func:`assurance`. Success is a significant
    result in the direction of the mixture's mean (two-sided) or favouring group 1 (one-sided).
    """
    w = np.asarray(weights, dtype=float).ravel()
    m = np.asarray(means, dtype=float).ravel()
    sd = np.asarray(sds, dtype=float).ravel()
    if not (w.size == m.size == sd.size) or w.size == 0:
        raise PlanningError("weights, means and sds must be non-empty and of equal length")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(m)) and np.all(np.isfinite(sd))):
        raise PlanningError("weights, means and sds must be finite numbers")
    if np.any(w < 0.0) or w.sum() <= 0.0:
        raise PlanningError("weights must be zero or positive, with a positive sum")
    if np.any(sd < 0.0):
        raise PlanningError("sds must be zero or positive")
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    alpha = _alpha(alpha)
    sides = _sides(sides)
    w = w / w.sum()
    direction = _direction(float(np.dot(w, m)), sides)
    p = _assurance_exact(m, sd, n1, n2, alpha, sides, direction)
    return float(np.clip(np.dot(w, p), 0.0, 1.0))


@dataclass(frozen=True)
class AssuranceDraws:
    """Assurance averaged over draws, with its Monte Carlo standard error."""

    assurance: float
    mc_se: float
    draws: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def assurance_from_draws(
    draws: ArrayLike,
    n1: int,
    n2: int | None = None,
    alpha: float = 0.05,
    sides: int = 2,
) -> AssuranceDraws:
    """Assurance from draws of the true standardised effect (posterior samples, mixtures).

    assurance ≈ (1/M) Σ P(success | δ_m), MC SE = SD(P(success | δ_m))/√M
    (O'Hagan, Stevens & Campbell 2005 §3). Success as in :func:`assurance` (two-sided: the
    direction of the mean of the draws).
    """
    arr = np.asarray(draws, dtype=float).ravel()
    if arr.size < 2:
        raise PlanningError("draws must hold at least 2 values")
    if not np.all(np.isfinite(arr)):
        raise PlanningError("draws must all be finite numbers (NaN or inf found)")
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    alpha = _alpha(alpha)
    sides = _sides(sides)
    p = _success_power(arr, n1, n2, alpha, sides, _direction(float(arr.mean()), sides))
    return AssuranceDraws(
        assurance=float(p.mean()), mc_se=float(p.std(ddof=1) / math.sqrt(arr.size)), draws=arr.size
    )


@dataclass(frozen=True)
class AssuranceSampleSize:
    """Per-group n reaching a target assurance."""

    n1: int
    n2: int
    n_total: int
    n1_evaluable: int
    n2_evaluable: int
    assurance: float
    target: float
    plateau: float
    power_at_mean: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def n_for_assurance(
    mean_effect: float,
    se_effect: float,
    target: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    tau: float = 0.0,
    dropout: float = 0.0,
) -> AssuranceSampleSize:
    """Smallest per-group n whose :func:`assurance` reaches ``target`` (bisection on n; assurance
    increases with n when the prior favours group 1).

    Assurance plateaus at Φ(|m|/√(s² + τ²)) (O'Hagan et al. 2005): a target at or above the
    plateau is refused with a :class:`PlanningError` naming the target and the plateau.
    """
    mean, sd = _assurance_args(mean_effect, se_effect, tau)
    target = _open_unit("target", target)
    alpha = _alpha(alpha)
    ratio = _ratio(ratio)
    sides = _sides(sides)
    dropout = _dropout(dropout)
    if mean == 0.0:
        raise PlanningError("mean_effect must be non-zero")
    m = abs(mean) if sides == 2 else mean
    plateau = 1.0 if sd == 0.0 else float(stats.norm.cdf(m / sd))
    if target >= plateau - 1e-6:
        raise PlanningError(
            f"target assurance {target:g} cannot be reached: assurance plateaus at "
            f"{plateau:.4f} (the probability that the true effect favours group "
            f"{'1' if mean > 0 or sides == 1 else '2'}) however large the trial"
        )

    def n2_of(n1: int) -> int:
        return max(2, _ceil(ratio * n1))

    def assurance_at(n1: int) -> float:
        return _assurance(mean, sd, n1, n2_of(n1), alpha, sides)

    n1 = _smallest_n(assurance_at, target, "target")
    n2 = n2_of(n1)
    e1, e2 = _inflate(n1, dropout), _inflate(n2, dropout)
    return AssuranceSampleSize(
        n1=e1,
        n2=e2,
        n_total=e1 + e2,
        n1_evaluable=n1,
        n2_evaluable=n2,
        assurance=assurance_at(n1),
        target=target,
        plateau=plateau,
        power_at_mean=float(
            _t_power(m * math.sqrt(n1 * n2 / (n1 + n2)), n1 + n2 - 2, alpha, sides)
        ),
    )


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class SimulationResult:
    """Monte Carlo power of a repeated-measures trial analysed by LOCF change."""

    power: float
    mc_se: float
    sims: int
    n1: int
    n2: int
    visits: tuple[float, ...]
    rho: float
    dropout_per_visit: float
    mean_completers: float  # average fraction observed at the last visit
    analysis: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["visits"] = list(self.visits)
        return out


def simulate_power(
    diff: float,
    n1: int,
    n2: int | None = None,
    *,
    sd: float = 1.0,
    visits: Sequence[float] = (0, 3, 6, 9, 12),
    rho: float = 0.5,
    dropout_per_visit: float = 0.0,
    sims: int = 2000,
    alpha: float = 0.05,
    sides: int = 2,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    progress: Callable[[int, int], None] | None = None,
    analysis: str = "change",
) -> SimulationResult:
    """Monte Carlo power for a two-arm repeated-measures trial.

    Model: Y_ij = μ_g(t_j) + sd·(√ρ·b_i + √(1 − ρ)·e_ij), b_i, e_ij ~ N(0, 1): compound-symmetric
    correlation ρ, common SD ``sd``. Group 2 has mean 0 throughout; group 1's mean moves linearly
    from 0 at baseline to ``diff`` at the last visit (μ_1(t) = diff·(t − t_0)/(t_last − t_0)).
    Drop-out: at each post-baseline visit a subject still in the trial leaves (before that
    visit) with probability ``dropout_per_visit`` (monotone missingness, MCAR).
    Analysis, of the last observed visit (LOCF; a subject seen only at baseline carries the
    baseline forward):

    * ``"change"`` — a two-sample Student t test of the change from baseline (df n − 2);
    * ``"ancova"`` — least squares of the last value on group and baseline: the group effect
      (ȳ1 − ȳ2) − β̂(x̄1 − x̄2) with β̂ the pooled within-group slope, SE² =
      s²(1/n1 + 1/n2 + (x̄1 − x̄2)²/Sxx_within), df n − 3 (e.g. Senn 2006, Stat Med 25:4334).

    Power = share of significant trials (one-sided: t > t_{1−α}); MC SE = √(p(1 − p)/sims).
    With no drop-out the change analysis is the two-sample t test with
    d = diff / (sd·√(2(1 − ρ))) (:func:`power_two_means`), and the ANCOVA is close to it with
    d = diff / (sd·√(1 − ρ²)) (Borm et al. 2007). Reproducible: pass ``seed`` or a
    ``numpy.random.Generator``. ``progress(done, total)`` is called after each batch.
    """
    if analysis not in ("change", "ancova"):
        raise PlanningError(f"analysis must be 'change' or 'ancova' (got {analysis!r})")
    diff = _finite("diff", diff)
    sd = _positive("sd", sd)
    n1 = _n("n1", n1)
    n2 = _n2(n1, n2)
    rho = _finite("rho", rho)
    if not 0.0 <= rho < 1.0:
        raise PlanningError(f"rho must be at least 0 and less than 1 (got {rho:g})")
    dropout_per_visit = _dropout(dropout_per_visit, "dropout_per_visit")
    sims = _n("sims", sims, minimum=10)
    alpha = _alpha(alpha)
    sides = _sides(sides)
    t = np.array([_finite("visits", v) for v in visits], dtype=float)
    if t.size < 2 or np.any(np.diff(t) <= 0.0):
        raise PlanningError(
            "visits must hold at least 2 strictly increasing times (baseline first)"
        )
    if rng is not None and seed is not None:
        raise PlanningError("seed: give either seed or rng, not both")
    gen = rng if rng is not None else np.random.default_rng(seed)

    frac = (t - t[0]) / (t[-1] - t[0])
    n = n1 + n2
    mean = np.zeros((n, t.size))
    mean[:n1] = diff * frac
    n_visits = t.size
    df = n - 2 if analysis == "change" else n - 3
    if df < 1:
        raise PlanningError("n1: too few patients for the analysis (n1 + n2 − 3 < 1)")
    crit = float(stats.t.ppf(1.0 - alpha / sides, df))
    batch = max(1, min(sims, 200_000 // (n * n_visits) or 1))
    hits = 0
    completers = 0.0
    done = 0
    while done < sims:
        b = min(batch, sims - done)
        y = mean + sd * (
            math.sqrt(rho) * gen.standard_normal((b, n, 1))
            + math.sqrt(1.0 - rho) * gen.standard_normal((b, n, n_visits))
        )
        if dropout_per_visit > 0.0:
            leave = gen.random((b, n, n_visits - 1)) < dropout_per_visit
            # last observed visit index: (first post-baseline visit left before) − 1
            first = np.where(leave.any(axis=2), leave.argmax(axis=2) + 1, n_visits)
            last = first - 1
        else:
            last = np.full((b, n), n_visits - 1)
        completers += float((last == n_visits - 1).mean()) * b
        base = y[..., 0]
        final = np.take_along_axis(y, last[..., None], axis=2)[..., 0]
        if analysis == "change":
            tstat = _two_sample_t(final - base, n1)
        else:
            tstat = _ancova_t(final, base, n1)
        sig = np.abs(tstat) > crit if sides == 2 else tstat > crit
        hits += int(np.count_nonzero(sig & np.isfinite(tstat)))
        done += b
        if progress is not None:
            progress(done, sims)
    p = hits / sims
    return SimulationResult(
        power=p,
        mc_se=math.sqrt(p * (1.0 - p) / sims),
        sims=sims,
        n1=n1,
        n2=n2,
        visits=tuple(float(v) for v in t),
        rho=rho,
        dropout_per_visit=dropout_per_visit,
        mean_completers=completers / sims,
        analysis=(
            "LOCF: two-sample t test on change from baseline to the last observed visit"
            if analysis == "change"
            else "LOCF: ANCOVA of the last observed visit on group and baseline"
        ),
    )


def _two_sample_t(v: NDArray[np.float64], n1: int) -> NDArray[np.float64]:
    """Student t statistics, one per row (trial): columns :n1 are group 1."""
    g1, g2 = v[:, :n1], v[:, n1:]
    n2 = g2.shape[1]
    m1, m2 = g1.mean(axis=1), g2.mean(axis=1)
    ss = ((g1 - m1[:, None]) ** 2).sum(axis=1) + ((g2 - m2[:, None]) ** 2).sum(axis=1)
    se = np.sqrt(ss / (n1 + n2 - 2) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((m1 - m2) / se, dtype=float)


def _ancova_t(y: NDArray[np.float64], x: NDArray[np.float64], n1: int) -> NDArray[np.float64]:
    """t statistics of the group effect in y ~ group + x, one per row (pooled within slope)."""
    y1, y2, x1, x2 = y[:, :n1], y[:, n1:], x[:, :n1], x[:, n1:]
    n2 = y2.shape[1]
    my1, my2 = y1.mean(axis=1), y2.mean(axis=1)
    mx1, mx2 = x1.mean(axis=1), x2.mean(axis=1)
    dx1, dx2 = x1 - mx1[:, None], x2 - mx2[:, None]
    dy1, dy2 = y1 - my1[:, None], y2 - my2[:, None]
    sxx = (dx1**2).sum(axis=1) + (dx2**2).sum(axis=1)
    sxy = (dx1 * dy1).sum(axis=1) + (dx2 * dy2).sum(axis=1)
    syy = (dy1**2).sum(axis=1) + (dy2**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = sxy / sxx
        est = (my1 - my2) - beta * (mx1 - mx2)
        s2 = (syy - sxy * beta) / (n1 + n2 - 3)
        se = np.sqrt(s2 * (1.0 / n1 + 1.0 / n2 + (mx1 - mx2) ** 2 / sxx))
        return np.asarray(est / se, dtype=float)
