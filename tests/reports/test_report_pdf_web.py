"""The PDF (text extraction, A4, tagging, rasterised pages), the staff page and JSON API, and
the CLI command. Only two PDFs are rendered here (WeasyPrint takes about a second each)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from test_report_i18n_icons import units_without_product
from typer.testing import CliRunner

from glabella.cli import app as cli_app
from glabella.reports.model import ConsultationReport
from glabella.reports.render import RenderMeta, render_pdf

A4_POINTS = (595.28, 841.89)  # 210 x 297 mm at 72 points per inch


@pytest.fixture(scope="module")
def pdf_bytes(mdd_report: ConsultationReport) -> bytes:
    return render_pdf(mdd_report, "en", RenderMeta(report_id=3, content_hash="ab" * 32))


def test_pdf_text_has_the_patients_numbers(pdf_bytes: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "Ada Example" in text and "SYN-7" in text
    assert "17 of 27" in text  # PHQ-9 baseline
    # Trial counts (finzi-2014.yaml + magid-2014.yaml, summed by hand in test_report_model),
    # now a secondary outcome after the change-score headline of five trials.
    assert "23 of 44 with botulinum toxin A, 6 of 60 with placebo" in text
    assert "5 randomised trials with 286 people" in text
    assert "with placebo about 10 in 100 people improve clearly" in text
    assert "points lower with botulinum toxin A than with placebo" in text
    assert "VERY LOW" in text
    assert "29 units of onabotulinumtoxinA (Botox)" in text
    assert "Off-label use." in text
    assert "unknown" in text
    assert "Report record 3" in text
    assert units_without_product(text) == []


def test_pdf_is_a4_tagged_with_language(pdf_bytes: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    assert len(reader.pages) >= 3
    for page in reader.pages:
        box = page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.5)
    root = reader.trailer["/Root"]
    assert isinstance(root, DictionaryObject)
    assert "/StructTreeRoot" in root, "tagged PDF (headings, figures) expected"
    assert str(root.get("/Lang")) == "en"
    tags: list[str] = []
    alts: list[str] = []

    def walk(node: Any) -> None:
        node = node.get_object()
        if isinstance(node, dict):
            if "/S" in node:
                tags.append(str(node["/S"]))
            if "/Alt" in node:
                alts.append(str(node["/Alt"]))
            if "/K" in node:
                walk(node["/K"])
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(root["/StructTreeRoot"])
    assert tags.count("/H1") == 1 and tags.count("/H2") >= 6 and "/Table" in tags
    figures = [a for a in alts if "Of 100 people" in a]
    assert len(figures) == 2, alts  # two icon arrays: chance of response from the change score


def test_pdf_pages_rasterise(pdf_bytes: bytes, tmp_path: Path) -> None:
    # scripts/system-deps.sh installs poppler-utils: a missing pdftoppm fails, never skips.
    assert shutil.which("pdftoppm") is not None, "pdftoppm missing: run `make test`"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(pdf_bytes)).pages)
    assert all(p.stat().st_size > 3000 for p in pages)  # not blank


def _patient(api: TestClient) -> int:
    r = api.post(
        "/api/v1/patients",
        json={
            "mrn": "REP-WEB",
            "given_name": "Wendy",
            "family_name": "Web",
            "date_of_birth": "1984-06-07",
            "sex": "female",
        },
    )
    assert r.status_code == 201, r.text
    pid = int(r.json()["id"])
    answers = {f"phq9_{i}": 1 for i in range(1, 10)}  # total 9: mild (5-9)
    r = api.post(
        f"/api/v1/patients/{pid}/assessments", json={"instrument": "phq9", "answers": answers}
    )
    assert r.status_code in (200, 201), r.text
    return pid


def test_page_api_and_pdf_download(api: TestClient, make_user: object, password: str) -> None:
    pid = _patient(api)
    page = api.get(f"/patients/{pid}/report?condition=mdd&lang=de")
    assert page.status_code == 200, page.text
    assert "Record and download PDF" in page.text and "Ihr Ausgangsbefund" in page.text
    assert "9 von 27" in page.text
    assert "<script" not in page.text.split("<main", 1)[1]  # no inline script in the report

    preview = api.get(f"/api/v1/patients/{pid}/consultation-report?condition=sad")
    assert preview.status_code == 200
    assert preview.json()["report"]["evidence"]["thin"] is True
    assert preview.json()["record"] is None

    made = api.post(f"/api/v1/patients/{pid}/consultation-reports", json={"lang": "en"})
    assert made.status_code == 201, made.text
    rid = made.json()["record"]["id"]
    again = api.get(f"/api/v1/consultation-reports/{rid}")
    assert again.status_code == 200 and again.json()["identical"] is True
    assert again.json()["content_hash"] == made.json()["content_hash"]
    bad = api.post(f"/api/v1/patients/{pid}/consultation-reports", json={"condition": "flu"})
    assert bad.status_code == 422 and "condition" in bad.json()["error"]["message"]

    # Opening the PDF link (a GET) is a preview: it records nothing (issue 16).
    pdf = api.get(f"/patients/{pid}/report.pdf?lang=en")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "preview" in pdf.headers["content-disposition"]
    assert len(api.get(f"/api/v1/patients/{pid}/consultation-reports").json()) == 1
    # Recording is an explicit POST from the page's form, with its CSRF token.
    page = api.get(f"/patients/{pid}/report?lang=en").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    form = {"csrf_token": token.group(1), "condition": "mdd", "lang": "en", "protocol": ""}
    no_token = api.post(f"/patients/{pid}/reports", data={**form, "csrf_token": "x"})
    assert no_token.status_code == 403
    assert len(api.get(f"/api/v1/patients/{pid}/consultation-reports").json()) == 1
    recorded = api.post(f"/patients/{pid}/reports", data=form, follow_redirects=False)
    assert recorded.status_code == 303
    listed = api.get(f"/api/v1/patients/{pid}/consultation-reports").json()
    assert len(listed) == 2
    assert (
        recorded.headers["location"] == f"/reports/{listed[0]['id']}.pdf"
        or recorded.headers["location"] == f"/reports/{listed[-1]['id']}.pdf"
    )
    rebuilt = api.get(recorded.headers["location"])
    assert rebuilt.status_code == 200 and rebuilt.content.startswith(b"%PDF")

    # A receptionist sees the register but no clinical report (access matrix).
    make_user("frontdesk", "receptionist")  # type: ignore[operator]
    api.post("/api/v1/auth/logout")
    r = api.post("/api/v1/auth/login", json={"username": "frontdesk", "password": password})
    assert r.status_code == 200
    assert api.get(f"/patients/{pid}/report").status_code == 403
    assert api.get(f"/api/v1/consultation-reports/{rid}").status_code == 403


def test_cli_consultation_report(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from glabella.settings import get_settings

    monkeypatch.setenv("GLABELLA_DATABASE_URL", database_url)
    monkeypatch.setenv("GLABELLA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    r = runner.invoke(
        cli_app,
        [
            "patients",
            "add",
            "--mrn",
            "CLI-1",
            "--given-name",
            "Cleo",
            "--family-name",
            "Line",
            "--dob",
            "1990-01-02",
            "--sex",
            "female",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    pid = int(json.loads(r.output)["id"])
    out = tmp_path / "report.json"
    r = runner.invoke(
        cli_app, ["report", "consultation", str(pid), "--out", str(out), "--json", "--lang", "de"]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text("utf-8"))
    assert data["record"]["lang"] == "de" and data["report"]["patient_name"] == "Cleo Line"
    r = runner.invoke(cli_app, ["report", "consultation", "999", "--out", str(out)])
    assert r.exit_code == 2 and "no patient with id 999" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(
        cli_app, ["report", "consultation", str(pid), "--out", "x.pdf", "--lang", "fr"]
    )
    assert r.exit_code == 2 and "--lang must be one of" in r.output
    get_settings.cache_clear()
