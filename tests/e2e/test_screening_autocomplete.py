"""The screening form in a real browser: autocomplete of the entry being typed from the
screening vocabulary, and a temporary contraindication shown with when to reassess."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_steps import answer_screening, register_patient, signed_in_page
from playwright.sync_api import Browser, expect

from builders import safe_screening

pytestmark = pytest.mark.e2e

ANSWERS = safe_screening(pregnant="yes")


def test_autocomplete_offers_the_next_entry_and_the_result_says_when_to_reassess(
    server: str, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    page = signed_in_page(browser, server, staff_password)
    context = page.context
    register_patient(
        page,
        server,
        mrn="E2E-VOCAB",
        given_name="Vera",
        family_name="Cab",
        date_of_birth="1979-03-03",
    )
    page.get_by_role("link", name="Screening").click()

    # the second entry of a comma-separated list is completed, the first one kept
    page.locator("#medications").press_sequentially("Eliquis, warf")
    option = page.locator('#vocab-medications option[value="Eliquis, warfarin"]')
    expect(option).to_have_count(1)
    assert option.get_attribute("label") == "warfarin → warfarin, B01AA03"
    expect(page.locator("#vocab-medications option")).to_have_count(1)  # misspellings not offered

    page.locator("#conditions").press_sequentially("myast")
    expect(page.locator('#vocab-conditions option[value="myasthenia"]')).to_have_count(1)
    page.fill("#conditions", "")

    page.fill("#medications", "Eliquis, warfarin")
    page.select_option("#product", "onabotulinumtoxinA")
    answer_screening(page, ANSWERS)  # the radios, then PHQ-9 item 9 = 0
    page.get_by_role("button", name="Screen").click()
    expect(page.locator("#latest .outcome")).to_have_text(
        "Not eligible now — reassess after the pregnancy and any breastfeeding"
    )
    expect(page.locator("#matches")).to_contain_text("Eliquis → apixaban, B01AF02")
    expect(page.locator("#matches")).to_contain_text("warfarin → warfarin, B01AA03")
    page.locator("#latest").screenshot(path=str(artifacts / "screening-reassess.png"))
    context.close()
