"""The frown biomarker beside mood, clinic-wide (issue 18). Pure: no database, no web.

The unit is a patient's *index course* (first treatment, as in :mod:`glabella.analytics.compute`),
observed up to their next treatment (or the analysis date). Times are elapsed days from the
treatment moment. FAI = frown activity index (``glabella.clinic.biomarker.measure``).

**1. Does a stronger loss of frowning at week 2 go with a larger fall of PHQ-9 at week 6?**

* baseline FAI / PHQ-9: the last value from ``BASELINE_DAYS`` (14) days before the treatment up
  to it; week-2 FAI: the last pair from day 7 to before day 21; week-6 PHQ-9: the last from day
  35 to before day 50 (the clinic analytics' window);
* x = frown reduction = baseline FAI - week-2 FAI (FAI points; positive = frowns less);
  y = PHQ-9 change = week-6 - baseline (negative = improvement); patients with a baseline PHQ-9
  of at least ``min_baseline`` (10, as the clinic analytics);
* **Pearson r** with the **Fisher z** 95 % interval (Fisher RA. Frequency distribution of the
  values of the correlation coefficient in samples from an indefinitely large population.
  Biometrika 1915;10:507-521; Fisher 1921): ``z = atanh(r)``, ``SE = 1/sqrt(n-3)``,
  ``CI = tanh(z -/+ 1.959964 SE)``;
* **Spearman rho** (Pearson r of the ranks, ties given their mean rank) with the Fisher z
  interval using ``SE = sqrt(1.06/(n-3))`` (Fieller EC, Hartley HO, Pearson ES. Tests for rank
  correlation coefficients I. Biometrika 1957;44:470-481);
* **OLS slope** of y on x, ``b = Sxy/Sxx``, with ``SE = sqrt(SSE/(n-2)/Sxx)`` and the
  t(n-2) 97.5 % quantile (any regression text, e.g. Draper & Smith, Applied Regression
  Analysis, 3rd ed. 1998, ch. 1): PHQ-9 points per FAI point of frown reduction.

Observational: patients were not randomised to how much their frown fell (dose, muscle mass,
injection technique and expectation all differ), so an association is not evidence that the
paralysis causes the mood effect.

**2. Does the mood benefit outlast the paralysis?** Both times from the treatment, as
Kaplan-Meier medians (Kaplan EL, Meier P. Nonparametric estimation from incomplete
observations. J Am Stat Assoc 1958;53:457-481; median = the smallest event time with
``S(t) <= 0.5``; "unknown" when it is not reached or there are no data):

* **frown return**: the first pair, after a pair showing the frown reduced (FAI below
  ``(1 - return_fraction) x baseline``), whose FAI is back within ``return_fraction`` (default
  20 %) of the baseline FAI; censored at the last pair when it has not returned. A course whose
  frown never fell below that line, or with no baseline pair or a baseline FAI <= 0, is not
  counted (reported as excluded);
* **mood benefit end**: the first PHQ-9, after a response (>= 50 % reduction from baseline,
  ``glabella.clinic.outcomes.is_response``), that is no longer a response; censored at the last
  PHQ-9 while still responding; courses that never responded are not counted;
* for courses where both ends were seen: how many lost the mood benefit after the frown had
  returned (Wilson 95 % interval) and the median of the differences (mood end - frown return).

Both ends are seen only at visits, so each time is the first *visit* at which the change was
seen (an upper bound of the true time).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import stats as sp_stats

from glabella.analytics.compute import BASELINE_DAYS, MIN_BASELINE, WEEK6_WINDOW
from glabella.analytics.stats import Z95, Proportion, wilson
from glabella.clinic import outcomes

__all__ = [
    "CAVEAT",
    "RETURN_FRACTION",
    "WEEK2_WINDOW",
    "Correlation",
    "Duration",
    "FrownCourse",
    "FrownMood",
    "analyse_frown",
    "correlate",
    "kaplan_meier_median",
]

WEEK2_WINDOW: tuple[int, int] = (7, 21)
"""Days after the treatment (from inclusive, to exclusive) of the week-2 frown pair."""
RETURN_FRACTION: float = 0.2
"""Frown "returned" when its FAI is back within this fraction of the baseline FAI."""
SPEARMAN_VARIANCE_FACTOR: float = 1.06
"""Fieller, Hartley & Pearson (1957): var(atanh(rho_s)) ~ 1.06 / (n - 3)."""
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class FrownCourse:
    """One patient's index course: the treatment, the end of its observation (the next
    treatment or the analysis date), the frown pairs (time, FAI) and PHQ-9 totals (time, total).
    """

    treated_at: dt.datetime
    horizon: dt.datetime
    frown: Sequence[tuple[dt.datetime, float]]
    phq9: Sequence[tuple[dt.datetime, int]]


@dataclass(frozen=True)
class Correlation:
    """Pearson and Spearman correlations with Fisher-z 95 % intervals and the OLS slope with
    its t interval; ``None`` where n is too small (< 4) or a variable does not vary."""

    n: int
    pearson_r: float | None = None
    pearson_ci: tuple[float, float] | None = None
    spearman_rho: float | None = None
    spearman_ci: tuple[float, float] | None = None
    slope: float | None = None
    slope_ci: tuple[float, float] | None = None
    intercept: float | None = None

    def to_dict(self) -> dict[str, object]:
        def pair(ci: tuple[float, float] | None) -> list[float] | None:
            return None if ci is None else [ci[0], ci[1]]

        return {
            "n": self.n,
            "pearson_r": self.pearson_r,
            "pearson_ci95": pair(self.pearson_ci),
            "spearman_rho": self.spearman_rho,
            "spearman_ci95": pair(self.spearman_ci),
            "ols_slope": self.slope,
            "ols_slope_ci95": pair(self.slope_ci),
            "ols_intercept": self.intercept,
        }


@dataclass(frozen=True)
class Duration:
    """Kaplan-Meier summary of a time to an event: ``median_days`` is None when unknown."""

    n: int
    events: int
    censored: int
    median_days: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "events": self.events,
            "censored": self.censored,
            "median_days": self.median_days,
        }

    def text(self) -> str:
        median = "unknown" if self.median_days is None else f"{self.median_days:g} days"
        return f"median {median} (n = {self.n}: {self.events} seen, {self.censored} censored)"


@dataclass(frozen=True)
class FrownMood:
    """Everything the analytics page, CLI and API show about the frown beside mood."""

    courses: int
    correlation: Correlation
    frown_return: Duration
    mood_benefit: Duration
    both_seen: int
    mood_outlasted_frown: Proportion
    median_difference_days: float | None
    excluded: dict[str, int] = field(default_factory=dict)
    return_fraction: float = RETURN_FRACTION
    min_baseline: int = MIN_BASELINE

    def to_dict(self) -> dict[str, object]:
        return {
            "index_courses_with_frown_measures": self.courses,
            "week2_frown_vs_week6_phq9": {
                "x": "frown reduction at week 2 (baseline FAI - week-2 FAI, FAI points)",
                "y": "PHQ-9 change at week 6 (week 6 - baseline; negative = better)",
                **self.correlation.to_dict(),
                "caveat": CAVEAT,
            },
            "frown_return": self.frown_return.to_dict(),
            "mood_benefit_end": self.mood_benefit.to_dict(),
            "both_seen": self.both_seen,
            "mood_benefit_outlasted_frown_return": self.mood_outlasted_frown.to_dict(),
            "median_difference_days": self.median_difference_days,
            "excluded": dict(self.excluded),
            "return_fraction": self.return_fraction,
            "min_baseline": self.min_baseline,
        }


CAVEAT = (
    "Observational: patients were not randomised to how much their frown fell, so an "
    "association is not evidence that the paralysis causes the mood effect."
)


# --- statistics ---------------------------------------------------------------------------


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks 1..n, ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def _fisher_ci(r: float, n: int, variance_factor: float = 1.0) -> tuple[float, float] | None:
    if abs(r) >= 1.0:
        return None  # atanh(+-1) is infinite: no interval
    z = math.atanh(r)
    se = math.sqrt(variance_factor / (n - 3))
    return math.tanh(z - Z95 * se), math.tanh(z + Z95 * se)


def correlate(xs: Sequence[float], ys: Sequence[float]) -> Correlation:
    """Pearson r, Spearman rho (Fisher-z 95 % CIs) and the OLS slope of ``ys`` on ``xs``
    with its t(n-2) 95 % CI (formulas in the module docstring)."""
    if len(xs) != len(ys):
        raise ValueError(f"x has {len(xs)} values and y {len(ys)}: they must pair up")
    n = len(xs)
    if n < 4:
        return Correlation(n)
    r = _pearson(xs, ys)
    if r is None:
        return Correlation(n)
    rho = _pearson(_ranks(xs), _ranks(ys))
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    sse = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    se = math.sqrt(sse / (n - 2) / sxx)
    t = float(sp_stats.t.ppf(0.975, n - 2))
    return Correlation(
        n=n,
        pearson_r=r,
        pearson_ci=_fisher_ci(r, n),
        spearman_rho=rho,
        spearman_ci=None if rho is None else _fisher_ci(rho, n, SPEARMAN_VARIANCE_FACTOR),
        slope=slope,
        slope_ci=(slope - t * se, slope + t * se),
        intercept=intercept,
    )


def kaplan_meier_median(times: Sequence[tuple[float, bool]]) -> Duration:
    """Kaplan-Meier median of ``(time, event_seen)`` pairs (False = censored at that time).

    At a tied time events are counted before censorings (the usual convention). The median is
    the smallest event time with ``S(t) <= 0.5``; None when the curve stays above 0.5.
    """
    events = sum(1 for _, seen in times if seen)
    ordered = sorted(times, key=lambda tc: (tc[0], not tc[1]))
    at_risk = len(ordered)
    survival = 1.0
    median: float | None = None
    i = 0
    while i < len(ordered):
        t = ordered[i][0]
        died = sum(1 for tt, seen in ordered if tt == t and seen)
        left = sum(1 for tt, _ in ordered if tt == t)
        if died:
            survival *= 1 - died / at_risk
            if median is None and survival <= 0.5:
                median = t
        at_risk -= left
        i += left
    return Duration(n=len(times), events=events, censored=len(times) - events, median_days=median)


# --- per course ---------------------------------------------------------------------------


def _days(course: FrownCourse, moment: dt.datetime) -> float:
    return (moment - course.treated_at) / _DAY


def _last_between(
    points: Sequence[tuple[dt.datetime, float]], lo: dt.datetime, hi: dt.datetime, *, hi_in: bool
) -> float | None:
    inside = [(t, v) for t, v in points if t >= lo and (t <= hi if hi_in else t < hi)]
    return max(inside, key=lambda tv: tv[0])[1] if inside else None


def _window(
    course: FrownCourse, points: Sequence[tuple[dt.datetime, float]], days: tuple[int, int]
) -> float | None:
    lo = course.treated_at + dt.timedelta(days=days[0])
    hi = course.treated_at + dt.timedelta(days=days[1])
    return _last_between(points, lo, hi, hi_in=False)


def _after(
    course: FrownCourse, points: Sequence[tuple[dt.datetime, float]]
) -> list[tuple[float, float]]:
    """(day, value) of the points after the treatment and up to the horizon, in time order."""
    return sorted(
        (_days(course, t), v) for t, v in points if course.treated_at < t <= course.horizon
    )


def _frown_return(
    course: FrownCourse, baseline: float, fraction: float
) -> tuple[float, bool] | None:
    line = (1 - fraction) * baseline
    reduced = False
    last: float | None = None
    for day, value in _after(course, course.frown):
        last = day
        if value < line:
            reduced = True
        elif reduced:
            return day, True
    if not reduced or last is None:
        return None
    return last, False


def _mood_end(course: FrownCourse, baseline: int) -> tuple[float, bool] | None:
    responded = False
    last: float | None = None
    for day, value in _after(course, [(t, float(v)) for t, v in course.phq9]):
        last = day
        if outcomes.is_response(baseline, int(value)):
            responded = True
        elif responded:
            return day, True
    if not responded or last is None:
        return None
    return last, False


def analyse_frown(
    courses: Sequence[FrownCourse],
    *,
    return_fraction: float = RETURN_FRACTION,
    min_baseline: int = MIN_BASELINE,
) -> FrownMood:
    """The frown beside mood over the clinic's index courses (definitions in the module doc)."""
    if not 0 < return_fraction < 1:
        raise ValueError(f"return_fraction must lie between 0 and 1, got {return_fraction}")
    excluded = {
        "no_baseline_frown": 0,
        "baseline_frown_not_above_0": 0,
        "no_baseline_phq9_of_min": 0,
        "no_week2_frown_or_week6_phq9": 0,
        "frown_never_fell": 0,
        "never_responded": 0,
    }
    xs: list[float] = []
    ys: list[float] = []
    returns: list[tuple[float, bool]] = []
    ends: list[tuple[float, bool]] = []
    paired: list[tuple[float, float]] = []
    for c in courses:
        before = c.treated_at - dt.timedelta(days=BASELINE_DAYS)
        frown = [(t, v) for t, v in c.frown if t <= c.horizon]  # a re-treatment ends the course
        phq = [(t, float(v)) for t, v in c.phq9 if t <= c.horizon]
        base_fai = _last_between(frown, before, c.treated_at, hi_in=True)
        base_phq_f = _last_between(phq, before, c.treated_at, hi_in=True)
        base_phq = None if base_phq_f is None else int(base_phq_f)
        phq_ok = base_phq is not None and base_phq >= min_baseline
        if not phq_ok:
            excluded["no_baseline_phq9_of_min"] += 1
        if base_fai is None:
            excluded["no_baseline_frown"] += 1
        elif base_fai <= 0:
            excluded["baseline_frown_not_above_0"] += 1
        if base_fai is not None and base_phq is not None and phq_ok:
            w2 = _window(c, frown, WEEK2_WINDOW)
            w6 = _window(c, phq, WEEK6_WINDOW)
            if w2 is None or w6 is None:
                excluded["no_week2_frown_or_week6_phq9"] += 1
            else:
                xs.append(base_fai - w2)
                ys.append(w6 - base_phq)
        frown_time = None
        if base_fai is not None and base_fai > 0:
            frown_time = _frown_return(c, base_fai, return_fraction)
            if frown_time is None:
                excluded["frown_never_fell"] += 1
            else:
                returns.append(frown_time)
        mood_time = None
        if base_phq is not None and phq_ok:
            mood_time = _mood_end(c, base_phq)
            if mood_time is None:
                excluded["never_responded"] += 1
            else:
                ends.append(mood_time)
        if frown_time and mood_time and frown_time[1] and mood_time[1]:
            paired.append((frown_time[0], mood_time[0]))
    outlasted = sum(1 for f, m in paired if m > f)
    return FrownMood(
        courses=len(courses),
        correlation=correlate(xs, ys),
        frown_return=kaplan_meier_median(returns),
        mood_benefit=kaplan_meier_median(ends),
        both_seen=len(paired),
        mood_outlasted_frown=wilson(outlasted, len(paired)),
        median_difference_days=statistics.median(m - f for f, m in paired) if paired else None,
        excluded=excluded,
        return_fraction=return_fraction,
        min_baseline=min_baseline,
    )
