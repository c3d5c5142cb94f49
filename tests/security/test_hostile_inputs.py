"""Issue 17 item 5: the smaller findings of the hostile-traffic review, one test each."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from glabella.interop.csv_safety import safe_cell, safe_row
from glabella.services import patients
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid


def _patient(mrn: str, given: str = "Ada", family: str = "Lovelace") -> dict[str, object]:
    return {
        "mrn": mrn,
        "given_name": given,
        "family_name": family,
        "date_of_birth": "1985-12-10",
        "sex": "female",
    }


def test_json_true_is_not_answer_one(api: TestClient) -> None:
    answers: dict[str, object] = {f"phq9_{i}": 0 for i in range(1, 10)}
    answers["phq9_1"] = True
    response = api.post("/api/v1/score", json={"instrument": "phq9", "answers": answers})
    assert response.status_code == 422, response.text
    assert "phq9_1" in response.json()["error"]["field"]


@pytest.mark.parametrize(
    "bad", ["\x00", "\u202e", "\u202a", "\u202d", "\u2066", "\u2069", "\u200e", "\u200f"]
)
def test_nul_and_bidi_controls_are_refused_in_names_and_mrns(bad: str) -> None:
    for field in ("mrn", "given_name", "family_name"):
        data = _patient("M-1")
        data[field] = f"Ab{bad}cd"
        with pytest.raises(Invalid) as caught:
            patients.parse_patient_input(data)
        assert caught.value.field == field
        assert f"U+{ord(bad):04X}" in caught.value.message


def test_control_characters_are_a_clear_422_over_the_api(api: TestClient) -> None:
    response = api.post("/api/v1/patients", json=_patient("RLO\u202e1"))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "mrn"
    assert "U+202E" in response.json()["error"]["message"]
    assert api.get("/api/v1/patients").json() == []


def test_percent_and_underscore_in_a_search_match_only_themselves(
    db: Database, actor: Actor
) -> None:
    for mrn in ("A-100", "B_200", "C%300"):
        patients.create_patient(db, actor, patients.parse_patient_input(_patient(mrn)))
    assert [p.mrn for p in patients.search_patients(db, actor, "%")] == ["C%300"]
    assert [p.mrn for p in patients.search_patients(db, actor, "_")] == ["B_200"]
    assert [p.mrn for p in patients.search_patients(db, actor, "\\")] == []
    assert len(patients.search_patients(db, actor, "0")) == 3


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_run_as_a_formula_are_neutralised(start: str) -> None:
    payload = f'{start}HYPERLINK("http://evil.example","x")'
    assert safe_cell(payload) == "'" + payload
    buf = io.StringIO()
    csv.writer(buf).writerow(safe_row([payload, -1.5, 3, "plain"]))
    cells = next(csv.reader(io.StringIO(buf.getvalue())))
    assert cells == ["'" + payload, "-1.5", "3", "plain"]


def test_405_answers_name_the_allowed_methods(api: TestClient) -> None:
    response = api.delete("/api/v1/patients")
    assert response.status_code == 405
    allowed = set(response.headers["allow"].replace(" ", "").split(","))
    assert allowed and "DELETE" not in allowed and allowed <= {"GET", "POST", "HEAD"}


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
    ],
)
def test_logout_from_another_site_is_refused(api: TestClient, headers: dict[str, str]) -> None:
    response = api.post("/api/v1/auth/logout", headers=headers, content=b"x=1")
    assert response.status_code == 403, response.text
    assert api.get("/api/v1/me").status_code == 200  # still signed in


def test_logout_from_this_site_still_works(api: TestClient) -> None:
    response = api.post("/api/v1/auth/logout", headers={"origin": "http://testserver"})
    assert response.status_code == 200
    assert api.get("/api/v1/me").status_code == 401
