"""Consent on the web and the JSON API: rendered text, the name check (H-094), withdrawal
(H-095) and the patient's PDF copy."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from pypdf import PdfReader

PATIENT = {
    "mrn": "CW-1",
    "given_name": "Anna",
    "family_name": "Müller",
    "date_of_birth": "1980-05-05",
    "sex": "female",
}


def _csrf(page_text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_text)
    assert found is not None
    return found.group(1)


def _patient(api: TestClient) -> int:
    response = api.post("/api/v1/patients", json=PATIENT)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_consent_page_shows_rendered_text_not_markdown(api: TestClient) -> None:
    pid = _patient(api)
    page = api.get(f"/patients/{pid}/consent")
    assert page.status_code == 200
    section = page.text.split('<div class="consent-rendered">', 1)[1].split("</div>", 1)[0]
    assert "<h2>What this treatment is</h2>" in section
    assert "<strong>It is not licensed for the treatment of depression.</strong>" in section
    assert "#" not in section and "**" not in section


def test_page_refuses_a_different_name_keeping_the_entries_then_accepts_it_confirmed(
    api: TestClient,
) -> None:
    pid = _patient(api)
    page = api.get(f"/patients/{pid}/consent")
    csrf = _csrf(page.text)
    version = api.get("/api/v1/consent/current").json()["version"]
    form = {"csrf_token": csrf, "version": version, "confirmed": "yes", "signed_name": "Eva Meier"}
    refused = api.post(f"/patients/{pid}/consent", data=form)
    assert refused.status_code == 422
    assert "does not match the patient record" in refused.text
    assert 'value="Eva Meier"' in refused.text and 'aria-invalid="true"' in refused.text
    assert api.get(f"/api/v1/patients/{pid}/consents").json() == []

    ok = api.post(
        f"/patients/{pid}/consent",
        data={**form, "different_name": "yes", "different_name_reason": "daughter signs as carer"},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    (stored,) = api.get(f"/api/v1/patients/{pid}/consents").json()
    assert stored["signed_name"] == "Eva Meier"
    assert stored["name_mismatch_reason"] == "daughter signs as carer"
    assert "different name: daughter signs as carer" in api.get(f"/patients/{pid}/consent").text


def test_api_name_check_withdrawal_and_pdf_copy(api: TestClient) -> None:
    pid = _patient(api)
    version = api.get("/api/v1/consent/current").json()["version"]
    url = f"/api/v1/patients/{pid}/consents"
    refused = api.post(url, json={"version": version, "signed_name": "Ana Mül", "confirmed": True})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "signed_name"
    signed = api.post(
        url, json={"version": version, "signed_name": "muller anna", "confirmed": True}
    )
    assert signed.status_code == 201, signed.text
    cid = signed.json()["id"]

    pdf = api.get(f"{url}/{cid}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Müller, Anna",
        "muller anna",
        "5 May 1980",
        "This use is off-label",
        "Dr.Rivera",  # the recording clinician (full name of the test user)
        f"version {version}",
    ):
        assert expected in text, expected
    assert "**" not in text and "## " not in text

    withdrawn = api.post(f"{url}/{cid}/withdrawal", json={"reason": "wants to think it over"})
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["withdrawn_reason"] == "wants to think it over" and body["withdrawn_at"]
    again = api.post(f"{url}/{cid}/withdrawal", json={"reason": "wants to think it over"})
    assert again.status_code == 409
    page = api.get(f"/patients/{pid}/consent")
    assert "withdrawn" in page.text and "wants to think it over" in page.text
    # the treatment form no longer offers it
    treatment_page = api.get(f"/patients/{pid}/treatments/new")
    consents = re.search(r'<select id="consent_id".*?</select>', treatment_page.text, re.S)
    assert consents is None or f'value="{cid}"' not in consents.group(0)
    copy = " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(api.get(f"{url}/{cid}/pdf").content)).pages
    )
    assert "Consent withdrawn" in copy and "wants to think it over" in copy


def test_page_withdrawal_and_photo_withdrawal(api: TestClient) -> None:
    pid = _patient(api)
    version = api.get("/api/v1/consent/current").json()["version"]
    cid = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": "Anna Müller", "confirmed": True},
    ).json()["id"]
    csrf = _csrf(api.get(f"/patients/{pid}/consent").text)
    short = api.post(
        f"/patients/{pid}/consents/{cid}/withdraw", data={"csrf_token": csrf, "reason": "x"}
    )
    assert short.status_code == 422 and "reason for the withdrawal" in short.text
    done = api.post(
        f"/patients/{pid}/consents/{cid}/withdraw",
        data={"csrf_token": csrf, "reason": "patient phoned to cancel"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    (listed,) = api.get(f"/api/v1/patients/{pid}/consents").json()
    assert listed["withdrawn_reason"] == "patient phoned to cancel"

    assert (
        api.post(f"/api/v1/patients/{pid}/photo-consent", json={"confirmed": True}).status_code
        == 201
    )
    out = api.post(
        f"/api/v1/patients/{pid}/photo-consent/withdraw", json={"reason": "no photos please"}
    )
    assert out.status_code == 200, out.text
    assert out.json()["withdrawn"] == 1
    assert out.json()["withdrawals"][0]["reason"] == "no photos please"
    page = api.get(f"/patients/{pid}")
    assert "withdrawn" in page.text and "no photos please" in page.text
    assert "Photo consent (needed before any photo)" in page.text  # may be given again
