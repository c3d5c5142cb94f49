"""The role x route access matrix, tested exhaustively: every route of the app, every role.

A route added without an entry in ``glabella.web.access.MATRIX`` fails
``test_every_route_has_a_matrix_entry`` with the method and path to add.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from glabella.services import assessments, links, patients
from glabella.services.context import Database
from glabella.services.patients import parse_patient_input
from glabella.services.users import UserView
from glabella.settings import Settings
from glabella.web import access
from glabella.web.access import ALL_ROLES, ANONYMOUS, DENIED_HEADER, MATRIX, RouteKey
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"
STAFF_ROLES = [r for r in ALL_ROLES if r != ANONYMOUS]
PHQ9_ITEM9 = {f"phq9_{i}": (1 if i == 9 else 0) for i in range(1, 10)}


def test_every_route_has_a_matrix_entry(settings: Settings, db: Database) -> None:
    app = create_app(settings, db)
    missing = access.missing_rules(app)
    assert not missing, "routes without an access rule in glabella.web.access.MATRIX: " + ", ".join(
        f'("{k.method}", "{k.path}")' for k in missing
    )


def test_matrix_has_no_stale_entries(settings: Settings, db: Database) -> None:
    """Every matrix entry names a route that exists (a renamed route leaves no dead rule)."""
    live = {(k.method, k.path) for k in access.route_keys(create_app(settings, db))}
    assert sorted(set(MATRIX) - live) == []


def test_receptionist_and_researcher_reach_no_clinical_route() -> None:
    clinical_words = (
        "assess",
        "alert",
        "dashboard",
        "screening",
        "treatment",
        "consent",
        "adverse",
        "follow-up",
    )
    for (method, path), roles in MATRIX.items():
        if any(w in path for w in clinical_words) and path != "/api/v1/consent/current":
            assert "receptionist" not in roles, (method, path)
            assert "researcher" not in roles, (method, path)
        if "patient" in path or path in ("/",):
            assert "researcher" not in roles, f"researcher reaches identifying {method} {path}"


@pytest.fixture
def world(db: Database, make_user: object) -> dict[str, str]:
    """One user per role, a patient with an assessment and an open alert, a live link token."""
    from glabella.services.users import create_user

    users: dict[str, UserView] = {}
    for role in STAFF_ROLES:
        users[role], _ = create_user(
            db, username=f"u.{role}", full_name=role.title(), role=role, password=PASSWORD
        )
    actor = users["clinician"].actor("test")
    patient = patients.create_patient(
        db,
        actor,
        parse_patient_input(
            {
                "mrn": "M-1",
                "given_name": "Ada",
                "family_name": "Byron",
                "date_of_birth": "1985-12-10",
                "sex": "female",
            }
        ),
    )
    submitted = assessments.submit_assessment(db, actor, patient.id, "phq9", PHQ9_ITEM9)
    issued = links.create_link(db, actor, patient.id, ["phq9"], valid_hours=24)
    from glabella.services.alerts import list_alerts

    alert_id = list_alerts(db, actor)[0].id
    return {
        "patient_id": str(patient.id),
        "assessment_id": str(submitted.assessment.id),
        "alert_id": str(alert_id),
        "token": issued.token,
        "instrument_id": "phq9",
    }


def _concrete(path: str, world: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: world.get(m.group(1), "1"), path)


def _sign_in(client: TestClient, role: str) -> str:
    """Sign ``client`` in as ``role`` (unless anonymous) and return the session's CSRF token."""
    if role != ANONYMOUS:
        response = client.post(
            "/api/v1/auth/login", json={"username": f"u.{role}", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _call(client: TestClient, key: RouteKey, path: str, csrf: str) -> object:
    if key.method == "GET":
        return client.get(path, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(key.method, path, json={}, follow_redirects=False)
    return client.request(key.method, path, data={"csrf_token": csrf}, follow_redirects=False)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_route_for_every_role(
    role: str, settings: Settings, db: Database, world: dict[str, str]
) -> None:
    """Allowed routes are never refused by the matrix; every other route always is."""
    app = create_app(settings, db)
    keys = access.route_keys(app)
    # Sign-out routes last: they end the session the other requests need.
    last = {"/logout": 1, "/api/v1/auth/logout": 2}
    keys.sort(key=lambda k: last.get(k.path, 0))
    wrong: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        csrf = _sign_in(client, role)
        for key in keys:
            path = "/static/style.css" if key.path == "/static" else _concrete(key.path, world)
            response = _call(client, key, path, csrf)
            status = response.status_code  # type: ignore[attr-defined]
            denied = response.headers.get(DENIED_HEADER) == "denied"  # type: ignore[attr-defined]
            allowed = role in MATRIX[(key.method, key.path)]
            # 401 on an allowed route is a wrong password at a sign-in route (empty form).
            if allowed and (denied or status == 403 or (status == 401 and "login" not in path)):
                wrong.append(f"{key.method} {key.path}: expected allow, got {status}")
            if not allowed:
                expected = (401, 303) if role == ANONYMOUS else (403,)
                if not denied or status not in expected:
                    wrong.append(f"{key.method} {key.path}: expected deny, got {status}")
    assert wrong == [], f"role {role}:\n" + "\n".join(wrong)


def test_a_route_without_a_rule_is_refused(
    settings: Settings, db: Database, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: drop the rule of a route and even an admin is refused."""
    app = create_app(settings, db)
    monkeypatch.delitem(MATRIX, ("GET", "/api/v1/patients/{patient_id}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        _sign_in(client, "admin")
        response = client.get(f"/api/v1/patients/{world['patient_id']}")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "access_denied"


def test_the_matrix_is_what_refuses_a_receptionist(
    settings: Settings, db: Database, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The assessment form page is refused by the matrix; without the rule it would render."""
    app = create_app(settings, db)
    path = f"/patients/{world['patient_id']}/assess/phq9"
    with TestClient(app, raise_server_exceptions=False) as client:
        _sign_in(client, "receptionist")
        refused = client.get(path)
        assert refused.status_code == 403 and "has no access" in refused.text
        monkeypatch.setitem(
            MATRIX,
            ("GET", "/patients/{patient_id}/assess/{instrument_id}"),
            access.REGISTER,
        )
        assert client.get(path).status_code == 200
