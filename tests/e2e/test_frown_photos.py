"""Frown photos in a real browser (issue 18): a clinician records photo consent, uploads a
rest and a maximal-frown photo (each checked as soon as it is chosen), sees the measures and
the chart beside PHQ-9 with the treatment marked; a photo without a face is refused with what
to fix and nothing is stored. The patient's link page is shown on a phone."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest
from browser_steps import seeding, sign_in
from playwright.sync_api import Browser, Page, ViewportSize, expect
from skimage import data

from builders import patient_with_baseline, phq9, safe_screening, screen, sign_consent, treat
from glabella.services import assessments, links

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clinic" / "biomarker"))
from frown_faces import astronaut, frown_warp, iod_px, jpeg

pytestmark = pytest.mark.e2e

SAFE = safe_screening()
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)


def _jpeg(arr: np.ndarray, path: Path) -> Path:
    path.write_bytes(jpeg(arr, quality=92))
    return path


def _seed(database_url: str, password: str) -> tuple[int, str]:
    """A patient treated 3 weeks ago with PHQ-9 at baseline and week 2; a live link token."""
    with seeding(database_url, password) as (db, actor):
        treated_at = dt.datetime.now(dt.UTC).replace(hour=10, minute=0) - dt.timedelta(days=21)
        db.clock = lambda: treated_at - dt.timedelta(hours=1)
        pid = patient_with_baseline(
            db,
            actor,
            [2, 2, 2, 2, 2, 2, 2, 2, 0],
            mrn="E2E-FROWN",
            given_name="Fern",
            family_name="Brow",
            date_of_birth="1979-09-09",
        )  # 16
        screen(db, actor, pid, SAFE)
        consent_id = sign_consent(db, actor, pid, "Fern Brow")
        db.clock = lambda: treated_at
        lot_expiry = dt.date.today() + dt.timedelta(days=300)
        treat(db, actor, pid, consent_id, lot_number="FROWN1", lot_expiry=lot_expiry)
        db.clock = lambda: treated_at + dt.timedelta(days=14)
        assessments.submit_assessment(db, actor, pid, "phq9", phq9(1, 1, 1, 1, 1, 1, 1, 1, 0))  # 8
        db.clock = lambda: dt.datetime.now(dt.UTC)
        token = links.create_link(db, actor, pid, ["phq9"], valid_hours=24).token
        return pid, token


def _sign_in(page: Page, server: str, password: str) -> None:
    sign_in(page, server, password)


def test_clinician_records_consent_uploads_and_sees_measures_and_chart(
    server_info: object, browser: Browser, artifacts: Path, staff_password: str, tmp_path: Path
) -> None:
    server = server_info.base  # type: ignore[attr-defined]
    pid, token = _seed(server_info.database_url, staff_password)  # type: ignore[attr-defined]
    k = 0.08 * iod_px()
    rest = _jpeg(astronaut(), tmp_path / "rest.jpg")
    frown = _jpeg(frown_warp(k, k), tmp_path / "frown.jpg")
    weaker = _jpeg(frown_warp(0.03 * iod_px(), 0.03 * iod_px()), tmp_path / "frown-weak.jpg")
    cup = _jpeg(data.coffee(), tmp_path / "coffee.jpg")  # a photo with no face in it

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _sign_in(page, server, staff_password)
    page.goto(f"{server}/patients/{pid}#frown")
    section = page.locator("#frown")
    expect(section.get_by_text("Photo consent (needed before any photo)")).to_be_visible()
    expect(section.locator("input[type=file]")).to_have_count(0)
    section.get_by_label("The patient agrees to two photographs").check()
    section.get_by_role("button", name="Record photo consent").click()
    expect(section.get_by_role("status")).to_contain_text("Photo consent recorded.")

    rest_input = section.locator("#photo-rest")
    expect(rest_input).to_have_attribute("capture", "user")
    expect(rest_input).to_have_attribute("accept", "image/*")
    rest_input.set_input_files(str(rest))
    expect(section.locator("#check-rest")).to_contain_text("can be measured", timeout=20_000)
    section.locator("#photo-frown").set_input_files(str(frown))
    expect(section.locator("#check-frown")).to_contain_text("can be measured", timeout=20_000)
    section.get_by_role("button", name="Check, measure and store").click()
    expect(page.locator("#frown .notice")).to_contain_text("frown activity index", timeout=20_000)
    table = page.locator("table.frown-measures")
    expect(table.locator("tbody tr")).to_have_count(1)
    index_text = table.locator("td.fai").first.inner_text()
    assert float(index_text) > 4.0  # the 0.08-IOD warp (about 8: tests/clinic/biomarker)
    chart = page.locator("#frown-chart")
    expect(chart).to_be_visible()
    expect(chart.locator(".fai-point")).to_have_count(1)
    expect(chart.locator(".phq9-point")).to_have_count(2)
    expect(chart.locator(".treatment-line")).to_have_count(1)

    # a photo without a face: the check says what to fix at once, the submit refuses it
    page.locator("#photo-rest").set_input_files(str(cup))
    expect(page.locator("#check-rest")).to_contain_text("no face found", timeout=20_000)
    page.screenshot(path=str(artifacts / "18-frown-check-no-face-desktop.png"), full_page=True)
    page.locator("#photo-frown").set_input_files(str(frown))
    page.get_by_role("button", name="Check, measure and store").click()
    expect(page.locator("#check-rest")).to_contain_text("no face found", timeout=20_000)
    expect(page.locator("#photo-rest")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("table.frown-measures tbody tr")).to_have_count(1)  # nothing stored

    # a second pair on the same day (weaker frown): both points visible side by side
    page.locator("#photo-rest").set_input_files(str(rest))
    page.locator("#photo-frown").set_input_files(str(weaker))
    page.get_by_role("button", name="Check, measure and store").click()
    expect(page.locator("table.frown-measures tbody tr")).to_have_count(2, timeout=20_000)
    points = page.locator("#frown-chart .fai-point")
    expect(points).to_have_count(2)
    xs = {points.nth(i).get_attribute("cx") for i in range(2)}
    assert len(xs) == 2  # same day, spread apart
    page.locator("#frown").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "18-frown-patient-page-desktop.png"), full_page=True)
    context.close()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.new_page()
    _sign_in(page, server, staff_password)
    page.goto(f"{server}/patients/{pid}#frown")
    expect(page.locator("#frown-chart-narrow")).to_be_visible()  # the phone's chart
    expect(page.locator("#frown-chart")).to_be_hidden()
    expect(page.locator("#frown-chart-narrow .fai-point")).to_have_count(2)
    # the frown section fits the phone (its measures table scrolls inside its own box)
    overflowing = page.evaluate(
        """Array.from(document.querySelectorAll('#frown *'))
        .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > 391)
        .map(e => e.tagName + '.' + e.className)"""
    )
    assert overflowing == [], overflowing
    page.screenshot(path=str(artifacts / "18-frown-patient-page-phone.png"), full_page=True)
    phone.close()

    # the patient's link page on a phone: agree, then the two camera inputs
    patient = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = patient.new_page()
    page.goto(f"{server}/r/{token}")
    page.get_by_text("Photos of your frown").click()
    expect(page.locator("#photos input[type=file]")).to_have_count(2)  # consent already given
    page.locator("#photo-rest").set_input_files(str(cup))
    expect(page.locator("#check-rest")).to_contain_text("no face found", timeout=20_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the link page scrolls sideways on a phone ({width} px)"
    page.screenshot(path=str(artifacts / "18-frown-link-page-phone.png"), full_page=True)
    patient.close()
