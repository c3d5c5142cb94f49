"""The ``Idempotency-Key`` header on the JSON submission routes (issue 17 item 4), both
backends: a retry with the same key and body gets the same status and body and stores nothing
new; the same key with another body is refused naming the header; a malformed key is refused;
the header is in the OpenAPI description."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from builders import safe_screening
from glabella.services.context import Database
from glabella.store.models import Assessment, AuditEvent, IdempotencyKey

PATIENT = {
    "mrn": "IK-API",
    "given_name": "Ira",
    "family_name": "Retry",
    "date_of_birth": "1980-03-04",
    "sex": "male",
}
SAFE = safe_screening(phq9_item9=0)
NEXT_YEAR = (dt.date.today() + dt.timedelta(days=365)).isoformat()


def _phq9(*values: int) -> dict[str, object]:
    return {"instrument": "phq9", "answers": {f"phq9_{i}": v for i, v in enumerate(values, 1)}}


def _count(db: Database, model: type[object], **where: object) -> int:
    with db.read() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def _patient(api: TestClient) -> int:
    response = api.post("/api/v1/patients", json=PATIENT)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_assessment_retry_with_the_key_gets_the_first_answer_and_stores_nothing(
    api: TestClient, db: Database
) -> None:
    pid = _patient(api)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = _phq9(1, 1, 1, 1, 1, 1, 1, 1, 1)  # total 9: mild (Kroenke 2001, 5-9)
    first = api.post(f"/api/v1/patients/{pid}/assessments", json=body, headers=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert first.json()["total"] == 9 and len(first.json()["alerts"]) == 1  # item 9 = 1
    audits = _count(db, AuditEvent, action="assessment.submit")
    for _ in range(3):
        again = api.post(f"/api/v1/patients/{pid}/assessments", json=body, headers=key)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    assert _count(db, Assessment) == 1
    assert _count(db, AuditEvent, action="assessment.submit") == audits == 1
    # The reproduction: the same retry without a key is stored again.
    plain = api.post(f"/api/v1/patients/{pid}/assessments", json=body)
    assert plain.status_code == 201 and plain.json()["id"] != first.json()["id"]
    assert _count(db, Assessment) == 2


def test_the_same_key_with_another_body_is_refused_naming_the_header(
    api: TestClient, db: Database
) -> None:
    pid = _patient(api)
    key = {"Idempotency-Key": "visit-2026-12-04-phq9"}
    url = f"/api/v1/patients/{pid}/assessments"
    assert api.post(url, json=_phq9(0, 0, 0, 0, 0, 0, 0, 0, 0), headers=key).status_code == 201
    other = api.post(url, json=_phq9(3, 3, 3, 3, 3, 3, 3, 3, 0), headers=key)
    assert other.status_code == 422
    error = other.json()["error"]
    assert error["field"] == "Idempotency-Key" and "already used" in error["message"]
    # Another patient's path with the key is another request, refused too.
    pid2 = api.post("/api/v1/patients", json={**PATIENT, "mrn": "IK-2"}).json()["id"]
    moved = api.post(
        f"/api/v1/patients/{pid2}/assessments", json=_phq9(0, 0, 0, 0, 0, 0, 0, 0, 0), headers=key
    )
    assert moved.status_code == 422 and moved.json()["error"]["field"] == "Idempotency-Key"
    assert _count(db, Assessment) == 1
    # Member order does not make another request (the body is hashed canonically).
    reordered = {"answers": _phq9(0, 0, 0, 0, 0, 0, 0, 0, 0)["answers"], "instrument": "phq9"}
    assert api.post(url, json=reordered, headers=key).headers["Idempotent-Replayed"] == "true"


def test_a_malformed_key_is_refused_with_a_clear_message(api: TestClient, db: Database) -> None:
    pid = _patient(api)
    url = f"/api/v1/patients/{pid}/assessments"
    body = _phq9(0, 0, 0, 0, 0, 0, 0, 0, 0)
    long = api.post(url, json=body, headers={"Idempotency-Key": "k" * 201})
    assert long.status_code == 422
    assert long.json()["error"] == {
        "code": "invalid",
        "message": "Idempotency-Key is 201 characters long: at most 200 allowed",
        "field": "Idempotency-Key",
    }
    tab = api.post(url, json=body, headers={"Idempotency-Key": "a\tb"})
    assert tab.status_code == 422 and "not printable ASCII" in tab.json()["error"]["message"]
    latin = api.post(url, json=body, headers=[("Idempotency-Key", "café".encode("latin-1"))])
    assert latin.status_code == 422 and "position 4" in latin.json()["error"]["message"]
    two = api.post(url, json=body, headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")])
    assert two.status_code == 422 and "one Idempotency-Key header" in two.json()["error"]["message"]
    assert _count(db, Assessment) == 0 and _count(db, IdempotencyKey) == 0
    assert api.post(url, json=body, headers={"Idempotency-Key": "k" * 200}).status_code == 201


def test_patient_registration_and_treatment_retries_are_answered_from_the_key(
    api: TestClient, db: Database
) -> None:
    key = {"Idempotency-Key": "register-ira"}
    first = api.post("/api/v1/patients", json=PATIENT, headers=key)
    again = api.post("/api/v1/patients", json=PATIENT, headers=key)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    # Without the key the retry is refused as a second registration of the MRN.
    assert api.post("/api/v1/patients", json=PATIENT).status_code == 409
    pid = first.json()["id"]

    screening = {"product": "onabotulinumtoxinA", "answers": SAFE}
    skey = {"Idempotency-Key": "screen-1"}
    screened = api.post(f"/api/v1/patients/{pid}/screenings", json=screening, headers=skey)
    assert screened.status_code == 201 and screened.json()["outcome"] == "eligible"
    rescreened = api.post(f"/api/v1/patients/{pid}/screenings", json=screening, headers=skey)
    assert rescreened.json() == screened.json()
    assert len(api.get(f"/api/v1/patients/{pid}/screenings").json()) == 1

    version = api.get("/api/v1/consent/current").json()["version"]
    consent = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": "Ira Retry", "confirmed": True},
    ).json()
    treatment = {
        "product": "onabotulinumtoxinA",
        "lot_number": "L7",
        "lot_expiry": NEXT_YEAR,
        "vial_units": "100",
        "saline_ml": "2.5",
        "sites": {"procerus": "4", "corrugator_medial_left": "5", "corrugator_medial_right": "5"},
        "consent_id": consent["id"],
    }
    tkey = {"Idempotency-Key": "inject-1"}
    url = f"/api/v1/patients/{pid}/treatments"
    recorded = api.post(url, json=treatment, headers=tkey)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["total_units"] == "14"  # 4 + 5 + 5 U
    replayed = api.post(url, json=treatment, headers=tkey)
    assert replayed.status_code == 201 and replayed.json() == recorded.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert len(api.get(url).json()) == 1
    assert _count(db, AuditEvent, action="treatment.record") == 1
    # Another body with the key: refused by the key, before the treatment rules are asked.
    changed = api.post(url, json={**treatment, "lot_number": "L8"}, headers=tkey)
    assert changed.status_code == 422 and changed.json()["error"]["field"] == "Idempotency-Key"

    event = {
        "type": "headache",
        "onset": dt.datetime.now(dt.UTC).isoformat(),
        "grade": 1,
        "serious": False,
        "relatedness": "possible",
        "action": "none",
        "outcome": "recovering",
    }
    ekey = {"Idempotency-Key": "ae-1"}
    ae_url = f"/api/v1/patients/{pid}/adverse-events"
    made = api.post(ae_url, json=event, headers=ekey)
    assert made.status_code == 201, made.text
    assert api.post(ae_url, json=event, headers=ekey).json() == made.json()
    assert len(api.get(ae_url).json()) == 1


def test_a_refused_request_stores_no_key_and_can_be_sent_again(
    api: TestClient, db: Database
) -> None:
    key = {"Idempotency-Key": "too-early"}
    url = "/api/v1/patients/999/assessments"
    refused = api.post(url, json=_phq9(0, 0, 0, 0, 0, 0, 0, 0, 0), headers=key)
    assert refused.status_code == 404
    assert _count(db, IdempotencyKey) == 0  # only answers that stored something are kept


def test_the_header_is_documented_in_openapi(app_client: TestClient) -> None:
    schema = app_client.get("/api/openapi.json").json()
    documented = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            if "Idempotency-Key" in names:
                documented.append((method.upper(), path))
                header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
                assert header["in"] == "header" and header["schema"]["maxLength"] == 200
                assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert sorted(documented) == [
        ("POST", "/api/v1/patients"),
        ("POST", "/api/v1/patients/{patient_id}/adverse-events"),
        ("POST", "/api/v1/patients/{patient_id}/assessments"),
        ("POST", "/api/v1/patients/{patient_id}/screenings"),
        ("POST", "/api/v1/patients/{patient_id}/treatments"),
    ]
