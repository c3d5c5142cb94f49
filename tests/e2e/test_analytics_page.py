"""The clinic-outcomes page in a real browser, on a synthetic clinic; numbers match the API."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from browser_steps import signed_in_page
from playwright.sync_api import Browser, expect

from glabella.demo.params import DemoParameters
from glabella.services import users
from glabella.services.context import Actor, Database
from glabella.services.demo_load import generate_clinic

pytestmark = pytest.mark.e2e


def test_analytics_page_shows_the_clinic_beside_the_trials(
    browser: Browser, server_info: object, staff_password: str, artifacts: Path
) -> None:
    base = server_info.base  # type: ignore[attr-defined]
    db = Database.from_url(server_info.database_url)  # type: ignore[attr-defined]
    try:
        doctor = users.authenticate(db, "dr.e2e", staff_password, "seed")
        admin = Actor(None, "seed", "admin", doctor.clinic_id, "seed")
        generate_clinic(db, admin, DemoParameters(patients=150, seed=21))
    finally:
        db.engine.dispose()
    with httpx.Client(base_url=base) as api:
        signed = api.post(
            "/api/v1/auth/login", json={"username": "dr.e2e", "password": staff_password}
        )
        assert signed.status_code == 200
        data = api.get("/api/v1/analytics").json()
    response6 = data["overall"]["response_week6"]
    assert response6["n"] > 20

    page = signed_in_page(browser, base, staff_password)
    context = page.context
    page.click("text=Outcomes")
    expect(page.locator("h1")).to_have_text("Clinic outcomes against the trials")
    first_row = page.locator("#vs-trials tbody tr").first
    expect(first_row).to_contain_text(f"({response6['events']}/{response6['n']};")
    # the trials' certainty is shown (GRADE level, or "unknown" when nothing is pooled)
    expect(first_row).to_contain_text(re.compile(r"very low|low|moderate|high|unknown"))
    # the trials' lead result comes first: the change score of five trials, not the two-trial
    # response interval, with the comparison left out named
    head = data["trials_headline"]
    assert head["outcome"] == "change" and head["k"] == 5
    lead = page.locator("#trials-headline")
    expect(lead).to_contain_text("5 randomised trials, 286 patients")
    expect(lead).to_contain_text(f"{head['estimate']:.2f}")
    expect(lead).to_contain_text("Brin 2020 (OnabotulinumtoxinA 50 U)")
    expect(page.locator("svg.funnel circle.point")).to_have_count(6)
    expect(page.locator("#analytics-summary")).to_contain_text(str(data["analysed"]))
    page.screenshot(path=str(artifacts / "20-analytics.png"), full_page=True)
    context.close()
