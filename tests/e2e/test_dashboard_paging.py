"""The dashboard pages through a 500-patient synthetic clinic, on a desktop and on a phone.

The clinic comes from ``glabella demo``'s generator (500 patients, item answers stored); one
patient then endorses PHQ-9 item 9, so the worklist must put that patient first. The browser
walks the pages with the pager, applies the filters, and opens the alerting patient, whose page
shows the item answers with item 9 marked in words and the alert history.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_steps import sign_in
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from glabella.demo.params import DemoParameters
from glabella.services import assessments as assess_svc
from glabella.services.context import Actor, Database
from glabella.services.demo_load import generate_clinic
from glabella.store.models import Patient, User

pytestmark = pytest.mark.e2e
PATIENTS = 500


@pytest.fixture(scope="module")
def clinic(server_info: object) -> dict[str, object]:
    db = Database.from_url(server_info.database_url)  # type: ignore[attr-defined]
    try:
        with db.transaction() as s:
            clinician = s.scalars(select(User).where(User.username == "dr.e2e")).one()
            clinic_id, user_id = clinician.clinic_id, clinician.id
        admin = Actor(None, "e2e-demo", "admin", clinic_id, "e2e")
        generate_clinic(db, admin, DemoParameters(patients=PATIENTS, seed=3))
        with db.transaction() as s:
            first = s.scalars(select(Patient).order_by(Patient.family_name.desc())).first()
            assert first is not None
            pid, name = first.id, f"{first.family_name}, {first.given_name}"
        me = Actor(user_id, "dr.e2e", "clinician", clinic_id, "e2e")
        # items 1-8 = 1, item 9 = 2: total 10, an urgent suicide-risk alert
        answers = {f"phq9_{i}": 1 for i in range(1, 9)} | {"phq9_9": 2}
        assess_svc.submit_assessment(db, me, pid, "phq9", answers)
    finally:
        db.engine.dispose()
    return {"alert_patient": pid, "alert_name": name}


def _sign_in(page: Page, server: str, password: str) -> None:
    sign_in(page, server, password, dashboard=True)


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    widest = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
                if (getComputedStyle(a).overflowX !== 'visible') return false; }
                return true; })
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' +
                              Math.round(e.getBoundingClientRect().right))"""
    )
    assert width <= viewport, f"page is {width}px wide in a {viewport}px viewport: {widest}"


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})],
)
def test_dashboard_pages_through_500_patients(
    server: str,
    browser: Browser,
    artifacts: Path,
    staff_password: str,
    clinic: dict[str, object],
    device: str,
    viewport: dict[str, int],
) -> None:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    _sign_in(page, server, staff_password)
    summary = page.locator(".paging-summary")
    expect(summary).to_have_text(f"Patients 1–50 of {PATIENTS} · page 1 of 10")
    rows = page.locator("table.worklist tbody tr")
    expect(rows).to_have_count(50)
    first = rows.first
    expect(first).to_contain_text(str(clinic["alert_name"]))
    expect(first).to_contain_text("URGENT")
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=str(artifacts / f"dashboard-500-{device}-page1.png"), full_page=True)
    page.screenshot(path=str(artifacts / f"dashboard-500-{device}-page1-top.png"))
    _no_sideways_scroll(page)

    page.get_by_role("link", name="Next ›").click()
    expect(summary).to_have_text(f"Patients 51–100 of {PATIENTS} · page 2 of 10")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Last »").click()
    expect(summary).to_have_text(f"Patients 451–500 of {PATIENTS} · page 10 of 10")
    expect(page.get_by_role("link", name="Next ›")).to_have_count(0)
    page.screenshot(path=str(artifacts / f"dashboard-500-{device}-page10.png"), full_page=True)

    page.goto(f"{server}/")
    page.select_option("#alert_level", "urgent")
    page.get_by_role("button", name="Apply").click()
    expect(summary).to_have_text("Patients 1–1 of 1 · page 1 of 1")
    page.goto(f"{server}/?overdue_days=30")
    overdue = page.locator("table.worklist tbody tr")
    expect(overdue.first).to_contain_text("overdue")
    for text in overdue.locator("td[data-label='Follow-up']").all_inner_texts():
        days = int(text.split("overdue")[1].split("day")[0])
        assert days >= 30, text
    page.screenshot(path=str(artifacts / f"dashboard-500-{device}-overdue30.png"), full_page=True)

    page.goto(f"{server}/patients/{clinic['alert_patient']}")
    endorsed = page.locator("tr.endorsed-row")
    expect(endorsed).to_have_count(1)
    expect(endorsed).to_contain_text("ENDORSED")
    expect(endorsed).to_contain_text("More than half the days (2)")
    expect(page.locator("#alert-history")).to_contain_text("Dr E2E (entered answers)")
    _no_sideways_scroll(page)
    page.locator("#answers-h").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"patient-answers-{device}-view.png"))
    page.screenshot(path=str(artifacts / f"patient-answers-{device}.png"), full_page=True)
    page.goto(f"{server}/alerts")
    expect(page.locator("table.alert-history tbody tr")).to_have_count(1)
    _no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / f"alert-history-{device}.png"), full_page=True)
    context.close()
    # a desktop page of 50 rows is a page, not 16,830 px of 599 rows
    if device == "desktop":
        assert height < 6000, height
