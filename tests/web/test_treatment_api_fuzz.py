"""The treatment payload through the JSON API: the issue's dose cases are a 422 naming the
site, and no payload makes the server answer 500 or take more than 2 s (hypothesis fuzz)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TOMORROW = (dt.date.today() + dt.timedelta(days=365)).isoformat()
PATIENT = {
    "mrn": "PW-FUZZ",
    "given_name": "Nora",
    "family_name": "Fuzz",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}
SAFE = {
    "prior_bont_reaction": "no",
    "infection_or_inflammation_at_sites": "no",
    "pregnant": "no",
    "breastfeeding": "no",
    "bont_last_12_weeks": "no",
    "prior_eyelid_ptosis": "no",
    "psychotic_symptoms_current": "no",
    "psychotic_disorder_history": "no",
    "phq9_item9": 0,
}


def _ready_patient(api: TestClient) -> tuple[int, int]:
    pid = int(api.post("/api/v1/patients", json=PATIENT).json()["id"])
    screened = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": SAFE},
    )
    assert screened.status_code == 201, screened.text
    version = api.get("/api/v1/consent/current").json()["version"]
    consent = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": "Nora Fuzz", "confirmed": True},
    )
    assert consent.status_code == 201, consent.text
    return pid, int(consent.json()["id"])


def _body(consent_id: int, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "product": "onabotulinumtoxinA",
        "lot_number": "L1",
        "lot_expiry": TOMORROW,
        "vial_units": "100",
        "saline_ml": "2.5",
        "sites": {"procerus": "4", "corrugator_medial_left": "4"},
        "consent_id": consent_id,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize("raw", ["0.0001", "1e-9999", "1e999999999", "1e-999999999"])
def test_issue_dose_strings_are_a_fast_422_naming_the_site(api: TestClient, raw: str) -> None:
    pid, consent_id = _ready_patient(api)
    start = time.perf_counter()
    response = api.post(
        f"/api/v1/patients/{pid}/treatments",
        json=_body(consent_id, sites={"procerus": raw}),
    )
    assert time.perf_counter() - start < 2
    assert response.status_code == 422, response.text
    fields = {p["field"] for p in response.json()["error"]["problems"]}
    assert "sites.procerus" in fields
    assert api.get(f"/api/v1/patients/{pid}/treatments").json() == []


def test_500_u_vial_and_50_u_site_listed_together(api: TestClient) -> None:
    pid, consent_id = _ready_patient(api)
    response = api.post(
        f"/api/v1/patients/{pid}/treatments",
        json=_body(consent_id, vial_units="500", sites={"procerus": "50"}),
    )
    assert response.status_code == 422
    codes = {p["code"] for p in response.json()["error"]["problems"]}
    assert {"vial_size", "site_units_max"} <= codes
    # 50 U x 2.5 mL / 500 U = 0.25 mL: exactly at the 0.25 mL per-site limit, not over it
    assert "site_volume_max" not in codes


_number = st.one_of(
    st.text(max_size=80),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["1e999999999", "1e-999999999", "0.0001", "4", "4.5", " 5 ", "٤"]),
)
_payload = st.fixed_dictionaries(
    {
        "product": st.sampled_from(["onabotulinumtoxinA", "abobotulinumtoxinA", "x", ""]),
        "lot_number": st.text(max_size=90),
        "lot_expiry": st.sampled_from([TOMORROW, "2020-01-01", "not a date"]),
        "vial_units": _number,
        "saline_ml": _number,
        "sites": st.dictionaries(
            st.sampled_from(["procerus", "corrugator_medial_left", "chin", ""]), _number, max_size=4
        ),
        "consent_id": st.one_of(st.integers(), st.text(max_size=5)),
    },
    optional={
        "protocol_id": st.one_of(st.none(), st.sampled_from(["wollmer2012_female", "nope"])),
        "treated_at": st.sampled_from(
            ["2020-01-01T10:00:00+00:00", "2020-01-01T10:00:00", "9999-12-31T00:00:00Z", "x"]
        ),
        "backdate_reason": st.text(max_size=30),
    },
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=_payload)
def test_fuzzed_treatment_payload_never_500_and_never_slow(
    api: TestClient, payload: dict[str, object]
) -> None:
    found = api.post("/api/v1/patients/search", json={"q": "PW-FUZZ"}).json()
    pid = found[0]["id"] if found else _ready_patient(api)[0]
    start = time.perf_counter()
    # json.dumps writes inf/nan as Infinity/NaN (not JSON): the server must refuse those too
    response = api.post(
        f"/api/v1/patients/{pid}/treatments",
        content=json.dumps(payload),
        headers={"content-type": "application/json"},
    )
    assert time.perf_counter() - start < 2
    assert response.status_code < 500, response.text
