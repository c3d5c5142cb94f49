"""Outcomes of measurement-based care: change, response, remission, reliable change, flags.

All instruments handled here are symptom scales on which a *lower* score is better
(PHQ-9, GAD-7, MADRS, HAM-D17, ...). Do not pass scales where higher is better (WHO-5).

Definitions
-----------
* change = current - baseline; percent change = 100 x (current - baseline) / baseline
  (undefined when baseline is 0).
* response: reduction from baseline of at least 50 %, i.e. percent change <= -50
  (the definition used by Finzi & Rosenthal 2014 and Magid 2014 for the primary outcome).
* remission: total at or below an instrument-specific cut-off (:data:`REMISSION_CUTOFFS`,
  each with its source). Instruments without a configured cut-off give ``None``.
* reliable change index (Jacobson & Truax 1991, J Consult Clin Psychol 59:12-19):
  SE = SD x sqrt(1 - r); S_diff = sqrt(2 x SE^2); RCI = (x2 - x1) / S_diff.
  |RCI| > 1.96 is change unlikely (p < .05) to be measurement error. SD and r must come
  from a cited source (:data:`RCI_PARAMETERS`); only the PHQ-9 is configured, every other
  instrument gives ``None``. PHQ-9: SD 4.6 (baseline SD of 960 depressed outpatients with
  PHQ-9 >= 10, Psychiatr Serv 2011;62:929-935) and r = 0.89 (Cronbach's alpha, Kroenke,
  Spitzer & Williams 2001, J Gen Intern Med 16:606-613). Jacobson & Truax allow an
  internal-consistency r; the test-retest r = 0.84 of the same paper could not be verified
  against a stored copy in this build, so it is not used. S_diff = sqrt(2) x 4.6 x
  sqrt(0.11) = 2.1576; 1.96 x 2.1576 = 4.23 points, so on the integer PHQ-9 a reliable
  change is a change of at least 5 points (:func:`min_reliable_change`).
* not improving at week 6: reduction from baseline below 20 % at the week-6 visit.
  The 20 % threshold is a clinic choice (the early-improvement literature uses 20 %,
  typically at week 2); it is not validated for BoNT-A and is configurable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from types import MappingProxyType
from typing import Final, Protocol

__all__ = [
    "NOT_IMPROVING_THRESHOLD_PERCENT",
    "RCI_CRITICAL",
    "RCI_PARAMETERS",
    "REMISSION_CUTOFFS",
    "RESPONSE_THRESHOLD_PERCENT",
    "OutcomeSummary",
    "RciParameters",
    "RemissionCutoff",
    "ScoreLike",
    "ScorePoint",
    "Trajectory",
    "change",
    "is_not_improving",
    "is_remission",
    "is_response",
    "min_reliable_change",
    "percent_change",
    "rci_for",
    "rci_statement",
    "reliable_change_category",
    "reliable_change_index",
    "reliable_change_points",
    "summarise",
    "summarise_scores",
    "trajectories",
]

RESPONSE_THRESHOLD_PERCENT: Final = Fraction(50)
NOT_IMPROVING_THRESHOLD_PERCENT: Final = Fraction(20)
RCI_CRITICAL: Final = 1.96
"""|RCI| beyond this is reliable change at p < .05 (Jacobson & Truax 1991)."""


@dataclass(frozen=True)
class RemissionCutoff:
    """Remission when total <= ``max_total`` (inclusive), with the source of the cut-off."""

    instrument_id: str
    max_total: int
    rule: str
    source: str


REMISSION_CUTOFFS: Final[Mapping[str, RemissionCutoff]] = MappingProxyType(
    {
        c.instrument_id: c
        for c in (
            RemissionCutoff(
                "phq9",
                4,
                "PHQ-9 < 5",
                "Kroenke, Spitzer, Williams 2001, J Gen Intern Med 16:606-613 (5 = lower bound "
                "of mild); remission PHQ-9 < 5 as in Psychiatric Services "
                "doi:10.1176/appi.ps.201900295",
            ),
            RemissionCutoff(
                "madrs",
                10,
                "MADRS <= 10",
                "Finzi & Rosenthal 2014, J Psychiatr Res 52:1-6 (remission: MADRS 10 or less). "
                "Zimmerman 2004 not re-verified in this build.",
            ),
            RemissionCutoff(
                "hamd17",
                7,
                "HAM-D17 <= 7",
                "Widely adopted threshold following Frank et al. 1991 consensus definitions "
                "(see Sawamura et al. 2018, Health Qual Life Outcomes 16:14); Magid 2014 used "
                "<= 7 on the HDRS-21.",
            ),
            RemissionCutoff(
                "gad7",
                4,
                "GAD-7 < 5",
                "Spitzer, Kroenke, Williams, Lowe 2006, Arch Intern Med 166:1092-1097 (5, 10, "
                "15 = cut points for mild, moderate, severe); < 5 = below mild, a clinic choice.",
            ),
        )
    }
)


@dataclass(frozen=True)
class RciParameters:
    """Normative SD and reliability for the Jacobson-Truax RCI, with their source."""

    sd: float
    reliability: float
    source: str


# Only entries whose SD and reliability were both verified against their source. GAD-7,
# MADRS, HAM-D17: no verified SD/r pair in this build, so no RCI for them.
RCI_PARAMETERS: Final[Mapping[str, RciParameters]] = MappingProxyType(
    {
        "phq9": RciParameters(
            sd=4.6,
            reliability=0.89,
            source="SD 4.6 from Psychiatr Serv 2011;62:929-935 (960 depressed outpatients, "
            "PHQ-9 16.4 ± 4.6 at the first visit); r = 0.89 (Cronbach's alpha) from "
            "Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606-613",
        ),
    }
)


def change(baseline: int | Fraction, current: int | Fraction) -> Fraction:
    """current - baseline (negative is improvement on these scales)."""
    return Fraction(current) - Fraction(baseline)


def percent_change(baseline: int | Fraction, current: int | Fraction) -> Fraction | None:
    """100 x (current - baseline) / baseline, exact; None when baseline is 0."""
    if baseline == 0:
        return None
    return 100 * change(baseline, current) / Fraction(baseline)


def is_response(baseline: int | Fraction, current: int | Fraction) -> bool | None:
    """Reduction of at least 50 % from baseline; None when baseline is 0."""
    pct = percent_change(baseline, current)
    return None if pct is None else pct <= -RESPONSE_THRESHOLD_PERCENT


def is_remission(instrument_id: str, total: int) -> bool | None:
    """Total at or below the instrument's cut-off; None when no cut-off is configured."""
    cutoff = REMISSION_CUTOFFS.get(instrument_id)
    return None if cutoff is None else total <= cutoff.max_total


def is_not_improving(
    baseline: int | Fraction,
    week6: int | Fraction,
    threshold_percent: Fraction = NOT_IMPROVING_THRESHOLD_PERCENT,
) -> bool | None:
    """True when the week-6 reduction is below ``threshold_percent``; None if baseline is 0."""
    pct = percent_change(baseline, week6)
    return None if pct is None else -pct < threshold_percent


def reliable_change_index(x1: float, x2: float, sd: float, reliability: float) -> float:
    """Jacobson & Truax (1991) RCI = (x2 - x1) / S_diff, S_diff = sqrt(2 (SD sqrt(1-r))^2).

    Args:
        x1: baseline score. x2: follow-up score.
        sd: normative (pre-treatment) standard deviation of the instrument.
        reliability: test-retest or internal-consistency reliability r (0 <= r < 1).
    """
    if sd <= 0 or not 0 <= reliability < 1:
        raise ValueError("need sd > 0 and 0 <= reliability < 1")
    se = sd * math.sqrt(1 - reliability)
    s_diff = math.sqrt(2 * se**2)
    return (x2 - x1) / s_diff


def reliable_change_points(p: RciParameters) -> float:
    """|x2 - x1| at which |RCI| = 1.96: 1.96 x sqrt(2) x SD x sqrt(1 - r) (J&T 1991)."""
    return RCI_CRITICAL * math.sqrt(2) * p.sd * math.sqrt(1 - p.reliability)


def min_reliable_change(p: RciParameters) -> int:
    """Smallest whole-point change with |RCI| > 1.96 (integer-scored scales)."""
    return math.floor(reliable_change_points(p)) + 1


def rci_statement(
    instrument_id: str, parameters: Mapping[str, RciParameters] = RCI_PARAMETERS
) -> str | None:
    """The sentence a page shows next to the RCI, or None when not configured."""
    p = parameters.get(instrument_id)
    if p is None:
        return None
    return (
        f"reliable change = a change of at least {min_reliable_change(p)} points "
        f"(|RCI| > {RCI_CRITICAL}; Jacobson & Truax 1991; r = {p.reliability}, "
        f"SD = {p.sd}; {p.source})"
    )


def reliable_change_category(rci: float | None) -> str | None:
    """ "improved" (RCI < -1.96), "deteriorated" (RCI > 1.96), else "no reliable change"."""
    if rci is None:
        return None
    if rci < -RCI_CRITICAL:
        return "improved"
    if rci > RCI_CRITICAL:
        return "deteriorated"
    return "no reliable change"


def rci_for(
    instrument_id: str,
    x1: float,
    x2: float,
    parameters: Mapping[str, RciParameters] = RCI_PARAMETERS,
) -> float | None:
    """RCI with the configured, cited parameters; None when the instrument is not configured."""
    p = parameters.get(instrument_id)
    return None if p is None else reliable_change_index(x1, x2, p.sd, p.reliability)


@dataclass(frozen=True)
class OutcomeSummary:
    """Everything a patient page shows for one instrument at one follow-up."""

    instrument_id: str
    baseline: int
    current: int
    change: Fraction
    percent_change: Fraction | None
    response: bool | None
    remission: bool | None
    rci: float | None
    reliable_improvement: bool | None


def summarise(
    instrument_id: str,
    baseline: int,
    current: int,
    rci_parameters: Mapping[str, RciParameters] = RCI_PARAMETERS,
) -> OutcomeSummary:
    """Change, percent change, response, remission and RCI for one instrument."""
    rci = rci_for(instrument_id, baseline, current, rci_parameters)
    return OutcomeSummary(
        instrument_id=instrument_id,
        baseline=baseline,
        current=current,
        change=change(baseline, current),
        percent_change=percent_change(baseline, current),
        response=is_response(baseline, current),
        remission=is_remission(instrument_id, current),
        rci=rci,
        reliable_improvement=None if rci is None else rci < -1.96,
    )


class ScoreLike(Protocol):
    """Anything with an instrument id and a total, e.g. ``clinic.instruments`` ``Score``."""

    @property
    def instrument_id(self) -> str: ...

    @property
    def total(self) -> int: ...


def summarise_scores(
    baseline: ScoreLike,
    current: ScoreLike,
    rci_parameters: Mapping[str, RciParameters] = RCI_PARAMETERS,
) -> OutcomeSummary:
    """:func:`summarise` for two scores of the same instrument (refuses a mixed pair)."""
    if baseline.instrument_id != current.instrument_id:
        raise ValueError(
            f"cannot compare {baseline.instrument_id} with {current.instrument_id}: "
            "change is only defined within one instrument"
        )
    return summarise(baseline.instrument_id, baseline.total, current.total, rci_parameters)


@dataclass(frozen=True)
class ScorePoint:
    """One instrument total at one aware moment."""

    instrument_id: str
    at: datetime
    total: int


@dataclass(frozen=True)
class Trajectory:
    """An instrument's totals in time order, with treatment moments to mark on the chart."""

    instrument_id: str
    points: tuple[ScorePoint, ...]
    treatments: tuple[datetime, ...]


def trajectories(
    points: Iterable[ScorePoint], treatments: Iterable[datetime] = ()
) -> dict[str, Trajectory]:
    """Group scores by instrument, sorted by time; refuses naive datetimes."""
    treated = list(treatments)
    if any(t.tzinfo is None or t.utcoffset() is None for t in treated):
        raise ValueError("treatment times must be timezone-aware")
    marks = tuple(sorted(treated))
    grouped: dict[str, list[ScorePoint]] = {}
    for p in points:
        if p.at.tzinfo is None or p.at.utcoffset() is None:
            raise ValueError("score times must be timezone-aware")
        grouped.setdefault(p.instrument_id, []).append(p)
    return {
        k: Trajectory(k, tuple(sorted(v, key=lambda p: p.at)), marks)
        for k, v in sorted(grouped.items())
    }
