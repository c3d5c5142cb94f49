"""The treatment form on a desktop and a phone: injector, time, site pattern and target
(issue 16, item 5). Screenshots go to tests/artifacts/ to be looked at."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from browser_steps import seeding
from playwright.sync_api import Browser, ViewportSize, expect

from builders import new_patient, safe_screening, screen, sign_consent
from glabella.services import users

pytestmark = pytest.mark.e2e

SAFE = safe_screening()


def _ready(database_url: str, password: str) -> int:
    with seeding(database_url, password) as (db, actor):
        users.create_user(
            db, username="nurse.view", full_name="Nurse Vera View", role="nurse", password=password
        )
        pid = new_patient(
            db,
            actor,
            mrn="E2E-FORM",
            given_name="Fay",
            family_name="Form",
            date_of_birth="1983-03-03",
            sex="male",
        )
        screen(db, actor, pid, SAFE)
        sign_consent(db, actor, pid, "Fay Form")
        return pid


_PATIENT: dict[str, int] = {}  # the patient made once per module's server


@pytest.mark.parametrize(
    ("name", "viewport"),
    [("desktop", {"width": 1280, "height": 1000}), ("phone", {"width": 390, "height": 844})],
)
def test_treatment_form_on_desktop_and_phone(
    server_info: object,
    browser: Browser,
    artifacts: Path,
    staff_password: str,
    name: str,
    viewport: ViewportSize,
) -> None:
    if "pid" not in _PATIENT:
        _PATIENT["pid"] = _ready(server_info.database_url, staff_password)  # type: ignore[attr-defined]
    pid = _PATIENT["pid"]
    server = server_info.base  # type: ignore[attr-defined]
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#username", "dr.e2e")
    page.fill("#password", staff_password)
    page.get_by_role("button", name="Sign in").click()
    # A total-only protocol: the note, the 29 U target, no unit filled in.
    page.goto(f"{server}/patients/{pid}/treatments/new?protocol=wollmer2012_female")
    expect(page.locator("#no-site-units")).to_contain_text("gives no per-site units")
    expect(page.locator("#site_procerus")).to_have_value("")
    expect(page.locator("#injector_id option:checked")).to_have_text("Dr E2E (Clinician)")
    today = dt.date.today().isoformat()
    assert page.locator("#treated_at").input_value().startswith(today[:8])
    page.fill("#site_procerus", "5")
    expect(page.locator("#target-diff")).to_have_text("(-24 U against the target)")  # 5 - 29
    page.screenshot(path=str(artifacts / f"16-treatment-total-only-{name}.png"), full_page=True)
    # Finzi & Rosenthal 2014 men: 10/8/8/7/7 U from the source, 40 U = the target.
    page.goto(f"{server}/patients/{pid}/treatments/new?protocol=finzi2014_male")
    expect(page.locator("#site_procerus")).to_have_value("10")
    expect(page.locator("#site_corrugator_lateral_left")).to_have_value("7")
    expect(page.locator("#total-units")).to_have_text("40")
    expect(page.locator("#target-diff")).to_have_text("(= target)")
    page.select_option("#injector_id", label="Nurse Vera View (Nurse)")
    page.screenshot(path=str(artifacts / f"16-treatment-verified-{name}.png"), full_page=True)
    wide = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > w + 1)
            .map(e => e.tagName + '#' + e.id + '.' + e.className + ' '
                 + Math.round(e.getBoundingClientRect().right))""",
        viewport["width"],
    )
    assert wide == [], "runs off the screen"
    context.close()
