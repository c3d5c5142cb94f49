"""Follow-up visits from a treatment date, their due/overdue status, and re-treatment timing.

Times are timezone-aware. A visit's target day is the treatment's *local calendar date* in
the clinic's timezone plus ``week`` x 7 days; its window is counted in whole local days.

Window rules (defaults are a clinic choice, configurable per visit):

* baseline (week 0): window from 14 days before to the day of treatment;
* week 2: target +/- 3 days; weeks 6 and 12: target +/- 7 days.

Status of a visit at a given ``now`` (converted to the clinic's local date):

* ``completed`` - an assessment was recorded for it;
* ``upcoming``  - local today is before the window opens;
* ``due``       - local today is inside the window (inclusive at both ends);
* ``overdue``   - local today is after the window closed, nothing was recorded, and no later
  visit's window has opened yet: this is the visit to chase now;
* ``missed``    - the window closed with nothing recorded *and* a later visit's window has
  opened (the later visit is now the one to chase; an unanswered earlier visit is history, and
  no later answer can fill it). A later visit answered implies its window opened, so a patient
  who did weeks 6 and 12 but not week 2 has week 2 ``missed``, never ``overdue``.

The last visit of the schedule (week 12 by default) is never superseded: left unanswered it
stays ``overdue`` until the next treatment starts a new schedule. A visit becomes ``missed`` on
the local day its first later window opens (:func:`superseded_on`): e.g. week 2 (window days
11-17 after treatment) is ``overdue`` on days 18-34 and ``missed`` from day 35, when week 6
(days 35-49) opens. Status is decided only from dates and recorded answers; the SQL worklist
(:mod:`glabella.services.dashboard`) applies the same rule through
:func:`superseded_after_days`.

Re-treatment is allowed from 12 weeks (84 days) after the last treatment's local date,
inclusive (labels: no more frequently than every three months, e.g. Xeomin PI 2).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_VISITS",
    "RETREATMENT_INTERVAL",
    "ScheduledVisit",
    "VisitSpec",
    "VisitStatus",
    "local_date",
    "retreatment_allowed",
    "retreatment_allowed_from",
    "schedule_visits",
    "superseded_after_days",
    "superseded_on",
    "visit_status",
    "visit_statuses",
]

VisitStatus = Literal["upcoming", "due", "overdue", "missed", "completed"]

RETREATMENT_INTERVAL: Final = timedelta(weeks=12)


@dataclass(frozen=True)
class VisitSpec:
    """A follow-up visit relative to treatment: week number and window in days."""

    key: str
    label: str
    week: int
    days_before: int
    days_after: int

    def __post_init__(self) -> None:
        if self.week < 0 or self.days_before < 0 or self.days_after < 0:
            raise ValueError("week and window days must be non-negative")


DEFAULT_VISITS: Final[tuple[VisitSpec, ...]] = (
    VisitSpec("baseline", "Baseline", 0, 14, 0),
    VisitSpec("week2", "Week 2", 2, 3, 3),
    VisitSpec("week6", "Week 6", 6, 7, 7),
    VisitSpec("week12", "Week 12", 12, 7, 7),
)


@dataclass(frozen=True)
class ScheduledVisit:
    """A visit placed on the clinic calendar."""

    spec: VisitSpec
    target: date
    opens: date
    closes: date


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def local_date(moment: datetime, clinic_tz: ZoneInfo) -> date:
    """The clinic-local calendar date of an aware datetime."""
    _require_aware(moment, "datetime")
    return moment.astimezone(clinic_tz).date()


def schedule_visits(
    treated_at: datetime,
    clinic_tz: ZoneInfo,
    visits: Sequence[VisitSpec] = DEFAULT_VISITS,
) -> tuple[ScheduledVisit, ...]:
    """Place each visit on the calendar relative to the local treatment date."""
    day0 = local_date(treated_at, clinic_tz)
    keys = [v.key for v in visits]
    if len(keys) != len(set(keys)):
        raise ValueError("visit keys must be unique")
    out = []
    for spec in sorted(visits, key=lambda v: v.week):
        target = day0 + timedelta(weeks=spec.week)
        out.append(
            ScheduledVisit(
                spec=spec,
                target=target,
                opens=target - timedelta(days=spec.days_before),
                closes=target + timedelta(days=spec.days_after),
            )
        )
    return tuple(out)


def superseded_after_days(spec: VisitSpec, visits: Sequence[VisitSpec]) -> int | None:
    """Days after the treatment's local date on which a later visit's window first opens
    (a later visit: a greater week number), or ``None`` for the last visit of ``visits``."""
    return min(
        (v.week * 7 - v.days_before for v in visits if v.week > spec.week),
        default=None,
    )


def superseded_on(visit: ScheduledVisit, visits: Sequence[ScheduledVisit]) -> date | None:
    """The local date from which ``visit``, if unanswered after its window, is ``missed``:
    the first opening day of a later visit of the same schedule (``None``: never)."""
    return min((v.opens for v in visits if v.spec.week > visit.spec.week), default=None)


def visit_status(
    visit: ScheduledVisit,
    now: datetime,
    clinic_tz: ZoneInfo,
    completed_keys: Collection[str] = (),
    *,
    visits: Sequence[ScheduledVisit] = (),
) -> VisitStatus:
    """Status of ``visit`` at ``now`` (see module docstring for the window rules).

    ``visits`` is the whole schedule ``visit`` belongs to: it decides ``missed`` (a later
    window opened). Without it a closed, unanswered visit is ``overdue`` (the safe side).
    """
    if visit.spec.key in completed_keys:
        return "completed"
    today = local_date(now, clinic_tz)
    if today < visit.opens:
        return "upcoming"
    if today <= visit.closes:
        return "due"
    later = superseded_on(visit, visits)
    if later is not None and today >= later:
        return "missed"
    return "overdue"


def retreatment_allowed_from(last_treated_at: datetime, clinic_tz: ZoneInfo) -> date:
    """First local date on which re-treatment is allowed (last local date + 84 days)."""
    return local_date(last_treated_at, clinic_tz) + RETREATMENT_INTERVAL


def retreatment_allowed(last_treated_at: datetime, now: datetime, clinic_tz: ZoneInfo) -> bool:
    """True from 12 weeks after the last treatment (inclusive), in the clinic's calendar."""
    return local_date(now, clinic_tz) >= retreatment_allowed_from(last_treated_at, clinic_tz)


def visit_statuses(
    treated_at: datetime,
    now: datetime,
    clinic_tz: ZoneInfo,
    completed_keys: Collection[str] = (),
    visits: Sequence[VisitSpec] = DEFAULT_VISITS,
) -> tuple[tuple[ScheduledVisit, VisitStatus], ...]:
    """Every scheduled visit of one treatment with its status at ``now`` (for dashboards)."""
    placed = schedule_visits(treated_at, clinic_tz, visits)
    return tuple(
        (v, visit_status(v, now, clinic_tz, completed_keys, visits=placed)) for v in placed
    )
