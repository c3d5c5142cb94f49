"""The treatment form shows a refused dose next to its site (issue 15, item 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from browser_steps import seeding, signed_in_page
from playwright.sync_api import Browser, expect

from builders import new_patient, safe_screening, screen, sign_consent

pytestmark = pytest.mark.e2e

SAFE = safe_screening()


def _screened_and_consented(database_url: str, password: str) -> int:
    with seeding(database_url, password) as (db, actor):
        pid = new_patient(
            db,
            actor,
            mrn="E2E-SITE",
            given_name="Sol",
            family_name="Site",
            date_of_birth="1981-01-01",
        )
        screen(db, actor, pid, SAFE)
        sign_consent(db, actor, pid, "Sol Site")
        return pid


def test_fifty_units_into_one_site_is_shown_at_that_site(
    server_info: object, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    pid = _screened_and_consented(server_info.database_url, staff_password)  # type: ignore[attr-defined]
    server = server_info.base  # type: ignore[attr-defined]
    page = signed_in_page(browser, server, staff_password)
    context = page.context
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
