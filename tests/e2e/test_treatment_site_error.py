"""The treatment form shows a refused dose next to its site (issue 15, item 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from glabella.services import consent, patients, screening, users
from glabella.services.context import Database

pytestmark = pytest.mark.e2e

SAFE = {
    "prior_bont_reaction": "no",
    "infection_or_inflammation_at_sites": "no",
    "pregnant": "no",
    "breastfeeding": "no",
    "bont_last_12_weeks": "no",
    "prior_eyelid_ptosis": "no",
    "psychotic_symptoms_current": "no",
    "psychotic_disorder_history": "no",
    "phq9_item9": "0",
}


def _screened_and_consented(database_url: str, password: str) -> int:
    db = Database.from_url(database_url)
    try:
        actor = users.authenticate(db, "dr.e2e", password, "seed").actor("seed")
        pid = patients.create_patient(
            db,
            actor,
            patients.parse_patient_input(
                {
                    "mrn": "E2E-SITE",
                    "given_name": "Sol",
                    "family_name": "Site",
                    "date_of_birth": "1981-01-01",
                    "sex": "female",
                }
            ),
        ).id
        screening.run_screening(
            db, actor, pid, "onabotulinumtoxinA", screening.parse_screening_answers(SAFE)
        )
        version = consent.current_text(db).version
        consent.sign_consent(db, actor, pid, version, "Sol Site", True)
        return pid
    finally:
        db.engine.dispose()


def test_fifty_units_into_one_site_is_shown_at_that_site(
    server_info: object, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    pid = _screened_and_consented(server_info.database_url, staff_password)  # type: ignore[attr-defined]
    server = server_info.base  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#username", "dr.e2e")
    page.fill("#password", staff_password)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{server}/patients/{pid}/treatments/new")
    page.fill("#lot_number", "LOT-50")
    page.fill("#lot_expiry", (dt.date.today() + dt.timedelta(days=200)).isoformat())
    page.fill("#site_procerus", "50")
    page.get_by_role("button", name="Record treatment").click()
    # 50 U > the 10 U per-site maximum for onabotulinumtoxinA (Finzi 2014, procerus)
    expect(page.locator("#error-site_procerus")).to_contain_text("10 U per site")
    expect(page.locator("#site_procerus")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#site_procerus")).to_have_value("50")
    page.screenshot(path=str(artifacts / "15-treatment-site-error.png"), full_page=True)
    context.close()
