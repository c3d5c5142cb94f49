"""Two real app processes on one PostgreSQL database, requests interleaved between them.

The deployment of README "Deployment": several uvicorn processes (or instances on several
machines) behind one reverse proxy, one PostgreSQL, the same settings and keys everywhere.
Everything that must hold across processes lives in the database, so what one process did
the other sees at once:

(a) a username's failed sign-ins counted on both servers add up to one lockout that holds on
    both; (b) signing out (or a password change) on A ends the session on B; (c) a single-use
    self-report link used on A is refused on B, and the same link submitted to A and B at the
    same moment is stored exactly once; (d) submissions through both servers at once leave one
    unbroken audit chain (``glabella audit verify``) with exactly the rows expected; (e) the
    per-address sign-in delay is shared (it is a row of ``login_throttle``, not process memory);
    and a process started with another audit key refuses to start instead of appending rows
    that break the chain (hazard H-065).

Both servers believe ``X-Forwarded-For`` from 127.0.0.1 (``GLABELLA_TRUSTED_PROXIES``), as
behind a local reverse proxy, so each test names its own client addresses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer
from sqlalchemy import create_engine, func, select, text
from submission_load import PASSWORD, seed

from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.store.models import Assessment, AuditEvent, LoginThrottle, SelfReportLink
from reliability_figures import record_figures

PROXY = "127.0.0.1"
NEW_PASSWORD = "another reliability passphrase"


@dataclass
class Pair:
    url: str
    a: LiveServer
    b: LiveServer
    checkpoints: Path
    patients: list[int]

    @property
    def servers(self) -> tuple[LiveServer, LiveServer]:
        return (self.a, self.b)

    def cli(self, *args: str, **env_: str) -> subprocess.CompletedProcess[str]:
        """``glabella ARGS`` in its own process, configured like the servers (plus ``env_``)."""
        env = {
            **os.environ,
            "GLABELLA_DATABASE_URL": self.url,
            "GLABELLA_AUDIT_CHECKPOINT_FILE": str(self.checkpoints),
            **env_,
        }
        return subprocess.run(
            [sys.executable, "-c", "from glabella.cli import app; app()", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def database(self) -> Database:
        return Database.from_url(self.url)


@pytest.fixture(scope="module")
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """One migrated PostgreSQL database, two servers on it with the same settings."""
    server = request.getfixturevalue("postgres_template")
    name = f"two{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE glabella_template"))
    url = server.url(name)
    base = tmp_path_factory.mktemp("two-servers")
    checkpoints = base / "audit_checkpoints"
    shared = {
        "GLABELLA_TRUSTED_PROXIES": PROXY,
        # One checkpoint file for both (as on one machine; separate machines may keep one
        # each: every file's checkpoints verify against the one chain).
        "GLABELLA_AUDIT_CHECKPOINT_FILE": str(checkpoints),
    }
    patients = seed(url, 12)
    servers = []
    for label in ("a", "b"):
        data_dir = base / label
        data_dir.mkdir()
        servers.append(LiveServer(database_url=url, data_dir=data_dir, env=dict(shared)))
    try:
        for s in servers:
            s.start()
        yield Pair(url, servers[0], servers[1], checkpoints, patients)
    finally:
        for s in servers:
            s.stop()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _add_user(pair: Pair, username: str) -> None:
    db = pair.database()
    try:
        create_user(db, username=username, full_name=username, role="clinician", password=PASSWORD)
    finally:
        db.engine.dispose()


def _login(server: LiveServer, username: str, password: str, address: str) -> httpx.Response:
    return httpx.post(
        f"{server.base}/api/v1/auth/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
        timeout=60,
    )


def _cookie(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Cookie": f"glabella_session={response.cookies['glabella_session']}"}


def _me(server: LiveServer, cookie: dict[str, str]) -> int:
    return httpx.get(f"{server.base}/api/v1/me", headers=cookie, timeout=60).status_code


def _throttle(pair: Pair, kind: str, key: str) -> LoginThrottle | None:
    db = pair.database()
    try:
        with db.read() as session:
            row = session.scalars(
                select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
            ).first()
            if row is not None:
                session.expunge(row)
            return row
    finally:
        db.engine.dispose()


def test_both_servers_are_ready_on_the_one_database(pair: Pair) -> None:
    """What a reverse proxy's health check asks each backend (README "Deployment")."""
    for server in pair.servers:
        r = httpx.get(f"{server.base}/readyz", timeout=10)
        assert r.status_code == 200 and r.json()["database"] == "ok", r.text


# --- (a) username lockout ---------------------------------------------------------------------


def test_username_lockout_counts_failures_from_both_servers(pair: Pair) -> None:
    """5 failures (the limit of services.throttle), alternating A, B, A, B, A, each from its own
    address: the lock starts on the 5th and refuses even the right password on both servers."""
    _add_user(pair, "two.lock")
    servers = [pair.a, pair.b, pair.a, pair.b, pair.a]
    for i, server in enumerate(servers[:4]):
        r = _login(server, "two.lock", "wrong password, attempt", f"198.51.100.{i + 1}")
        assert r.status_code == 401, r.text
    row = _throttle(pair, "username", "two.lock")
    # Four failures, two counted by each process, are one count of 4 in the database.
    assert row is not None and row.failures == 4 and row.locked_until is None
    r = _login(servers[4], "two.lock", "wrong password, attempt", "198.51.100.5")
    assert r.status_code == 401
    for server in pair.servers:
        refused = _login(server, "two.lock", PASSWORD, "198.51.100.6")
        assert refused.status_code == 429, (server.base, refused.text)
        assert "minute" in refused.json()["error"]["message"]
    # Lifted by the CLI (a third process), the lock is gone on both servers.
    done = pair.cli("users", "unlock", "two.lock")
    assert done.returncode == 0 and "unlocked" in done.stdout, done.stderr
    for server in pair.servers:
        assert _login(server, "two.lock", PASSWORD, "198.51.100.7").status_code == 200


# --- (b) sessions ------------------------------------------------------------------------------


def test_signing_out_on_one_server_ends_the_session_on_the_other(pair: Pair) -> None:
    _add_user(pair, "two.session")
    first = _cookie(_login(pair.a, "two.session", PASSWORD, "198.51.100.20"))
    second = _cookie(_login(pair.b, "two.session", PASSWORD, "198.51.100.21"))
    # A session started on A is honoured on B and the other way round (same secret key).
    assert _me(pair.b, first) == 200 and _me(pair.a, second) == 200
    out = httpx.post(f"{pair.a.base}/api/v1/auth/logout", headers=first, timeout=60)
    assert out.status_code == 200
    # The signed-out cookie, replayed on B, and the user's other session: both ended.
    assert _me(pair.b, first) == 401
    assert _me(pair.a, second) == 401 and _me(pair.b, second) == 401

    # A password change on B ends the user's session on A and keeps the one it was made in.
    on_a = _cookie(_login(pair.a, "two.session", PASSWORD, "198.51.100.22"))
    on_b = _cookie(_login(pair.b, "two.session", PASSWORD, "198.51.100.23"))
    changed = httpx.post(
        f"{pair.b.base}/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=on_b,
        timeout=60,
    )
    assert changed.status_code == 200, changed.text
    kept = {"Cookie": f"glabella_session={changed.cookies['glabella_session']}"}
    assert _me(pair.a, on_a) == 401 and _me(pair.b, on_a) == 401
    assert _me(pair.a, kept) == 200 and _me(pair.b, kept) == 200


# --- (c) single-use links ------------------------------------------------------------------------

DOUBLE_USES = 12


def _answers(seed_: int) -> dict[str, dict[str, int]]:
    return {"phq9": {f"phq9_{i}": (seed_ + i) % 4 for i in range(1, 10)}}


async def _double_use(pair: Pair, cookie: dict[str, str], patient_id: int) -> list[int]:
    """One link per round, submitted to A and to B at the same moment; the status codes."""
    codes: list[int] = []
    async with (
        httpx.AsyncClient(base_url=pair.a.base, timeout=60) as a,
        httpx.AsyncClient(base_url=pair.b.base, timeout=60) as b,
    ):
        for round_ in range(DOUBLE_USES):
            creator = a if round_ % 2 == 0 else b
            made = await creator.post(
                f"/api/v1/patients/{patient_id}/links",
                json={"instruments": ["phq9"]},
                headers=cookie,
            )
            assert made.status_code == 201, made.text
            token = made.json()["token"]
            body = {"answers": _answers(round_)}
            first, second = await asyncio.gather(
                a.post(f"/api/v1/self-report/{token}", json=body),
                b.post(f"/api/v1/self-report/{token}", json=body),
            )
            codes += [first.status_code, second.status_code]
    return codes


def _self_reports(pair: Pair, patient_id: int) -> tuple[int, int]:
    """(self-report assessments, used links) of the patient."""
    db = pair.database()
    try:
        with db.read() as session:
            stored = session.scalar(
                select(func.count())
                .select_from(Assessment)
                .where(Assessment.patient_id == patient_id, Assessment.source == "self_report")
            )
            used = session.scalar(
                select(func.count())
                .select_from(SelfReportLink)
                .where(SelfReportLink.patient_id == patient_id, SelfReportLink.used_at.is_not(None))
            )
            return int(stored or 0), int(used or 0)
    finally:
        db.engine.dispose()


def test_a_link_used_on_one_server_is_refused_on_the_other(pair: Pair) -> None:
    cookie = _cookie(_login(pair.a, "load.0", PASSWORD, "198.51.100.30"))
    patient = pair.patients[0]
    assert _self_reports(pair, patient) == (0, 0)
    made = httpx.post(
        f"{pair.a.base}/api/v1/patients/{patient}/links",
        json={"instruments": ["phq9"]},
        headers=cookie,
        timeout=60,
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    used = httpx.post(
        f"{pair.a.base}/api/v1/self-report/{token}", json={"answers": _answers(1)}, timeout=60
    )
    assert used.status_code == 200, used.text
    again = httpx.post(
        f"{pair.b.base}/api/v1/self-report/{token}", json={"answers": _answers(2)}, timeout=60
    )
    assert again.status_code == 410 and "already been used" in again.json()["error"]["message"]
    assert httpx.get(f"{pair.b.base}/api/v1/self-report/{token}", timeout=60).status_code == 410
    assert _self_reports(pair, patient) == (1, 1)

    # The same link to A and to B at the same moment, 12 times: each stored exactly once.
    codes = asyncio.run(_double_use(pair, cookie, pair.patients[1]))
    pairs = [sorted(codes[i : i + 2]) for i in range(0, len(codes), 2)]
    assert pairs == [[200, 410]] * DOUBLE_USES, codes
    assert _self_reports(pair, pair.patients[1]) == (DOUBLE_USES, DOUBLE_USES)
    record_figures(
        "two-servers-links",
        {
            "servers (uvicorn processes) on one PostgreSQL": 2,
            "links submitted to both servers at the same moment": DOUBLE_USES,
            "... stored once and refused (410) on the other server": pairs.count([200, 410]),
            "self-report assessments stored": _self_reports(pair, pair.patients[1])[0],
        },
    )


# --- (d) the audit chain --------------------------------------------------------------------------

CLIENTS = 10
PER_CLIENT = 20


async def _submit_through_both(pair: Pair, cookies: list[dict[str, str]]) -> list[tuple[int, int]]:
    """``CLIENTS`` clients at once, each alternating A and B; (server index, status) per request."""
    out: list[tuple[int, int]] = []
    clients = [httpx.AsyncClient(base_url=s.base, timeout=60) for s in pair.servers]

    async def one(i: int) -> None:
        patient = pair.patients[2 + i % (len(pair.patients) - 2)]
        for n in range(PER_CLIENT):
            which = (i + n) % 2
            r = await clients[which].post(
                f"/api/v1/patients/{patient}/assessments",
                json={
                    "instrument": "gad7",
                    "answers": {f"gad7_{k}": (n + k) % 4 for k in range(1, 8)},
                },
                headers=cookies[i % len(cookies)],
            )
            out.append((which, r.status_code))

    try:
        await asyncio.gather(*(one(i) for i in range(CLIENTS)))
    finally:
        for c in clients:
            await c.aclose()
    return out


def _audit_counts(pair: Pair) -> tuple[int, int, int]:
    """(audit rows, assessment.submit rows, highest seq)."""
    db = pair.database()
    try:
        with db.read() as session:
            rows = session.scalar(select(func.count()).select_from(AuditEvent))
            submits = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "assessment.submit")
            )
            top = session.scalar(select(func.max(AuditEvent.seq)))
            return int(rows or 0), int(submits or 0), int(top or 0)
    finally:
        db.engine.dispose()


def _verified_records(pair: Pair) -> int:
    done = pair.cli("audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"audit chain ok: (\d+) records", done.stdout)
    assert found is not None, done.stdout
    return int(found.group(1))


def test_submissions_through_both_servers_leave_one_unbroken_chain(pair: Pair) -> None:
    cookies = [
        _cookie(_login(pair.servers[i % 2], f"load.{i}", PASSWORD, f"198.51.100.{40 + i}"))
        for i in range(1, 5)
    ]
    rows_before, submits_before, _ = _audit_counts(pair)
    started = time.monotonic()
    sent = asyncio.run(_submit_through_both(pair, cookies))
    elapsed = time.monotonic() - started
    assert len(sent) == CLIENTS * PER_CLIENT
    assert all(status == 201 for _, status in sent), [s for s in sent if s[1] != 201][:5]
    per_server = [sum(1 for which, _ in sent if which == w) for w in (0, 1)]
    assert per_server == [CLIENTS * PER_CLIENT // 2] * 2

    rows, submits, top = _audit_counts(pair)
    # One assessment.submit row per acknowledged submission, and nothing else was written
    # meanwhile (the submission route writes exactly that one row).
    assert submits - submits_before == CLIENTS * PER_CLIENT
    assert rows - rows_before == CLIENTS * PER_CLIENT
    # seq has no gap and no repeat: 1..rows.
    assert top == rows
    assert _verified_records(pair) == rows
    # A checkpoint of the head (a third process), and both servers' startup checkpoints
    # in the shared file, all verify against the one chain.
    assert pair.cli("audit", "checkpoint").returncode == 0
    assert _verified_records(pair) == rows
    lines = [ln for ln in pair.checkpoints.read_text().splitlines() if ln.strip()]
    assert len(lines) >= 3
    record_figures(
        "two-servers-audit",
        {
            "servers (uvicorn processes) on one PostgreSQL": 2,
            "concurrent clients, each alternating between the servers": CLIENTS,
            "submissions (each acknowledged 201)": len(sent),
            "... through server A / server B": f"{per_server[0]} / {per_server[1]}",
            "duration (s)": round(elapsed, 1),
            "assessment.submit audit rows added": submits - submits_before,
            "audit records verified by `glabella audit verify`": rows,
            "signed checkpoints in the shared file": len(lines),
        },
    )


# --- (e) the per-address delay -----------------------------------------------------------------


def _wait_for_delay_end(pair: Pair, address: str) -> None:
    row = _throttle(pair, "source", address)
    assert row is not None and row.locked_until is not None
    until = row.locked_until.replace(tzinfo=row.locked_until.tzinfo or dt.UTC)
    time.sleep(max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.3)


def test_the_per_address_delay_is_shared_by_both_servers(pair: Pair) -> None:
    """20 failures (SOURCE_LIMIT) from one address, alternating A and B, start the delay; three
    more (each after the previous delay of 1, 2, 4 s) make it 2 ** 3 = 8 s. During it both
    servers refuse even the right password from that address, while the same account signs
    in from another address: a delay of one address, never a lock of the account."""
    _add_user(pair, "two.delay")
    address = "203.0.113.9"
    for i in range(20):
        server = pair.servers[i % 2]
        r = _login(server, f"nobody.{i}", "wrong password", address)
        assert r.status_code == 401, (i, r.text)
    row = _throttle(pair, "source", address)
    assert row is not None and row.failures == 20 and row.locked_until is not None
    for i in range(20, 23):
        _wait_for_delay_end(pair, address)
        r = _login(pair.servers[i % 2], f"nobody.{i}", "wrong password", address)
        assert r.status_code == 401, (i, r.text)
    row = _throttle(pair, "source", address)
    assert row is not None and row.failures == 23 and row.locked_until is not None
    window = (row.locked_until - row.window_started_at).total_seconds()
    assert window > 8  # the 23rd failure came at least 1 + 2 + 4 s after the window opened
    for server in pair.servers:
        refused = _login(server, "two.delay", PASSWORD, address)
        assert refused.status_code == 429, (server.base, refused.text)
        assert "second(s)" in refused.json()["error"]["message"]
    for server in pair.servers:
        assert _login(server, "two.delay", PASSWORD, "203.0.113.10").status_code == 200
    cleared = pair.cli("users", "unlock", "--address", address)
    assert cleared.returncode == 0 and "unlocked" in cleared.stdout, cleared.stderr
    for server in pair.servers:
        assert _login(server, "two.delay", PASSWORD, address).status_code == 200


# --- a process with another audit key ----------------------------------------------------------


def test_a_process_with_another_audit_key_refuses_to_start(pair: Pair, tmp_path: Path) -> None:
    """Its rows would carry HMACs under another key: the chain would break at the first one
    and stay broken for every process. It stops at startup naming the key instead (H-065)."""
    cookie = _cookie(_login(pair.a, "load.2", PASSWORD, "198.51.100.60"))
    ok = httpx.post(
        f"{pair.a.base}/api/v1/patients/{pair.patients[2]}/assessments",
        json={"instrument": "phq9", "answers": {f"phq9_{i}": 1 for i in range(1, 10)}},
        headers=cookie,
        timeout=60,
    )
    assert ok.status_code == 201
    rows_before = _verified_records(pair)
    stranger = LiveServer(
        database_url=pair.url,
        data_dir=tmp_path,
        env={"GLABELLA_AUDIT_KEY": "a different audit key", "GLABELLA_TRUSTED_PROXIES": PROXY},
    )
    try:
        with pytest.raises(RuntimeError, match="did not start") as refused:
            stranger.start()
    finally:
        stranger.stop()
    assert "GLABELLA_AUDIT_KEY" in str(refused.value)
    assert _verified_records(pair) == rows_before
    # The same for a `glabella` command on a host with another key: refused before it writes.
    stray = pair.cli("users", "unlock", "--address", "192.0.2.1", GLABELLA_AUDIT_KEY="other")
    assert stray.returncode == 2 and "GLABELLA_AUDIT_KEY" in stray.stderr, stray.stderr
    assert _verified_records(pair) == rows_before
    # ... while with the right key the same command runs and appends one verifiable row.
    assert pair.cli("users", "unlock", "--address", "192.0.2.1").returncode == 0
    assert _verified_records(pair) == rows_before + 1


# --- idempotency keys ----------------------------------------------------------------------------

KEYED_ROUNDS = 10


def _assessments(pair: Pair, patient_id: int) -> int:
    db = pair.database()
    try:
        with db.read() as session:
            n = session.scalar(
                select(func.count())
                .select_from(Assessment)
                .where(Assessment.patient_id == patient_id)
            )
            return int(n or 0)
    finally:
        db.engine.dispose()


async def _keyed_at_once(
    pair: Pair, cookie: dict[str, str], patient_id: int
) -> list[tuple[httpx.Response, httpx.Response]]:
    """Per round one new key, the same submission sent with it to A and to B at one moment."""
    out = []
    async with (
        httpx.AsyncClient(base_url=pair.a.base, timeout=60) as a,
        httpx.AsyncClient(base_url=pair.b.base, timeout=60) as b,
    ):
        for round_ in range(KEYED_ROUNDS):
            headers = {**cookie, "Idempotency-Key": f"two-servers-{uuid.uuid4()}"}
            body = {
                "instrument": "gad7",
                "answers": {f"gad7_{k}": (round_ + k) % 4 for k in range(1, 8)},
            }
            path = f"/api/v1/patients/{patient_id}/assessments"
            first, second = await asyncio.gather(
                a.post(path, json=body, headers=headers), b.post(path, json=body, headers=headers)
            )
            out.append((first, second))
    return out


def test_an_idempotency_key_holds_across_servers(pair: Pair) -> None:
    """A retry on the other server is answered from the key; the same key sent to both at the
    same moment stores one assessment; the key with another body is refused on either."""
    cookie = _cookie(_login(pair.a, "load.3", PASSWORD, "198.51.100.70"))
    patient = pair.patients[3]
    before = _assessments(pair, patient)
    path = f"/api/v1/patients/{patient}/assessments"
    body = {"instrument": "phq9", "answers": {f"phq9_{i}": 1 for i in range(1, 10)}}
    headers = {**cookie, "Idempotency-Key": f"retry-{uuid.uuid4()}"}
    sent = httpx.post(f"{pair.a.base}{path}", json=body, headers=headers, timeout=60)
    assert sent.status_code == 201, sent.text
    retried = httpx.post(f"{pair.b.base}{path}", json=body, headers=headers, timeout=60)
    assert retried.status_code == 201 and retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json() == sent.json()
    other = {**body, "answers": {f"phq9_{i}": 2 for i in range(1, 10)}}
    for server in pair.servers:
        refused = httpx.post(f"{server.base}{path}", json=other, headers=headers, timeout=60)
        assert refused.status_code == 422, refused.text
        assert "Idempotency-Key" in refused.json()["error"]["message"]
    assert _assessments(pair, patient) == before + 1

    rounds = asyncio.run(_keyed_at_once(pair, cookie, patient))
    for first, second in rounds:
        assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
        assert first.json()["id"] == second.json()["id"]
        replayed = sorted(r.headers.get("Idempotent-Replayed") == "true" for r in (first, second))
        assert replayed == [False, True]
    assert _assessments(pair, patient) == before + 1 + KEYED_ROUNDS
    assert _verified_records(pair) == _audit_counts(pair)[0]
    record_figures(
        "two-servers-idempotency",
        {
            "servers (uvicorn processes) on one PostgreSQL": 2,
            "keys sent to both servers at the same moment": KEYED_ROUNDS,
            "... answered 201 by both with one assessment id": sum(
                1 for f, s in rounds if f.json()["id"] == s.json()["id"]
            ),
            "assessments stored for them": _assessments(pair, patient) - before - 1,
            "retry on the other server answered from the key": 1,
        },
    )
