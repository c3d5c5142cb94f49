"""The PHQ-9 score chart on a phone (issue 16): the narrow variant is shown below 600 px and
its labels are drawn at 11 px or more; the follow-up table shows a missed visit as "missed".

The patient: treated 40 days ago; PHQ-9 at baseline (16), day 5 (12) and day 36 (8, inside the
week-6 window, days 35-49). Week 2 (days 11-17) was never answered and week 6 has opened, so
week 2 is "missed" (not overdue), week 6 "completed", week 12 "upcoming".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from browser_steps import DESKTOP, seeding, signed_in_page
from playwright.sync_api import Browser, Page, ViewportSize, expect

from builders import Clock, patient_with_baseline, phq9, safe_screening, screen, sign_consent, treat
from glabella.services import assessments

PHONE = ViewportSize(width=390, height=844)
MIN_PX = 11.0

FONT_SIZES_JS = """svg => Array.from(svg.querySelectorAll('text')).map(t => ({
    text: t.textContent,
    px: parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a,
    right: t.getBoundingClientRect().right,
    left: t.getBoundingClientRect().left,
}))"""


def _seed(database_url: str, password: str) -> int:
    with seeding(database_url, password) as (db, actor):
        treated_at = dt.datetime.now(dt.UTC).replace(hour=10, minute=0) - dt.timedelta(days=40)
        clock = Clock(treated_at - dt.timedelta(hours=1))
        db.clock = clock
        pid = patient_with_baseline(
            db,
            actor,
            [2, 2, 2, 2, 2, 2, 2, 2, 0],  # 16
            mrn="E2E-CHART",
            given_name="Cara",
            family_name="Phone",
            date_of_birth="1982-03-03",
        )
        screen(db, actor, pid, safe_screening(cssrs=True))
        consent_id = sign_consent(db, actor, pid, "Cara Phone")
        clock.now = treated_at
        lot_expiry = dt.date.today() + dt.timedelta(days=300)
        treat(db, actor, pid, consent_id, lot_number="CHART1", lot_expiry=lot_expiry)
        for days, items in ((5, (2, 2, 1, 1, 1, 1, 2, 2, 0)), (36, (1, 1, 1, 1, 1, 1, 1, 1, 0))):
            clock.now = treated_at + dt.timedelta(days=days)
            assessments.submit_assessment(db, actor, pid, "phq9", phq9(*items))  # 12, then 8
        return pid


def _labels(page: Page, selector: str) -> list[dict[str, object]]:
    svg = page.locator(selector)
    expect(svg).to_be_visible()
    labels: list[dict[str, object]] = svg.evaluate(FONT_SIZES_JS)
    return labels


def test_score_chart_is_readable_on_a_phone(
    server_info: object, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    server = server_info.base  # type: ignore[attr-defined]
    pid = _seed(server_info.database_url, staff_password)  # type: ignore[attr-defined]

    page = signed_in_page(browser, server, staff_password, viewport=PHONE, is_mobile=True)
    page.goto(f"{server}/patients/{pid}")
    expect(page.locator("#chart-phq9")).to_be_hidden()
    labels = _labels(page, "#chart-phq9-narrow")
    texts = [str(label["text"]) for label in labels]
    # every kind of label is there: values, band names, dates and the treatment
    assert "27" in texts and "moderately severe (15–19)" in texts, texts
    assert any("U " in t for t in texts) and sum(t.count("-") == 2 for t in texts) >= 2, texts
    small = [(label["text"], round(float(str(label["px"])), 1)) for label in labels]
    assert all(px >= MIN_PX for _, px in small), small
    box = page.locator("#chart-phq9-narrow").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    outside = [
        label["text"]
        for label in labels
        if float(str(label["left"])) < box["x"] - 1
        or float(str(label["right"])) > box["x"] + box["width"] + 1
    ]
    assert outside == [], outside  # no label runs past the chart's edge
    # the follow-up table: week 2 missed (week 6 has opened), not overdue
    visits = page.locator("table.visits tbody tr")
    expect(visits.filter(has_text="Week 2")).to_have_class("visit-missed")
    expect(visits.filter(has_text="Week 2").locator(".status")).to_have_text("missed")
    expect(visits.filter(has_text="Week 6")).to_have_class("visit-completed")
    expect(page.locator("table.visits .status.overdue")).to_have_count(0)
    page.locator("#chart-phq9-narrow").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "16-score-chart-phone.png"))
    page.context.close()

    desktop = signed_in_page(browser, server, staff_password, viewport=DESKTOP)
    desktop.goto(f"{server}/patients/{pid}")
    expect(desktop.locator("#chart-phq9-narrow")).to_be_hidden()
    expect(desktop.locator("#chart-phq9")).to_be_visible()  # the wide chart on a desktop
    desktop.context.close()
