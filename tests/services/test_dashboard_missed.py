"""Missed follow-up visits: the SQL worklist and the pure schedule agree (H-084).

A visit whose window closed unanswered is ``missed`` once a later visit's window has opened
(:mod:`glabella.clinic.schedule`); only the current visit can be overdue. Hand-built patients,
each treated at 10:00 UTC on a chosen day, seen on 2026-12-04 (clinic timezone Europe/London,
UTC+0 from 25 Oct, UTC+1 before: every time used is 10:00 UTC, so the local date is the UTC
date). Windows in days after treatment: week 2 11-17, week 6 35-49, week 12 77-91.
"""

from __future__ import annotations

import datetime as dt

import pytest

from builders import Clock, new_patient, phq9, safe_screening, screen, sign_consent, treat
from glabella.services import assessments as assess_svc
from glabella.services import dashboard as dash_svc
from glabella.services import followup as followup_svc
from glabella.services.context import Actor, Database

TODAY = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
ANSWERS = phq9(2, 2, 1, 1, 1, 1, 1, 1, 0)  # total 10, no item-9 alert


def _day(days_before_today: int) -> dt.datetime:
    return TODAY - dt.timedelta(days=days_before_today)


# name: (treated N days before today, days after treatment with a PHQ-9 answer,
#        expected statuses baseline/week2/week6/week12, expected (overdue visit, days))
PATIENTS: dict[str, tuple[int, tuple[int, ...], list[str], tuple[str, int] | None]] = {
    # day 32: week 2 closed on day 17 (15 days ago), week 6 opens on day 35 -> overdue now
    "Now": (32, (), ["completed", "overdue", "upcoming", "upcoming"], ("Week 2", 15)),
    # day 34: the last day before week 6 opens -> still overdue, 34 - 17 = 17 days
    "Edge": (34, (), ["completed", "overdue", "upcoming", "upcoming"], ("Week 2", 17)),
    # day 35: week 6 opened today -> week 2 missed, week 6 due: nothing overdue
    "Open": (35, (), ["completed", "missed", "due", "upcoming"], None),
    # day 45: week 6 window still open (35-49), week 2 missed
    "Still": (45, (), ["completed", "missed", "due", "upcoming"], None),
    # day 125: weeks 6 (day 42) and 12 (day 84) answered, week 2 never -> missed, not overdue
    "Later": (125, (42, 84), ["completed", "missed", "completed", "completed"], None),
    # day 125: nothing answered; week 12 (the last visit) closed on day 91 -> 34 days overdue
    "Closed": (125, (), ["completed", "missed", "missed", "overdue"], ("Week 12", 34)),
    # day 9: week 2 opens on day 11 -> nothing due yet
    "Fresh": (9, (), ["completed", "upcoming", "upcoming", "upcoming"], None),
}


@pytest.fixture
def clinic(db: Database, actor: Actor) -> dict[str, int]:
    clock = Clock(TODAY)
    db.clock = clock
    ids: dict[str, int] = {}
    for name, (ago, answered, _, _) in PATIENTS.items():
        clock.now = _day(ago)
        pid = new_patient(db, actor, mrn=f"MS-{name}", family_name=name, given_name="Pat")
        ids[name] = pid
        assess_svc.submit_assessment(db, actor, pid, "phq9", ANSWERS)  # baseline, same day
        screen(db, actor, pid, safe_screening(cssrs=True))
        treat(db, actor, pid, sign_consent(db, actor, pid, f"Pat {name}"))
        for after in answered:
            clock.now = _day(ago) + dt.timedelta(days=after)
            assess_svc.submit_assessment(db, actor, pid, "phq9", ANSWERS)
    clock.now = TODAY
    return ids


def _pure_overdue(db: Database, actor: Actor, pid: int) -> tuple[list[str], tuple[str, int] | None]:
    """Statuses by the pure schedule (through the follow-up service), and the overdue visit
    with its days overdue counted from its window's closing day."""
    follow = followup_svc.patient_followup(db, actor, pid)
    statuses = [v.status for v in follow.visits]
    overdue = [v for v in follow.visits if v.status == "overdue"]
    assert len(overdue) <= 1  # only the current visit can be overdue
    today = TODAY.date()
    return statuses, ((overdue[0].label, (today - overdue[0].closes).days) if overdue else None)


def test_sql_worklist_and_pure_schedule_agree(
    db: Database, actor: Actor, clinic: dict[str, int]
) -> None:
    page = dash_svc.worklist(db, actor, dash_svc.WorklistFilters())
    sql = {
        r.patient_name.split(",")[0]: (
            (r.overdue_visit, r.overdue_days) if r.overdue_days is not None else None
        )
        for r in page.rows
    }
    for name, (_, _, statuses, overdue) in PATIENTS.items():
        pure_statuses, pure = _pure_overdue(db, actor, clinic[name])
        assert pure_statuses == statuses, name
        assert pure == overdue, name
        assert sql[name] == overdue, name
    # urgency order: most days overdue first, then by name
    assert [r.patient_name.split(",")[0] for r in page.rows] == [
        "Closed",
        "Edge",
        "Now",
        "Fresh",
        "Later",
        "Open",
        "Still",
    ]


def test_overdue_filter_skips_missed_visits(
    db: Database, actor: Actor, clinic: dict[str, int]
) -> None:
    def names(days: int) -> list[str]:
        page = dash_svc.worklist(db, actor, dash_svc.WorklistFilters(overdue_days=days))
        return [r.patient_name.split(",")[0] for r in page.rows]

    # "Later", "Open" and "Still" have a week 2 closed 108, 18 and 28 days ago: missed, not listed
    assert names(0) == ["Closed", "Edge", "Now"]
    assert names(16) == ["Closed", "Edge"]
    assert names(35) == []


def test_really_overdue_patient_is_still_flagged(
    db: Database, actor: Actor, clinic: dict[str, int]
) -> None:
    """H-084: the control on "missed" - a visit is history only once a later window opened;
    the patient overdue now (week 2 closed, week 6 not open) is flagged on the dashboard, in
    the filter and in the due list."""
    page = dash_svc.worklist(db, actor, dash_svc.WorklistFilters(overdue_days=15))
    assert [(r.patient_name, r.overdue_visit, r.overdue_days) for r in page.rows][-1] == (
        "Now, Pat",
        "Week 2",
        15,
    )
    due = followup_svc.due_visits(db, actor)
    listed = {(d.patient_name, d.visit.label, d.visit.status) for d in due}
    assert ("Now, Pat", "Week 2", "overdue") in listed
    assert ("Closed, Pat", "Week 12", "overdue") in listed
    # a missed visit is not on the due list; the current window is
    assert ("Open, Pat", "Week 2", "missed") not in listed
    assert ("Open, Pat", "Week 6", "due") in listed
