"""The FHIR export in a real browser: the patient page's button downloads the chart Bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from glabella.services import assessments, patients
from glabella.services.context import Database
from glabella.services.users import authenticate

pytestmark = pytest.mark.e2e

# PHQ-9 2+1+1+1+1+1+1+1+0 = 9 -> "mild" (5-9, Kroenke et al. 2001); LOINC total 44261-6
ANSWERS = {f"phq9_{i}": v for i, v in enumerate([2, 1, 1, 1, 1, 1, 1, 1, 0], start=1)}


def _seed(database_url: str, password: str) -> int:
    db = Database.from_url(database_url)
    try:
        actor = authenticate(db, "dr.e2e", password, None).actor("e2e")
        patient = patients.create_patient(
            db,
            actor,
            patients.parse_patient_input(
                {
                    "mrn": "FX-1",
                    "given_name": "Iris",
                    "family_name": "Export",
                    "date_of_birth": "1970-01-02",
                    "sex": "female",
                }
            ),
        )
        assessments.submit_assessment(db, actor, patient.id, "phq9", ANSWERS)
        return patient.id
    finally:
        db.engine.dispose()


def test_patient_page_downloads_the_fhir_bundle(
    server_info: Any, browser: Browser, artifacts: Path, staff_password: str, tmp_path: Path
) -> None:
    pid = _seed(server_info.database_url, staff_password)
    server = server_info.base
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#username", "dr.e2e")
    page.fill("#password", staff_password)
    page.get_by_role("button", name="Sign in").click()
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
