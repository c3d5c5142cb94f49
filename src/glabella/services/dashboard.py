"""The clinician's dashboard: a paged worklist sorted by urgency, open alerts, recent results.

Urgency order (the database sorts and pages; nothing is read for patients off the page):

1. patients with an open safety alert, the most urgent level first, then the oldest alert;
2. then patients with an overdue follow-up visit, the most days overdue first (a visit of the
   latest treatment whose window closed with no PHQ-9 inside it while no later visit's window
   has opened yet: the rules of :mod:`glabella.clinic.schedule`, counted in clinic-local days;
   a visit superseded by a later window is ``missed``, history, and neither sorts nor matches
   the ``overdue_days`` filter);
3. then everyone else by name.

Filters: ``mine`` (patients the signed-in user treated, screened or entered an assessment for:
the data model has no responsible clinician), ``overdue_days`` (at least N days overdue) and
``alert_level`` (an open alert of that level, or ``any``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from glabella import labels
from glabella.clinic import schedule
from glabella.services import audit
from glabella.services.alerts import AlertView, list_alerts
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.followup import FOLLOWUP_INSTRUMENT
from glabella.services.patients import require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.services.worklist_sql import date_days, date_shifted, day_number, local_day
from glabella.store.models import Alert, Assessment, Patient
from glabella.store.pathway import Screening, Treatment

PER_PAGE = 50
MAX_PER_PAGE = 200
ALERT_LEVEL_RANK: dict[str, int] = {"urgent": 3, "high": 2, "moderate": 1}
"""Sort rank of an open alert's level (the safety rules raise ``urgent``; any other level
sorts below the named ones)."""
ALERT_LEVEL_LABELS: dict[str, str] = dict(labels.ALERT_LEVELS)  # one map: glabella.labels
DASHBOARD_ALERTS = 20
"""Open alerts shown as cards with their action form; the rest are on the alert list."""


@dataclass(frozen=True)
class WorklistFilters:
    page: int = 1
    per_page: int = PER_PAGE
    mine: bool = False
    overdue_days: int | None = None
    alert_level: str | None = None

    def validate(self) -> None:
        if self.page < 1:
            raise Invalid("the page number must be 1 or more", field="page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise Invalid(
                f"patients per page must be between 1 and {MAX_PER_PAGE}", field="per_page"
            )
        if self.overdue_days is not None and self.overdue_days < 0:
            raise Invalid("days overdue must be 0 or more", field="overdue_days")
        if self.alert_level not in (None, "any", *ALERT_LEVEL_RANK):
            levels = ", ".join(["any", *ALERT_LEVEL_RANK])
            raise Invalid(f"alert level must be one of: {levels}", field="alert_level")


@dataclass(frozen=True)
class WorklistRow:
    patient_id: int
    patient_name: str
    mrn: str
    open_alerts: int
    alert_level: str | None
    alert_since: dt.datetime | None
    overdue_visit: str | None
    overdue_days: int | None
    last_assessed_at: dt.datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "mrn": self.mrn,
            "open_alerts": self.open_alerts,
            "alert_level": self.alert_level,
            "alert_since": self.alert_since.isoformat() if self.alert_since else None,
            "overdue_visit": self.overdue_visit,
            "overdue_days": self.overdue_days,
            "last_assessed_at": self.last_assessed_at.isoformat()
            if self.last_assessed_at
            else None,
        }


@dataclass(frozen=True)
class WorklistPage:
    rows: list[WorklistRow]
    total: int
    filters: WorklistFilters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filters.per_page))

    @property
    def first_index(self) -> int:
        return (self.filters.page - 1) * self.filters.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0

    def to_dict(self) -> dict[str, object]:
        f = self.filters
        return {
            "total": self.total,
            "page": f.page,
            "per_page": f.per_page,
            "pages": self.pages,
            "filters": {
                "mine": f.mine,
                "overdue_days": f.overdue_days,
                "alert_level": f.alert_level,
            },
            "rows": [r.to_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class RecentResult:
    assessment_id: int
    patient_id: int
    patient_name: str
    instrument_id: str
    total: int
    band: str
    submitted_at: dt.datetime


@dataclass(frozen=True)
class Dashboard:
    alerts: list[AlertView]
    open_alert_count: int
    worklist: WorklistPage
    recent: list[RecentResult]


def _rank(level: Any) -> ColumnElement[int]:
    return case(
        *((level == name, literal(rank)) for name, rank in ALERT_LEVEL_RANK.items()),
        else_=literal(0),
    )


def worklist(db: Database, actor: Actor, filters: WorklistFilters) -> WorklistPage:
    """One page of the clinic's patients in urgency order (see the module docstring)."""
    require_role(actor, CLINICAL_ROLES, "view the clinical dashboard")
    filters.validate()
    now = db.now()
    with db.transaction() as session:
        page = _worklist(session, actor, filters, now)
        audit.record(
            session,
            actor,
            "dashboard.view",
            "patient",
            None,
            page=filters.page,
            results=len(page.rows),
            total=page.total,
        )
    return page


def _worklist(
    session: Any, actor: Actor, filters: WorklistFilters, now: dt.datetime
) -> WorklistPage:
    dialect = session.get_bind().dialect.name
    tz = clinic_zone(session, actor)
    today = schedule.local_date(now, tz)
    first_seen = session.execute(select(func.min(Assessment.submitted_at))).scalar()
    lo = (first_seen.date() if first_seen else today) - dt.timedelta(days=2)
    hi = today + dt.timedelta(days=2)

    alerts = (
        select(
            Alert.patient_id.label("patient_id"),
            func.max(_rank(Alert.level) + 1).label("rank"),
            func.min(Alert.created_at).label("since"),
        )
        .where(Alert.status == "open")
        .group_by(Alert.patient_id)
        .subquery("open_alerts")
    )
    latest = (
        select(
            Treatment.patient_id.label("patient_id"),
            func.max(Treatment.treatment_date).label("treated_on"),
        )
        .group_by(Treatment.patient_id)
        .subquery("latest_treatment")
    )
    day0 = date_days(dialect, latest.c.treated_on)
    assessed_day = local_day(dialect, Assessment.submitted_at, tz, lo, hi)
    today_n = day_number(today)
    first_overdue = []
    for index, spec in enumerate(schedule.DEFAULT_VISITS):
        target = spec.week * 7
        opens, closes = target - spec.days_before, target + spec.days_after
        done = exists().where(
            Assessment.patient_id == Patient.id,
            Assessment.instrument_id == FOLLOWUP_INSTRUMENT,
            # coarse UTC range first (an index range scan), then the exact local day
            Assessment.submitted_at >= date_shifted(dialect, latest.c.treated_on, opens - 1),
            Assessment.submitted_at < date_shifted(dialect, latest.c.treated_on, closes + 2),
            assessed_day >= day0 + (target - spec.days_before),
            assessed_day <= day0 + (target + spec.days_after),
        )
        closes_at = day0 + (target + spec.days_after)
        overdue_now = [closes_at < today_n]
        # superseded by a later window that has opened: "missed", not overdue (schedule rule)
        later = schedule.superseded_after_days(spec, schedule.DEFAULT_VISITS)
        if later is not None:
            overdue_now.append(day0 + later > today_n)
        first_overdue.append((and_(*overdue_now, ~done), literal(index)))
    visit_index = case(*first_overdue, else_=None)
    conditions: list[ColumnElement[bool]] = [Patient.clinic_id == actor.clinic_id]
    if filters.mine:
        me = actor.user_id
        conditions.append(
            or_(
                exists().where(Treatment.patient_id == Patient.id, Treatment.injector_id == me),
                exists().where(Screening.patient_id == Patient.id, Screening.screened_by_id == me),
                exists().where(Assessment.patient_id == Patient.id, Assessment.entered_by_id == me),
            )
        )
    if filters.alert_level == "any":
        conditions.append(alerts.c.rank.is_not(None))
    elif filters.alert_level is not None:
        conditions.append(alerts.c.rank == ALERT_LEVEL_RANK[filters.alert_level] + 1)
    keyed = (
        select(
            Patient.id.label("patient_id"),
            Patient.family_name.label("family_name"),
            Patient.given_name.label("given_name"),
            func.coalesce(alerts.c.rank, 0).label("alert_rank"),
            alerts.c.since.label("alert_since"),
            day0.label("day0"),
            visit_index.label("visit_index"),
        )
        .outerjoin(alerts, alerts.c.patient_id == Patient.id)
        .outerjoin(latest, latest.c.patient_id == Patient.id)
        .where(*conditions)
    )
    # Materialised once: otherwise the planner inlines the visit CASE (four EXISTS) into
    # every expression that reads it (days overdue, the sort key), evaluating it many times.
    k = keyed.cte("keyed").prefix_with("MATERIALIZED")
    closes_offset = case(
        *(
            (k.c.visit_index == index, literal(spec.week * 7 + spec.days_after))
            for index, spec in enumerate(schedule.DEFAULT_VISITS)
        ),
        else_=None,
    )
    overdue = (literal(today_n) - k.c.day0 - closes_offset).label("overdue_days")
    ranked = select(k, overdue).subquery("ranked")
    # The total rides along as a window count: the keys are computed once for both.
    query = select(ranked, func.count().over().label("total"))
    if filters.overdue_days is not None:
        query = query.where(ranked.c.overdue_days >= filters.overdue_days)
    page_rows = session.execute(
        query.order_by(
            ranked.c.alert_rank.desc(),
            ranked.c.alert_since,
            func.coalesce(ranked.c.overdue_days, -1).desc(),
            ranked.c.family_name,
            ranked.c.given_name,
            ranked.c.patient_id,
        )
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    ).all()
    if page_rows:
        total = int(page_rows[0].total)
    else:  # past the last page: count on its own
        total = int(
            session.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
        )
    rows = _details(session, page_rows)
    return WorklistPage(rows=rows, total=total, filters=filters)


def _details(session: Any, page_rows: list[Any]) -> list[WorklistRow]:
    """Names, alert levels and last assessment of the patients on the page only."""
    ids = [r.patient_id for r in page_rows]
    if not ids:
        return []
    patients = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    last = dict(
        session.execute(
            select(Assessment.patient_id, func.max(Assessment.submitted_at))
            .where(Assessment.patient_id.in_(ids))
            .group_by(Assessment.patient_id)
        ).all()
    )
    open_alerts: dict[int, list[Alert]] = {}
    for alert in session.scalars(
        select(Alert)
        .where(Alert.patient_id.in_(ids), Alert.status == "open")
        .order_by(Alert.created_at, Alert.id)
    ):
        open_alerts.setdefault(alert.patient_id, []).append(alert)
    out = []
    for r in page_rows:
        p = patients[r.patient_id]
        mine = open_alerts.get(r.patient_id, [])
        top = max(mine, key=lambda a: ALERT_LEVEL_RANK.get(a.level, 0), default=None)
        visit = schedule.DEFAULT_VISITS[r.visit_index].label if r.visit_index is not None else None
        out.append(
            WorklistRow(
                patient_id=p.id,
                patient_name=f"{p.family_name}, {p.given_name}",
                mrn=p.mrn,
                open_alerts=len(mine),
                alert_level=top.level if top else None,
                alert_since=mine[0].created_at if mine else None,
                overdue_visit=visit,
                overdue_days=int(r.overdue_days) if r.overdue_days is not None else None,
                last_assessed_at=last.get(r.patient_id),
            )
        )
    return out


def dashboard(
    db: Database,
    actor: Actor,
    filters: WorklistFilters | None = None,
    *,
    recent_limit: int = 20,
) -> Dashboard:
    """Everything the dashboard shows: one worklist page, the open alerts, recent results."""
    require_role(actor, CLINICAL_ROLES, "view the clinical dashboard")
    filters = filters or WorklistFilters()
    filters.validate()
    alerts = list_alerts(db, actor, status="open", limit=DASHBOARD_ALERTS)
    now = db.now()
    with db.transaction() as session:
        open_count = int(
            session.execute(
                select(func.count(Alert.id))
                .join(Patient, Patient.id == Alert.patient_id)
                .where(Patient.clinic_id == actor.clinic_id, Alert.status == "open")
            ).scalar()
            or 0
        )
        page = _worklist(session, actor, filters, now)
        # Newest first along the submitted_at index, stopping after ``recent_limit`` rows.
        # (measured on 5,000 patients: 0.05 ms against 9 ms for a join sorted in a temp tree)
        newest = (
            select(Assessment.id)
            .where(
                exists().where(
                    Patient.id == Assessment.patient_id, Patient.clinic_id == actor.clinic_id
                )
            )
            .order_by(Assessment.submitted_at.desc())
            .limit(recent_limit)
        ).subquery("newest")
        recent_rows = session.execute(
            select(Assessment, Patient)
            .join(newest, newest.c.id == Assessment.id)
            .join(Patient, Patient.id == Assessment.patient_id)
            .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
        ).all()
        recent = [
            RecentResult(
                a.id,
                p.id,
                f"{p.family_name}, {p.given_name}",
                a.instrument_id,
                a.total,
                a.band,
                a.submitted_at,
            )
            for a, p in recent_rows
        ]
        audit.record(
            session,
            actor,
            "dashboard.view",
            "patient",
            None,
            page=filters.page,
            results=len(page.rows),
            total=page.total,
            recent=len(recent),
        )
    return Dashboard(alerts=alerts, open_alert_count=open_count, worklist=page, recent=recent)


def _whole_number(raw: str | None, field: str, label: str) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise Invalid(
            f"{label} must be a whole number (got {raw.strip()[:20]!r})", field=field
        ) from None


def parse_filters(params: dict[str, str]) -> WorklistFilters:
    """Worklist filters from query parameters (the page and the API read the same names):
    ``page``, ``per_page``, ``mine`` (1/true/on), ``overdue_days``, ``alert_level``."""
    page = _whole_number(params.get("page"), "page", "the page number")
    per_page = _whole_number(params.get("per_page"), "per_page", "patients per page")
    mine = params.get("mine", "").strip().lower() in ("1", "true", "on", "yes")
    level = params.get("alert_level", "").strip() or None
    filters = WorklistFilters(
        page=page if page is not None else 1,
        per_page=per_page if per_page is not None else PER_PAGE,
        mine=mine,
        overdue_days=_whole_number(params.get("overdue_days"), "overdue_days", "days overdue"),
        alert_level=level,
    )
    filters.validate()
    return filters
