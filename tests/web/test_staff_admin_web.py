"""Staff administration and the account menu through the app (TestClient): CSRF, the admin
role, audit rows, a deactivated account's open session, QR enrolment and recovery codes."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import Clock
from glabella.services.context import Database
from glabella.services.users import UserView, create_user
from glabella.settings import Settings
from glabella.store.models import AuditEvent
from glabella.web.access import DENIED_HEADER
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"
T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(db: Database) -> Clock:
    c = Clock(T0)
    db.clock = c
    return c


@pytest.fixture
def admin(db: Database) -> UserView:
    user, _ = create_user(db, username="boss", full_name="Bo Boss", role="admin", password=PASSWORD)
    return user


def _client(settings: Settings, db: Database) -> TestClient:
    return TestClient(create_app(settings, db), raise_server_exceptions=False)


def _csrf(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None, path
    return found.group(1)


def _page_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    csrf = _csrf(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return _csrf(client, "/account")


def _actions(db: Database) -> list[tuple[str, int | None, str | None]]:
    with db.transaction() as session:
        return [
            (e.action, e.user_id, e.entity_id)
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]


def test_non_admin_roles_are_refused_every_staff_route(
    settings: Settings, db: Database, admin: UserView
) -> None:
    for role in ("clinician", "nurse", "receptionist", "researcher"):
        create_user(db, username=f"u.{role}", full_name=role, role=role, password=PASSWORD)
        with _client(settings, db) as client:
            csrf = _page_login(client, f"u.{role}")
            for response in (
                client.get("/admin/staff"),
                client.get(f"/admin/staff/{admin.id}"),
                client.post(f"/admin/staff/{admin.id}/deactivate", data={"csrf_token": csrf}),
                client.get("/api/v1/admin/staff"),
                client.post(
                    "/api/v1/admin/staff",
                    json={"username": "sneaky", "full_name": "S", "role": "admin"},
                ),
                client.patch(f"/api/v1/admin/staff/{admin.id}", json={"role": "nurse"}),
            ):
                assert response.status_code == 403, (role, response.request.url)
                assert response.headers[DENIED_HEADER] == "denied"
    assert not [a for a in _actions(db) if a[0] in ("user.deactivate", "user.update")]
    assert "sneaky" not in str(_actions(db))


def test_admin_adds_staff_on_the_page_and_they_sign_in_with_the_one_time_password(
    settings: Settings, db: Database, admin: UserView
) -> None:
    with _client(settings, db) as client:
        csrf = _page_login(client, "boss")
        form = {"username": "n.new", "full_name": "Nell New", "role": "nurse", "clinic_id": ""}
        refused = client.post("/admin/staff", data=form)  # no CSRF token
        assert refused.status_code == 403
        page = client.post("/admin/staff", data={**form, "csrf_token": csrf})
        assert page.status_code == 200
        found = re.search(r'id="one-time-password">([^<]+)<', page.text)
        assert found is not None
        one_time = found.group(1)
        assert "Shown this once" in page.text and "Nell New" in page.text
        # Shown once: the list does not show it again.
        assert one_time not in client.get("/admin/staff").text
        bad = client.post("/admin/staff", data={**form, "username": "n new!", "csrf_token": csrf})
        assert bad.status_code == 422 and "username must be letters" in bad.text
        assert 'value="Nell New"' in bad.text  # the rejected form keeps what was typed
    with _client(settings, db) as newcomer:
        csrf = _csrf(newcomer)
        signed = newcomer.post(
            "/login",
            data={"username": "n.new", "password": one_time, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert signed.headers["location"] == "/account/password"
    (created,) = [a for a in _actions(db) if a[0] == "user.create" and a[1] == admin.id]
    assert created[2] is not None


def test_deactivating_ends_the_open_session_of_the_account(
    settings: Settings, db: Database, admin: UserView
) -> None:
    clinician, _ = create_user(
        db, username="dr.gone", full_name="Dr Gone", role="clinician", password=PASSWORD
    )
    with _client(settings, db) as doctor, _client(settings, db) as boss:
        assert (
            doctor.post(
                "/api/v1/auth/login", json={"username": "dr.gone", "password": PASSWORD}
            ).status_code
            == 200
        )
        assert doctor.get("/api/v1/patients").status_code == 200
        csrf = _page_login(boss, "boss")
        done = boss.post(
            f"/admin/staff/{clinician.id}/deactivate",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert "sessions have ended" in boss.get(done.headers["location"]).text
        assert doctor.get("/api/v1/patients").status_code == 401
        assert doctor.get("/", follow_redirects=False).headers["location"] == "/login"
    assert ("user.deactivate", admin.id, str(clinician.id)) in _actions(db)


def test_the_last_admin_gets_a_clear_refusal_on_page_and_api(
    settings: Settings, db: Database, admin: UserView
) -> None:
    with _client(settings, db) as client:
        csrf = _page_login(client, "boss")
        page = client.post(f"/admin/staff/{admin.id}/deactivate", data={"csrf_token": csrf})
        assert page.status_code == 409
        assert "boss is the last active administrator" in page.text
        api = client.patch(f"/api/v1/admin/staff/{admin.id}", json={"role": "clinician"})
        assert api.status_code == 409
        assert api.json()["error"]["message"].startswith("boss is the last active administrator")
        assert client.get("/api/v1/me").json()["role"] == "admin"


def test_the_api_covers_add_list_change_reset_unlock_and_reactivate(
    settings: Settings, db: Database, admin: UserView
) -> None:
    with _client(settings, db) as client:
        client.post("/api/v1/auth/login", json={"username": "boss", "password": PASSWORD})
        added = client.post(
            "/api/v1/admin/staff",
            json={"username": "r.desk", "full_name": "Rae", "role": "receptionist"},
        )
        assert added.status_code == 201
        body = added.json()
        uid, one_time = body["id"], body["one_time_password"]
        assert body["must_change_password"] and body["role_label"] == "Receptionist"
        listed = {m["username"]: m for m in client.get("/api/v1/admin/staff").json()}
        assert listed["r.desk"]["active"] and "one_time_password" not in listed["r.desk"]
        changed = client.patch(f"/api/v1/admin/staff/{uid}", json={"role": "nurse"})
        assert changed.status_code == 200 and changed.json()["role"] == "nurse"
        unknown = client.patch(f"/api/v1/admin/staff/{uid}", json={"role": "surgeon"})
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "role"
        reset = client.post(f"/api/v1/admin/staff/{uid}/reset-password")
        assert reset.status_code == 200 and reset.json()["one_time_password"] != one_time
        no_totp = client.post(f"/api/v1/admin/staff/{uid}/reset-two-factor")
        assert no_totp.status_code == 409 and "no second factor" in no_totp.text
        unlock = client.post(f"/api/v1/admin/staff/{uid}/unlock")
        assert unlock.json()["was_locked"] is False
        off = client.post(f"/api/v1/admin/staff/{uid}/deactivate")
        assert off.json()["active"] is False
        on = client.post(f"/api/v1/admin/staff/{uid}/reactivate")
        assert on.json()["active"] is True
        assert client.get("/api/v1/admin/staff/999999").status_code == 404
        clinics = client.get("/api/v1/admin/clinics").json()
        assert [c["id"] for c in clinics] == [admin.clinic_id]
        paths = client.get("/api/openapi.json").json()["paths"]
        assert {"get", "post"} <= set(paths["/api/v1/admin/staff"])
        assert "patch" in paths["/api/v1/admin/staff/{user_id}"]
    whom = str(uid)
    for action in (
        "user.create",
        "user.update",
        "user.password_reset",
        "auth.unlock",
        "user.deactivate",
        "user.reactivate",
    ):
        assert (action, admin.id, whom) in _actions(db), action


def test_account_page_enrols_two_factor_by_qr_and_a_recovery_code_signs_in_once(
    settings: Settings, db: Database, admin: UserView, clock: Clock
) -> None:
    with _client(settings, db) as client:
        csrf = _page_login(client, "boss")
        account = client.get("/account")
        assert "Two-factor sign-in" in account.text and "Administrator" in account.text
        page = client.get("/account/totp")
        secret = re.search(r'id="secret" readonly value="([A-Z2-7]+)"', page.text)
        assert secret is not None
        assert re.search(
            r'<svg role="img" aria-label="QR code[^"]*" viewBox="0 0 \d+ \d+"', page.text
        )
        assert (
            f"otpauth://totp/Glabella:boss?secret={secret.group(1)}&amp;issuer=Glabella"
            in page.text
        )
        wrong = client.post("/account/totp", data={"code": "000000", "csrf_token": csrf})
        assert wrong.status_code == 422 and "not right" in wrong.text
        assert client.get("/api/v1/account").json()["totp_enabled"] is False
        done = client.post(
            "/account/totp",
            data={"code": pyotp.TOTP(secret.group(1)).at(T0), "csrf_token": csrf},
        )
        assert "The second factor is on" in done.text
        codes = re.findall(r"<li>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</li>", done.text)
        assert len(codes) == 10
        assert "10 unused recovery codes left" in client.get("/account").text
        assert codes[0] not in client.get("/account").text
        client.post("/logout", data={"csrf_token": _csrf(client, "/account")})

        def sign_in_with(code: str) -> int:
            login = _csrf(client)
            client.post(
                "/login",
                data={"username": "boss", "password": PASSWORD, "csrf_token": login},
                follow_redirects=False,
            )
            second = client.post(
                "/login/totp",
                data={"code": code, "csrf_token": _csrf(client, "/login/totp")},
                follow_redirects=False,
            )
            return int(second.status_code)

        assert sign_in_with(codes[0]) == 303
        assert client.get("/api/v1/account").json()["recovery_codes_left"] == 9
        client.post("/logout", data={"csrf_token": _csrf(client, "/account")})
        assert sign_in_with(codes[0]) == 401  # single use
    actions = [a[0] for a in _actions(db)]
    assert actions.count("auth.totp_enable") == 1 and actions.count("auth.login_recovery_code") == 1


def test_password_change_on_the_account_menu_needs_the_current_password(
    settings: Settings, db: Database, admin: UserView
) -> None:
    with _client(settings, db) as client:
        csrf = _page_login(client, "boss")
        assert 'href="/account/password"' in client.get("/account").text
        new = "seven violet kites over the harbour"
        wrong = client.post(
            "/account/password",
            data={
                "current_password": "not the current one at all",
                "new_password": new,
                "confirm_password": new,
                "csrf_token": csrf,
            },
        )
        assert wrong.status_code == 422 and "current password is wrong" in wrong.text
        ok = client.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": new,
                "confirm_password": new,
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        assert ok.status_code == 303
    assert ("user.password_change", admin.id, str(admin.id)) in _actions(db)


def test_a_role_or_clinic_change_applies_to_the_open_session_at_once(
    settings: Settings, db: Database, admin: UserView
) -> None:
    from glabella.services import patients, users

    clinician, _ = create_user(
        db, username="dr.moved", full_name="Dr Moved", role="clinician", password=PASSWORD
    )
    pid = patients.create_patient(
        db,
        clinician.actor("t"),
        patients.parse_patient_input(
            {
                "mrn": "MV-1",
                "given_name": "Ivy",
                "family_name": "Old",
                "date_of_birth": "1970-05-05",
                "sex": "female",
            }
        ),
    ).id
    north = users.create_clinic(db, "North Clinic")
    with _client(settings, db) as doctor, _client(settings, db) as boss:
        doctor.post("/api/v1/auth/login", json={"username": "dr.moved", "password": PASSWORD})
        boss.post("/api/v1/auth/login", json={"username": "boss", "password": PASSWORD})
        assert doctor.get(f"/api/v1/patients/{pid}/assessments").status_code == 200
        boss.patch(f"/api/v1/admin/staff/{clinician.id}", json={"role": "receptionist"})
        assert doctor.get(f"/api/v1/patients/{pid}/assessments").status_code == 403
        assert doctor.get(f"/api/v1/patients/{pid}").status_code == 200  # the register stays
        boss.patch(f"/api/v1/admin/staff/{clinician.id}", json={"clinic_id": north.id})
        assert doctor.get(f"/api/v1/patients/{pid}").status_code == 404  # another clinic's now


def test_an_admin_who_steps_down_lands_on_their_new_home_and_loses_the_staff_pages(
    settings: Settings, db: Database, admin: UserView
) -> None:
    create_user(db, username="boss2", full_name="Second Boss", role="admin", password=PASSWORD)
    with _client(settings, db) as client:
        csrf = _page_login(client, "boss")
        stepped = client.post(
            f"/admin/staff/{admin.id}",
            data={
                "csrf_token": csrf,
                "role": "clinician",
                "clinic_id": str(admin.clinic_id),
                "full_name": "Bo Boss",
            },
            follow_redirects=False,
        )
        assert stepped.status_code == 303 and stepped.headers["location"] == "/"
        assert client.get("/admin/staff").status_code == 403
        assert 'href="/admin/staff"' not in client.get("/").text  # the menu follows
    assert ("user.update", admin.id, str(admin.id)) in _actions(db)
