"""The foundation's end-to-end story in a real browser.

Clinician signs in, registers a patient, creates a self-report link; the patient opens it on a
phone-sized screen, answers PHQ-9 with item 9 = 1 and submits; the clinician sees the score and the
open suicide-risk alert, records the action, and the alert closes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.e2e

# PHQ-9 answers chosen for the test: items 1-8 = 1, item 9 = 1 -> total 9 ("mild", 5-9).
ANSWERS = [1, 1, 1, 1, 1, 1, 1, 1, 1]


def test_self_report_with_item9_raises_alert_that_closes_with_action(
    server: str, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    page.goto(f"{server}/")
    expect(page).to_have_url(f"{server}/login")
    page.fill("#username", "dr.e2e")
    page.fill("#password", staff_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.goto(f"{server}/patients/new")
    page.fill("#mrn", "E2E-001")
    page.fill("#given_name", "Marie")
    page.fill("#family_name", "Curie")
    page.fill("#date_of_birth", "1967-11-07")
    page.select_option("#sex", "female")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="Curie, Marie")).to_be_visible()

    page.click("#links button[type=submit]")
    link_url = page.input_value("#new-link-url")
    assert "/r/" in link_url and "E2E-001" not in link_url and "Curie" not in link_url
    page.screenshot(path=str(artifacts / "01-patient-with-link.png"), full_page=True)

    patient = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = patient.new_page()
    phone.goto(link_url)
    expect(phone.get_by_text("Little interest or pleasure in doing things")).to_be_visible()
    assert "Curie" not in phone.content()
    for number, value in enumerate(ANSWERS, start=1):
        phone.check(f"input[name=phq9__phq9_{number}][value='{value}']")
    phone.screenshot(path=str(artifacts / "02-patient-form.png"), full_page=True)
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(phone.get_by_text("Samaritans on 116 123")).to_be_visible()
    assert "mild" not in phone.content().lower() and ">9<" not in phone.content()
    phone.screenshot(path=str(artifacts / "03-patient-thanks.png"), full_page=True)

    phone.goto(link_url)
    expect(phone.get_by_text("already been used")).to_be_visible()
    patient.close()

    page.goto(f"{server}/")
    alert = page.locator(".alert-card")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Curie, Marie")
    expect(page.locator("#recent-h + table")).to_contain_text("9")
    page.screenshot(path=str(artifacts / "04-dashboard-alert.png"), full_page=True)

    page.click("text=Curie, Marie >> nth=0")
    expect(page.locator("table.results")).to_contain_text("mild")
    # one instrument answered: one chart, drawn twice (wide and narrow), one shown per viewport
    expect(page.locator("svg.chart-wide")).to_have_count(1)
    expect(page.locator("svg.chart-wide")).to_be_visible()
    expect(page.locator("svg.chart-narrow")).to_be_hidden()
    page.screenshot(path=str(artifacts / "05-patient-history.png"), full_page=True)

    page.goto(f"{server}/")
    page.fill("textarea[name=action_text]", "Phoned patient, safety plan reviewed, GP informed.")
    page.click(".alert-card button[type=submit]")
    expect(page.get_by_text("No open alerts.")).to_be_visible()
    page.screenshot(path=str(artifacts / "06-dashboard-closed.png"), full_page=True)
    staff.close()
