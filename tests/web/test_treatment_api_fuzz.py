"""The treatment payload through the JSON API: the issue's dose cases are a 422 naming the
site, and no payload makes the server answer 500 or take more than 2 s (hypothesis fuzz:
exponent, huge, tiny and non-ASCII digit strings, huge integers, floats, booleans, nested
objects and lists in every field, or as the whole body; each request under a time limit)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import api_ready_patient, api_treatment_body

TOMORROW = (dt.date.today() + dt.timedelta(days=365)).isoformat()
PATIENT = {
    "mrn": "PW-FUZZ",
    "given_name": "Nora",
    "family_name": "Fuzz",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}


def _ready_patient(api: TestClient) -> tuple[int, int]:
    return api_ready_patient(api, PATIENT)


def _body(consent_id: int, **changes: object) -> dict[str, object]:
    return api_treatment_body(consent_id, **changes)


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


_exponent = st.from_regex(r"[+-]?[0-9]{1,12}(\.[0-9]{0,12})?[eE][+-]?[0-9]{1,12}", fullmatch=True)
_huge_digits = st.integers(min_value=20, max_value=3000).map(lambda n: "9" * n)
_tiny_decimal = st.integers(min_value=1, max_value=3000).map(lambda n: "0." + "0" * n + "1")
_unicode_digits = st.text(
    alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=6
)
_nested = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_number = st.one_of(
    st.text(max_size=80),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    _exponent,
    _huge_digits,
    _tiny_decimal,
    _unicode_digits,
    _nested,
    st.sampled_from(
        [
            "1e999999999",
            "1e-999999999",
            "0.0001",
            "1e-9999",
            "4",
            "4.5",
            " 5 ",
            "٤",
            "４",
            "٤.٥",
            "²",
            "½",
            "Ⅳ",
            "4_0",
            "0x10",
            "+4",
            "-0",
            "Infinity",
            "NaN",
            "-4",
            "-0.5",
            "4\u00a0",
        ]
    ),
)
_date_text = st.one_of(
    st.sampled_from(
        [TOMORROW, "2020-01-01", "not a date", "2023-02-30", "٢٠٢٧-٠١-٠١", "99999-01-01"]
    ),
    st.text(max_size=12),
    st.integers(),
    _nested,
)
_payload = st.fixed_dictionaries(
    {
        "product": st.one_of(
            st.sampled_from(["onabotulinumtoxinA", "abobotulinumtoxinA", "x", ""]), _nested
        ),
        "lot_number": st.text(max_size=90),
        "lot_expiry": _date_text,
        "vial_units": _number,
        "saline_ml": _number,
        "sites": st.one_of(
            st.dictionaries(
                st.sampled_from(["procerus", "corrugator_medial_left", "chin", ""]),
                _number,
                max_size=4,
            ),
            _nested,
        ),
        "consent_id": st.one_of(
            st.integers(), st.integers(min_value=2**63), st.text(max_size=5), st.booleans(), _nested
        ),
    },
    optional={
        "protocol_id": st.one_of(st.none(), st.sampled_from(["wollmer2012_female", "nope"])),
        "treated_at": st.one_of(
            st.sampled_from(
                [
                    "2020-01-01T10:00:00+00:00",
                    "2020-01-01T10:00:00",
                    "9999-12-31T00:00:00Z",
                    "x",
                    "2026-02-30T10:00:00+00:00",
                    "0001-01-01T00:00:00+14:00",
                ]
            ),
            st.integers(),
            st.floats(),
            _nested,
        ),
        "backdate_reason": st.text(max_size=30),
        "unexpected": _nested,
    },
)
_fuzz_body = st.one_of(_payload, _nested)

REQUEST_SECONDS = 2.0
"""The time limit of one request: a stall (the issue's "1e-999999999") fails the test here,
after 2 s, instead of hanging the test run for minutes."""


def _post_within_limit(api: TestClient, path: str, content: str) -> httpx.Response:
    """POST in a daemon thread and give up waiting after ``REQUEST_SECONDS``."""
    answers: list[httpx.Response] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            answers.append(
                api.post(path, content=content, headers={"content-type": "application/json"})
            )
        except BaseException as exc:  # re-raised in the test thread
            errors.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(REQUEST_SECONDS)
    assert not worker.is_alive(), (
        f"request stalled for more than {REQUEST_SECONDS} s: {content[:200]}"
    )
    if errors:
        raise errors[0]
    return answers[0]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=_fuzz_body)
def test_fuzzed_treatment_payload_never_500_and_never_slow(
    api: TestClient, payload: object
) -> None:
    found = api.post("/api/v1/patients/search", json={"q": "PW-FUZZ"}).json()
    pid = found[0]["id"] if found else _ready_patient(api)[0]
    # json.dumps writes inf/nan as Infinity/NaN (not JSON): the server must refuse those too
    response = _post_within_limit(api, f"/api/v1/patients/{pid}/treatments", json.dumps(payload))
    assert response.status_code < 500, response.text
    if response.status_code == 422:
        error = response.json()["error"]
        assert error["message"] and ":" in error["message"], error  # names where it is wrong


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(["vial_units", "saline_ml", "procerus", "corrugator_medial_left"]),
    value=_number,
)
def test_fuzzed_number_in_an_otherwise_valid_treatment_reaches_the_gate_and_never_500(
    api: TestClient, field: str, value: object
) -> None:
    """One number fuzzed, every other field valid, so it reaches the treatment gate's parser
    (the whole-payload fuzz above mostly stops at the request model or an earlier field)."""
    found = api.post("/api/v1/patients/search", json={"q": "PW-FUZZ"}).json()
    if found:
        pid = int(found[0]["id"])
        consent_id = int(api.get(f"/api/v1/patients/{pid}/consents").json()[0]["id"])
    else:
        pid, consent_id = _ready_patient(api)
    body = _body(consent_id)
    if field in ("vial_units", "saline_ml"):
        body[field] = value
    else:
        body["sites"] = {"procerus": "4", "corrugator_medial_left": "4", field: value}
    response = _post_within_limit(api, f"/api/v1/patients/{pid}/treatments", json.dumps(body))
    assert response.status_code < 500, response.text
    if response.status_code == 422:
        assert ":" in response.json()["error"]["message"]
