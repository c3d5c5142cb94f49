"""FHIR over HTTP (application/fhir+json, access matrix, clinic isolation, audit) and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir_seed import Seeded
from sqlalchemy import select
from test_fhir_import import foreign_phq9
from test_fhir_roundtrip import _normalise
from typer.testing import Result

from builders import run_cli
from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.settings import Settings
from glabella.store import migrate
from glabella.store.models import AuditEvent
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"
FHIR_JSON = "application/fhir+json"


def _login(client: TestClient, username: str) -> None:
    client.post("/api/v1/auth/logout")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text


def test_fhir_endpoints_access_and_audit(seeded_sqlite: Seeded, settings: Settings) -> None:
    seeded = seeded_sqlite
    with TestClient(create_app(settings, seeded.db), raise_server_exceptions=False) as api:
        _login(api, "dr.rivera")
        _endpoints(api, seeded)
        _access(api, seeded)


def _endpoints(api: TestClient, seeded: Seeded) -> None:
    response = api.get("/fhir/Questionnaire/phq9")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert response.json()["code"][0]["code"] == "44249-1"
    missing = api.get("/fhir/Questionnaire/nope")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"

    page = api.get(f"/patients/{seeded.patient_id}")
    assert f'href="/fhir/Patient/{seeded.patient_id}/$everything"' in page.text  # web UI link
    everything = api.get(f"/fhir/Patient/{seeded.patient_id}/$everything")
    assert everything.status_code == 200
    bundle = everything.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 17
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/{seeded.patient_id}"

    posted = api.post(
        "/fhir/QuestionnaireResponse",
        content=json.dumps(foreign_phq9([0] * 8 + [3])),
        headers={"content-type": FHIR_JSON},
    )
    assert posted.status_code == 201, posted.text
    assert "total 3 (minimal)" in posted.text and "ALERT urgent" in posted.text  # 0*8 + 3 = 3

    as_form = api.post(
        "/fhir/QuestionnaireResponse",
        content="a=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert as_form.status_code == 403 and "did not come from this site" in as_form.text  # CSRF
    out_of_range = foreign_phq9([0] * 9)
    out_of_range["item"][8]["answer"] = [{"valueInteger": 5}]  # PHQ-9 items score 0-3
    bad = api.post(
        "/fhir/QuestionnaireResponse",
        content=json.dumps(out_of_range),
        headers={"content-type": FHIR_JSON},
    )
    assert bad.status_code == 422
    issue = bad.json()["issue"][0]
    assert "phq9_9" in issue["diagnostics"] and "out of range" in issue["diagnostics"]

    with seeded.db.transaction() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"fhir.export", "fhir.import", "assessment.submit"} <= actions


def _access(app_client: TestClient, seeded: Seeded) -> None:
    db = seeded.db
    app_client.post("/api/v1/auth/logout")
    create_user(db, username="rita", full_name="Rita", role="receptionist", password=PASSWORD)
    create_user(
        db, username="dr.away", full_name="Away", role="clinician", password=PASSWORD, clinic="B"
    )
    path = f"/fhir/Patient/{seeded.patient_id}/$everything"
    assert app_client.get(path).status_code == 401
    _login(app_client, "rita")
    refused = app_client.get(path)
    assert refused.status_code == 403 and refused.headers["X-Glabella-Access"] == "denied"
    assert app_client.get("/fhir/Questionnaire/gad7").status_code == 200  # no patient data
    _login(app_client, "dr.away")
    assert app_client.get(path).status_code == 404  # another clinic's patient does not exist


def _run(url: str, *args: str) -> Result:
    return run_cli(url, *args)


def test_cli_ndjson_round_trip(seeded_sqlite: Seeded, tmp_path: Path) -> None:
    seeded = seeded_sqlite
    database_url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate.upgrade(database_url)
    source = seeded.db.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "clinic.ndjson"
    result = _run(source, "fhir", "export", "--all", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 17 resources" in result.output
    imported = _run(database_url, "fhir", "import", str(out))
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.output)
    assert len(report["assessments"]) == 4 and report["alerts"] == []
    printed = _run(database_url, "fhir", "export", "--all")
    assert printed.exit_code == 0, printed.output
    clinic_bundle = json.loads(printed.output)
    assert clinic_bundle["type"] == "collection" and len(clinic_bundle["entry"]) == 17
    again = tmp_path / "again.ndjson"
    assert _run(database_url, "fhir", "export", "--all", "--out", str(again)).exit_code == 0

    def as_bundle(path: Path) -> dict[str, object]:
        lines = path.read_text().splitlines()
        return {"entry": [{"resource": json.loads(line)} for line in lines]}

    assert _normalise(as_bundle(again)) == _normalise(as_bundle(out))
    # importing the same file again stores nothing twice and says what was already there
    twice = _run(database_url, "fhir", "import", str(out))
    assert twice.exit_code == 0, twice.output
    second = json.loads(twice.output)
    assert second["assessments"] == [] and second["treatments"] == []
    assert second["already_stored"]["QuestionnaireResponse"] == 4

    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "QuestionnaireResponse", "status": "completed"')
    refused = _run(database_url, "fhir", "import", str(bad))
    assert refused.exit_code == 2 and "not JSON" in refused.output
    assert "Traceback" not in refused.output
    shown = _run(database_url, "fhir", "questionnaire", "phq9")
    assert shown.exit_code == 0 and json.loads(shown.output)["id"] == "phq9"


def test_cli_export_needs_a_target() -> None:
    result = _run("sqlite:///unused-never-opened.db", "fhir", "export")
    assert result.exit_code == 2 and "--patient ID or --all" in result.output


def test_capability_statement_is_public_valid_and_lists_what_the_server_does(
    settings: Settings, db: Database
) -> None:
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    with TestClient(create_app(settings, db)) as api:  # nobody signed in
        response = api.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    CapabilityStatement.model_validate(statement)  # raises on an invalid resource
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    assert statement["implementation"]["url"] == "http://testserver/fhir"
    rest = statement["rest"][0]
    offered = {
        r["type"]: [i["code"] for i in r.get("interaction", [])]
        + [o["name"] for o in r.get("operation", [])]
        for r in rest["resource"]
    }
    assert offered == {
        "Questionnaire": ["read"],
        "Patient": ["everything"],
        "QuestionnaireResponse": ["create"],
    }
    # every interaction it lists answers (signed out: 401, not 404)
    with TestClient(create_app(settings, db)) as api:
        assert api.get("/fhir/Questionnaire/phq9").status_code == 401
        assert api.get("/fhir/Patient/1/$everything").status_code == 401


def test_cli_export_that_fails_half_way_keeps_no_partial_file(
    seeded_sqlite: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from glabella.services import fhir as fhir_service

    def broken(db: object, clinic_id: int) -> Iterator[dict[str, object]]:
        yield {"resourceType": "Patient", "id": "1"}
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(fhir_service, "_stream_clinic", broken)
    out = tmp_path / "clinic.ndjson"
    source = seeded_sqlite.db.engine.url.render_as_string(hide_password=False)
    result = _run(source, "fhir", "export", "--all", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "the export stopped" in result.output and "Traceback" not in result.output
    assert not out.exists()
