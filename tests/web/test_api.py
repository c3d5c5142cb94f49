"""JSON API: every endpoint, and the bad inputs of the foundation issue."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from glabella.services.context import Database
from glabella.services.users import create_user

PATIENT = {
    "mrn": "A-100",
    "given_name": "Rosalind",
    "family_name": "Franklin",
    "date_of_birth": "1980-07-25",
    "sex": "female",
}


def phq9(*values: int) -> dict[str, int]:
    return {f"phq9_{i}": v for i, v in enumerate(values, start=1)}


def _new_patient(api: TestClient, **overrides: object) -> int:
    response = api.post("/api/v1/patients", json={**PATIENT, **overrides})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_unauthenticated_requests_are_refused(app_client: TestClient) -> None:
    for method, path in [
        ("get", "/api/v1/patients"),
        ("get", "/api/v1/instruments"),
        ("get", "/api/v1/alerts"),
        ("get", "/api/v1/dashboard"),
        ("get", "/api/v1/me"),
    ]:
        response = getattr(app_client, method)(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"


def test_login_wrong_password(app_client: TestClient, clinician: object) -> None:
    response = app_client.post(
        "/api/v1/auth/login", json={"username": "dr.rivera", "password": "wrong password entirely"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "wrong username or password"


def test_session_cookie_flags(app_client: TestClient, clinician: object, password: str) -> None:
    response = app_client.post(
        "/api/v1/auth/login", json={"username": "dr.rivera", "password": password}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_me_and_logout(api: TestClient) -> None:
    assert api.get("/api/v1/me").json()["username"] == "dr.rivera"
    assert api.post("/api/v1/auth/logout").status_code == 200
    assert api.get("/api/v1/me").status_code == 401


def test_one_time_password_must_be_changed_first(app_client: TestClient, db: Database) -> None:
    _, one_time = create_user(db, username="newbie", full_name="New", role="nurse")
    app_client.post("/api/v1/auth/login", json={"username": "newbie", "password": one_time})
    assert app_client.get("/api/v1/patients").status_code == 403
    too_short = app_client.post(
        "/api/v1/auth/password", json={"current_password": one_time, "new_password": "short"}
    )
    assert too_short.status_code == 422
    assert "at least 15 characters" in too_short.json()["error"]["message"]
    ok = app_client.post(
        "/api/v1/auth/password",
        json={"current_password": one_time, "new_password": "a long passphrase of mine"},
    )
    assert ok.status_code == 200
    assert app_client.get("/api/v1/patients").status_code == 200


def test_instruments_list_and_show(api: TestClient) -> None:
    ids = {i["id"] for i in api.get("/api/v1/instruments").json()}
    assert {"phq9", "phq2", "gad7", "gad2"} <= ids
    detail = api.get("/api/v1/instruments/phq9").json()
    assert len([i for i in detail["item_list"] if i["scored"]]) == 9
    assert detail["bands"][0] == {"min": 0, "max": 4, "label": "minimal"}
    missing = api.get("/api/v1/instruments/bdi2")
    assert missing.status_code == 404
    assert "bdi2" in missing.json()["error"]["message"]


def test_pure_score_endpoint(api: TestClient) -> None:
    # 3*7 = 21 -> GAD-7 "severe" (15-21)
    body = {"instrument": "gad7", "answers": {f"gad7_{i}": 3 for i in range(1, 8)}}
    response = api.post("/api/v1/score", json=body)
    assert response.status_code == 200
    assert response.json()["total"] == 21 and response.json()["band"] == "severe"
    bad = api.post("/api/v1/score", json={"instrument": "gad7", "answers": {"gad7_1": 7}})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "gad7_1"


def test_patient_crud_and_search(api: TestClient) -> None:
    pid = _new_patient(api)
    assert api.get(f"/api/v1/patients/{pid}").json()["family_name"] == "Franklin"
    updated = api.put(f"/api/v1/patients/{pid}", json={**PATIENT, "phone": "01234 567890"})
    assert updated.status_code == 200 and updated.json()["phone"] == "01234 567890"
    # Searching is a POST: names stay out of URLs and access logs.
    found = api.post("/api/v1/patients/search", json={"q": "frank"}).json()
    assert [p["id"] for p in found] == [pid]
    assert api.post("/api/v1/patients/search", json={"q": "zzz"}).json() == []
    refused = api.get("/api/v1/patients", params={"q": "frank"})
    assert refused.status_code == 422 and "POST /api/v1/patients/search" in refused.text


def test_patient_bad_inputs(api: TestClient) -> None:
    _new_patient(api)
    duplicate = api.post("/api/v1/patients", json=PATIENT)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["field"] == "mrn"
    bad_sex = api.post("/api/v1/patients", json={**PATIENT, "mrn": "B", "sex": "x"})
    assert bad_sex.status_code == 422 and bad_sex.json()["error"]["field"] == "sex"
    future = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    bad_dob = api.post("/api/v1/patients", json={**PATIENT, "mrn": "C", "date_of_birth": future})
    assert bad_dob.status_code == 422 and "future" in bad_dob.json()["error"]["message"]
    extra = api.post("/api/v1/patients", json={**PATIENT, "mrn": "D", "ssn": "123"})
    assert extra.status_code == 422 and extra.json()["error"]["field"] == "ssn"
    assert api.get("/api/v1/patients/999").status_code == 404
    assert len(api.get("/api/v1/patients").json()) == 1


def test_assessment_submit_list_get_and_alert(api: TestClient) -> None:
    pid = _new_patient(api)
    response = api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": phq9(3, 3, 3, 3, 3, 3, 2, 2, 1)},
    )
    # 3*6 + 2 + 2 + 1 = 23 -> severe (20-27); item 9 = 1 -> suicide-risk alert
    assert response.status_code == 201
    body = response.json()
    assert body["total"] == 23 and body["band"] == "severe"
    assert [a["kind"] for a in body["alerts"]] == ["suicide_risk"]
    listed = api.get(f"/api/v1/patients/{pid}/assessments").json()
    assert [a["total"] for a in listed] == [23]
    one = api.get(f"/api/v1/assessments/{body['id']}").json()
    assert one["answers"]["phq9_9"] == 1
    assert api.get("/api/v1/assessments/999").status_code == 404
    alerts = api.get("/api/v1/alerts").json()
    assert len(alerts) == 1
    refused = api.post(f"/api/v1/alerts/{alerts[0]['id']}/action", json={"action_text": ""})
    assert refused.status_code == 422
    done = api.post(
        f"/api/v1/alerts/{alerts[0]['id']}/action",
        json={"action_text": "Called the patient; crisis plan in place."},
    )
    assert done.status_code == 200 and done.json()["status"] == "closed"
    assert api.get("/api/v1/alerts").json() == []
    assert len(api.get("/api/v1/alerts", params={"status": "closed"}).json()) == 1
    assert api.get("/api/v1/alerts", params={"status": "nonsense"}).status_code == 422


def test_assessment_bad_inputs_store_nothing(api: TestClient) -> None:
    pid = _new_patient(api)
    out_of_range = api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": phq9(0, 0, 0, 0, 0, 0, 0, 0, 5)},
    )
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"]["field"] == "phq9_9"
    missing = api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": {"phq9_1": 1}},
    )
    assert missing.status_code == 422
    unknown = api.post(
        f"/api/v1/patients/{pid}/assessments", json={"instrument": "xyz", "answers": {}}
    )
    assert unknown.status_code == 422 and "unknown instrument" in unknown.json()["error"]["message"]
    not_int = api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": {"phq9_1": "lots"}},
    )
    assert not_int.status_code == 422
    assert api.get(f"/api/v1/patients/{pid}/assessments").json() == []


def test_self_report_link_via_api(api: TestClient) -> None:
    pid = _new_patient(api)
    created = api.post(f"/api/v1/patients/{pid}/links", json={"instruments": ["phq9"]})
    assert created.status_code == 201
    link = created.json()
    assert link["url"].startswith("http://testserver/r/")
    assert "A-100" not in link["url"] and "Franklin" not in link["url"]
    token = link["token"]
    listed = api.get(f"/api/v1/patients/{pid}/links").json()
    assert listed[0]["status"] == "pending" and "token" not in listed[0]
    asked = api.get(f"/api/v1/self-report/{token}").json()
    assert [i["id"] for i in asked["instruments"]] == ["phq9"]
    assert "Franklin" not in str(asked)
    sent = api.post(
        f"/api/v1/self-report/{token}", json={"answers": {"phq9": phq9(1, 1, 0, 0, 0, 0, 0, 0, 0)}}
    )
    assert sent.json() == {"received": True, "show_crisis_resources": False}
    reused = api.post(
        f"/api/v1/self-report/{token}", json={"answers": {"phq9": phq9(1, 1, 0, 0, 0, 0, 0, 0, 0)}}
    )
    assert reused.status_code == 410 and "already been used" in reused.json()["error"]["message"]
    assert api.get(f"/api/v1/patients/{pid}/links").json()[0]["status"] == "completed"
    assert api.get("/api/v1/self-report/not-a-token").status_code == 404
    bad = api.post(f"/api/v1/patients/{pid}/links", json={"instruments": ["nope"]})
    assert bad.status_code == 422


def test_dashboard(api: TestClient) -> None:
    pid = _new_patient(api)
    api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": phq9(0, 0, 0, 0, 0, 0, 0, 0, 2)},
    )
    board = api.get("/api/v1/dashboard").json()
    assert len(board["alerts"]) == 1
    assert board["recent"][0]["patient_id"] == pid and board["recent"][0]["total"] == 2


def test_openapi_docs_served(app_client: TestClient) -> None:
    schema = app_client.get("/api/openapi.json").json()
    assert "/api/v1/patients" in schema["paths"]
    assert app_client.get("/api/docs").status_code == 200


def test_security_headers_and_no_traceback(app_client: TestClient) -> None:
    response = app_client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    not_found = app_client.get("/no/such/page")
    assert not_found.status_code == 404 and "Traceback" not in not_found.text
