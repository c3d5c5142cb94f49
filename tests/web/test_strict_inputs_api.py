"""Issue 15 item 6 through the JSON API (H-059): screening facts, patient registration,
treatment, consent and adverse-event payloads refuse a string where a boolean or a list is
expected, a future or impossible date, with a 422 whose message names the field as a person
reads it; nothing is stored."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from builders import api_patient, api_ready_patient, api_treatment_body, safe_screening

PATIENT = {
    "mrn": "STRICT-1",
    "given_name": "Nora",
    "family_name": "Strict",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}
SAFE = safe_screening(phq9_item9=0)


def _patient(api: TestClient) -> int:
    return api_patient(api, PATIENT)


def _refused(response: object, field: str, message: str) -> None:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert message in error["message"], error


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"mdq_positive": "no"},
            "mdq_positive",
            'MDQ positive: must be true or false (without quotes), not the text "no"',
        ),
        (
            {"medications": "warfarin"},
            "medications",
            'medications: must be a list, e.g. ["warfarin"], not the text "warfarin"',
        ),
        ({"conditions": "myasthenia"}, "conditions", "conditions: must be a list"),
        (
            {"last_bont_date": "2023-02-30"},
            "last_bont_date",
            "last BoNT date: is not a real date (2023-02-30)",
        ),
        ({"last_bont_date": 0}, "last_bont_date", "last BoNT date: must be a date"),
        (
            {"answers": {**SAFE, "pregnant": "false"}},
            "answers.pregnant",
            'answers › pregnant: answer yes or no (or true / false), not the text "false"',
        ),
        (
            {"answers": {**SAFE, "phq9_item9": True}},
            "answers.phq9_item9",
            "answers › PHQ-9 item 9: must be 0, 1, 2 or 3",
        ),
        (
            {"answers": {**SAFE, "alergies": "Dysport"}},
            "answers.alergies",
            "answers.alergies: is not a field of this request",
        ),
    ],
)
def test_screening_refuses_loose_types_naming_the_field(
    api: TestClient, change: dict[str, object], field: str, message: str
) -> None:
    pid = _patient(api)
    body = {"product": "onabotulinumtoxinA", "answers": SAFE, **change}
    _refused(api.post(f"/api/v1/patients/{pid}/screenings", json=body), field, message)
    assert api.get(f"/api/v1/patients/{pid}/screenings").json() == []


def test_screening_reads_json_booleans_and_lists_as_typed(api: TestClient) -> None:
    pid = _patient(api)
    answers = {**SAFE, "pregnant": False, "allergies": ["Dysport"]}
    body = {
        "product": "onabotulinumtoxinA",
        "answers": answers,
        "medications": ["warfarin"],
        "mdq_positive": True,
    }
    response = api.post(f"/api/v1/patients/{pid}/screenings", json=body)
    assert response.status_code == 201, response.text
    ids = {r["rule_id"] for r in response.json()["reasons"]}
    assert {"anticoagulant", "mdq_positive"} <= ids
    assert response.json()["outcome"] == "not_eligible"  # an allergy to any BoNT product


@pytest.mark.parametrize(
    ("dob", "message"),
    [
        ("2031-01-01", "date of birth: is in the future (2031-01-01)"),
        ("2023-02-30", "date of birth: is not a real date (2023-02-30)"),
        (0, "date of birth: must be a date written YYYY-MM-DD, not 0"),
        ("1899-12-31", "date of birth: is before 1900 (1899-12-31)"),
    ],
)
def test_registration_refuses_a_future_or_impossible_date_of_birth(
    api: TestClient, dob: object, message: str
) -> None:
    response = api.post("/api/v1/patients", json={**PATIENT, "date_of_birth": dob})
    _refused(response, "date_of_birth", message)
    assert api.post("/api/v1/patients/search", json={"q": "STRICT-1"}).json() == []


def _treatment(consent_id: object, **changes: object) -> dict[str, object]:
    return api_treatment_body(consent_id, **changes)


def _ready(api: TestClient) -> tuple[int, int]:
    return api_ready_patient(api, PATIENT)


def test_treatment_refuses_loose_types_naming_each_field(api: TestClient) -> None:
    pid, consent_id = _ready(api)
    cases = [
        (_treatment(str(consent_id)), "consent_id", "consent id: must be a whole number"),
        (_treatment(True), "consent_id", "consent id: must be a whole number, not true"),
        (
            _treatment(consent_id, lot_expiry="2023-02-30"),
            "lot_expiry",
            "lot expiry: is not a real date (2023-02-30)",
        ),
        (
            _treatment(consent_id, treated_at=1700000000),
            "treated_at",
            "treatment time: must be a date and time written as text, not 1700000000",
        ),
        (
            _treatment(consent_id, treated_at="2026-02-30T10:00:00+01:00"),
            "treated_at",
            "treatment time: is not a real date and time (2026-02-30T10:00:00+01:00)",
        ),
    ]
    for body, field, message in cases:
        _refused(api.post(f"/api/v1/patients/{pid}/treatments", json=body), field, message)
    assert api.get(f"/api/v1/patients/{pid}/treatments").json() == []


def test_consent_confirmation_must_be_a_json_boolean(api: TestClient) -> None:
    pid = _patient(api)
    version = api.get("/api/v1/consent/current").json()["version"]
    response = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": "Nora Strict", "confirmed": "yes"},
    )
    _refused(
        response,
        "confirmed",
        'confirmed: must be true or false (without quotes), not the text "yes"',
    )
    assert api.get(f"/api/v1/patients/{pid}/consents").json() == []


EVENT = {
    "type": "headache",
    "onset": "2026-11-01T10:00:00+00:00",
    "grade": 1,
    "serious": False,
    "relatedness": "possible",
    "action": "none",
    "outcome": "recovered",
    "treatment_id": None,
}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"serious": "no"},
            "serious",
            'serious: must be true or false (without quotes), not the text "no"',
        ),
        ({"grade": "1"}, "grade", 'grade: must be a whole number, not the text "1"'),
        ({"grade": True}, "grade", "grade: must be a whole number, not true"),
        (
            {"serious": True, "seriousness": "hospitalisation"},
            "seriousness",
            "seriousness: must be a list",
        ),
        (
            {"resolved_on": "2026-11-31"},
            "resolved_on",
            "resolved on: is not a real date (2026-11-31)",
        ),
        ({"onset": 1700000000}, "onset", "onset: must be a date and time written as text"),
        ({"treatment_id": "1"}, "treatment_id", "treatment_id: must be a whole number"),
    ],
)
def test_adverse_event_refuses_loose_types_naming_the_field(
    api: TestClient, change: dict[str, object], field: str, message: str
) -> None:
    pid = _patient(api)
    response = api.post(f"/api/v1/patients/{pid}/adverse-events", json={**EVENT, **change})
    _refused(response, field, message)
    assert api.get(f"/api/v1/patients/{pid}/adverse-events").json() == []


def test_adverse_event_update_refuses_loose_types_and_keeps_the_history(api: TestClient) -> None:
    pid = _patient(api)
    created = api.post(f"/api/v1/patients/{pid}/adverse-events", json=EVENT)
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    before = api.get(f"/api/v1/patients/{pid}/adverse-events/{event_id}").json()
    update = {k: v for k, v in EVENT.items() if k not in ("type", "onset")}
    cases: list[tuple[dict[str, object], str, str]] = [
        (
            {"serious": "no"},
            "serious",
            'serious: must be true or false (without quotes), not the text "no"',
        ),
        (
            {"resolved_on": "2026-02-29"},
            "resolved_on",
            "resolved on: is not a real date (2026-02-29)",
        ),
        ({"grade": 2.0}, "grade", "grade: must be a whole number, not 2.0"),
    ]
    for change, field, message in cases:
        response = api.post(
            f"/api/v1/patients/{pid}/adverse-events/{event_id}/updates", json={**update, **change}
        )
        _refused(response, field, message)
    after = api.get(f"/api/v1/patients/{pid}/adverse-events/{event_id}").json()
    assert after == before


def _page_csrf(client: TestClient, path: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_screening_form_refuses_an_mdq_value_that_is_not_an_option(api: TestClient) -> None:
    """The page's radio buttons send yes, no or "" (not done); anything else is refused."""
    pid = _patient(api)
    csrf = _page_csrf(api, f"/patients/{pid}/screening")
    form = {
        "csrf_token": csrf,
        "product": "onabotulinumtoxinA",
        **{k: str(v) for k, v in SAFE.items()},
    }
    refused = api.post(f"/patients/{pid}/screening", data={**form, "mdq_positive": "maybe"})
    assert refused.status_code == 422
    assert "MDQ positive: answer yes, no or not done" in refused.text
    assert api.get(f"/api/v1/patients/{pid}/screenings").json() == []
    done = api.post(
        f"/patients/{pid}/screening", data={**form, "mdq_positive": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    stored = api.get(f"/api/v1/patients/{pid}/screenings").json()
    assert [r["rule_id"] for r in stored[0]["reasons"]] == ["mdq_positive"]
