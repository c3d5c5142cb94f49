"""Several clinics in one installation: nobody sees another clinic's patients."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from glabella.cli import app as cli_app
from glabella.services import alerts, assessments, dashboard, links, patients, users
from glabella.services.context import Database
from glabella.services.errors import Conflict, NotFound
from glabella.services.patients import parse_patient_input
from glabella.settings import Settings, get_settings
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"
ITEM9 = {f"phq9_{i}": (1 if i == 9 else 0) for i in range(1, 10)}


def _patient(mrn: str, family: str) -> patients.PatientInput:
    return parse_patient_input(
        {
            "mrn": mrn,
            "given_name": "Pat",
            "family_name": family,
            "date_of_birth": "1970-01-01",
            "sex": "other",
        }
    )


@pytest.fixture
def two_clinics(db: Database) -> dict[str, object]:
    north = users.create_clinic(db, "North Clinic")
    south = users.create_clinic(db, "South Clinic")
    a, _ = users.create_user(
        db,
        username="dr.north",
        full_name="N",
        role="clinician",
        password=PASSWORD,
        clinic="North Clinic",
    )
    b, _ = users.create_user(
        db,
        username="dr.south",
        full_name="S",
        role="clinician",
        password=PASSWORD,
        clinic="South Clinic",
    )
    assert (a.clinic_id, b.clinic_id) == (north.id, south.id)
    pa = patients.create_patient(db, a.actor(), _patient("SAME-1", "Northman"))
    # The same MRN in another clinic is a different patient (MRNs are unique per clinic).
    pb = patients.create_patient(db, b.actor(), _patient("SAME-1", "Southey"))
    assessments.submit_assessment(db, b.actor(), pb.id, "phq9", ITEM9)
    return {"a": a, "b": b, "pa": pa, "pb": pb}


def test_services_never_cross_clinics(db: Database, two_clinics: dict[str, object]) -> None:
    a = two_clinics["a"].actor()  # type: ignore[attr-defined]
    pb = two_clinics["pb"].id  # type: ignore[attr-defined]
    assert [p.family_name for p in patients.search_patients(db, a)] == ["Northman"]
    assert patients.search_patients(db, a, "Southey") == []
    for call in (
        lambda: patients.get_patient(db, a, pb),
        lambda: patients.update_patient(db, a, pb, _patient("X", "Hacked")),
        lambda: assessments.list_assessments(db, a, pb),
        lambda: assessments.submit_assessment(db, a, pb, "phq9", ITEM9),
        lambda: links.create_link(db, a, pb, ["phq9"], valid_hours=1),
        lambda: links.list_links(db, a, pb),
    ):
        with pytest.raises(NotFound):
            call()
    b = two_clinics["b"].actor()  # type: ignore[attr-defined]
    south_assessment = assessments.list_assessments(db, b, pb)[0].id
    with pytest.raises(NotFound):
        assessments.get_assessment(db, a, south_assessment)
    assert alerts.list_alerts(db, a, status=None) == []
    south_alert = alerts.list_alerts(db, b)[0].id
    with pytest.raises(NotFound):
        alerts.record_action(db, a, south_alert, "closing another clinic's alert")
    board = dashboard.dashboard(db, a)
    assert board.alerts == [] and board.recent == []
    rows = board.worklist.rows
    assert [r.mrn for r in rows] == ["SAME-1"] and rows[0].patient_name.startswith("Northman")
    assert board.worklist.total == 1


def test_api_never_crosses_clinics(
    settings: Settings, db: Database, two_clinics: dict[str, object]
) -> None:
    pb = two_clinics["pb"].id  # type: ignore[attr-defined]
    with TestClient(create_app(settings, db)) as client:
        client.post("/api/v1/auth/login", json={"username": "dr.north", "password": PASSWORD})
        names = [p["family_name"] for p in client.get("/api/v1/patients").json()]
        assert names == ["Northman"]
        assert client.get(f"/api/v1/patients/{pb}").status_code == 404
        assert client.get(f"/api/v1/patients/{pb}/assessments").status_code == 404
        assert client.get("/api/v1/alerts", params={"status": "all"}).json() == []
        assert client.get(f"/patients/{pb}").status_code == 404


def test_clinic_names_are_unique(db: Database) -> None:
    users.create_clinic(db, "East")
    with pytest.raises(Conflict):
        users.create_clinic(db, "  East ")


def test_cli_users_add_with_clinic(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli_app,
            ["users", "add", "nurse.west", "--role", "nurse", "--clinic", "West Clinic"],
            env={"GLABELLA_DATABASE_URL": url},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "created clinic 'West Clinic'" in result.output
    clinics = {c.name: c.id for c in users.list_clinics(db)}
    with db.transaction() as session:
        from sqlalchemy import select

        from glabella.store.models import User

        user = session.scalars(select(User).where(User.username == "nurse.west")).one()
        assert user.clinic_id == clinics["West Clinic"] and user.role == "nurse"


def test_another_clinics_assessment_is_not_found_like_a_missing_one_and_audited(
    two_clinics: dict[str, object], settings: Settings, db: Database
) -> None:
    """Issue 17: another clinic's assessment id answered "no patient with id N" (confirming the
    record and revealing its patient's id), and the refusal left no audit row."""
    from sqlalchemy import select

    from glabella.store.models import AuditEvent

    pb = two_clinics["pb"]
    assert isinstance(pb, patients.PatientView)
    theirs = assessments.list_assessments(db, two_clinics["b"].actor(), pb.id)[0].id  # type: ignore[attr-defined]
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    client.post("/api/v1/auth/login", json={"username": "dr.north", "password": PASSWORD})
    other = client.get(f"/api/v1/assessments/{theirs}")
    missing = client.get(f"/api/v1/assessments/{theirs + 1000}")
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["message"] == f"no assessment with id {theirs}"
    assert missing.json()["error"]["message"] == f"no assessment with id {theirs + 1000}"
    assert str(pb.id) not in other.json()["error"]["message"].replace(str(theirs), "")
    assert client.get(f"/api/v1/patients/{pb.id}").status_code == 404
    with db.transaction() as session:
        refused = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "access.refused_other_clinic")
        ).all()
    assert sorted((r.entity, r.entity_id) for r in refused) == [
        ("assessment", str(theirs)),
        ("patient", str(pb.id)),
    ]
    assert all(r.user_id == two_clinics["a"].id for r in refused)  # type: ignore[attr-defined]
