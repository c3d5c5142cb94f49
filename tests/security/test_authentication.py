"""Sign-in hardening: throttling and lockout, TOTP, session expiry, password rules, CSRF,
security headers, and no patient data in logs or URLs."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from collections.abc import Callable

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import Clock
from glabella.services import security, throttle, users
from glabella.services.context import Database
from glabella.services.errors import Invalid, Unauthorized
from glabella.services.passwords import (
    ONE_TIME_ALPHABET,
    check_password_rule,
    common_passwords,
    generate_password,
)
from glabella.services.users import UserView
from glabella.settings import Settings
from glabella.store.models import AuditEvent
from glabella.web import deps
from glabella.web.access import ANONYMOUS, MATRIX, route_keys
from glabella.web.app import RedactAccessLog, create_app

PASSWORD = "correct horse battery staple"
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(db: Database) -> Clock:
    c = Clock(T0)
    db.clock = c
    return c


def _login(client: TestClient, username: str, password: str = PASSWORD) -> int:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return int(response.status_code)


# --- throttling and lockout -----------------------------------------------------------------


def test_five_failures_lock_the_username_for_fifteen_minutes(
    app_client: TestClient, clinician: UserView, db: Database, clock: Clock
) -> None:
    for _ in range(throttle.USERNAME_LIMIT):
        assert _login(app_client, "dr.rivera", "a wrong password, clearly") == 401
    # Locked: even the right password is refused, and the answer does not say it was right.
    refused = app_client.post(
        "/api/v1/auth/login", json={"username": "dr.rivera", "password": PASSWORD}
    )
    assert refused.status_code == 429
    assert "too many failed sign-ins" in refused.json()["error"]["message"]
    clock.now = T0 + throttle.LOCKOUT - dt.timedelta(seconds=1)
    assert _login(app_client, "dr.rivera") == 429
    clock.now = T0 + throttle.LOCKOUT + dt.timedelta(seconds=1)
    assert _login(app_client, "dr.rivera") == 200
    with db.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions.count("auth.login_failed") == 5
    assert actions.count("auth.login_refused_locked") == 2


def test_failures_outside_the_window_do_not_add_up(
    app_client: TestClient, clinician: UserView, clock: Clock
) -> None:
    for minute in range(0, 80, 20):  # 4 failures, each 20 minutes apart (window 15 minutes)
        clock.now = T0 + dt.timedelta(minutes=minute)
        assert _login(app_client, "dr.rivera", "a wrong password, clearly") == 401
    assert _login(app_client, "dr.rivera") == 200


def test_success_resets_the_username_count(
    app_client: TestClient, clinician: UserView, clock: Clock
) -> None:
    for _ in range(4):
        assert _login(app_client, "dr.rivera", "a wrong password, clearly") == 401
    assert _login(app_client, "dr.rivera") == 200
    for _ in range(4):
        assert _login(app_client, "dr.rivera", "a wrong password, clearly") == 401
    assert _login(app_client, "dr.rivera") == 200


def test_one_source_guessing_many_usernames_is_slowed_not_locked(
    db: Database, clinician: UserView, clock: Clock
) -> None:
    """Issue 17: 20 failures from one address used to lock every sign-in from it for 15
    minutes (a whole clinic behind NAT). Now the address waits a growing delay, 2**k seconds
    after the (20+k)-th failure, capped at 60 s: never a lock."""
    source = "203.0.113.9"
    for i in range(throttle.SOURCE_LIMIT):
        with pytest.raises(Unauthorized):
            users.authenticate(db, f"guess{i}", "some password or other", source)
    # Right after the 20th failure: wait 1 s (2**0).
    with pytest.raises(throttle.TooManyAttempts) as waited:
        users.authenticate(db, "dr.rivera", PASSWORD, source)
    assert "second(s)" in waited.value.message
    clock.now += dt.timedelta(seconds=2)
    assert users.authenticate(db, "dr.rivera", PASSWORD, source).id == clinician.id
    # Further failures double the delay: 2, 4, 8, ... capped at 60 s.
    delays = []
    for k in range(1, 9):
        with pytest.raises(Unauthorized):
            users.authenticate(db, f"more{k}", "some password or other", source)
        delays.append(throttle.source_delay(throttle.SOURCE_LIMIT + k).total_seconds())
        clock.now += throttle.source_delay(throttle.SOURCE_LIMIT + k)
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]
    # After at most the cap, a colleague at the same address signs in: no 15-minute lock.
    assert users.authenticate(db, "dr.rivera", PASSWORD, source).id == clinician.id
    # The same account from another address is never affected.
    assert users.authenticate(db, "dr.rivera", PASSWORD, "198.51.100.7").id == clinician.id


def test_an_admin_can_clear_an_address(db: Database, clinician: UserView, clock: Clock) -> None:
    source = "203.0.113.10"
    for i in range(throttle.SOURCE_LIMIT + 5):
        with pytest.raises((Unauthorized, throttle.TooManyAttempts)):
            users.authenticate(db, f"guess{i}", "some password or other", source)
    with pytest.raises(throttle.TooManyAttempts):
        users.authenticate(db, "dr.rivera", PASSWORD, source)
    assert users.unlock_address(db, source) is True
    assert users.authenticate(db, "dr.rivera", PASSWORD, source).id == clinician.id
    assert users.unlock_address(db, "192.0.2.200") is False


def test_an_admin_can_unlock(db: Database, clinician: UserView, clock: Clock) -> None:
    for _ in range(throttle.USERNAME_LIMIT):
        with pytest.raises(Unauthorized):
            users.authenticate(db, "dr.rivera", "a wrong password, clearly", None)
    with pytest.raises(throttle.TooManyAttempts):
        users.authenticate(db, "dr.rivera", PASSWORD, None)
    assert users.unlock_user(db, "dr.rivera") is True
    assert users.authenticate(db, "dr.rivera", PASSWORD, None).id == clinician.id


# --- TOTP second factor ---------------------------------------------------------------------


def _enable_totp(db: Database, user: UserView) -> str:
    secret = security.new_secret()
    with pytest.raises(Invalid):
        security.enable_totp(
            db,
            user.actor(),
            secret,
            "000000" if pyotp.TOTP(secret).at(T0) != "000000" else "111111",
        )
    security.enable_totp(db, user.actor(), secret, pyotp.TOTP(secret).at(T0))
    return secret


def test_totp_is_required_after_the_password(
    app_client: TestClient, db: Database, clinician: UserView, clock: Clock
) -> None:
    secret = _enable_totp(db, clinician)
    totp = pyotp.TOTP(secret)
    assert _login(app_client, "dr.rivera") == 200
    assert app_client.get("/api/v1/me").status_code == 401  # password alone is not enough
    assert app_client.get("/api/v1/patients").status_code == 401
    wrong = app_client.post(
        "/api/v1/auth/totp", json={"code": "123456" if totp.at(T0) != "123456" else "654321"}
    )
    assert wrong.status_code == 401
    # The enrolment code (step of T0) was used already: replaying it is refused.
    assert app_client.post("/api/v1/auth/totp", json={"code": totp.at(T0)}).status_code == 401
    clock.now = T0 + dt.timedelta(seconds=30)
    ok = app_client.post("/api/v1/auth/totp", json={"code": totp.at(clock.now)})
    assert ok.status_code == 200, ok.text
    assert app_client.get("/api/v1/me").json()["username"] == "dr.rivera"


def test_totp_wrong_codes_count_towards_lockout(
    db: Database, clinician: UserView, clock: Clock
) -> None:
    secret = _enable_totp(db, clinician)
    wrong = "000000" if pyotp.TOTP(secret).at(T0) != "000000" else "111111"
    for _ in range(throttle.USERNAME_LIMIT):
        with pytest.raises(Unauthorized):
            security.verify_second_factor(db, clinician.id, wrong, None)
    with pytest.raises(throttle.TooManyAttempts):
        security.verify_second_factor(
            db, clinician.id, pyotp.TOTP(secret).at(T0 + dt.timedelta(seconds=30)), None
        )


def test_totp_pages_enrol_and_sign_in(
    app_client: TestClient, db: Database, clinician: UserView, clock: Clock
) -> None:
    csrf = _page_login(app_client, "dr.rivera")
    page = app_client.get("/account/totp")
    assert page.status_code == 200
    secret = re.search(r'id="secret" readonly value="([A-Z2-7]+)"', page.text)
    assert secret is not None
    assert "otpauth://totp/Glabella:dr.rivera?secret=" + secret.group(1) in page.text.replace(
        "&amp;", "&"
    )
    code = pyotp.TOTP(secret.group(1)).at(T0)
    done = app_client.post("/account/totp", data={"code": code, "csrf_token": csrf})
    assert done.status_code == 200 and "The second factor is on" in done.text
    app_client.post("/logout", data={"csrf_token": csrf})
    csrf = _csrf(app_client)
    signed = app_client.post(
        "/login",
        data={"username": "dr.rivera", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    home = app_client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/login/totp"
    clock.now = T0 + dt.timedelta(seconds=30)
    csrf = _csrf(app_client)
    second = app_client.post(
        "/login/totp",
        data={"code": pyotp.TOTP(secret.group(1)).at(clock.now), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert second.status_code == 303 and second.headers["location"] == "/"
    assert app_client.get("/", follow_redirects=False).status_code == 200


# --- sessions -------------------------------------------------------------------------------


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found is not None
    return found.group(1)


def _page_login(client: TestClient, username: str) -> str:
    csrf = _csrf(client)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return _csrf(client)


def test_idle_and_absolute_session_expiry(
    app_client: TestClient, clinician: UserView, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])  # the clock web.deps reads
    assert _login(app_client, "dr.rivera") == 200
    # Active every 20 minutes: the idle timeout (30 min) never fires ...
    for _ in range(10):
        now[0] += 20 * 60
        assert app_client.get("/api/v1/me").status_code == 200
    # ... but the absolute maximum (8 h) does.
    now[0] += 20 * 60 * 15
    assert app_client.get("/api/v1/me").status_code == 401
    assert _login(app_client, "dr.rivera") == 200
    now[0] += settings.session_idle_seconds + 1
    assert app_client.get("/api/v1/me").status_code == 401


def test_session_cookie_is_rewritten_only_when_last_seen_moves_a_step(
    app_client: TestClient, clinician: UserView, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])  # the clock web.deps reads
    assert _login(app_client, "dr.rivera") == 200
    # Within a step the session is unchanged: no cookie is signed and sent again.
    now[0] += deps.SEEN_STEP_SECONDS - 1
    response = app_client.get("/api/v1/me")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    # A step later "seen" moves on, so the cookie is rewritten ...
    now[0] += 1
    response = app_client.get("/api/v1/me")
    assert response.status_code == 200
    assert "glabella_session=" in response.headers["set-cookie"]
    # ... and the idle timeout counts from there: this request comes more than the idle
    # timeout after sign-in, but less than it after the rewritten "seen".
    now[0] += settings.session_idle_seconds - 30
    assert app_client.get("/api/v1/me").status_code == 200


# --- passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weak",
    [
        "password1234567",  # listed word plus digits
        "iloveyou2026!!!!",
        "qwertyuiopasdfgh",  # keyboard walk
        "123456789012345",  # sequence
        "aaaaaaaaaaaaaaaaaa",  # repetition
        "monkeymonkeymonkey",  # listed word repeated
        "glabellaglabella1",  # service name
        "dr.rivera-is-my-login",  # contains the username
    ],
)
def test_blocklisted_passwords_are_refused(weak: str) -> None:
    with pytest.raises(Invalid, match="too easy to guess"):
        check_password_rule(weak, username="dr.rivera")


def test_good_passphrases_pass_and_the_list_is_packaged() -> None:
    assert {"password", "qwerty", "iloveyou", "sunshine"} <= common_passwords()
    assert len(common_passwords()) > 900
    for good in (
        "correct horse battery staple",
        "tangerine Wednesday 47 kites",
        "ÜberSchön Käsekuchen!",
    ):
        check_password_rule(good, username="dr.rivera")
    with pytest.raises(Invalid, match="at least 15"):
        check_password_rule("short but ok?")


def test_one_time_passwords_are_easy_to_type_and_still_long() -> None:
    """An admin reads the one-time password off the screen and the new colleague types it:
    no look-alike characters (0/o, 1/l/i), no case, six groups of four. Strength by hand:
    24 random symbols of 31 give 24 x log2(31) = 24 x 4.954 = 118.9 bits."""
    seen = {generate_password() for _ in range(200)}
    assert len(seen) == 200  # random, not a constant
    for one_time in seen:
        assert re.fullmatch(r"([2-9a-hjkmnp-z]{4}-){5}[2-9a-hjkmnp-z]{4}", one_time), one_time
        assert len(one_time) >= 15
    assert not set("01ilo") & set("".join(seen))
    assert 24 * math.log2(len(ONE_TIME_ALPHABET)) > 118


# --- CSRF, headers --------------------------------------------------------------------------


def test_every_staff_form_refuses_a_post_without_csrf_token(
    settings: Settings, db: Database, make_user: object
) -> None:
    """Every POST page route (the patient's token pages excepted: the token is the credential)
    checks the CSRF token."""
    users.create_user(db, username="root.admin", full_name="A", role="admin", password=PASSWORD)
    app = create_app(settings, db)
    api_paths = set(app.openapi()["paths"])  # JSON APIs; pages are not in the schema
    posts = [
        k
        for k in route_keys(app)
        if k.method == "POST" and k.path not in api_paths and not k.path.startswith("/r/{token}")
    ]
    assert len(posts) >= 10
    with TestClient(app, raise_server_exceptions=False) as client:
        _page_login(client, "root.admin")
        for key in posts:
            path = re.sub(r"\{\w+\}", "1", key.path)
            response = client.post(path, data={"csrf_token": "forged"}, follow_redirects=False)
            assert response.status_code == 403, (key, response.status_code)
            assert "did not come from this site" in response.text, key
            assert ANONYMOUS not in MATRIX[(key.method, key.path)] or key.path in (
                "/login",
                "/logout",
                "/login/totp",
            )


def test_security_headers(settings: Settings, db: Database) -> None:
    with TestClient(create_app(settings, db)) as client:
        page = client.get("/login")
        csp = page.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]+)", csp)
        assert script_src is not None and "unsafe-inline" not in script_src.group(1)
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in page.headers
    tls = settings.model_copy(update={"https": True})
    with TestClient(create_app(tls, db), base_url="https://testserver") as client:
        page = client.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=31536000")
        client.get("/login")
        login = client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
        assert login.status_code == 401


def test_session_cookie_is_secure_under_tls(
    settings: Settings, db: Database, make_user: object
) -> None:
    users.create_user(db, username="dr.tls", full_name="T", role="clinician", password=PASSWORD)
    tls = settings.model_copy(update={"https": True})
    with TestClient(create_app(tls, db), base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/auth/login", json={"username": "dr.tls", "password": PASSWORD}
        )
        cookie = response.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


# --- no patient data in logs or URLs ---------------------------------------------------------

PHI = {
    "mrn": "MRN-77341",
    "given_name": "Philomena",
    "family_name": "Quagliarello",
    "date_of_birth": "1961-03-17",
    "sex": "female",
    "phone": "07700 900461",
    "email": "philomena.q@example.org",
}


def test_no_patient_data_in_logs(api: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pid = api.post("/api/v1/patients", json=PHI).json()["id"]
    api.post("/api/v1/patients/search", json={"q": "Quagliarello"})
    api.get(f"/api/v1/patients/{pid}")
    api.put(f"/api/v1/patients/{pid}", json={**PHI, "phone": "07700 900462"})
    api.post("/api/v1/patients", json=PHI)  # duplicate MRN: an error path
    answers = {f"phq9_{i}": (1 if i == 9 else 0) for i in range(1, 10)}
    api.post(f"/api/v1/patients/{pid}/assessments", json={"instrument": "phq9", "answers": answers})
    link = api.post(f"/api/v1/patients/{pid}/links", json={"instruments": ["gad7"]}).json()
    api.get(f"/api/v1/self-report/{link['token']}")
    api.get("/api/v1/dashboard")
    api.get(f"/patients/{pid}")
    # The test's own HTTP client (httpx) logs the URLs it requests; everything else is the app.
    server_side = [r for r in caplog.records if not r.name.startswith("httpx")]
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in server_side)
    for value in (*PHI.values(), "1961", "Philomena"):
        if value in ("female",):
            continue
        assert value not in text, f"{value!r} appeared in the logs"
    assert link["token"] not in text


def test_access_log_lines_drop_query_strings_and_link_tokens() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/patients?q=Quagliarello", "1.1", 200),
        None,
    )
    RedactAccessLog().filter(record)
    assert "Quagliarello" not in record.getMessage()
    assert '"GET /patients HTTP/1.1"' in record.getMessage()
    record.args = ("127.0.0.1:5000", "POST", "/r/SECRETtoken_123", "1.1", 200)
    RedactAccessLog().filter(record)
    assert "SECRETtoken_123" not in record.getMessage() and "/r/[token]" in record.getMessage()


def test_path_parameters_are_ids_or_tokens_only(settings: Settings, db: Database) -> None:
    """No route puts a name, MRN or date of birth into the path (ids and tokens only)."""
    allowed = {"patient_id", "assessment_id", "alert_id", "token", "instrument_id", "screening_id"}
    for key in route_keys(create_app(settings, db)):
        for name in re.findall(r"\{(\w+)(?::\w+)?\}", key.path):
            if name == "which":  # the biomarker photo of a pair: a closed set, rest or frown
                assert key.path.endswith("/photos/{pair_id}/{which}"), key
                continue
            assert name in allowed or name.endswith("_id"), (key, name)


PHI_LIKE_PARAMETERS = {"q", "query", "search", "name", "given_name", "family_name", "mrn", "dob"}


def test_no_route_takes_names_in_the_query_string(settings: Settings, db: Database) -> None:
    """Searches go in a POST body: no API operation has a name-like query parameter."""
    schema = create_app(settings, db).openapi()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    assert parameter["name"] not in PHI_LIKE_PARAMETERS, (method, path, parameter)


def test_patient_search_is_a_post_on_page_and_api(api: TestClient, clinician: UserView) -> None:
    pid = api.post("/api/v1/patients", json=PHI).json()["id"]
    found = api.post("/api/v1/patients/search", json={"q": "quaglia"}).json()
    assert [p["id"] for p in found] == [pid]
    # A GET with ?q= is refused (it would put the name into URLs and logs), not ignored.
    assert api.get("/api/v1/patients", params={"q": "quaglia"}).status_code == 422
    page = api.get("/patients")
    assert 'method="post" action="/patients/search"' in page.text
    assert 'hx-post="/patients/search"' in page.text and "hx-get" not in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    rows = api.post(
        "/patients/search",
        data={"q": "quaglia", "csrf_token": csrf.group(1)},
        headers={"HX-Request": "true"},
    )
    assert rows.status_code == 200 and f'href="/patients/{pid}"' in rows.text
    assert "<html" not in rows.text  # htmx gets the rows only
    nobody = api.post("/patients/search", data={"q": "zzz", "csrf_token": csrf.group(1)})
    assert nobody.status_code == 200 and "No patients" in nobody.text
    forged = api.post("/patients/search", data={"q": "quaglia", "csrf_token": "forged"})
    assert forged.status_code == 403 and "Quagliarello" not in forged.text


def test_sign_out_ends_a_copied_session_on_the_server(
    app_client: TestClient, clinician: UserView, db: Database
) -> None:
    """A cookie copied before sign-out (another tab, a stolen cookie) is refused afterwards."""
    assert _login(app_client, "dr.rivera") == 200
    copy = TestClient(app_client.app, base_url=str(app_client.base_url))
    copy.cookies.update(dict(app_client.cookies))
    assert copy.get("/api/v1/patients").status_code == 200
    assert app_client.post("/api/v1/auth/logout").status_code == 200
    assert copy.get("/api/v1/patients").status_code == 401
    with db.transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "auth.sign_out")
        ).all()
    assert actions == ["auth.sign_out"]
    # Signing in again starts a session of the new generation, which works.
    assert _login(app_client, "dr.rivera") == 200
    assert app_client.get("/api/v1/patients").status_code == 200


def test_researcher_lands_on_the_aggregate_pages(
    app_client: TestClient, make_user: Callable[[str, str], UserView]
) -> None:
    make_user("res.one", "researcher")
    csrf = _csrf(app_client)
    response = app_client.post(
        "/login",
        data={"username": "res.one", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/analytics"
    assert app_client.get("/analytics").status_code == 200


def test_password_change_ends_the_other_sessions_but_keeps_this_one(
    app_client: TestClient, clinician: UserView
) -> None:
    other = TestClient(app_client.app, base_url=str(app_client.base_url))
    assert _login(app_client, "dr.rivera") == 200
    assert _login(other, "dr.rivera") == 200  # e.g. a forgotten sign-in on another computer
    assert other.get("/api/v1/patients").status_code == 200
    changed = app_client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a new and long passphrase 42"},
    )
    assert changed.status_code == 200, changed.text
    assert app_client.get("/api/v1/patients").status_code == 200
    assert other.get("/api/v1/patients").status_code == 401
    assert _login(other, "dr.rivera", "a new and long passphrase 42") == 200


def test_password_change_form_keeps_the_page_session(
    app_client: TestClient, clinician: UserView
) -> None:
    csrf = _page_login(app_client, "dr.rivera")
    new = "another long passphrase 77"
    done = app_client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": new,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert app_client.get("/", follow_redirects=False).status_code == 200  # still signed in
