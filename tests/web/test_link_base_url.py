"""Links reach the address actually served (issue 16: links on 127.0.0.1:8000 while the
server ran on another port gave the patient "connection refused"; hazard H-091)."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.settings import Settings
from glabella.store import migrate
from glabella.web.app import create_app
from glabella.web.base_url import startup_mismatch

PASSWORD = "correct horse battery staple"
PATIENT = {
    "mrn": "L-1",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1975-12-10",
    "sex": "female",
}

_mrn = itertools.count(2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_link_from_a_server_on_another_port_carries_that_port(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrate.upgrade(url)
    db = Database.from_url(url)
    create_user(
        db, username="desk.anna", full_name="Anna Desk", role="receptionist", password=PASSWORD
    )
    db.engine.dispose()
    port = _free_port()
    assert port != 8000
    env = {k: v for k, v in os.environ.items() if k != "GLABELLA_BASE_URL"}
    env.update(
        GLABELLA_DATA_DIR=str(tmp_path),
        GLABELLA_DATABASE_URL=url,
        GLABELLA_SECRET_KEY="base-url-test-secret",
        GLABELLA_PORT=str(port),
    )
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "glabella.web.app:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        with httpx.Client(base_url=base) as client:
            signed = client.post(
                "/api/v1/auth/login", json={"username": "desk.anna", "password": PASSWORD}
            )
            assert signed.status_code == 200, signed.text
            pid = client.post("/api/v1/patients", json=PATIENT).json()["id"]
            link = client.post(f"/api/v1/patients/{pid}/links", json={"instruments": ["phq9"]})
            assert link.status_code == 201, link.text
            link_url = link.json()["url"]
        assert link_url.startswith(f"{base}/r/"), link_url
        # the patient (no cookie) opens exactly that URL on the running server
        opened = httpx.get(link_url, timeout=5)
        assert opened.status_code == 200 and "little interest or pleasure" in opened.text.lower()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def _client(tmp_path: Path, db: Database, **settings: object) -> TestClient:
    conf = Settings(data_dir=tmp_path, secret_key="k" * 20, **settings)  # type: ignore[arg-type]
    return TestClient(create_app(conf, db), raise_server_exceptions=False)


def _link(client: TestClient, username: str, **headers: str) -> str:
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        ).status_code
        == 200
    )
    patient = client.post("/api/v1/patients", json={**PATIENT, "mrn": f"L-{next(_mrn)}"})
    pid = patient.json()["id"]
    made = client.post(
        f"/api/v1/patients/{pid}/links", json={"instruments": ["phq9"]}, headers=headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["url"])


def test_blank_base_url_follows_the_request_host(tmp_path: Path, db: Database) -> None:
    create_user(
        db, username="desk.anna", full_name="Anna Desk", role="receptionist", password=PASSWORD
    )
    with _client(tmp_path, db) as client:
        url = _link(client, "desk.anna", host="clinic.example.org:8443")
    assert url.startswith("http://clinic.example.org:8443/r/")


def test_forwarded_host_only_from_a_trusted_proxy(tmp_path: Path, db: Database) -> None:
    create_user(
        db, username="desk.anna", full_name="Anna Desk", role="receptionist", password=PASSWORD
    )
    forwarded = {"x-forwarded-host": "evil.example", "x-forwarded-proto": "https"}
    with _client(tmp_path, db) as client:  # TestClient's peer is "testclient"
        assert _link(client, "desk.anna", **forwarded).startswith("http://testserver/r/")
    with _client(tmp_path, db, trusted_proxies="testclient") as client:
        forwarded["x-forwarded-host"] = "clinic.example.org"
        assert _link(client, "desk.anna", **forwarded).startswith("https://clinic.example.org/r/")


def test_configured_base_url_wins_and_a_mismatch_is_reported(
    tmp_path: Path, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    create_user(db, username="chief.olga", full_name="Olga Chief", role="admin", password=PASSWORD)
    configured = _client(tmp_path, db, base_url="http://127.0.0.1:8000", port=8103)
    with caplog.at_level(logging.WARNING, logger="glabella"), configured as client:
        # at start-up: the configured port is not the listening one
        assert any("port 8103" in r.getMessage() for r in caplog.records)
        url = _link(client, "chief.olga")
        assert url.startswith("http://127.0.0.1:8000/r/")
        page = client.get("/").text
    assert 'id="base-url-warning"' in page and "127.0.0.1:8000" in page
    assert any("was reached at http://testserver" in r.getMessage() for r in caplog.records)


def test_startup_check() -> None:
    same = Settings(base_url="https://clinic.example.org", port=443)
    assert startup_mismatch(same) is None
    assert startup_mismatch(Settings(base_url="", port=8103)) is None
    other = startup_mismatch(Settings(base_url="http://127.0.0.1:8000", port=8103))
    assert other is not None and "8000" in other and "8103" in other
    proxied = Settings(base_url="https://clinic.example.org", port=8103, trusted_proxies="10.0.0.1")
    assert startup_mismatch(proxied) is None
    assert Settings(port=8103).public_base_url() == "http://127.0.0.1:8103"
    # GLABELLA_PORT not given: the listening port is unknown, nothing to compare
    assert startup_mismatch(Settings(base_url="http://127.0.0.1:9000")) is None


def test_make_run_port_reaches_the_printed_sign_in_address(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from glabella.cli import app as cli_app
    from glabella.settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    env = {
        "GLABELLA_DATABASE_URL": url,
        "GLABELLA_DATA_DIR": str(tmp_path),
        "GLABELLA_PORT": "8103",  # what `make run PORT=8103` passes
        "GLABELLA_BASE_URL": "",
    }
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["users", "ensure-admin"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8103/login" in result.output and ":8000" not in result.output
