"""Frown beside mood through the service, the JSON API, the CLI and the analytics page, on a
real database: courses made through the services, photo measures stored as rows (the
measurement itself is tested in tests/clinic/biomarker), withdrawn photo consent excluded."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from builders import new_patient, safe_screening, screen, sign_consent, treat
from glabella.cli import app as cli_app
from glabella.services import assessments as assess_svc
from glabella.services import biomarker as bio_svc
from glabella.services.context import Actor, Database, utcnow
from glabella.services.errors import Forbidden, Invalid
from glabella.services.frown_analytics import frown_analytics
from glabella.services.users import UserView
from glabella.settings import get_settings
from glabella.store.biomarker import FrownPhotoPair, PhotoConsent
from glabella.store.models import AuditEvent

T = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
SAFE = safe_screening(cssrs=True)
SITES = {"procerus": "5", "corrugator_medial_right": "6", "corrugator_medial_left": "6"}


def _phq9(total: int) -> dict[str, int]:
    """Answers summing to ``total`` (items 1-8 filled with 3s first, item 9 always 0)."""
    values = [min(3, max(0, total - 3 * i)) for i in range(8)]
    assert sum(values) == total
    return {f"phq9_{i}": v for i, v in enumerate(values, start=1)} | {"phq9_9": 0}


def _course(
    db: Database,
    actor: Actor,
    mrn: str,
    frown: list[tuple[int, float]],
    phq9: list[tuple[int, int]],
    *,
    withdraw: bool = False,
) -> int:
    state = {"now": T - dt.timedelta(days=5)}
    db.clock = lambda: state["now"]
    try:
        pid = new_patient(
            db,
            actor,
            mrn=mrn,
            given_name="Fran",
            family_name=f"Course{mrn}",
            date_of_birth="1981-04-05",
        )
        photo_consent = bio_svc.grant_photo_consent(
            db, actor, pid, allow_research=False, confirmed=True
        )
        for day, total in sorted(phq9):
            if day < 0:
                state["now"] = T + dt.timedelta(days=day)
                assess_svc.submit_assessment(db, actor, pid, "phq9", _phq9(total))
        state["now"] = T - dt.timedelta(hours=2)
        screen(db, actor, pid, SAFE)
        signed = sign_consent(db, actor, pid, f"Fran Course{mrn}")
        state["now"] = T
        treat(
            db,
            actor,
            pid,
            signed,
            lot_number="L1",
            lot_expiry=dt.date(2027, 12, 31),
            sites=dict(SITES),
        )
        for day, total in sorted(phq9):
            if day > 0:
                state["now"] = T + dt.timedelta(days=day)
                assess_svc.submit_assessment(db, actor, pid, "phq9", _phq9(total))
    finally:
        db.clock = utcnow
    with db.transaction() as s:
        for day, index in frown:
            s.add(
                FrownPhotoPair(
                    patient_id=pid,
                    taken_at=T + dt.timedelta(days=day),
                    consent_id=photo_consent,
                    rest_inner_brow_distance=0.5,
                    rest_brow_eye_height=0.4,
                    rest_line_intensity=0.1,
                    frown_inner_brow_distance=0.45,
                    frown_brow_eye_height=0.34,
                    frown_line_intensity=0.3,
                    frown_activity_index=index,
                    method_version="fai-1",
                )
            )
        if withdraw:
            row = s.get(PhotoConsent, photo_consent)
            assert row is not None
            row.withdrawn_at = T + dt.timedelta(days=200)
    return pid


def _seed(db: Database, actor: Actor) -> None:
    # A: frown (line 16) 5 at 14, back to 17 at 90; PHQ-9 20 -> 8 (response) -> 14 at 120
    _course(db, actor, "A", [(-1, 20.0), (14, 5.0), (90, 17.0)], [(-1, 20), (42, 8), (120, 14)])
    # B: frown (line 24) 10 at 14, back to 25 at 100; PHQ-9 16 -> 6 -> 12 at 70
    _course(db, actor, "B", [(-2, 30.0), (14, 10.0), (100, 25.0)], [(-2, 16), (42, 6), (70, 12)])
    # C: photo consent withdrawn: left out entirely (it would add a return at day 20)
    _course(
        db,
        actor,
        "C",
        [(-1, 20.0), (10, 2.0), (20, 19.0)],
        [(-1, 20), (42, 5)],
        withdraw=True,
    )


def _check(result: dict[str, object]) -> None:
    # frown returns 90 and 100, both seen: S(90) = 1/2 <= 0.5 -> median 90
    assert result["frown_return"] == {"n": 2, "events": 2, "censored": 0, "median_days": 90.0}
    # mood ends 70 and 120: S(70) = 1/2 -> median 70
    assert result["mood_benefit_end"] == {
        "n": 2,
        "events": 2,
        "censored": 0,
        "median_days": 70.0,
    }
    assert result["both_seen"] == 2
    outlasted = result["mood_benefit_outlasted_frown_return"]
    assert isinstance(outlasted, dict) and (outlasted["events"], outlasted["n"]) == (1, 2)
    assert result["median_difference_days"] == 0  # A +30 (120 - 90), B -30 (70 - 100)
    corr = result["week2_frown_vs_week6_phq9"]
    assert isinstance(corr, dict)
    assert corr["n"] == 2 and corr["pearson_r"] is None  # 2 patients: unknown, not a number
    assert "Observational" in str(corr["caveat"])


def test_service_api_cli_and_page(
    db: Database,
    actor: Actor,
    make_user: Callable[[str, str], UserView],
    app_client: TestClient,
    password: str,
) -> None:
    _seed(db, actor)
    result = frown_analytics(db, actor)
    assert result.courses == 2  # C's photo consent is withdrawn
    _check(result.to_dict())
    with db.read() as s:
        assert "analytics.frown_view" in s.scalars(select(AuditEvent.action)).all()
    with pytest.raises(Invalid, match="return_fraction"):
        frown_analytics(db, actor, return_fraction=0)
    with pytest.raises(Forbidden):
        frown_analytics(db, make_user("desk", "receptionist").actor("t"))

    make_user("res", "researcher")
    signed = app_client.post("/api/v1/auth/login", json={"username": "res", "password": password})
    assert signed.status_code == 200, signed.text
    response = app_client.get("/api/v1/analytics/frown")
    assert response.status_code == 200, response.text
    body = response.json()
    _check(body)
    assert "frown_return" in body["definitions"]
    bad = app_client.get("/api/v1/analytics/frown?return_fraction=2")
    assert bad.status_code == 422
    page = app_client.get("/analytics")
    assert page.status_code == 200, page.text
    assert "Frown biomarker beside mood" in page.text
    assert "90 days" in page.text and "70 days" in page.text


def test_cli_frown(database_url: str, make_user: Callable[[str, str], UserView]) -> None:
    db = Database.from_url(database_url)
    try:
        get_settings.cache_clear()
        # the CLI's actor is the installation's first clinic: seed as a user of that clinic
        from glabella.services.users import create_user

        user, _ = create_user(
            db,
            username="dr.cli",
            full_name="Dr Cli",
            role="clinician",
            password="correct horse battery staple",
        )
        _seed(db, user.actor("t"))
        env = {"GLABELLA_DATABASE_URL": database_url}
        runner = CliRunner()
        out = runner.invoke(cli_app, ["analytics", "--frown", "--json"], env=env)
        assert out.exit_code == 0, out.output
        _check(json.loads(out.output))
        text = runner.invoke(cli_app, ["analytics", "--frown"], env=env)
        assert text.exit_code == 0, text.output
        assert "median 90 days" in text.output and "unknown" in text.output
        bad = runner.invoke(cli_app, ["analytics", "--frown", "--return-within", "1.5"], env=env)
        assert bad.exit_code == 2 and "return_fraction" in bad.output
        assert "Traceback" not in bad.output
    finally:
        get_settings.cache_clear()
        db.engine.dispose()
