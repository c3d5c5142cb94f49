"""JSON API of the clinical pathway: reference data, screening, consent, treatment, AEs."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from builders import api_consent, api_patient, api_treatment_body, safe_screening

PATIENT = {
    "mrn": "PW-API",
    "given_name": "Nora",
    "family_name": "Api",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}
SAFE = safe_screening(phq9_item9=0)
TOMORROW = (dt.date.today() + dt.timedelta(days=365)).isoformat()


def _patient(api: TestClient) -> int:
    return api_patient(api, PATIENT)


def test_reference_data(api: TestClient) -> None:
    products = {p["id"]: p for p in api.get("/api/v1/products").json()}
    assert (
        products["abobotulinumtoxinA"]["unit_name"] != products["onabotulinumtoxinA"]["unit_name"]
    )
    sites = {s["id"] for s in api.get("/api/v1/injection-sites").json()}
    assert {"procerus", "corrugator_medial_left", "corrugator_medial_right"} <= sites
    protocols = api.get("/api/v1/protocols").json()
    unverified = [p for p in protocols if not p["verified"]]
    assert unverified and all(p["sites"] is None for p in unverified)
    assert "off-label" in api.get("/api/v1/consent/current").json()["text"]


def test_pathway_end_to_end_over_the_api(api: TestClient) -> None:
    pid = _patient(api)
    blocked = api.post(
        f"/api/v1/patients/{pid}/treatments",
        json=api_treatment_body(1, sites={"procerus": "4"}),
    )
    assert blocked.status_code == 422
    assert "no eligibility screening" in blocked.json()["error"]["message"]

    screened = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": SAFE, "medications": ["apixaban"]},
    )
    assert screened.status_code == 201
    decision = screened.json()
    assert decision["outcome"] == "eligible_with_precautions"
    rule = decision["reasons"][0]["rule_id"]
    overridden = api.post(
        f"/api/v1/screenings/{decision['id']}/overrides",
        json={"rule_id": rule, "reason": "Bruising risk discussed; accepted by patient"},
    )
    assert overridden.json()["outcome"] == "eligible"

    version = api.get("/api/v1/consent/current").json()["version"]
    consent = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": "Nora Api", "confirmed": True},
    )
    assert consent.status_code == 201
    # 4 + 5 + 5 = 14 U; 100 U / 2.5 mL = 4 U per 0.1 mL -> 5 U = 0.125 mL
    treatment = api.post(
        f"/api/v1/patients/{pid}/treatments",
        json={
            "product": "onabotulinumtoxinA",
            "lot_number": "L1",
            "lot_expiry": TOMORROW,
            "vial_units": "100",
            "saline_ml": "2.5",
            "sites": {
                "procerus": "4",
                "corrugator_medial_left": "5",
                "corrugator_medial_right": "5",
            },
            "consent_id": consent.json()["id"],
        },
    )
    assert treatment.status_code == 201, treatment.text
    body = treatment.json()
    assert body["total_units"] == "14" and body["product"] == "onabotulinumtoxinA"
    assert {s["site"]: s["volume_ml"] for s in body["sites"]}["procerus"] == "0.100"
    assert len(api.get(f"/api/v1/patients/{pid}/treatments").json()) == 1
    follow = api.get(f"/api/v1/patients/{pid}/follow-up").json()
    assert [v["key"] for v in follow["visits"]] == ["baseline", "week2", "week6", "week12"]

    event = api.post(
        f"/api/v1/patients/{pid}/adverse-events",
        json={
            "type": "breathing_difficulty",
            "onset": dt.datetime.now(dt.UTC).isoformat(),
            "grade": 3,
            "serious": False,
            "relatedness": "possible",
            "action": "emergency_care",
            "outcome": "recovering",
        },
    )
    assert event.status_code == 201
    assert "possible_distant_spread" in [a["code"] for a in event.json()["alerts"]]
    assert any(a["kind"] == "possible_distant_spread" for a in api.get("/api/v1/alerts").json())


def test_pathway_bad_inputs(api: TestClient) -> None:
    pid = _patient(api)
    bad_answer = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": {**SAFE, "pregnant": "maybe"}},
    )
    assert bad_answer.status_code == 422
    assert bad_answer.json()["error"]["field"] == "answers.pregnant"
    bad_product = api.post(
        f"/api/v1/patients/{pid}/screenings", json={"product": "snake-oil", "answers": SAFE}
    )
    assert bad_product.status_code == 422 and "unknown product" in bad_product.text
    naive = api.post(
        f"/api/v1/patients/{pid}/adverse-events",
        json={
            "type": "headache",
            "onset": "2026-11-01T10:00:00",
            "grade": 1,
            "serious": False,
            "relatedness": "possible",
            "action": "none",
            "outcome": "recovered",
        },
    )
    assert naive.status_code == 422 and naive.json()["error"]["field"] == "onset"
    assert api.get(f"/api/v1/patients/{pid}/adverse-events").json() == []


def test_patient_reports_side_effect_through_link(api: TestClient) -> None:
    pid = _patient(api)
    screening = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": SAFE},
    ).json()
    assert screening["outcome"] == "eligible"
    consent_id = api_consent(api, pid, "Nora Api")
    api.post(
        f"/api/v1/patients/{pid}/treatments",
        json=api_treatment_body(consent_id, sites={"procerus": "4"}, lot_number="L2"),
    )
    token = api.post(f"/api/v1/patients/{pid}/links", json={"instruments": ["gad2"]}).json()[
        "token"
    ]
    opened = api.get(f"/api/v1/self-report/{token}").json()
    assert opened["ask_side_effects"] is True
    sent = api.post(
        f"/api/v1/self-report/{token}",
        json={
            "answers": {"gad2": {"gad2_1": 0, "gad2_2": 0}},
            "side_effects": [{"type": "dysphagia"}],
        },
    )
    assert sent.status_code == 200, sent.text
    events = api.get(f"/api/v1/patients/{pid}/adverse-events").json()
    assert [(e["type"], e["reported_by"], e["grade"]) for e in events] == [
        ("dysphagia", "patient", None)
    ]
    urgent = [a for a in api.get("/api/v1/alerts").json() if a["kind"] == "possible_distant_spread"]
    assert len(urgent) == 1 and urgent[0]["level"] == "urgent"


def _phq9(api: TestClient, pid: int, items: list[int]) -> None:
    answers = {f"phq9_{i}": v for i, v in enumerate(items, start=1)}
    response = api.post(
        f"/api/v1/patients/{pid}/assessments", json={"instrument": "phq9", "answers": answers}
    )
    assert response.status_code == 201, response.text


def test_retreatment_page_shows_the_previous_response(api: TestClient) -> None:
    """Issue 5: re-treatment is decided with the previous response in view."""
    pid = _patient(api)
    screened = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": SAFE},
    ).json()
    assert screened["outcome"] == "eligible", screened
    consent_id = api_consent(api, pid, "Nora Api")
    page = api.get(f"/patients/{pid}/treatments/new")
    assert page.status_code == 200 and "Response to the last treatment" not in page.text
    # Baseline PHQ-9 = 3+3+3+3+2+2+2+2+0 = 20 (item 9 = 0: no alert).
    _phq9(api, pid, [3, 3, 3, 3, 2, 2, 2, 2, 0])
    treated = api.post(
        f"/api/v1/patients/{pid}/treatments",
        json=api_treatment_body(consent_id, sites={"procerus": "4"}),
    )
    assert treated.status_code == 201, treated.text
    # Follow-up PHQ-9 = 1+1+1+1+1+1+1+1+0 = 8: change -12, -60 % (a response: >= 50 %),
    # not a remission (PHQ-9 remission is a total below 5).
    _phq9(api, pid, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    page = api.get(f"/patients/{pid}/treatments/new")
    assert page.status_code == 200
    section = page.text.split('id="previous-response"', 1)[1].split("</section>", 1)[0]
    cells = [c.split(">", 1)[1].split("<", 1)[0] for c in section.split("<td")[1:]]
    assert cells[0] == "PHQ-9"  # the label, not the code phq9 (issue 16 item 8)
    assert cells[1].startswith("20 (") and cells[2].startswith("8 (")
    assert cells[3] == "-12 (-60%)"
    assert cells[4:6] == ["yes", "no"]


def test_screening_page_prefills_item9_from_a_recent_phq9(api: TestClient) -> None:
    """H-018: the screening form starts from the patient's own recent item 9 answer."""
    pid = _patient(api)
    page = api.get(f"/patients/{pid}/screening")
    assert page.status_code == 200 and 'id="stored-item9"' not in page.text
    _phq9(api, pid, [1, 1, 1, 1, 1, 1, 1, 1, 2])  # item 9 = 2 (also raises an alert)
    page = api.get(f"/patients/{pid}/screening")
    assert "highest item 9: 2" in page.text
    assert 'id="phq9_item9" name="phq9_item9" type="number" min="0" max="3" value="2"' in page.text


def test_outcomes_at_every_visit_with_rci_in_api_and_page(api: TestClient) -> None:
    """Issue 16 item 7: response, remission and RCI for each follow-up against baseline."""
    pid = _patient(api)
    screened = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": SAFE},
    ).json()
    consent_id = api_consent(api, pid, "Nora Api")
    assert screened["outcome"] == "eligible"
    _phq9(api, pid, [3, 3, 3, 3, 2, 2, 2, 2, 0])  # baseline 20
    treated = api.post(
        f"/api/v1/patients/{pid}/treatments",
        json=api_treatment_body(consent_id, sites={"procerus": "4"}),
    )
    assert treated.status_code == 201, treated.text
    _phq9(api, pid, [2, 2, 2, 2, 2, 1, 1, 1, 0])  # 13
    _phq9(api, pid, [1, 1, 1, 1, 1, 1, 1, 1, 0])  # 8
    _phq9(api, pid, [2, 2, 2, 2, 2, 2, 2, 3, 0])  # 17
    (o,) = api.get(f"/api/v1/patients/{pid}/follow-up").json()["outcomes"]
    # S_diff = sqrt(2) * 4.6 * sqrt(1 - 0.89) = 2.157591
    # 20 -> 13: -7, -35 %, no response, no remission, RCI -7/2.157591 = -3.2444 (improved)
    # 20 -> 8: -12, -60 %, response, no remission (8 >= 5), RCI -5.5618 (improved)
    # 20 -> 17: -3, -15 %, no response, RCI -3/2.157591 = -1.3904 (no reliable change)
    got = [
        (v["total"], v["change"], v["response"], v["remission"], v["reliable_change"])
        for v in o["visits"]
    ]
    assert got == [
        (13, -7, False, False, "improved"),
        (8, -12, True, False, "improved"),
        (17, -3, False, False, "no reliable change"),
    ]
    rcis = [v["rci"] for v in o["visits"]]
    assert rcis == pytest.approx([-3.244359, -5.561758, -1.390439], abs=1e-5)
    assert o["visits"][1]["percent_change"] == pytest.approx(-60.0)
    assert o["rci"] == pytest.approx(-1.390439, abs=1e-5)  # latest (17) against baseline
    assert o["rci_statement"].startswith("reliable change = a change of at least 5 points")
    page = api.get(f"/patients/{pid}").text
    table = page.split('data-instrument="phq9"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 4  # header + 3 visits
    assert "-3.24" in table and "-5.56" in table and "-1.39" in table
    assert "no reliable change" in table and "<strong>responder</strong>" in table
    assert "reliable change = a change of at least 5 points" in page
    assert "r = 0.89, SD = 4.6" in page
    # the analytics page: week 0 = baseline 20 (n = 1); the three follow-ups all fall in
    # week 1 (seconds after the treatment: days in (0, 7]) and the last, 17, counts.
    analytics = api.get("/analytics").text
    rows = analytics.split('id="trajectory"', 1)[1].split("</table>", 1)[0]
    cells = [c.split(">", 1)[1].split("<", 1)[0] for c in rows.split("<td")[1:]]
    assert cells == ["baseline", "20.0", "1", "1", "17.0", "1"]
    assert "baseline: mean 20.0 (n = 1)" in analytics
    data = api.get("/api/v1/analytics").json()["phq9_trajectory"]
    assert data == [{"week": 0, "n": 1, "mean": 20.0}, {"week": 1, "n": 1, "mean": 17.0}]
    # one patient is too few for an expected-recovery curve: nobody is listed, the rule is shown
    listed = api.get("/api/v1/not-on-track").json()
    assert listed["patients"] == [] and "Finch et al. 2001" in listed["rule"]
    nav = api.get("/not-on-track")
    assert nav.status_code == 200 and "No patient is above the expected-recovery bound" in nav.text
    assert 'href="/not-on-track"' in analytics
