"""The paged urgency worklist, the alert history and the SQL clinic-local day, on a real
database (SQLite and PostgreSQL through the ``db`` fixture).

Dates are worked out by hand next to each assertion (clinic timezone Europe/London, which is
UTC+0 in November, so local dates equal UTC dates in these tests).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

from builders import new_patient, phq9, safe_screening, screen, sign_consent, treat
from glabella.services import alerts as alert_svc
from glabella.services import assessments as assess_svc
from glabella.services import dashboard as dash_svc
from glabella.services import patients as patient_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.worklist_sql import day_number, local_day, offset_changes
from glabella.store.models import UTCDateTime

START = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # Monday; GMT = Europe/London
TODAY = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
SAFE = safe_screening(cssrs=True)


NO_RISK = phq9(2, 2, 1, 1, 1, 1, 1, 1, 0)  # total 10
RISK = phq9(1, 1, 1, 1, 1, 1, 1, 1, 1)  # item 9 = 1 -> urgent suicide-risk alert


def _patient(db: Database, actor: Actor, family: str) -> int:
    return new_patient(db, actor, mrn=f"WL-{family}", family_name=family)


def _treat(db: Database, actor: Actor, pid: int) -> None:
    screen(db, actor, pid, SAFE)
    name = patient_svc.get_patient(db, actor, pid)
    signed = f"{name.given_name} {name.family_name}"  # the record's own name (H-094 name check)
    treat(db, actor, pid, sign_consent(db, actor, pid, signed))


@pytest.fixture
def clinic(db: Database, actor: Actor, make_user: Any) -> dict[str, Any]:
    state = {"now": START}
    db.clock = lambda: state["now"]
    ids = {name: _patient(db, actor, name) for name in ("Adams", "Baker", "Cole", "Dunn")}
    # Adams and Baker: baseline PHQ-9 and treatment on 2 Nov (week 2 window 13-19 Nov).
    for name in ("Adams", "Baker"):
        assess_svc.submit_assessment(db, actor, ids[name], "phq9", NO_RISK)
        _treat(db, actor, ids[name])
    # Baker answers inside the week-2 window (17 Nov); Adams never does.
    state["now"] = dt.datetime(2026, 11, 17, 9, 0, tzinfo=dt.UTC)
    assess_svc.submit_assessment(db, actor, ids["Baker"], "phq9", NO_RISK)
    # Cole (never treated) endorses item 9 on 20 Nov: an open urgent alert.
    state["now"] = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assess_svc.submit_assessment(db, actor, ids["Cole"], "phq9", RISK)
    # Dunn (never treated) is assessed by a second clinician only.
    other = make_user("dr.other", "clinician").actor("test")
    assess_svc.submit_assessment(db, other, ids["Dunn"], "phq9", NO_RISK)
    state["now"] = TODAY
    return {"ids": ids, "other": other, "clock": state}


def _names(page: dash_svc.WorklistPage) -> list[str]:
    return [r.patient_name.split(",")[0] for r in page.rows]


def test_urgency_order_and_days_overdue(db: Database, actor: Actor, clinic: dict[str, Any]) -> None:
    page = dash_svc.worklist(db, actor, dash_svc.WorklistFilters())
    # Cole: open alert first. Adams: week 2 closed 19 Nov (2 Nov + 14 + 3), nothing recorded,
    # today 4 Dec -> 4 Dec - 19 Nov = 15 days overdue. Baker: week 2 done, week 6 closes
    # 21 Dec (2 Nov + 42 + 7): nothing overdue. Dunn: untreated, no alert. Then by name.
    assert _names(page) == ["Cole", "Adams", "Baker", "Dunn"]
    cole, adams, baker, dunn = page.rows
    assert cole.alert_level == "urgent" and cole.open_alerts == 1
    assert cole.alert_since == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assert (adams.overdue_visit, adams.overdue_days) == ("Week 2", 15)
    assert baker.overdue_days is None and dunn.overdue_days is None
    assert baker.last_assessed_at == dt.datetime(2026, 11, 17, 9, 0, tzinfo=dt.UTC)
    assert page.total == 4 and page.pages == 1


def test_filters(db: Database, actor: Actor, clinic: dict[str, Any]) -> None:
    def names(**kw: Any) -> list[str]:
        return _names(dash_svc.worklist(db, actor, dash_svc.WorklistFilters(**kw)))

    assert names(overdue_days=15) == ["Adams"]  # exactly 15 days overdue
    assert names(overdue_days=16) == []
    assert names(overdue_days=0) == ["Adams"]
    assert names(alert_level="urgent") == ["Cole"]
    assert names(alert_level="any") == ["Cole"]
    assert names(alert_level="high") == []
    # "mine": the patients I treated, screened or entered answers for.
    assert names(mine=True) == ["Cole", "Adams", "Baker"]
    mine_other = dash_svc.worklist(db, clinic["other"], dash_svc.WorklistFilters(mine=True))
    assert _names(mine_other) == ["Dunn"]


def test_paging(db: Database, actor: Actor, clinic: dict[str, Any]) -> None:
    first = dash_svc.worklist(db, actor, dash_svc.WorklistFilters(per_page=3))
    second = dash_svc.worklist(db, actor, dash_svc.WorklistFilters(page=2, per_page=3))
    assert _names(first) == ["Cole", "Adams", "Baker"] and _names(second) == ["Dunn"]
    assert (first.total, first.pages, second.first_index, second.last_index) == (4, 2, 4, 4)
    assert dash_svc.worklist(db, actor, dash_svc.WorklistFilters(page=3, per_page=3)).rows == []
    bad_pages: list[tuple[dict[str, Any], str]] = [
        ({"page": 0}, "page"),
        ({"per_page": 500}, "per_page"),
    ]
    for bad, field in bad_pages:
        with pytest.raises(Invalid) as info:
            dash_svc.worklist(db, actor, dash_svc.WorklistFilters(**bad))
        assert info.value.field == field
    with pytest.raises(Invalid) as info:
        dash_svc.parse_filters({"overdue_days": "ten"})
    assert info.value.field == "overdue_days" and "whole number" in info.value.message
    with pytest.raises(Invalid) as info:
        dash_svc.parse_filters({"alert_level": "purple"})
    assert info.value.field == "alert_level"


def test_closed_alert_stays_in_history(db: Database, actor: Actor, clinic: dict[str, Any]) -> None:
    cole = clinic["ids"]["Cole"]
    alert_id = alert_svc.list_alerts(db, actor)[0].id
    alert_svc.record_action(db, actor, alert_id, "Phoned patient, safety plan reviewed.")
    page = dash_svc.worklist(db, actor, dash_svc.WorklistFilters())
    assert _names(page)[0] == "Adams"  # no open alert any more: Cole sorts by name
    history = alert_svc.alert_history(db, actor)
    assert history.total == 1
    row = history.rows[0]
    assert (row.patient_id, row.status, row.kind, row.level) == (
        cole,
        "closed",
        "suicide_risk",
        "urgent",
    )
    assert row.raised_by == "Dr.Rivera (entered answers)"
    assert row.actioned_by == "Dr.Rivera" and row.actioned_at == TODAY
    assert row.action_text == "Phoned patient, safety plan reviewed."
    assert alert_svc.alert_history(db, actor, status="open").total == 0
    assert alert_svc.alert_history(db, actor, patient_id=clinic["ids"]["Adams"]).total == 0
    assert alert_svc.alert_history(db, actor, status="closed", level="urgent").total == 1


def test_local_day_in_sql_across_daylight_saving() -> None:
    """Berlin is UTC+1 in winter and UTC+2 from 29 Mar 2026 01:00 UTC (EU rule)."""
    berlin = ZoneInfo("Europe/Berlin")
    first, changes = offset_changes("Europe/Berlin", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    # 2026-03-29 01:00 UTC = 20541 days + 1/24; 2026-10-25 01:00 UTC = 20751 + 1/24.
    assert first == 60 and [o for _, o in changes] == [120, 60]
    assert abs(changes[0][0] - (20541 + 1 / 24)) < 2e-5
    assert abs(changes[1][0] - (20751 + 1 / 24)) < 2e-5
    engine = create_engine("sqlite://")
    meta = MetaData()
    t = Table("t", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    meta.create_all(engine)
    samples = {
        # 23:30 UTC on 10 Jan is 00:30 on 11 Jan in Berlin (+1)
        dt.datetime(2026, 1, 10, 23, 30, tzinfo=dt.UTC): dt.date(2026, 1, 11),
        # 22:30 UTC on 30 Jun is 00:30 on 1 Jul (+2)
        dt.datetime(2026, 6, 30, 22, 30, tzinfo=dt.UTC): dt.date(2026, 7, 1),
        # 21:30 UTC on 30 Jun is 23:30 on 30 Jun (+2)
        dt.datetime(2026, 6, 30, 21, 30, tzinfo=dt.UTC): dt.date(2026, 6, 30),
        # 22:30 UTC on 28 Mar is 23:30 on 28 Mar (still +1)
        dt.datetime(2026, 3, 28, 22, 30, tzinfo=dt.UTC): dt.date(2026, 3, 28),
    }
    with engine.begin() as conn:
        for i, at in enumerate(samples):
            conn.execute(t.insert().values(id=i, at=at))
        expr = local_day("sqlite", t.c.at, berlin, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
        got = dict(conn.execute(select(t.c.id, expr)).all())
    for i, expected in enumerate(samples.values()):
        assert got[i] == day_number(expected), (i, expected)


def test_sql_overdue_matches_the_follow_up_schedule_on_a_synthetic_clinic(
    db: Database, make_user: Any
) -> None:
    """The worklist's SQL days-overdue equals, patient by patient, what the Python follow-up
    service (``glabella.clinic.schedule`` rules) says: the first overdue visit and
    today - its window's last day."""
    from glabella.demo.params import DemoParameters
    from glabella.services import followup as followup_svc
    from glabella.services.demo_load import generate_clinic

    user = make_user("dr.check", "admin")
    admin = user.actor("test")
    as_of = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    generate_clinic(db, admin, DemoParameters(patients=120, seed=7, as_of=as_of))
    db.clock = lambda: as_of + dt.timedelta(days=3)
    page = dash_svc.worklist(db, admin, dash_svc.WorklistFilters(per_page=200))
    assert page.total == 120
    today = dt.date(2026, 11, 23)
    checked = 0
    for row in page.rows:
        follow = followup_svc.patient_followup(db, admin, row.patient_id)
        overdue = [v for v in follow.visits if v.status == "overdue"]
        if overdue:
            first = min(overdue, key=lambda v: v.closes)
            assert (row.overdue_visit, row.overdue_days) == (
                first.label,
                (today - first.closes).days,
            ), row.patient_id
            checked += 1
        else:
            assert row.overdue_days is None, row.patient_id
    assert checked > 10  # the synthetic drop-outs leave visits overdue
    days = [r.overdue_days for r in page.rows if r.overdue_days is not None]
    assert days == sorted(days, reverse=True)  # most overdue first (no alerts here)
