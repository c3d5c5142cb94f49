"""Validation messages on the HTML forms name the field as the form labels it, in plain words
(issue 16, item 8; issue 14, item 6: the forms go through ``glabella.web.form_route``).

Each converted form is sent bad values; the page comes back with 422 (or the service's own
4xx), every value entered kept, and messages such as "Date of birth: is in the future
(2031-01-01)", never Pydantic's wording ("date_of_birth: Value error, ...", "float_parsing").
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from fastapi.testclient import TestClient

from builders import safe_screening
from glabella.services.users import UserView

SAFE = safe_screening(phq9_item9=0)  # the JSON shape: item 9 as an integer
PYDANTIC_WORDS = re.compile(
    r"Value error|_parsing|_type\b|literal_error|string_too|extra_forbidden|input should",
    re.IGNORECASE,
)
UNDERSCORE_NAME = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _messages(page: str) -> list[str]:
    """Every error message shown: the form's alert and the messages next to fields."""
    found = re.findall(r'<p class="error" role="alert"[^>]*>(.*?)</p>', page, re.S)
    found += re.findall(r'<span class="error field-error"[^>]*>(.*?)</span>', page, re.S)
    return [html.unescape(m).strip() for m in found]


def _check(page: str) -> list[str]:
    """The messages, each free of Pydantic's wording and of underscore field names."""
    messages = _messages(page)
    assert messages, "no error message shown"
    for message in messages:
        assert not PYDANTIC_WORDS.search(message), message
        assert not UNDERSCORE_NAME.search(message), message
    return messages


def _post(client: TestClient, get_url: str, post_url: str, form: dict[str, Any]) -> Any:
    token = _csrf(client.get(get_url).text)
    return client.post(post_url, data={"csrf_token": token, **form})


def _patient(api: TestClient) -> int:
    created = api.post(
        "/api/v1/patients",
        json={
            "mrn": "FM-1",
            "given_name": "Fay",
            "family_name": "Messages",
            "date_of_birth": "1980-02-03",
            "sex": "female",
        },
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_patient_forms_name_fields_by_their_labels(api: TestClient) -> None:
    bad = {
        "mrn": "",
        "given_name": "Fay",
        "family_name": "Messages",
        "date_of_birth": "2031-01-01",
        "sex": "female",
        "email": "no-at-sign",
    }
    answer = _post(api, "/patients/new", "/patients/new", bad)
    assert answer.status_code == 422
    messages = " | ".join(_check(answer.text))
    assert "Date of birth: is in the future (2031-01-01)" in messages
    assert "Medical record number (MRN): is required" in messages
    assert "Email: " in messages
    # every value entered is kept
    assert 'value="2031-01-01"' in answer.text and 'value="no-at-sign"' in answer.text
    assert api.get("/api/v1/patients").json() == []  # nothing stored

    pid = _patient(api)
    edit = {**bad, "mrn": "FM-1", "date_of_birth": "31/12/1990", "email": ""}
    answer = _post(api, f"/patients/{pid}/edit", f"/patients/{pid}/edit", edit)
    assert answer.status_code == 422
    assert any(m.startswith("Date of birth: must be a date") for m in _check(answer.text))
    assert 'value="31/12/1990"' in answer.text


def test_questionnaire_and_pathway_forms_name_fields_by_their_labels(api: TestClient) -> None:
    pid = _patient(api)

    answer = _post(
        api,
        f"/patients/{pid}/assess/phq9",
        f"/patients/{pid}/assess/phq9",
        {"phq9__phq9_1": "x", "phq9__phq9_2": "7"},
    )
    assert answer.status_code == 422
    messages = " | ".join(_check(answer.text))
    assert "PHQ-9 question 1: must be a whole number, e.g. 3" in messages

    # PHQ-9 item 9 answered 1: a suicide-risk alert, closed only with a recorded action
    items = {f"phq9_{n}": 0 for n in range(1, 10)} | {"phq9_9": 1}
    stored = api.post(
        f"/api/v1/patients/{pid}/assessments", json={"instrument": "phq9", "answers": items}
    )
    assert stored.status_code == 201, stored.text
    (alert,) = api.get("/api/v1/alerts").json()
    answer = _post(api, "/", f"/alerts/{alert['id']}/action", {"action_text": "rang", "next": "/"})
    assert answer.status_code == 422
    assert "Action taken: describe the action taken (at least 10 characters)" in _check(answer.text)
    assert ">rang</textarea>" in answer.text  # what was typed is kept
    assert api.get("/api/v1/alerts").json()[0]["status"] == "open"

    screening = safe_screening(product="", phq9_item9="7")
    screening["last_bont_date"] = "soon"
    answer = _post(api, f"/patients/{pid}/screening", f"/patients/{pid}/screening", screening)
    assert answer.status_code == 422
    messages = " | ".join(_check(answer.text))
    assert "Planned product: is required" in messages
    assert "PHQ-9 item 9 today: must be at most 3" in messages
    assert "Date of the last botulinum toxin treatment elsewhere: must be a date" in messages
    assert 'value="soon"' in answer.text and 'value="7"' in answer.text

    answer = _post(
        api,
        f"/patients/{pid}/consent",
        f"/patients/{pid}/consent",
        {"version": "nonsense", "signed_name": "", "different_name_reason": "x" * 2001},
    )
    assert 400 <= answer.status_code < 500
    assert any(m.startswith("Reason: is too long") for m in _check(answer.text))

    # a consent and a screening, then a treatment with a typed word for units
    assert (
        api.post(
            f"/api/v1/patients/{pid}/screenings",
            json={"product": "onabotulinumtoxinA", "answers": SAFE},
        ).status_code
        == 201
    )
    version = api.get("/api/v1/consent/current").json()["version"]
    consent = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": "Fay Messages", "confirmed": True},
    ).json()
    answer = _post(
        api,
        f"/patients/{pid}/screening",
        "/screenings/1/override",
        {"patient_id": str(pid), "rule_id": "", "reason": "a clinical reason"},
    )
    assert answer.status_code == 422
    assert "Precaution: is required" in _check(answer.text)

    url = f"/patients/{pid}/consent"
    answer = _post(api, url, f"/patients/{pid}/consents/{consent['id']}/withdraw", {"reason": ""})
    assert 400 <= answer.status_code < 500
    assert any(
        m.startswith(f"Consent {consent['id']} not withdrawn: ") for m in _check(answer.text)
    )

    treatment = {
        "product": "onabotulinumtoxinA",
        "lot_number": "L1",
        "lot_expiry": "next year",
        "vial_units": "100",
        "saline_ml": "2,5",
        "consent_id": str(consent["id"]),
        "site_corrugator_medial_left": "four",
        "site_procerus": "4",
    }
    answer = _post(
        api, f"/patients/{pid}/treatments/new", f"/patients/{pid}/treatments/new", treatment
    )
    assert answer.status_code == 422
    messages = " | ".join(_check(answer.text))
    assert "Units at left corrugator, medial: must be a number, e.g. 4" in messages
    assert (
        "Saline mL: must be a number, e.g. 2.5 (write the decimal with a point, e.g. 4.5,"
        in messages
    )
    assert "Lot expiry date: must be a date, e.g. 2027-06-30" in messages
    assert 'value="four"' in answer.text and 'value="next year"' in answer.text
    assert api.get(f"/api/v1/patients/{pid}/treatments").json() == []

    answer = _post(
        api,
        f"/patients/{pid}/adverse-events/new",
        f"/patients/{pid}/adverse-events/new",
        {"type": "headache", "onset": "yesterday", "description": "after the visit"},
    )
    assert answer.status_code == 422
    assert any(m.startswith("Onset: ") for m in _check(answer.text))
    assert "after the visit" in answer.text

    event = api.post(
        f"/api/v1/patients/{pid}/adverse-events",
        json={
            "type": "headache",
            "onset": dt.datetime.now(dt.UTC).isoformat(),
            "grade": 1,
            "serious": False,
            "relatedness": "possible",
            "action": "none",
            "outcome": "recovering",
        },
    )
    assert event.status_code == 201, event.text
    url = f"/patients/{pid}/adverse-events/{event.json()['id']}"
    answer = _post(api, url, url, {"grade": "9", "note": "graded again"})
    assert 400 <= answer.status_code < 500
    _check(answer.text)
    assert "graded again" in answer.text


def test_staff_forms_name_fields_by_their_labels(
    app_client: TestClient, make_user: Any, password: str
) -> None:
    admin: UserView = make_user("admin.ada", "admin")
    signed = app_client.post(
        "/api/v1/auth/login", json={"username": admin.username, "password": password}
    )
    assert signed.status_code == 200, signed.text
    answer = _post(
        app_client,
        "/admin/staff",
        "/admin/staff",
        {"full_name": "Nia Nurse", "username": "nia", "role": "nurse", "clinic_id": "abc"},
    )
    assert answer.status_code == 422
    assert "Clinic: choose one from the list" in _check(answer.text)
    assert 'value="Nia Nurse"' in answer.text

    url = f"/admin/staff/{admin.id}"
    answer = _post(app_client, url, url, {"full_name": "A" * 201, "role": "admin"})
    assert answer.status_code == 422
    assert any(m.startswith("Full name: is too long") for m in _check(answer.text))


def test_password_form_names_fields_by_their_labels(api: TestClient, password: str) -> None:
    answer = _post(
        api,
        "/account/password",
        "/account/password",
        {"current_password": password, "new_password": "x" * 20, "confirm_password": "y" * 20},
    )
    assert answer.status_code == 422
    assert _check(answer.text) == ["New password again: differs from the new password"]
    answer = _post(
        api,
        "/account/password",
        "/account/password",
        {"current_password": password, "new_password": "short", "confirm_password": "short"},
    )
    assert 400 <= answer.status_code < 500
    assert all(m.startswith("New password: ") for m in _check(answer.text))
    assert "short" not in answer.text.split('role="alert"', 1)[1].split("</form>", 1)[0]


def test_two_factor_forms_name_the_code_field(api: TestClient) -> None:
    answer = _post(api, "/account/totp", "/account/totp/disable", {"code": "1" * 40})
    assert answer.status_code == 422
    assert _check(answer.text) == ["Code: is too long (at most 32 characters)"]
    answer = _post(api, "/account/totp", "/account/totp", {"code": "000000x"})
    assert 400 <= answer.status_code < 500
    assert all(m.startswith("Code: ") for m in _check(answer.text))
    assert 'id="secret"' in answer.text  # the enrolment (key and QR code) is shown again
    answer = _post(api, "/account", "/account/recovery-codes", {"code": "123456"})
    assert 400 <= answer.status_code < 500
    _check(answer.text)
