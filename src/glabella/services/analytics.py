"""Clinic analytics use case: read index courses with SQL, compute in pure code, audit the read.

The per-course values (baseline, week-6 and week-12 PHQ-9) are picked by the database with
correlated sub-queries and kept in a materialised summary (``analytics_courses``); each read
first refreshes the rows of patients with assessments or treatments newer than the summary's
watermarks, then reads one row per patient with the adverse events joined live. The window
arithmetic differs by dialect (``datetime(x, '+35 days')`` on SQLite, ``x + interval`` on
PostgreSQL); both compare against stored UTC times. Assessments and treatments are never
edited or deleted by the application; after a manual change, rebuild the summary
(``glabella analytics --rebuild``).
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union,
)
from sqlalchemy.orm import Session, aliased

from glabella.analytics.compute import (
    BASELINE_DAYS,
    MIN_BASELINE,
    TRAJECTORY_MAX_WEEK,
    WEEK6_WINDOW,
    WEEK12_WINDOW,
    ClinicOutcomes,
    CourseColumns,
    OffTrack,
    TimedScore,
    WeekMean,
    analyse,
    mean_trajectory,
    not_on_track,
)
from glabella.analytics.trials import TrialBenchmark, trial_benchmarks, trials_headline
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden
from glabella.services.roles import CLINICAL_ROLES, Role
from glabella.store.analytics import AnalyticsCourse, AnalyticsState
from glabella.store.models import Assessment, Patient
from glabella.store.pathway import AdverseEventRecord, Treatment

ANALYTICS_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN, Role.NURSE, Role.RESEARCHER})
"""Aggregates only (no patient is named): clinical staff and researchers."""
OUTCOME_INSTRUMENT = "phq9"


@dataclass(frozen=True)
class AnalyticsReport:
    """The clinic's outcomes, the trials beside them, and the monthly activity."""

    outcomes: ClinicOutcomes
    trials: dict[str, TrialBenchmark]
    treatments_per_month: tuple[tuple[str, int], ...]
    adverse_events_by_type: tuple[tuple[str, int], ...]
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    trials_headline: dict[str, object] = field(default_factory=dict)
    trajectory: tuple[WeekMean, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            **self.outcomes.to_dict(),
            "phq9_trajectory": [w.to_dict() for w in self.trajectory],
            "trials_headline": self.trials_headline,
            "trials": {k: v.to_dict() for k, v in self.trials.items()},
            "treatments_per_month": [
                {"month": m, "treatments": n} for m, n in self.treatments_per_month
            ],
            "adverse_events_by_type": [
                {"type": t, "events": n} for t, n in self.adverse_events_by_type
            ],
            "definitions": DEFINITIONS,
        }


DEFINITIONS = {
    "unit": "each patient's first treatment in the clinic (index course)",
    "baseline": f"last PHQ-9 in the {BASELINE_DAYS} days up to the treatment",
    "week6": f"last PHQ-9 {WEEK6_WINDOW[0]}-{WEEK6_WINDOW[1]} days after the treatment",
    "week12": f"last PHQ-9 {WEEK12_WINDOW[0]}-{WEEK12_WINDOW[1]} days after the treatment",
    "response": "PHQ-9 reduced by at least 50 % from baseline",
    "remission": "PHQ-9 of 4 or less",
    "itt": "missing week-6 PHQ-9 counted as no response, among patients whose window closed",
    "lost_to_follow_up": "week-12 window closed with no PHQ-9 in it",
    "interval": "Wilson score 95 % confidence interval",
    "trials": "BoNT-A arms' events and patients summed over the pooled trials (crude); "
    "pooled risk ratio and GRADE certainty from the evidence synthesis",
    "months": "calendar months in UTC",
    "phq9_trajectory": "mean PHQ-9 by week since the first treatment (week 0 = baseline; week "
    "k = days 7(k-1) to 7k after it), each analysed patient's last PHQ-9 of the week, with n; "
    "patients who stop attending leave the mean (not intention to treat)",
}


def _shift(session: Session, column: Any, days: int) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        sign = "+" if days >= 0 else "-"
        shifted: ColumnElement[Any] = func.datetime(column, f"{sign}{abs(days)} days")
        return shifted
    moved: ColumnElement[Any] = column + literal(dt.timedelta(days=days))
    return moved


def _month(session: Session, column: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(column, 1, 7)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


def _picks(session: Session, patient_ids: Sequence[int] | None) -> Select[Any]:
    """Each patient's first treatment with the PHQ-9 picks (the summary's rows)."""
    t = aliased(Treatment)
    t0 = aliased(Treatment)
    a = aliased(Assessment)

    def pick(lo: Any, hi: Any, *, hi_inclusive: bool) -> Any:
        upper = a.submitted_at <= hi if hi_inclusive else a.submitted_at < hi
        return func.coalesce(
            select(a.total)
            .where(
                a.patient_id == t.patient_id,
                a.instrument_id == OUTCOME_INSTRUMENT,
                a.submitted_at >= lo,
                upper,
            )
            .order_by(a.submitted_at.desc(), a.id.desc())
            .limit(1)
            .scalar_subquery(),
            -1,
        )

    earlier = (
        select(t0.id)
        .where(
            t0.patient_id == t.patient_id,
            (t0.treated_at < t.treated_at) | and_(t0.treated_at == t.treated_at, t0.id < t.id),
        )
        .exists()
    )
    stmt = (
        select(
            t.patient_id,
            Patient.clinic_id,
            t.id,
            t.treated_at,
            _month(session, t.treated_at),
            t.injector_name,
            t.protocol_id,
            t.product_id,
            pick(_shift(session, t.treated_at, -BASELINE_DAYS), t.treated_at, hi_inclusive=True),
            pick(
                _shift(session, t.treated_at, WEEK6_WINDOW[0]),
                _shift(session, t.treated_at, WEEK6_WINDOW[1]),
                hi_inclusive=False,
            ),
            pick(
                _shift(session, t.treated_at, WEEK12_WINDOW[0]),
                _shift(session, t.treated_at, WEEK12_WINDOW[1]),
                hi_inclusive=False,
            ),
        )
        .join(Patient, Patient.id == t.patient_id)
        .where(~earlier)
    )
    if patient_ids is not None:
        stmt = stmt.where(t.patient_id.in_(patient_ids))
    return stmt


_SUMMARY_COLUMNS = (
    "patient_id",
    "clinic_id",
    "treatment_id",
    "treated_at",
    "month",
    "injector_name",
    "protocol_id",
    "product_id",
    "baseline",
    "week6",
    "week12",
)
SAFETY_IDS = 200
"""Ids below the watermark that are looked at again on every refresh: on PostgreSQL a
transaction that took a lower id can commit after one with a higher id."""
FULL_REBUILD_FROM = 5000
"""More changed patients than this and the summary is rebuilt in one statement."""
REFRESH_LOCK_KEY = 7_313_377_002


@dataclass(frozen=True)
class RefreshReport:
    mode: str  # "none", "incremental" or "full"
    patients: int


def refresh(session: Session, *, full: bool = False) -> RefreshReport:
    """Bring ``analytics_courses`` up to date with assessments and treatments (all clinics)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK_KEY})
    state = dict(session.execute(select(AnalyticsState.key, AnalyticsState.value)).all())
    last_a, last_t = state.get("assessment_id", 0), state.get("treatment_id", 0)
    max_a = session.scalar(select(func.max(Assessment.id))) or 0
    max_t = session.scalar(select(func.max(Treatment.id))) or 0
    if not full and (max_a, max_t) == (last_a, last_t):
        return RefreshReport("none", 0)
    table = AnalyticsCourse.__table__
    cols = [table.c[name] for name in _SUMMARY_COLUMNS]
    changed: list[int] = []
    if not full and (last_a or last_t):
        changed = sorted(
            set(
                session.scalars(
                    union(
                        select(Assessment.patient_id).where(Assessment.id > last_a - SAFETY_IDS),
                        select(Treatment.patient_id).where(Treatment.id > last_t - SAFETY_IDS),
                    )
                ).all()
            )
        )
        full = len(changed) > FULL_REBUILD_FROM
    else:
        full = True
    if full:
        session.execute(delete(AnalyticsCourse))
        session.execute(insert(AnalyticsCourse).from_select(cols, _picks(session, None)))
        mode, count = "full", session.scalar(select(func.count()).select_from(AnalyticsCourse))
    else:
        for i in range(0, len(changed), 500):
            chunk = changed[i : i + 500]
            session.execute(delete(AnalyticsCourse).where(AnalyticsCourse.patient_id.in_(chunk)))
            session.execute(insert(AnalyticsCourse).from_select(cols, _picks(session, chunk)))
        mode, count = "incremental", len(changed)
    for key, value in (("assessment_id", max_a), ("treatment_id", max_t)):
        row = session.get(AnalyticsState, key)
        if row is None:
            session.add(AnalyticsState(key=key, value=value))
        else:
            row.value = value
    session.flush()
    return RefreshReport(mode, int(count or 0))


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while many row tuples are built.

    Measured (bench/results/clinic_bench_quiet_sqlite.json and the lead's note): fetching the
    100,000-row summary took 0.45 s with the collector on and 0.28 s without, and the raw fetch
    grew 16.5x from 10k to 100k patients with it on but 10.3x (linear) with it off - the
    collector's full passes over the growing heap are what made the read super-linear. The
    rows hold no reference cycles; reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def course_rows(session: Session, clinic_id: int, as_of: dt.datetime) -> CourseColumns:
    """One row per patient of the clinic from the (refreshed) summary, with the AE summary."""
    c = AnalyticsCourse

    def closed(window: tuple[int, int]) -> ColumnElement[int]:
        cutoff = as_of - dt.timedelta(days=window[1])
        return case((c.treated_at <= cutoff, 1), else_=0)

    ae = (
        select(
            AdverseEventRecord.treatment_id.label("treatment_id"),
            func.count().label("n"),
            func.max(AdverseEventRecord.grade).label("max_grade"),
            func.sum(case((AdverseEventRecord.seriousness != "", 1), else_=0)).label("serious"),
        )
        .where(AdverseEventRecord.treatment_id.is_not(None))
        .group_by(AdverseEventRecord.treatment_id)
        .subquery()
    )
    stmt = (
        select(
            c.injector_name,
            c.protocol_id,
            c.product_id,
            c.month,
            closed(WEEK6_WINDOW),
            closed(WEEK12_WINDOW),
            c.baseline,
            c.week6,
            c.week12,
            func.coalesce(ae.c.n, 0),
            func.coalesce(ae.c.max_grade, 0),
            func.coalesce(ae.c.serious, 0),
        )
        .outerjoin(ae, ae.c.treatment_id == c.treatment_id)
        .where(c.clinic_id == clinic_id)
    )
    with _no_cyclic_gc():
        rows = session.connection().execute(stmt).all()
        if not rows:
            return CourseColumns([], [], [], [], [], [], [], [], [], [], [], [])
        cols = list(zip(*rows, strict=True))
        return CourseColumns(*cols)


def treatments_per_month(
    session: Session, clinic_id: int, as_of: dt.datetime | None = None
) -> list[tuple[str, int]]:
    """Every treatment (first and repeat) per calendar month (UTC)."""
    month = _month(session, Treatment.treated_at).label("month")
    stmt = (
        select(month, func.count())
        .join(Patient, Patient.id == Treatment.patient_id)
        .where(Patient.clinic_id == clinic_id)
        .group_by(month)
        .order_by(month)
    )
    return [(str(m), int(n)) for m, n in session.execute(stmt)]


def adverse_events_by_type(
    session: Session, clinic_id: int, as_of: dt.datetime | None = None
) -> list[tuple[str, int]]:
    """Adverse events of the clinic's patients by type, most frequent first."""
    stmt = (
        select(AdverseEventRecord.type, func.count())
        .join(Patient, Patient.id == AdverseEventRecord.patient_id)
        .where(Patient.clinic_id == clinic_id)
        .group_by(AdverseEventRecord.type)
        .order_by(func.count().desc(), AdverseEventRecord.type)
    )
    return [(str(k), int(n)) for k, n in session.execute(stmt)]


def trajectory_scores(
    session: Session, clinic_id: int, as_of: dt.datetime | None = None
) -> list[TimedScore]:
    """Every PHQ-9 from the baseline window to week 26 of each patient's index course."""
    c = AnalyticsCourse
    a = Assessment
    stmt = (
        select(c.patient_id, a.submitted_at, c.treated_at, a.total)
        .join(a, a.patient_id == c.patient_id)
        .where(
            c.clinic_id == clinic_id,
            a.instrument_id == OUTCOME_INSTRUMENT,
            a.submitted_at >= _shift(session, c.treated_at, -BASELINE_DAYS),
            a.submitted_at <= _shift(session, c.treated_at, 7 * TRAJECTORY_MAX_WEEK),
        )
    )
    if as_of is not None:
        stmt = stmt.where(a.submitted_at <= as_of)
    return [TimedScore(int(p), at, t, int(total)) for p, at, t, total in session.execute(stmt)]


QUERIES: dict[str, Callable[[Session, int, dt.datetime], object]] = {
    "course_rows": course_rows,
    "treatments_per_month": treatments_per_month,
    "adverse_events_by_type": adverse_events_by_type,
    "trajectory_scores": trajectory_scores,
}
"""The dashboard's queries by name (the benchmark times each one)."""


def clinic_analytics(
    db: Database,
    actor: Actor,
    *,
    as_of: dt.datetime | None = None,
    min_baseline: int = MIN_BASELINE,
    rebuild: bool = False,
) -> AnalyticsReport:
    """The clinic's outcomes against the trials (aggregates only; the read is audited)."""
    if actor.role not in ANALYTICS_ROLES:
        raise Forbidden(f"your role ({actor.role}) may not view clinic analytics")
    moment = as_of or db.now()
    timings: dict[str, float] = {}
    with db.transaction() as session:
        started = time.perf_counter()
        refreshed = refresh(session, full=rebuild)
        timings["refresh"] = time.perf_counter() - started
        started = time.perf_counter()
        rows = course_rows(session, actor.clinic_id, moment)
        timings["course_rows"] = time.perf_counter() - started
        started = time.perf_counter()
        monthly = treatments_per_month(session, actor.clinic_id)
        timings["treatments_per_month"] = time.perf_counter() - started
        started = time.perf_counter()
        by_type = adverse_events_by_type(session, actor.clinic_id)
        timings["adverse_events_by_type"] = time.perf_counter() - started
        started = time.perf_counter()
        timed = trajectory_scores(session, actor.clinic_id, moment)
        timings["trajectory_scores"] = time.perf_counter() - started
        audit.record(
            session,
            actor,
            "analytics.view",
            "clinic",
            actor.clinic_id,
            courses=len(rows),
            refresh=refreshed.mode,
        )
    started = time.perf_counter()
    with _no_cyclic_gc():
        result = analyse(rows, moment, min_baseline)
        trajectory = mean_trajectory(timed, min_baseline)
    timings["compute"] = time.perf_counter() - started
    return AnalyticsReport(
        outcomes=result,
        trials=trial_benchmarks(),
        treatments_per_month=tuple(monthly),
        adverse_events_by_type=tuple(by_type),
        timings=timings,
        trials_headline=trials_headline(),
        trajectory=trajectory,
    )


NOT_ON_TRACK_RECENT_DAYS = 42
"""Only patients whose latest PHQ-9 is this recent are listed (a finished course is not)."""


@dataclass(frozen=True)
class NotOnTrackRow:
    """A named patient on the not-on-track list (clinical roles only)."""

    patient_id: int
    name: str
    mrn: str
    flag: OffTrack

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "mrn": self.mrn, **self.flag.to_dict()}


def not_on_track_list(
    db: Database, actor: Actor, *, as_of: dt.datetime | None = None
) -> tuple[NotOnTrackRow, ...]:
    """Patients above their band's expected-recovery bound, latest PHQ-9 in the last 42 days."""
    if actor.role not in CLINICAL_ROLES:
        raise Forbidden(f"your role ({actor.role}) may not view the not-on-track list")
    moment = as_of or db.now()
    with db.transaction() as session:
        refresh(session)
        flags = [
            f
            for f in not_on_track(trajectory_scores(session, actor.clinic_id, moment))
            if f.at >= moment - dt.timedelta(days=NOT_ON_TRACK_RECENT_DAYS)
        ]
        names = {
            p.id: p
            for p in session.scalars(
                select(Patient).where(
                    Patient.clinic_id == actor.clinic_id,
                    Patient.id.in_([f.patient for f in flags]),
                )
            )
        }
        rows = tuple(
            NotOnTrackRow(
                f.patient,
                f"{names[f.patient].family_name}, {names[f.patient].given_name}",
                names[f.patient].mrn,
                f,
            )
            for f in flags
            if f.patient in names
        )
        audit.record(
            session, actor, "not_on_track.view", "clinic", actor.clinic_id, patients=len(rows)
        )
    return rows
