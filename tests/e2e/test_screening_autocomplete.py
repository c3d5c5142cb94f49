"""The screening form in a real browser: autocomplete of the entry being typed from the
screening vocabulary, and a temporary contraindication shown with when to reassess."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.e2e

ANSWERS = {
    "prior_bont_reaction": "no",
    "infection_or_inflammation_at_sites": "no",
    "pregnant": "yes",
    "breastfeeding": "no",
    "bont_last_12_weeks": "no",
    "prior_eyelid_ptosis": "no",
    "psychotic_symptoms_current": "no",
    "psychotic_disorder_history": "no",
}


def test_autocomplete_offers_the_next_entry_and_the_result_says_when_to_reassess(
    server: str, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#username", "dr.e2e")
    page.fill("#password", staff_password)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{server}/patients/new")
    for field, value in {
        "#mrn": "E2E-VOCAB",
        "#given_name": "Vera",
        "#family_name": "Cab",
        "#date_of_birth": "1979-03-03",
    }.items():
        page.fill(field, value)
    page.select_option("#sex", "female")
    page.get_by_role("button", name="Register patient").click()
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
    for name, value in ANSWERS.items():
        page.check(f"input[name={name}][value={value}]")
    page.fill("#phq9_item9", "0")
    page.get_by_role("button", name="Screen").click()
    expect(page.locator("#latest .outcome")).to_have_text(
        "Not eligible now — reassess after the pregnancy and any breastfeeding"
    )
    expect(page.locator("#matches")).to_contain_text("Eliquis → apixaban, B01AF02")
    expect(page.locator("#matches")).to_contain_text("warfarin → warfarin, B01AA03")
    page.locator("#latest").screenshot(path=str(artifacts / "screening-reassess.png"))
    context.close()
