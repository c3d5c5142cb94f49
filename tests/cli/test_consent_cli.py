"""`glabella consent`: the typed name checked against the record (H-094), withdrawal (H-095)
and the PDF copy, each refusal a clean message naming what is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import Result

from builders import new_patient, run_cli
from glabella.services.context import Database
from glabella.services.users import create_user

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Seeded:
    url: str
    patient_id: int


@pytest.fixture
def seeded(database_url: str) -> Iterator[Seeded]:
    db = Database.from_url(database_url)
    try:
        clinician, _ = create_user(
            db, username="dr.cons", full_name="Dr Cons", role="clinician", password=PASSWORD
        )
        pid = new_patient(
            db,
            clinician.actor("test"),
            mrn="CC-1",
            given_name="José",
            family_name="García Pérez",
            date_of_birth="1970-01-02",
            sex="male",
        )
        yield Seeded(database_url, pid)
    finally:
        db.engine.dispose()


def _run(url: str, *args: str) -> Result:
    return run_cli(url, *args)


def _said(result: Result) -> str:
    return " ".join(result.output.split())


def test_cli_sign_name_check_withdraw_and_pdf(seeded: Seeded, tmp_path: Path) -> None:
    pid = str(seeded.patient_id)
    base = ("consent", "sign", pid, "--by", "dr.cons", "--confirmed")
    refused = _run(seeded.url, *base, "--name", "Jose Garcia")
    assert refused.exit_code == 2
    assert 'does not match the patient record "García Pérez, José"' in _said(refused)
    assert "(signed_name)" in _said(refused)

    matched = _run(seeded.url, *base, "--name", "perez garcia jose")
    assert matched.exit_code == 0, matched.output
    first = json.loads(matched.output)
    assert first["name_mismatch_reason"] is None

    carer = _run(
        seeded.url, *base, "--name", "Ana García", "--different-name-reason", "wife, carer"
    )
    assert carer.exit_code == 0, carer.output
    second = json.loads(carer.output)
    assert second["signed_name"] == "Ana García"
    assert second["name_mismatch_reason"] == "wife, carer"

    cid = str(first["id"])
    short = _run(seeded.url, "consent", "withdraw", pid, cid, "--reason", "no", "--by", "dr.cons")
    assert short.exit_code == 2 and "reason for the withdrawal" in _said(short)
    done = _run(
        seeded.url, "consent", "withdraw", pid, cid, "--reason", "changed mind", "--by", "dr.cons"
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["withdrawn_by"] == "Dr Cons"

    out = tmp_path / "copy.pdf"
    pdf = _run(seeded.url, "consent", "pdf", pid, cid, "--out", str(out), "--by", "dr.cons")
    assert pdf.exit_code == 0, pdf.output
    assert out.read_bytes().startswith(b"%PDF-")

    unknown = _run(
        seeded.url, "consent", "withdraw", pid, "999", "--reason", "xxxxx", "--by", "dr.cons"
    )
    assert unknown.exit_code == 2 and "no consent 999 for this patient" in _said(unknown)
