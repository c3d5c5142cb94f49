"""The consent page in a real browser, on a phone and a desktop viewport: the text rendered
(no Markdown marks), a different name refused until confirmed with a reason (H-094), the
patient's PDF copy downloaded, the consent withdrawn (H-095). Screenshots in the artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_steps import register_patient, signed_in_page
from playwright.sync_api import Browser, ViewportSize, expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("label", "viewport", "mrn"),
    [
        ("phone", {"width": 390, "height": 844}, "E2E-CP"),
        ("desktop", {"width": 1280, "height": 1000}, "E2E-CD"),
    ],
)
def test_consent_rendered_name_checked_pdf_and_withdrawn(
    server: str,
    browser: Browser,
    artifacts: Path,
    staff_password: str,
    label: str,
    viewport: ViewportSize,
    mrn: str,
) -> None:
    page = signed_in_page(browser, server, staff_password, viewport=viewport, accept_downloads=True)
    context = page.context
    register_patient(
        page,
        server,
        mrn=mrn,
        given_name="Anna",
        family_name="Müller",
        date_of_birth="1980-05-05",
    )
    patient_url = page.url
    page.goto(f"{patient_url}/consent")

    text = page.locator(".consent-rendered")
    expect(text.get_by_role("heading", name="This use is off-label")).to_be_visible()
    expect(text.locator("strong").nth(1)).to_have_text(
        "It is not licensed for the treatment of depression."
    )
    shown = text.inner_text()
    assert "#" not in shown and "**" not in shown
    page.screenshot(path=str(artifacts / f"consent-{label}.png"), full_page=True)

    page.check("input[name=confirmed]")
    page.fill("#signed_name", "Eva Meier")
    page.get_by_role("button", name="Record signed consent").click()
    expect(page.get_by_role("alert")).to_contain_text("does not match the patient record")
    expect(page.locator("#signed_name")).to_have_value("Eva Meier")
    page.screenshot(path=str(artifacts / f"consent-mismatch-{label}.png"), full_page=True)
    page.check("input[name=different_name]")
    page.fill("#different_name_reason", "daughter signs as legal representative")
    page.get_by_role("button", name="Record signed consent").click()
    expect(page.get_by_role("heading", name="Record treatment: Müller, Anna")).to_be_visible()

    page.goto(f"{patient_url}/consent")
    expect(
        page.get_by_text("different name: daughter signs as legal representative")
    ).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="PDF").click()
    pdf = artifacts / f"consent-copy-{label}.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")

    page.get_by_text("Patient withdraws this consent").click()
    page.get_by_label("Reason").last.fill("wants to think it over")
    page.get_by_role("button", name="Record withdrawal").click()
    expect(page.get_by_text("wants to think it over")).to_be_visible()
    page.screenshot(path=str(artifacts / f"consent-withdrawn-{label}.png"), full_page=True)
    context.close()
