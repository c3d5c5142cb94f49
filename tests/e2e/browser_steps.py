"""Steps the browser tests share: signing in, registering a patient, the screening form, and a
database session to seed through the services as the e2e clinician.

Import as ``from browser_steps import ...`` (pytest puts ``tests/e2e`` on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, expect

from glabella.services import users
from glabella.services.context import Actor, Database

E2E_USER = "dr.e2e"  # made by ``server_info`` in conftest.py
DESKTOP = ViewportSize(width=1280, height=1000)


def sign_in(
    page: Page, server: str, password: str, user: str = E2E_USER, *, dashboard: bool = False
) -> None:
    """Sign in on the login page; ``dashboard=True`` also waits for the Dashboard heading."""
    page.goto(f"{server}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    if dashboard:
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def signed_in_page(
    browser: Browser,
    server: str,
    password: str,
    user: str = E2E_USER,
    *,
    viewport: ViewportSize = DESKTOP,
    dashboard: bool = False,
    **context_options: Any,
) -> Page:
    """A page in a new browser context (``viewport``, ``context_options``), signed in."""
    page = browser.new_context(viewport=viewport, **context_options).new_page()
    sign_in(page, server, password, user, dashboard=dashboard)
    return page


def register_patient(
    page: Page,
    server: str,
    *,
    mrn: str,
    given_name: str,
    family_name: str,
    date_of_birth: str,
    sex: str = "female",
) -> None:
    """Fill in and submit the new-patient form; the page is left on the patient's record."""
    page.goto(f"{server}/patients/new")
    for field, value in {
        "#mrn": mrn,
        "#given_name": given_name,
        "#family_name": family_name,
        "#date_of_birth": date_of_birth,
    }.items():
        page.fill(field, value)
    page.select_option("#sex", sex)
    page.get_by_role("button", name="Register patient").click()


def answer_screening(page: Page, answers: Mapping[str, str]) -> None:
    """Tick each yes/no answer on the screening form; PHQ-9 item 9 is typed in its field."""
    for name, value in answers.items():
        if name == "phq9_item9":
            page.fill("#phq9_item9", value)
        else:
            page.check(f"input[name={name}][value={value}]")


@contextlib.contextmanager
def seeding(database_url: str, password: str) -> Iterator[tuple[Database, Actor]]:
    """The server's database and the e2e clinician, to seed through the services."""
    db = Database.from_url(database_url)
    try:
        yield db, users.authenticate(db, E2E_USER, password, "seed").actor("seed")
    finally:
        db.engine.dispose()


@contextlib.contextmanager
def running_app(env: Mapping[str, str], port: int, log_path: Path) -> Iterator[str]:
    """The real app under uvicorn on ``127.0.0.1:port`` with ``env``; yields its base URL.

    Waits up to 120 s for ``/healthz`` (a loaded 2-core machine can take long to import the
    app) and fails with the server's log; the process is stopped on the way out.
    """
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "glabella.web.app:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(port)),
            ],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)
