"""The trial-planning page in a real browser.

A signed-in user opens "Trial planning" from the top bar: the plan rests on the depression
headline (the same numbers the JSON API returns), the power and assurance charts are drawn,
changing the assumptions changes the plan, a bad value is refused naming the field, and the
disorder page shows what each trial could detect (Brin 2020, 65 vs 59 patients).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_steps import signed_in_page
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.e2e


def test_planning_page_matches_the_api(
    server: str, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    page = signed_in_page(
        browser, server, staff_password, viewport={"width": 1280, "height": 900}, dashboard=True
    )
    context = page.context

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trial planning").click()
    expect(
        page.get_by_role("heading", name="Plan the next trial from the evidence")
    ).to_be_visible()
    expect(page.locator(".offlabel")).to_contain_text("off-label")

    # Type like people type: percentages.
    page.fill("#dropout", "20%")
    page.fill("#unblinding", "30 %")
    page.get_by_role("button", name="Plan").click()
    api = context.request.get(
        f"{server}/api/v1/planning/evidence?disorder=mdd&dropout=0.2&unblinding=0.3"
    ).json()
    inert, active = api["inert_placebo"], api["active_placebo"]
    expect(page.locator("#row-inert .total")).to_have_text(str(inert["n_total"]))
    expect(page.locator("#row-active .total")).to_have_text(str(active["n_total"]))
    assert active["n_total"] > inert["n_total"]
    normal = round(100 * api["assurance"]["values"]["normal"])
    expect(page.locator("#plan-assurance")).to_contain_text(f"{normal}%")
    expect(page.locator("#plan-warnings")).to_contain_text("prediction interval")
    expect(page.locator("#power-curve path.series-0")).to_be_visible()
    expect(page.locator("#power-curve path.series-1")).to_be_visible()
    expect(page.locator("#assurance-curve path.series")).to_have_count(3)
    expect(page.locator("#retrospective-table")).to_contain_text("Brin 2020")
    page.screenshot(path=str(artifacts / "planning-00-page.png"), full_page=True)
    page.locator("#plan-charts-h").locator("..").screenshot(
        path=str(artifacts / "planning-01-charts.png")
    )

    # A prediction bound through no effect cannot be planned on; the page says why.
    page.select_option("#basis", "pi_bound")
    page.get_by_role("button", name="Plan").click()
    expect(page.locator("#plan-error")).to_contain_text("basis 'pi_bound'")

    # Bad input: refused naming the field, the field marked.
    page.select_option("#basis", "pooled")
    page.fill("#power", "1.5")
    page.get_by_role("button", name="Plan").click()
    expect(page.locator("#plan-error")).to_contain_text("power must be between 0 and 1")
    expect(page.locator("#power")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(artifacts / "planning-02-bad-input.png"))

    # The disorder page: what each trial could detect, with Brin 2020's sizes.
    page.goto(f"{server}/evidence/disorders/mdd")
    rows = context.request.get(f"{server}/api/v1/planning/retrospective?disorder=mdd").json()
    brin = next(r for r in rows["rows"] if r["study_id"] == "brin-2020" and r["in_pooled"])
    row = page.locator("#retrospective-table tr", has_text="Brin 2020").first
    expect(row).to_contain_text("65")
    expect(row).to_contain_text("59")
    expect(row.locator(".mde")).to_have_text(f"g {brin['mde']:.2f}")
    page.locator("#retrospective").screenshot(path=str(artifacts / "planning-03-retrospective.png"))
    context.close()
