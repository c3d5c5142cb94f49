"""The consultation report page in a real browser: options, icon arrays, PDF link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_steps import seeding, signed_in_page
from playwright.sync_api import Browser, expect

from builders import patient_with_baseline

pytestmark = pytest.mark.e2e


def _seed(database_url: str, password: str) -> int:
    with seeding(database_url, password) as (db, actor):
        # PHQ-9 items 1-8 = 2, item 9 = 0 -> 16 (moderately severe)
        return patient_with_baseline(
            db,
            actor,
            [2, 2, 2, 2, 2, 2, 2, 2, 0],
            mrn="E2E-REPORT",
            given_name="Rhea",
            family_name="Port",
            date_of_birth="1981-08-09",
        )


def test_report_page_shows_arrays_and_downloads_the_pdf(
    browser: Browser, server_info: Any, staff_password: str, artifacts: Path
) -> None:
    base = server_info.base
    pid = _seed(server_info.database_url, staff_password)
    page = signed_in_page(browser, base, staff_password)
    context = page.context
    page.goto(f"{base}/patients/{pid}")
    page.click("text=Consultation report")
    expect(page.locator("h1").first).to_contain_text("Consultation report")
    # the chance of response from the five-trial change score, drawn as two icon arrays; the
    # two-trial response and remission results follow as text
    expect(page.locator("svg.icon-array")).to_have_count(2)
    expect(page.locator("#sec-change")).to_have_text(
        "How much does it help? Change in depression scores"
    )
    expect(page.locator("#sec-change-block")).to_contain_text("PHQ-9")
    expect(page.locator("text=16 of 27")).to_be_visible()
    page.screenshot(path=str(artifacts / "20-report-page.png"), full_page=True)
    page.select_option("#lang", "de")
    page.click("text=Show")
    expect(page.locator("#sec-baseline")).to_have_text("Ihr Ausgangsbefund")
    href = page.locator("#download-pdf").get_attribute("href")
    assert href is not None and "lang=de" in href
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    pdf = httpx.get(f"{base}{href}", cookies=cookies, timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # the preview link records nothing; the button records the report and downloads its PDF
    expect(page.locator("text=Recorded reports")).to_have_count(0)
    with page.expect_download() as download:
        page.click("#record-pdf")
    assert download.value.suggested_filename.startswith("consultation-report-")
    assert "preview" not in download.value.suggested_filename
    page.goto(f"{base}/patients/{pid}/report?lang=de")
    expect(page.locator("text=Recorded reports")).to_be_visible()
    context.close()
