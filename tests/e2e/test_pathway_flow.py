"""The clinical pathway in a real browser.

1. A new patient is screened, consents, and is treated on the injection map (live totals).
2. A patient treated six weeks ago (seeded through the services with a clock set back) fills
   in a week-6 PHQ-9 through the patient link; the clinician sees the response status and the
   trajectory with the treatment marked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from browser_steps import answer_screening, register_patient, seeding, signed_in_page
from playwright.sync_api import Browser, expect

from builders import patient_with_baseline, safe_screening, screen, sign_consent, treat

pytestmark = pytest.mark.e2e

SAFE = safe_screening()


def _seed_treated_six_weeks_ago(database_url: str, password: str) -> int:
    with seeding(database_url, password) as (db, actor):
        treated_at = dt.datetime.now(dt.UTC).replace(hour=10, minute=0) - dt.timedelta(days=42)
        db.clock = lambda: treated_at - dt.timedelta(hours=1)
        # baseline PHQ-9: items 1-8 = 2, item 9 = 0 -> 16 (item 9 > 0 would flag screening)
        pid = patient_with_baseline(
            db,
            actor,
            [2, 2, 2, 2, 2, 2, 2, 2, 0],
            mrn="E2E-SIX",
            given_name="Iris",
            family_name="Weeks",
            date_of_birth="1972-04-04",
        )
        screen(db, actor, pid, SAFE)
        consent_id = sign_consent(db, actor, pid, "Iris Weeks")
        db.clock = lambda: treated_at
        lot_expiry = dt.date.today() + dt.timedelta(days=300)
        treat(db, actor, pid, consent_id, lot_number="SEED1", lot_expiry=lot_expiry)
        return pid


def test_screen_consent_and_treat_on_the_injection_map(
    server: str, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    page = signed_in_page(browser, server, staff_password)
    context = page.context
    register_patient(
        page,
        server,
        mrn="E2E-MAP",
        given_name="Ada",
        family_name="Map",
        date_of_birth="1984-08-08",
    )
    page.get_by_role("link", name="Screening").click()

    page.select_option("#product", "onabotulinumtoxinA")
    answer_screening(page, SAFE)
    page.get_by_role("button", name="Screen").click()
    expect(page.locator("#latest .outcome")).to_have_text("Eligible")
    page.get_by_role("link", name="Next: consent").click()
    expect(page.get_by_text("off-label").first).to_be_visible()
    page.check("input[name=confirmed]")
    page.fill("#signed_name", "Ada Map")
    page.get_by_role("button", name="Record signed consent").click()

    expect(page.get_by_role("heading", name="Record treatment: Map, Ada")).to_be_visible()
    page.fill("#lot_number", "LOT-42")
    page.fill("#lot_expiry", (dt.date.today() + dt.timedelta(days=200)).isoformat())
    # 100 U in 2.5 mL -> 4 U per 0.1 mL (hand calculation: 100 / 2.5 / 10)
    expect(page.locator("#per-01ml")).to_have_text("4")
    for site, units in {
        "procerus": "4",
        "corrugator_medial_left": "5",
        "corrugator_medial_right": "5",
    }.items():
        page.click(f'.injection-map .site[data-site="{site}"]')
        expect(page.locator(f"#site_{site}")).to_be_focused()
        page.keyboard.type(units)
    # 4 + 5 + 5 = 14 U; 14 / 40 U per mL = 0.35 mL
    expect(page.locator("#total-units")).to_have_text("14")
    expect(page.locator("#total-volume")).to_have_text("0.35 mL")
    expect(page.locator('[data-units-for="procerus"]')).to_have_text("4")
    page.screenshot(path=str(artifacts / "10-injection-map.png"), full_page=True)
    page.get_by_role("button", name="Record treatment").click()
    expect(page.locator("table.treatments")).to_contain_text("14 U onabotulinumtoxinA")
    expect(page.locator("table.visits")).to_contain_text("Week 6")
    page.screenshot(path=str(artifacts / "11-patient-treated.png"), full_page=True)
    context.close()


def test_week6_self_report_shows_response_and_trajectory(
    server_info: Any, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    pid = _seed_treated_six_weeks_ago(server_info.database_url, staff_password)
    server = server_info.base
    page = signed_in_page(browser, server, staff_password)
    staff = page.context
    page.goto(f"{server}/patients/{pid}")
    page.click("#links button[type=submit]")
    link = page.input_value("#new-link-url")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    form = phone.new_page()
    form.goto(link)
    expect(form.get_by_text("Side effects since your injection")).to_be_visible()
    # week 6: items 1-7 = 1, items 8-9 = 0 -> 7 (baseline 16: -9 points, -56.25 % -> response)
    for number in range(1, 10):
        form.check(f"input[name=phq9__phq9_{number}][value='{1 if number < 8 else 0}']")
    form.get_by_role("button", name="Send my answers").click()
    expect(form.get_by_role("heading", name="Thank you")).to_be_visible()
    phone.close()

    page.goto(f"{server}/patients/{pid}")
    outcomes = page.locator("table.outcomes:not(.visit-outcomes)")
    expect(outcomes).to_contain_text("16")
    expect(outcomes.locator("td.response")).to_have_text("responder")
    expect(outcomes).to_contain_text("-9 (-56%)")
    expect(page.locator("table.visits")).to_contain_text("completed")
    chart = page.locator("svg.chart").first
    expect(chart.locator("circle.point")).to_have_count(2)
    expect(chart.locator("line.marker")).to_have_count(1)
    page.screenshot(path=str(artifacts / "12-week6-response.png"), full_page=True)
    staff.close()
