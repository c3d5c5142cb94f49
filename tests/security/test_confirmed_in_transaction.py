"""The submission route is let in on the role its signed session claims and confirms the claim
inside its write transaction (``access.CONFIRMED_IN_TRANSACTION``): a session that the
database no longer backs writes nothing."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import func, select, update

from glabella.services import audit
from glabella.services import patients as patient_svc
from glabella.services.context import Database
from glabella.services.users import UserView, end_sessions
from glabella.settings import Settings
from glabella.store.models import Assessment, AuditEvent, User
from glabella.web.access import CONFIRMED_IN_TRANSACTION, DENIED_HEADER, MATRIX
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"
ROUTE = ("POST", "/api/v1/patients/{patient_id}/assessments")
ANSWERS = {"instrument": "phq9", "answers": {f"phq9_{i}": 1 for i in range(1, 10)}}


def _patient(db: Database, user: UserView, mrn: str = "P-1") -> int:
    data = patient_svc.parse_patient_input(
        {"mrn": mrn, "given_name": "Ada", "family_name": "Byron",
         "date_of_birth": "1980-01-01", "sex": "female"}
    )  # fmt: skip
    return patient_svc.create_patient(db, user.actor("test"), data).id


def _written(db: Database) -> tuple[int, int]:
    """(assessments, submission audit rows) stored so far."""
    with db.read() as session:
        assessments = session.scalar(select(func.count()).select_from(Assessment)) or 0
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "assessment.submit")
        )
    return int(assessments), int(audited or 0)


def _set_user(db: Database, user_id: int, **values: object) -> None:
    with db.transaction() as session:
        session.execute(update(User).where(User.id == user_id).values(**values))


def _submit(client: TestClient, patient_id: int) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/api/v1/patients/{patient_id}/assessments", json=ANSWERS
    )
    return response


def test_the_route_is_the_one_listed_and_keeps_its_matrix_rule() -> None:
    assert {ROUTE} == CONFIRMED_IN_TRANSACTION
    assert MATRIX[ROUTE] == frozenset({"admin", "clinician", "nurse"})


def test_a_confirmed_session_submits(api: TestClient, clinician: UserView, db: Database) -> None:
    pid = _patient(db, clinician)
    response = _submit(api, pid)
    assert response.status_code == 201, response.text
    assert response.json()["total"] == 9 and response.json()["patient_id"] == pid
    assert _written(db) == (1, 1)
    with db.read() as session:
        row = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assessment.submit")
        ).one()
    assert (row.user_id, row.role) == (clinician.id, "clinician")


def test_a_deactivated_account_writes_nothing_and_its_session_ends(
    api: TestClient, clinician: UserView, db: Database
) -> None:
    pid = _patient(db, clinician)
    _set_user(db, clinician.id, active=False)
    response = _submit(api, pid)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert _written(db) == (0, 0)
    # the cookie was cleared: even after reactivation this session stays signed out
    _set_user(db, clinician.id, active=True)
    assert api.get("/api/v1/me").status_code == 401


def test_a_session_ended_elsewhere_writes_nothing(
    api: TestClient, clinician: UserView, db: Database
) -> None:
    pid = _patient(db, clinician)
    end_sessions(db, clinician.id, "another device")
    assert _submit(api, pid).status_code == 401
    assert _written(db) == (0, 0)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"role": "receptionist"}, "your role (receptionist) has no access"),
        ({"must_change_password": True}, "change your one-time password first"),
    ],
    ids=["role-narrowed", "one-time-password"],
)
def test_a_role_narrowed_since_sign_in_writes_nothing(
    api: TestClient, clinician: UserView, db: Database, change: dict[str, object], says: str
) -> None:
    """The cookie still claims clinician; the database has changed the account since."""
    pid = _patient(db, clinician)
    _set_user(db, clinician.id, **change)
    response = _submit(api, pid)
    assert response.status_code == 403
    assert says in response.json()["error"]["message"]
    assert _written(db) == (0, 0)


def test_a_role_widened_since_sign_in_takes_effect_at_once(
    app_client: TestClient,
    make_user: Callable[[str, str], UserView],
    db: Database,
    clinician: UserView,
    settings: Settings,
) -> None:
    """The cookie claims receptionist, which the rule refuses: the matrix then decides from
    the database, as on every other route, and the new role is let in."""
    pid = _patient(db, clinician)
    desk = make_user("desk.one", "receptionist")
    login = {"username": "desk.one", "password": PASSWORD}
    assert app_client.post("/api/v1/auth/login", json=login).status_code == 200
    refused = _submit(app_client, pid)
    assert refused.status_code == 403 and refused.headers.get(DENIED_HEADER) == "denied"
    _set_user(db, desk.id, role="nurse")
    assert _submit(app_client, pid).status_code == 201
    assert _written(db) == (1, 1)
    assert _session_of(app_client, settings)["role"] == "nurse"  # the claim caught up


def test_another_clinics_patient_is_not_found_and_nothing_is_written(
    api: TestClient, clinician: UserView, db: Database
) -> None:
    response = api.post("/api/v1/patients/999999/assessments", json=ANSWERS)
    assert response.status_code == 404
    assert _written(db) == (0, 0)


def _session_of(client: TestClient, settings: Settings) -> dict[str, object]:
    signer = TimestampSigner(settings.resolved_secret_key())
    raw = signer.unsign(client.cookies["glabella_session"].encode())
    data: dict[str, object] = json.loads(base64.b64decode(raw))
    return data


def _set_session(client: TestClient, settings: Settings, data: dict[str, object]) -> None:
    signer = TimestampSigner(settings.resolved_secret_key())
    cookie = signer.sign(base64.b64encode(json.dumps(data).encode())).decode()
    client.cookies.set("glabella_session", cookie)


def test_a_session_signed_without_a_role_claim_is_looked_up(
    api: TestClient, clinician: UserView, db: Database, settings: Settings
) -> None:
    """Sessions signed before the claim existed have no role in them: still served."""
    pid = _patient(db, clinician)
    data = _session_of(api, settings)
    assert data["role"] == "clinician"
    del data["role"]
    _set_session(api, settings, data)
    assert _submit(api, pid).status_code == 201


def test_a_forged_role_claim_is_refused(
    app_client: TestClient,
    make_user: Callable[[str, str], UserView],
    db: Database,
    clinician: UserView,
    settings: Settings,
) -> None:
    """Editing the claim breaks the signature: the request is anonymous."""
    pid = _patient(db, clinician)
    make_user("desk.two", "receptionist")
    login = {"username": "desk.two", "password": PASSWORD}
    assert app_client.post("/api/v1/auth/login", json=login).status_code == 200
    raw = app_client.cookies["glabella_session"]
    payload, rest = raw.split(".", 1)
    data = json.loads(base64.b64decode(payload))
    data["role"] = "clinician"
    forged = base64.b64encode(json.dumps(data).encode()).decode() + "." + rest
    app_client.cookies.set("glabella_session", forged)
    assert _submit(app_client, pid).status_code == 401
    assert _written(db) == (0, 0)


def test_concurrent_submissions_share_transactions_and_keep_the_audit_chain(
    settings: Settings, db: Database, clinician: UserView
) -> None:
    clients = 30
    pid = _patient(db, clinician)
    app = create_app(settings, db)

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            login = {"username": clinician.username, "password": PASSWORD}
            assert (await c.post("/api/v1/auth/login", json=login)).status_code == 200
            path = f"/api/v1/patients/{pid}/assessments"
            answers = await asyncio.gather(*(c.post(path, json=ANSWERS) for _ in range(clients)))
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [201] * clients
    assert _written(db) == (clients, clients)
    assert app.state.writer.batches < clients  # some submissions shared a transaction
    assert audit.verify_chain(db).ok
