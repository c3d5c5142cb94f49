"""Issue 15 interval and confirmation defects through the JSON API (hazard audit): the pure
gate's checks hold only if the service gives it every treatment, every screening and the
confirmations, so these run the whole chain and check that nothing was stored."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from httpx import Response

from builders import api_consent, api_patient, api_screen, api_treatment_body, safe_screening

PATIENT = {
    "mrn": "H15-API",
    "given_name": "Nora",
    "family_name": "Audit",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}
SAFE = safe_screening(phq9_item9=0)
TWENTY_UNITS = {  # 4 + 4 x 4 = 20 U onabotulinumtoxinA, at most 10 U per site
    "procerus": "4",
    "corrugator_medial_left": "4",
    "corrugator_medial_right": "4",
    "corrugator_lateral_left": "4",
    "corrugator_lateral_right": "4",
}


def _patient(api: TestClient) -> int:
    return api_patient(api, PATIENT)


def _screen(api: TestClient, pid: int, **extra: object) -> dict[str, object]:
    return api_screen(api, pid, SAFE, **extra)


def _consent(api: TestClient, pid: int) -> int:
    return api_consent(api, pid, "Nora Audit")


def _treat(api: TestClient, pid: int, consent_id: int, **changes: object) -> Response:
    body = api_treatment_body(consent_id, **{"sites": TWENTY_UNITS, **changes})
    response: Response = api.post(f"/api/v1/patients/{pid}/treatments", json=body)
    return response


def _codes(response: Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {str(p["code"]) for p in response.json()["error"].get("problems", [])}


def test_two_20_unit_treatments_on_the_same_day_second_refused(api: TestClient) -> None:
    pid = _patient(api)
    _screen(api, pid)
    first = _treat(api, pid, _consent(api, pid))
    assert first.status_code == 201, first.text
    assert "same_day" in _codes(_treat(api, pid, _consent(api, pid)))
    assert len(api.get(f"/api/v1/patients/{pid}/treatments").json()) == 1


def test_a_treatment_back_dated_8_weeks_before_an_existing_one_is_refused(
    api: TestClient,
) -> None:
    pid = _patient(api)
    _screen(api, pid)
    assert _treat(api, pid, _consent(api, pid)).status_code == 201
    back = (dt.datetime.now(dt.UTC) - dt.timedelta(weeks=8)).isoformat()
    late = _treat(
        api, pid, _consent(api, pid), treated_at=back, backdate_reason="typed in from paper"
    )
    assert "interval_after" in _codes(late)
    assert len(api.get(f"/api/v1/patients/{pid}/treatments").json()) == 1


def test_a_treatment_dated_before_its_screening_is_refused(api: TestClient) -> None:
    pid = _patient(api)
    consent_id = _consent(api, pid)
    _screen(api, pid)
    before = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat()
    refused = _treat(api, pid, consent_id, treated_at=before, backdate_reason="typed in late")
    assert "before_screening" in _codes(refused)
    assert api.get(f"/api/v1/patients/{pid}/treatments").json() == []


def test_an_unrecognised_medicine_blocks_treatment_until_confirmed(api: TestClient) -> None:
    pid = _patient(api)
    screening = _screen(api, pid, medications=["Zorblaxin"])
    assert screening["outcome"] == "eligible_with_precautions"
    unconfirmed = screening["unconfirmed"]
    assert isinstance(unconfirmed, list)
    assert [u["rule_id"] for u in unconfirmed] == ["unrecognised_medication_1"]
    consent_id = _consent(api, pid)
    blocked = _treat(api, pid, consent_id)
    assert blocked.status_code == 422
    assert api.get(f"/api/v1/patients/{pid}/treatments").json() == []
    confirmed = api.post(
        f"/api/v1/screenings/{screening['id']}/unrecognised-confirmations",
        json={"rule_ids": ["unrecognised_medication_1"]},
    )
    assert confirmed.status_code == 200 and confirmed.json()["outcome"] == "eligible"
    assert _treat(api, pid, consent_id).status_code == 201
