"""The evidence pages in a real browser.

A clinician opens the depression evidence page: the forest plot is drawn, the pooled numbers on
the page are the numbers the JSON API returns, every pooled claim carries its certainty and the
page says off-label; then the clinician opens a study page with every number's provenance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_steps import signed_in_page
from playwright.sync_api import Browser, expect

from glabella.web.evidence_charts import fmt_number

pytestmark = pytest.mark.e2e


def test_depression_evidence_page_matches_the_api(
    server: str, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    page = signed_in_page(
        browser, server, staff_password, viewport={"width": 1280, "height": 900}, dashboard=True
    )
    context = page.context

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evidence").click()
    expect(page.get_by_role("heading", name="Evidence base")).to_be_visible()
    page.get_by_role("link", name="Major depressive disorder").click()
    expect(page).to_have_url(f"{server}/evidence/disorders/mdd")
    expect(page.locator(".offlabel")).to_contain_text("off-label")

    # The headline leads: the change score at week 6 pooled over five trials, as the API says.
    head = context.request.get(f"{server}/api/v1/evidence/headline?disorder=mdd").json()
    assert head["outcome"] == "change"
    lead = head["lead"]["estimates"]["SMD"]
    expect(page.locator("#headline .estimate")).to_have_text(fmt_number(lead["estimate"]))
    expect(page.locator("#headline")).to_contain_text("5 randomised trials, 286 patients")
    # the left-out trial by its study name, not its id li-2022
    expect(page.locator("#headline-left-out")).to_contain_text("Li 2022")
    expect(page.locator("#forest-mdd-change-smd rect.study")).to_have_count(5)
    expect(page.locator("#published-schulze-2021")).to_contain_text("not independent")
    expect(page.locator("#published-ours")).to_contain_text(fmt_number(lead["estimate"]))
    expect(page.locator("#functional-unblinding")).to_contain_text("Saline")
    page.locator("section[aria-labelledby='summary-h']").screenshot(
        path=str(artifacts / "evidence-00-headline.png")
    )
    page.locator("#outcome-change").screenshot(path=str(artifacts / "evidence-00-change.png"))
    page.locator("#published").screenshot(path=str(artifacts / "evidence-00-published.png"))

    forest = page.locator("#forest-mdd-response-rr")
    expect(forest).to_be_visible()
    assert forest.get_attribute("role") == "img"
    expect(forest.locator("rect.study")).to_have_count(2)
    expect(forest.locator("polygon.pooled")).to_have_count(1)

    # The same numbers through the JSON API, with the browser's session.
    api = context.request.get(f"{server}/api/v1/evidence/pool?disorder=mdd&outcome=response")
    assert api.ok
    data = api.json()
    for measure in ("RR", "RD"):
        e = data["estimates"][measure]
        row = page.locator(f"#est-response-{measure}")
        expect(row.locator(".estimate")).to_have_text(fmt_number(e["estimate"]))
        expect(row.locator(".ci")).to_have_text(
            f"{fmt_number(e['ci_lb'])} to {fmt_number(e['ci_ub'])}"
        )
    level = data["certainty"]["level"]
    expect(page.locator("#outcome-response-h .certainty")).to_have_text(f"Certainty: {level}")
    expect(page.locator("#outcome-response .synthesis-summary")).to_have_text(data["summary"])
    page.screenshot(path=str(artifacts / "evidence-01-mdd-top.png"))
    page.locator("#outcome-response").screenshot(path=str(artifacts / "evidence-02-response.png"))
    page.locator("#outcome-dropout").screenshot(path=str(artifacts / "evidence-03-dropout.png"))

    page.locator("#study-finzi-2014").get_by_role("link", name="Finzi & Rosenthal 2014").click()
    expect(page.get_by_role("heading", name="Finzi & Rosenthal 2014")).to_be_visible()
    study = context.request.get(f"{server}/api/v1/evidence/studies/finzi-2014").json()
    expect(page.locator("#numbers-count")).to_have_text(str(study["numbers_total"]))
    expect(page.locator("#verified-count")).to_have_text(str(study["numbers_verified"]))
    expect(page.locator("table.provenance tr.unverified").first).to_contain_text("Derived:")
    expect(page.locator("#arm-placebo")).to_contain_text("unknown")  # N randomised not read
    page.screenshot(path=str(artifacts / "evidence-04-study-top.png"))
    page.locator("table.provenance").screenshot(path=str(artifacts / "evidence-05-provenance.png"))
    # a derived effect shows its chain, each input with where it was read
    page.goto(f"{server}/evidence/studies/wollmer-2012")
    chain = page.locator("#effect-change-hamd17-wk6")
    expect(chain).to_contain_text("from F(1,28) = 12.3 with n 15/15")
    expect(chain.locator("table.chain-inputs tbody tr")).to_have_count(5)
    wollmer = context.request.get(f"{server}/api/v1/evidence/studies/wollmer-2012").json()
    effect = next(o for o in wollmer["outcomes"] if o["effect"])["effect"]
    expect(chain).to_contain_text(f"{effect['g']:.2f}")
    chain.screenshot(path=str(artifacts / "evidence-06-derived-chain.png"))
    context.close()
