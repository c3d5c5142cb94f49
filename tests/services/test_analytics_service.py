"""The analytics service on a synthetic clinic, checked against a plain-Python recount."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from glabella.demo.params import DemoParameters
from glabella.services.analytics import clinic_analytics
from glabella.services.context import Database
from glabella.services.demo_load import generate_clinic
from glabella.services.errors import Forbidden
from glabella.services.users import UserView
from glabella.store.models import Assessment, AuditEvent
from glabella.store.pathway import Treatment

AS_OF = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def _recount(db: Database) -> tuple[int, int, int]:
    """Week-6 responders, assessed and analysed patients, by simple loops over the rows."""
    with db.transaction() as s:
        treatments = s.scalars(select(Treatment).order_by(Treatment.treated_at, Treatment.id))
        first: dict[int, dt.datetime] = {}
        for t in treatments:
            first.setdefault(t.patient_id, t.treated_at)
        phq = s.scalars(
            select(Assessment)
            .where(Assessment.instrument_id == "phq9")
            .order_by(Assessment.submitted_at, Assessment.id)
        ).all()
    by_patient: dict[int, list[Assessment]] = {}
    for a in phq:
        by_patient.setdefault(a.patient_id, []).append(a)
    responders = assessed = analysed = 0
    day = dt.timedelta(days=1)
    for pid, t0 in first.items():
        rows = by_patient.get(pid, [])
        base = [a for a in rows if t0 - 14 * day <= a.submitted_at <= t0]
        if not base or base[-1].total < 10:
            continue
        analysed += 1
        w6 = [a for a in rows if t0 + 35 * day <= a.submitted_at < t0 + 50 * day]
        if w6:
            assessed += 1
            responders += w6[-1].total * 2 <= base[-1].total  # at least a 50 % reduction
    return responders, assessed, analysed


def test_service_matches_a_plain_recount(
    db: Database, make_user: Callable[[str, str], UserView]
) -> None:
    admin = make_user("boss", "admin").actor("test")
    generate_clinic(db, admin, DemoParameters(patients=30, seed=5, as_of=AS_OF))
    report = clinic_analytics(db, admin, as_of=AS_OF)
    responders, assessed, analysed = _recount(db)
    assert assessed > 10  # the synthetic clinic has week-6 results to count
    o = report.outcomes
    assert o.analysed == analysed
    assert (o.overall.response6.events, o.overall.response6.n) == (responders, assessed)
    assert sum(g.patients for g in o.by_injector.values()) == analysed
    assert sum(n for _, n in report.treatments_per_month) >= analysed
    assert report.trials["response"].status in ("pooled", "too_few", "no_data")
    # the week-0 bucket of the trajectory is the analysed patients' baselines
    (week0,) = [w for w in report.trajectory if w.week == 0]
    assert week0.n == analysed
    trajectory = report.to_dict()["phq9_trajectory"]
    assert isinstance(trajectory, list) and trajectory[0]["n"] == analysed
    assert any(w.week == 6 and w.n > 0 for w in report.trajectory)
    with db.transaction() as s:
        details = s.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "analytics.view")
        ).all()
    assert len(details) == 1 and '"refresh": "full"' in (details[0] or "")

    # more patients later: the summary is refreshed for them only, and still matches
    generate_clinic(db, admin, DemoParameters(patients=10, seed=6, as_of=AS_OF))
    again = clinic_analytics(db, admin, as_of=AS_OF)
    responders, assessed, analysed = _recount(db)
    assert again.outcomes.analysed == analysed > o.analysed
    assert (again.outcomes.overall.response6.events, again.outcomes.overall.response6.n) == (
        responders,
        assessed,
    )
    with db.transaction() as s:
        last = s.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "analytics.view")
            .order_by(AuditEvent.seq.desc())
        ).first()
    assert '"refresh": "incremental"' in (last or "")


def test_receptionist_may_not_see_analytics(
    db: Database, make_user: Callable[[str, str], UserView]
) -> None:
    desk = make_user("desk", "receptionist").actor("test")
    with pytest.raises(Forbidden):
        clinic_analytics(db, desk)


def test_cli_prints_the_phq9_trajectory(database_url: str) -> None:
    from typer.testing import CliRunner

    from glabella.cli import app as cli_app
    from glabella.services.users import create_user
    from glabella.settings import get_settings

    db = Database.from_url(database_url)
    try:
        get_settings.cache_clear()
        user, _ = create_user(
            db,
            username="dr.traj",
            full_name="Dr Traj",
            role="admin",
            password="correct horse battery staple",
        )
        admin = user.actor("t")
        generate_clinic(db, admin, DemoParameters(patients=12, seed=3, as_of=AS_OF))
        report = clinic_analytics(db, admin)
        get_settings.cache_clear()  # the CLI reads the URL from its environment
        out = CliRunner().invoke(
            cli_app, ["analytics"], env={"GLABELLA_DATABASE_URL": database_url}
        )
        assert out.exit_code == 0, out.output
        assert "PHQ-9 trajectory" in out.output
        week0 = report.trajectory[0]
        assert week0.week == 0
        assert f"{week0.mean:.1f}" in out.output
    finally:
        get_settings.cache_clear()
        db.engine.dispose()
