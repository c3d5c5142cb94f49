"""The dashboard worklist, the alert history and the patient's item answers over HTTP."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def phq9(*values: int) -> dict[str, int]:
    return {f"phq9_{i}": v for i, v in enumerate(values, start=1)}


def _patient(api: TestClient, family: str) -> int:
    body = {
        "mrn": f"DB-{family}",
        "given_name": "Ann",
        "family_name": family,
        "date_of_birth": "1970-01-02",
        "sex": "female",
    }
    response = api.post("/api/v1/patients", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _risk(api: TestClient, pid: int) -> None:
    # item 9 = 2 ("More than half the days"): total 2, an urgent suicide-risk alert
    response = api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": phq9(0, 0, 0, 0, 0, 0, 0, 0, 2)},
    )
    assert response.status_code in (200, 201), response.text


def test_dashboard_api_pages_and_filters(api: TestClient) -> None:
    ids = {name: _patient(api, name) for name in ("Abel", "Brook", "Carr")}
    _risk(api, ids["Carr"])
    board = api.get("/api/v1/dashboard", params={"per_page": 2}).json()
    wl = board["worklist"]
    # 3 patients, 2 per page -> 2 pages; Carr (open alert) first, then Abel, Brook by name
    assert (wl["total"], wl["pages"], wl["page"]) == (3, 2, 1)
    assert [r["patient_id"] for r in wl["rows"]] == [ids["Carr"], ids["Abel"]]
    assert wl["rows"][0]["alert_level"] == "urgent" and wl["rows"][0]["open_alerts"] == 1
    second = api.get("/api/v1/dashboard", params={"per_page": 2, "page": 2}).json()
    assert [r["patient_id"] for r in second["worklist"]["rows"]] == [ids["Brook"]]
    urgent = api.get("/api/v1/dashboard", params={"alert_level": "urgent"}).json()
    assert [r["patient_id"] for r in urgent["worklist"]["rows"]] == [ids["Carr"]]
    mine = api.get("/api/v1/dashboard", params={"mine": "true"}).json()
    assert [r["patient_id"] for r in mine["worklist"]["rows"]] == [ids["Carr"]]  # I assessed
    assert board["open_alerts"] == 1 and len(board["alerts"]) == 1
    bad = api.get("/api/v1/dashboard", params={"alert_level": "purple"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "alert_level"
    assert api.get("/api/v1/dashboard", params={"page": 0}).status_code == 422


def test_dashboard_page_paging_links_keep_filters(api: TestClient) -> None:
    for n in range(3):
        _patient(api, f"Page{n}")
    html = api.get("/?per_page=2&overdue_days=&mine=").text
    assert "Patients 1–2 of 3" in html and "page 1 of 2" in html
    assert 'href="/?per_page=2&amp;page=2"' in html
    bad = api.get("/?overdue_days=ten")
    assert bad.status_code == 422 and "days overdue must be a whole number" in bad.text
    assert "Traceback" not in bad.text


def test_alert_history_keeps_closed_alerts(api: TestClient) -> None:
    pid = _patient(api, "Dale")
    _risk(api, pid)
    alert_id = api.get("/api/v1/alerts").json()[0]["id"]
    closed = api.post(
        f"/api/v1/alerts/{alert_id}/action",
        json={"action_text": "Phoned, safety plan reviewed with the patient."},
    )
    assert closed.status_code == 200
    assert api.get("/api/v1/dashboard").json()["open_alerts"] == 0
    history = api.get("/api/v1/alerts/history").json()
    assert history["total"] == 1
    row = history["rows"][0]
    assert row["status"] == "closed" and row["actioned_by"] == "Dr.Rivera"
    assert row["raised_by"] == "Dr.Rivera (entered answers)"
    assert row["action_text"] == "Phoned, safety plan reviewed with the patient."
    assert api.get("/api/v1/alerts/history", params={"status": "open"}).json()["total"] == 0
    page = api.get("/alerts").text
    assert "Phoned, safety plan reviewed with the patient." in page and "Dr.Rivera" in page
    patient_page = api.get(f"/patients/{pid}").text
    section = patient_page[patient_page.index('id="alert-history"') :]
    assert "suicide risk" in section and "closed" in section
    assert "Phoned, safety plan reviewed with the patient." in section


def test_patient_page_marks_the_endorsed_suicide_item(api: TestClient) -> None:
    pid = _patient(api, "Eden")
    _risk(api, pid)
    html = api.get(f"/patients/{pid}").text
    answers = html[html.index('id="answers-h"') :]
    assert "Safety item endorsed" in answers
    # item 9's own row carries the words, not only a colour
    row9 = re.search(r'<tr class="endorsed-row"><td class="num">9</td>(.*?)</tr>', answers)
    assert row9 is not None
    assert "ENDORSED:" in row9.group(1) and "More than half the days (2)" in row9.group(1)
    assert answers.count("ENDORSED:") == 1  # items 1-8 answered 0 are not marked
    assert "Not at all (0)" in answers
