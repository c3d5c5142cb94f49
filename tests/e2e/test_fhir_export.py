"""The FHIR export in a real browser: the patient page's button downloads the chart Bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browser_steps import seeding, signed_in_page
from playwright.sync_api import Browser, expect

from builders import new_patient
from glabella.services import assessments

pytestmark = pytest.mark.e2e

# PHQ-9 2+1+1+1+1+1+1+1+0 = 9 -> "mild" (5-9, Kroenke et al. 2001); LOINC total 44261-6
ANSWERS = {f"phq9_{i}": v for i, v in enumerate([2, 1, 1, 1, 1, 1, 1, 1, 0], start=1)}


def _seed(database_url: str, password: str) -> int:
    with seeding(database_url, password) as (db, actor):
        pid = new_patient(
            db,
            actor,
            mrn="FX-1",
            given_name="Iris",
            family_name="Export",
            date_of_birth="1970-01-02",
        )
        assessments.submit_assessment(db, actor, pid, "phq9", ANSWERS)
        return pid


def test_patient_page_downloads_the_fhir_bundle(
    server_info: Any, browser: Browser, artifacts: Path, staff_password: str, tmp_path: Path
) -> None:
    pid = _seed(server_info.database_url, staff_password)
    server = server_info.base
    page = signed_in_page(
        browser,
        server,
        staff_password,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context = page.context
    page.goto(f"{server}/patients/{pid}")
    button = page.get_by_role("link", name="FHIR export")
    expect(button).to_be_visible()
    page.screenshot(path=str(artifacts / "22-fhir-export-button.png"))
    with page.expect_download() as info:
        button.click()
    target = tmp_path / "bundle.json"
    info.value.save_as(target)
    assert info.value.suggested_filename == f"patient-{pid}.fhir.json"
    bundle = json.loads(target.read_text())
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "QuestionnaireResponse", "Observation"]
    score = bundle["entry"][2]["resource"]
    assert score["code"]["coding"][0]["code"] == "44261-6" and score["valueInteger"] == 9
    context.close()
