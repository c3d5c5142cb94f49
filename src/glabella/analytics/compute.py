"""Clinic outcomes from per-patient course rows (pure: no database, no web).

The unit of analysis is a patient's *index course*: their first treatment in the clinic, so
that every patient counts once and the proportions are of independent patients.

* Baseline: the last PHQ-9 from 14 days before the treatment up to the treatment.
* Week 6 / week 12: the last PHQ-9 from 35 to 50 days (77 to 92 days) after the treatment,
  counted in elapsed time from the treatment moment. The patient page counts the same windows
  in clinic-local calendar days, so a visit within hours of a window edge can be counted
  differently here.
* Analysed: index courses with a baseline of at least ``min_baseline`` (default 10, "at least
  moderate", as in the trials). Others are reported as excluded, with why.
* Response: PHQ-9 reduced by at least 50 % from baseline; remission: PHQ-9 <= 4
  (``glabella.clinic.outcomes``). Rates are shown two ways: among patients assessed in the
  window (completers), and among all analysed patients whose window has closed, a missing
  visit counted as no response (intention to treat).
* Lost to follow-up: the week-12 window has closed and no PHQ-9 was recorded in it.
* Adverse events: index treatments with at least one adverse event recorded against them;
  grade 3 or higher; serious (any ICH E2A criterion).

* Mean PHQ-9 trajectory (:func:`mean_trajectory`): week 0 is the baseline (as above); week k
  (k >= 1) holds PHQ-9s from 7(k-1) (exclusive) to 7k days (inclusive) after the index
  treatment, elapsed time. A patient counts once per week (their last PHQ-9 in it), only
  analysed patients (baseline >= ``min_baseline``) count, and each week shows its mean and n
  (plain arithmetic mean; patients leave the average as they stop attending, so later
  weeks describe those still measured: not an intention-to-treat estimate).

* Not on track (:func:`not_on_track`): the clinical-support idea of Lambert's outcome
  monitoring, expected recovery curves by intake severity with a tolerance bound that flags
  patients progressing more slowly than expected (Finch et al. 2001, expected recovery
  curves for an early warning system, OQ-45, N = 11 492; Bybee, Lambert & Eggett 2007,
  Tijdschr Psychother, doi:10.1007/BF03062308). Here the curve is the
  clinic's own: for each baseline severity band and week, the mean and SD (n - 1) of the
  analysed patients' PHQ-9 in that week. A patient is not on track when their latest PHQ-9
  (week >= 1) is above mean + 1.2816 SD (one-sided 90 %) of their band and week, with at least
  10 patients in that cell. The empirical curve, the 90 % bound and n >= 10 are clinic
  choices, not Lambert's fitted curves or cut-offs, and are not validated for BoNT-A.

All proportions carry Wilson 95 % intervals (:mod:`glabella.analytics.stats`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from glabella.analytics.stats import Proportion, funnel_limits, funnel_position, wilson
from glabella.clinic import outcomes

BASELINE_DAYS: int = 14
WEEK6_WINDOW: tuple[int, int] = (35, 50)
WEEK12_WINDOW: tuple[int, int] = (77, 92)
MIN_BASELINE: int = 10
SEVERITY_BANDS: tuple[tuple[str, int, int], ...] = (
    ("moderate (10-14)", 10, 14),
    ("moderately severe (15-19)", 15, 19),
    ("severe (20-27)", 20, 27),
)
"""PHQ-9 severity bands at baseline (Kroenke, Spitzer & Williams 2001)."""


@dataclass(frozen=True)
class CourseRow:
    """One patient's index course as read from the store.

    ``closed6`` / ``closed12``: the week-6 / week-12 window had closed by the analysis date.
    ``month``: the treatment's calendar month, ``"YYYY-MM"``.
    """

    injector: str
    protocol: str | None
    product: str
    month: str
    closed6: bool
    closed12: bool
    baseline: int | None
    week6: int | None
    week12: int | None
    ae_count: int = 0
    ae_max_grade: int | None = None
    ae_serious: int = 0


@dataclass(frozen=True)
class Rates:
    """Outcome proportions of one group of patients."""

    patients: int
    response6: Proportion
    remission6: Proportion
    response6_itt: Proportion
    response12: Proportion
    remission12: Proportion
    lost12: Proportion
    adverse_event: Proportion
    grade3_event: Proportion
    serious_event: Proportion

    def to_dict(self) -> dict[str, object]:
        return {
            "patients": self.patients,
            "response_week6": self.response6.to_dict(),
            "remission_week6": self.remission6.to_dict(),
            "response_week6_itt": self.response6_itt.to_dict(),
            "response_week12": self.response12.to_dict(),
            "remission_week12": self.remission12.to_dict(),
            "lost_to_follow_up_week12": self.lost12.to_dict(),
            "adverse_event": self.adverse_event.to_dict(),
            "grade3_or_higher": self.grade3_event.to_dict(),
            "serious": self.serious_event.to_dict(),
        }


@dataclass(frozen=True)
class FunnelPoint:
    """One injector on the funnel plot of week-6 response."""

    label: str
    events: int
    n: int
    position: str


@dataclass(frozen=True)
class MonthPoint:
    """Index treatments started in a month and their week-6 response so far."""

    month: str
    new_patients: int
    response6: Proportion


@dataclass(frozen=True)
class ClinicOutcomes:
    """Everything the analytics page, CLI and API show about the clinic's results."""

    as_of: dt.datetime
    index_courses: int
    analysed: int
    excluded_no_baseline: int
    excluded_low_baseline: int
    min_baseline: int
    overall: Rates
    by_injector: dict[str, Rates]
    by_protocol: dict[str, Rates]
    by_product: dict[str, Rates]
    by_severity: dict[str, Rates]
    funnel_p0: float | None
    funnel: tuple[FunnelPoint, ...]
    months: tuple[MonthPoint, ...]

    def to_dict(self) -> dict[str, object]:
        def group(d: dict[str, Rates]) -> dict[str, object]:
            return {k: v.to_dict() for k, v in d.items()}

        return {
            "as_of": self.as_of.isoformat(),
            "index_courses": self.index_courses,
            "analysed": self.analysed,
            "excluded": {
                "no_baseline": self.excluded_no_baseline,
                "baseline_below_minimum": self.excluded_low_baseline,
                "min_baseline": self.min_baseline,
            },
            "overall": self.overall.to_dict(),
            "by_injector": group(self.by_injector),
            "by_protocol": group(self.by_protocol),
            "by_product": group(self.by_product),
            "by_baseline_severity": group(self.by_severity),
            "funnel": {
                "outcome": "response_week6",
                "p0": self.funnel_p0,
                "points": [
                    {"label": f.label, "events": f.events, "n": f.n, "position": f.position}
                    for f in self.funnel
                ],
            },
            "months": [
                {
                    "month": m.month,
                    "new_patients": m.new_patients,
                    "response_week6": m.response6.to_dict(),
                }
                for m in self.months
            ],
        }


@dataclass(frozen=True)
class TimedScore:
    """One PHQ-9 of a patient, with the moment of that patient's index treatment."""

    patient: int
    at: dt.datetime
    treated_at: dt.datetime
    total: int


@dataclass(frozen=True)
class WeekMean:
    """Mean PHQ-9 of the patients measured in one week since the index treatment."""

    week: int
    n: int
    mean: float

    def to_dict(self) -> dict[str, object]:
        return {"week": self.week, "n": self.n, "mean": self.mean}


TRAJECTORY_MAX_WEEK: int = 26


def _week_of(days: float) -> int | None:
    if -BASELINE_DAYS <= days <= 0:
        return 0
    if days > 0:
        return math.ceil(days / 7)
    return None


def _weekly_last(
    scores: Sequence[TimedScore], max_week: int
) -> dict[tuple[int, int], tuple[dt.datetime, int]]:
    last: dict[tuple[int, int], tuple[dt.datetime, int]] = {}
    for s in scores:
        if s.at.tzinfo is None or s.treated_at.tzinfo is None:
            raise ValueError("score and treatment times must be timezone-aware")
        if not 0 <= s.total <= PHQ9_MAX:
            raise ValueError(f"patient {s.patient}: a PHQ-9 total outside 0-{PHQ9_MAX}")
        week = _week_of((s.at - s.treated_at).total_seconds() / 86400)
        if week is None or week > max_week:
            continue
        key = (s.patient, week)
        seen = last.get(key)
        if seen is None or s.at >= seen[0]:
            last[key] = (s.at, s.total)
    return last


NOT_ON_TRACK_Z: float = 1.2816
"""One-sided 90 % normal quantile for the tolerance bound (a clinic choice)."""
NOT_ON_TRACK_MIN_N: int = 10
"""Fewest patients in a band-week cell before its expected curve is used."""


@dataclass(frozen=True)
class OffTrack:
    """A patient whose latest PHQ-9 is above the expected-recovery bound for their band."""

    patient: int
    week: int
    score: int
    baseline: int
    band: str
    expected: float
    bound: float
    n: int
    at: dt.datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "patient_id": self.patient,
            "week": self.week,
            "score": self.score,
            "baseline": self.baseline,
            "band": self.band,
            "expected_mean": self.expected,
            "bound": self.bound,
            "n": self.n,
            "at": self.at.isoformat(),
        }


def not_on_track(
    scores: Sequence[TimedScore],
    min_baseline: int = MIN_BASELINE,
    z: float = NOT_ON_TRACK_Z,
    min_n: int = NOT_ON_TRACK_MIN_N,
    max_week: int = TRAJECTORY_MAX_WEEK,
) -> tuple[OffTrack, ...]:
    """Patients above their band's expected-recovery bound (module docstring)."""
    last = _weekly_last(scores, max_week)
    baseline = {p: total for (p, w), (_, total) in last.items() if w == 0}
    band = {p: severity_band(b) for p, b in baseline.items() if b >= min_baseline}
    cells: dict[tuple[str, int], list[int]] = {}
    latest: dict[int, tuple[int, dt.datetime, int]] = {}
    for (p, w), (at, total) in last.items():
        b = band.get(p)
        if b is None or w == 0:
            continue
        cells.setdefault((b, w), []).append(total)
        if p not in latest or w > latest[p][0]:
            latest[p] = (w, at, total)
    out = []
    for p, (w, at, total) in sorted(latest.items()):
        b = band[p]
        assert b is not None
        values = cells[(b, w)]
        if len(values) < min_n:
            continue
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        bound = mean + z * sd
        if total > bound:
            out.append(OffTrack(p, w, total, baseline[p], b, mean, bound, len(values), at))
    return tuple(out)


def mean_trajectory(
    scores: Sequence[TimedScore],
    min_baseline: int = MIN_BASELINE,
    max_week: int = TRAJECTORY_MAX_WEEK,
) -> tuple[WeekMean, ...]:
    """Mean PHQ-9 by week since the index treatment (definition in the module docstring)."""
    last = _weekly_last(scores, max_week)
    analysed = {p for (p, w), (_, total) in last.items() if w == 0 and total >= min_baseline}
    by_week: dict[int, list[int]] = {}
    for (p, w), (_, total) in last.items():
        if p in analysed:
            by_week.setdefault(w, []).append(total)
    return tuple(WeekMean(w, len(v), sum(v) / len(v)) for w, v in sorted(by_week.items()))


@cache
def _tables() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Response[baseline, value] and remission[value] from ``glabella.clinic.outcomes``."""
    size = PHQ9_MAX + 1
    response = np.zeros((size, size), dtype=bool)
    remission = np.zeros(size, dtype=bool)
    for b in range(size):
        remission[b] = bool(outcomes.is_remission("phq9", b))
        for v in range(size):
            response[b, v] = bool(outcomes.is_response(b, v))
    return response, remission


PHQ9_MAX = 27
_FLAGS = (
    "w6",
    "resp6",
    "rem6",
    "closed6",
    "resp6_closed",
    "w12",
    "resp12",
    "rem12",
    "closed12",
    "lost12",
    "ae",
    "g3",
    "serious",
)


@dataclass(frozen=True)
class CourseColumns:
    """Index courses column by column (what the service reads; :class:`CourseRow` per row)."""

    injector: Sequence[str]
    protocol: Sequence[str | None]
    product: Sequence[str]
    month: Sequence[str]
    closed6: Sequence[bool | int]
    closed12: Sequence[bool | int]
    baseline: Sequence[int | None]
    week6: Sequence[int | None]
    week12: Sequence[int | None]
    ae_count: Sequence[int | None]
    ae_max_grade: Sequence[int | None]
    ae_serious: Sequence[int | None]

    @classmethod
    def from_rows(cls, rows: Sequence[CourseRow]) -> CourseColumns:
        return cls(
            injector=[r.injector for r in rows],
            protocol=[r.protocol for r in rows],
            product=[r.product for r in rows],
            month=[r.month for r in rows],
            closed6=[r.closed6 for r in rows],
            closed12=[r.closed12 for r in rows],
            baseline=[r.baseline for r in rows],
            week6=[r.week6 for r in rows],
            week12=[r.week12 for r in rows],
            ae_count=[r.ae_count for r in rows],
            ae_max_grade=[r.ae_max_grade for r in rows],
            ae_serious=[r.ae_serious for r in rows],
        )

    def __len__(self) -> int:
        return len(self.injector)


def _ints(values: Sequence[int | bool | None], missing: int = -1) -> npt.NDArray[np.int64]:
    try:
        return np.asarray(values, dtype=np.int64)  # fast path: no missing values
    except TypeError:
        return np.fromiter(
            (missing if v is None else int(v) for v in values), dtype=np.int64, count=len(values)
        )


def _score(values: Sequence[int | None], name: str) -> npt.NDArray[np.int64]:
    out = _ints(values)
    if out.size and (out.max() > PHQ9_MAX or out.min() < -1):
        raise ValueError(f"{name}: a PHQ-9 total outside 0-{PHQ9_MAX}")
    return out


def _flag_matrix(cols: CourseColumns, keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    response, remission = _tables()
    base = _score(cols.baseline, "baseline")[keep]
    w6 = _score(cols.week6, "week 6")[keep]
    w12 = _score(cols.week12, "week 12")[keep]
    closed6 = _ints(cols.closed6, 0)[keep] > 0
    closed12 = _ints(cols.closed12, 0)[keep] > 0
    has6, has12 = w6 >= 0, w12 >= 0
    b = np.clip(base, 0, PHQ9_MAX)
    resp6 = has6 & response[b, np.clip(w6, 0, PHQ9_MAX)]
    resp12 = has12 & response[b, np.clip(w12, 0, PHQ9_MAX)]
    rem6 = has6 & remission[np.clip(w6, 0, PHQ9_MAX)]
    rem12 = has12 & remission[np.clip(w12, 0, PHQ9_MAX)]
    ae = _ints(cols.ae_count, 0)[keep] > 0
    g3 = _ints(cols.ae_max_grade, 0)[keep] >= 3
    serious = _ints(cols.ae_serious, 0)[keep] > 0
    columns = (
        has6,
        resp6,
        rem6,
        closed6,
        resp6 & closed6,
        has12,
        resp12,
        rem12,
        closed12,
        closed12 & ~has12,
        ae,
        g3,
        serious,
    )
    return np.stack([c.astype(np.int64) for c in columns], axis=1)


def _rates(patients: int, sums: npt.NDArray[np.int64]) -> Rates:
    f = dict(zip(_FLAGS, (int(x) for x in sums), strict=True))
    return Rates(
        patients=patients,
        response6=wilson(f["resp6"], f["w6"]),
        remission6=wilson(f["rem6"], f["w6"]),
        response6_itt=wilson(f["resp6_closed"], f["closed6"]),
        response12=wilson(f["resp12"], f["w12"]),
        remission12=wilson(f["rem12"], f["w12"]),
        lost12=wilson(f["lost12"], f["closed12"]),
        adverse_event=wilson(f["ae"], patients),
        grade3_event=wilson(f["g3"], patients),
        serious_event=wilson(f["serious"], patients),
    )


def _factorize(values: Sequence[str | None]) -> tuple[npt.NDArray[np.int64], list[str | None]]:
    index: dict[str | None, int] = {}
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values)
    )
    return codes, list(index)


def _grouped(
    labels: Sequence[str | None], flags: npt.NDArray[np.int64]
) -> dict[str, tuple[int, npt.NDArray[np.int64]]]:
    codes, names = _factorize(labels)
    out: dict[str, tuple[int, npt.NDArray[np.int64]]] = {}
    if not names:
        return out
    counts = np.bincount(codes, minlength=len(names))
    sums = np.stack(
        [np.bincount(codes, weights=flags[:, j], minlength=len(names)) for j in range(len(_FLAGS))],
        axis=1,
    ).astype(np.int64)
    for i, name in enumerate(names):
        if name is not None:
            out[name] = (int(counts[i]), sums[i])
    return dict(sorted(out.items()))


def severity_band(baseline: int | None) -> str | None:
    """The baseline PHQ-9 band label, or None below 10."""
    if baseline is None:
        return None
    for label, lo, hi in SEVERITY_BANDS:
        if lo <= baseline <= hi:
            return label
    return None


def analyse(
    rows: Sequence[CourseRow] | CourseColumns,
    as_of: dt.datetime,
    min_baseline: int = MIN_BASELINE,
) -> ClinicOutcomes:
    """Clinic outcomes from every index course (see the module docstring for definitions)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    cols = rows if isinstance(rows, CourseColumns) else CourseColumns.from_rows(rows)
    base = _score(cols.baseline, "baseline")
    keep = base >= min_baseline
    no_base = int((base < 0).sum())
    low = int(((base >= 0) & (base < min_baseline)).sum())
    flags = _flag_matrix(cols, keep)
    kept = np.flatnonzero(keep)
    kept_list: list[int] = kept.tolist()

    def pick(values: Sequence[str | None]) -> list[str | None]:
        return [values[i] for i in kept_list]

    def group(labels: Sequence[str | None]) -> dict[str, Rates]:
        return {k: _rates(n, v) for k, (n, v) in _grouped(labels, flags).items()}

    overall = _rates(len(kept), flags.sum(axis=0))
    by_injector = group(pick(cols.injector))
    p0 = overall.response6.estimate
    funnel: list[FunnelPoint] = []
    if p0 is not None:
        for name, g in by_injector.items():
            if g.response6.n > 0:
                funnel.append(
                    FunnelPoint(
                        name,
                        g.response6.events,
                        g.response6.n,
                        funnel_position(g.response6.events, g.response6.n, p0),
                    )
                )
    months = tuple(
        MonthPoint(m, n, wilson(int(v[_FLAGS.index("resp6")]), int(v[_FLAGS.index("w6")])))
        for m, (n, v) in _grouped(pick(cols.month), flags).items()
    )
    kept_base = base[keep]
    bands = [severity_band(b) for b in range(PHQ9_MAX + 1)]
    return ClinicOutcomes(
        as_of=as_of,
        index_courses=len(cols),
        analysed=len(kept),
        excluded_no_baseline=no_base,
        excluded_low_baseline=low,
        min_baseline=min_baseline,
        overall=overall,
        by_injector=by_injector,
        by_protocol=group([p or "no named protocol" for p in pick(cols.protocol)]),
        by_product=group(pick(cols.product)),
        by_severity=group([bands[b] for b in kept_base.tolist()]),
        funnel_p0=p0,
        funnel=tuple(funnel),
        months=months,
    )


__all__ = [
    "MIN_BASELINE",
    "WEEK6_WINDOW",
    "WEEK12_WINDOW",
    "ClinicOutcomes",
    "CourseColumns",
    "CourseRow",
    "FunnelPoint",
    "MonthPoint",
    "OffTrack",
    "Rates",
    "TimedScore",
    "WeekMean",
    "analyse",
    "funnel_limits",
    "mean_trajectory",
    "not_on_track",
    "severity_band",
]
