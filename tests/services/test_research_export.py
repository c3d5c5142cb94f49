"""The research export: no identifier of a seeded clinic survives, anywhere in the output."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import builders
from glabella.demo.params import DemoParameters
from glabella.interop import deid
from glabella.services import adverse_events as ae_svc
from glabella.services import assessments, biomarker, patients
from glabella.services.context import Database
from glabella.services.demo_load import generate_clinic
from glabella.services.errors import Forbidden, Invalid
from glabella.services.research_export import TABLES, export_research
from glabella.services.users import UserView
from glabella.store.biomarker import FrownPhotoPair
from glabella.store.models import Assessment, AuditEvent, Patient
from glabella.store.pathway import AdverseEventRecord, Treatment

AS_OF = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
KEY = b"research-key-for-tests-0123456789"
PASSWORD = "correct horse battery staple"

SPECIAL = {
    "mrn": "MRN-ZX-99817",
    "given_name": "Zebediah",
    "family_name": "Quixwell",
    "date_of_birth": "1931-03-07",
    "sex": "male",
    "phone": "+44 20 7946 0321",
    "email": "zebediah.quixwell@example.org",
}


def _seed(db: Database, admin: UserView) -> int:
    actor = admin.actor("test")
    generate_clinic(db, actor, DemoParameters(patients=12, seed=9, as_of=AS_OF))
    special = patients.create_patient(db, actor, patients.parse_patient_input(dict(SPECIAL)))
    answers = {f"phq9_{i}": 1 for i in range(1, 10)}
    answers["phq9_9"] = 0
    assessments.submit_assessment(db, actor, special.id, "phq9", answers)
    # a frown photo pair under a research-use photo consent (issue 18): numbers are exported,
    # the (here unencrypted marker) image bytes are not
    consent = biomarker.grant_photo_consent(
        db, actor, special.id, allow_research=True, confirmed=True
    )
    with db.transaction() as s:
        s.add(
            FrownPhotoPair(
                patient_id=special.id,
                taken_at=AS_OF - dt.timedelta(days=3),
                consent_id=consent,
                rest_inner_brow_distance=0.5,
                rest_brow_eye_height=0.4,
                rest_line_intensity=0.1,
                frown_inner_brow_distance=0.45,
                frown_brow_eye_height=0.34,
                frown_line_intensity=0.3,
                frown_activity_index=25.0,
                method_version="fai-1",
                rest_image=b"Zebediah-rest-photo",
                frown_image=b"Zebediah-frown-photo",
            )
        )
    return special.id


def _read(out: Path) -> tuple[str, dict[str, list[dict[str, str]]]]:
    """All text of the export (CSV, Markdown, JSON and Parquet cells) and the CSV tables."""
    text: list[str] = []
    tables: dict[str, list[dict[str, str]]] = {}
    for path in sorted(out.iterdir()):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            text.extend(str(v) for col in table.columns for v in col.to_pylist())
            assert table.num_rows == len(tables[path.stem])  # csv is read first (sorted)
        else:
            content = path.read_text(encoding="utf-8")
            text.append(content)
            if path.suffix == ".csv" and path.stem in TABLES:
                tables[path.stem] = list(csv.DictReader(io.StringIO(content)))
    return "\n".join(text), tables


def test_no_identifier_survives(
    db: Database, make_user: Callable[[str, str], UserView], tmp_path: Path
) -> None:
    admin = make_user("boss", "admin")
    special_id = _seed(db, admin)
    researcher = make_user("res", "researcher").actor("test")
    out = tmp_path / "export"
    report = export_research(db, researcher, KEY, out)
    assert report.rows["patients"] == 13
    everything, tables = _read(out)

    with db.transaction() as s:
        people = s.scalars(select(Patient)).all()
        treatments = s.scalars(select(Treatment).order_by(Treatment.treated_at, Treatment.id))
        real_treatments = [(t.patient_id, t.treatment_date) for t in treatments]
        rows = s.scalars(select(Assessment).order_by(Assessment.submitted_at, Assessment.id))
        real_assessments = [(a.patient_id, a.submitted_at) for a in rows]
        injectors = {t[0] for t in s.execute(select(Treatment.injector_name)).all()}

    digits_only = re.sub(r"[^\d\n,]", "", everything)
    for p in people:
        for value in (p.mrn, p.email, p.phone):
            assert value and value not in everything, value
        digits = re.sub(r"\D", "", p.phone or "")
        assert digits not in digits_only
        assert re.search(rf"\b{re.escape(p.given_name)}\b", everything) is None, p.given_name
        assert re.search(rf"\b{re.escape(p.family_name)}\b", everything) is None, p.family_name
        assert p.date_of_birth.isoformat() not in everything
    for name in injectors:
        assert name not in everything
    assert "Synthetic" not in everything  # staff names are pseudonymised too

    # every exported date differs from the real date of the same event (row by row)
    pseudo = {p.id: deid.pseudonym(KEY, p.clinic_id, p.id) for p in people}
    seq: dict[tuple[str, int], str] = {}
    counter: dict[int, int] = {}
    for pid, day in sorted(real_treatments, key=lambda r: (r[0], r[1])):
        counter[pid] = counter.get(pid, 0) + 1
        seq[(pseudo[pid], counter[pid])] = day.isoformat()
    assert tables["treatments"]
    for r in tables["treatments"]:
        real = seq[(r["pseudo_id"], int(r["treatment_seq"]))]
        assert r["shifted_date"] != real
    real_days = {}
    counter = {}
    for pid, at in sorted(real_assessments, key=lambda r: r[0]):
        counter[pid] = counter.get(pid, 0) + 1
        real_days[(pseudo[pid], counter[pid])] = at.date()
    for r in tables["assessments"]:
        real_day = real_days[(r["pseudo_id"], int(r["assessment_seq"]))]
        shifted = dt.date.fromisoformat(r["shifted_date"])
        assert 30 <= (real_day - shifted).days <= 366  # moved back by the patient's offset

    # the 95-year-old is grouped; the dictionary names every exported column
    special = next(r for r in tables["patients"] if r["pseudo_id"] == pseudo[special_id])
    assert special["age_at_index"] == "" and special["age_90_plus"] == "true"
    with (out / "data_dictionary.csv").open(encoding="utf-8") as fh:
        described = {(r["table"], r["column"]) for r in csv.DictReader(fh)}
    for name, rows_ in tables.items():
        assert rows_, name
        assert {(name, c) for c in rows_[0]} <= described
    with db.transaction() as s:
        assert "research.export" in s.scalars(select(AuditEvent.action)).all()


def test_pseudonyms_are_stable_between_exports_and_roles_are_checked(
    db: Database, make_user: Callable[[str, str], UserView], tmp_path: Path
) -> None:
    admin = make_user("boss", "admin")
    actor = admin.actor("test")
    generate_clinic(db, actor, DemoParameters(patients=3, seed=4, as_of=AS_OF))
    export_research(db, actor, KEY, tmp_path / "a")
    export_research(db, actor, KEY, tmp_path / "b")
    a = (tmp_path / "a" / "patients.csv").read_text()
    assert a == (tmp_path / "b" / "patients.csv").read_text()
    with pytest.raises(Invalid, match="not empty"):
        export_research(db, actor, KEY, tmp_path / "a")
    export_research(db, actor, KEY, tmp_path / "a", overwrite=True)  # replaces an export
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(Invalid, match="not an earlier research export"):
        export_research(db, actor, KEY, tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(Forbidden):
        export_research(db, make_user("doc", "clinician").actor("t"), KEY, tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_one_injector_code_per_staff_account_even_after_a_name_change(
    db: Database, make_user: Callable[[str, str], UserView], tmp_path: Path
) -> None:
    admin = make_user("boss", "admin")
    nurse = make_user("nurse", "nurse")
    other = make_user("other", "nurse")
    generate_clinic(db, admin.actor("t"), DemoParameters(patients=4, seed=4, as_of=AS_OF))
    with db.transaction() as s:
        rows = s.scalars(select(Treatment).order_by(Treatment.id)).all()
        assert len(rows) >= 3
        # the same account before and after its full name was corrected ...
        rows[0].injector_id, rows[0].injector_name = nurse.id, "Ann Smith"
        rows[1].injector_id, rows[1].injector_name = nurse.id, "Ann Smith-Jones"
        # ... and another account that happens to have the first spelling of the name
        rows[2].injector_id, rows[2].injector_name = other.id, "Ann Smith"
        order = {t.id: i for i, t in enumerate(rows[:3])}
    export_research(db, admin.actor("t"), KEY, tmp_path / "x")
    exported = list(csv.DictReader(io.StringIO((tmp_path / "x" / "treatments.csv").read_text())))
    with db.transaction() as s:
        real = s.scalars(select(Treatment).order_by(Treatment.patient_id, Treatment.treated_at))
        by_row = [t.id for t in real]  # the export's row order (patient, time, id)
    codes = {order[tid]: row["injector"] for tid, row in zip(by_row, exported, strict=True)
             if tid in order}  # fmt: skip
    assert set(codes) == {0, 1, 2}
    assert codes[0] == codes[1]  # one account, two spellings: one injector
    assert codes[2] != codes[0]  # two accounts, one spelling: two injectors


def test_api_gives_researchers_a_zip(
    app_client: TestClient, db: Database, make_user: Callable[[str, str], UserView]
) -> None:
    admin = make_user("boss", "admin")
    generate_clinic(db, admin.actor("t"), DemoParameters(patients=3, seed=4, as_of=AS_OF))
    make_user("res", "researcher")
    signed = app_client.post("/api/v1/auth/login", json={"username": "res", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    response = app_client.get("/api/v1/research/export")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert {"patients.csv", "patients.parquet", "data_dictionary.md", "manifest.json"} <= set(names)
    assert app_client.get("/api/v1/analytics").status_code == 200
    bad = app_client.get("/api/v1/analytics?as_of=yesterday")
    assert bad.status_code == 422 and "as_of" in bad.json()["error"]["message"]


def test_adverse_events_carry_the_pseudonymous_treatment_they_followed(
    db: Database, make_user: Callable[[str, str], UserView], tmp_path: Path
) -> None:
    """Issue 16 item 3: an event's link is exported as (pseudo_id, treatment_seq), the key of
    the treatments table, so a researcher can join the two without any real id."""
    admin = make_user("boss", "admin")
    generate_clinic(db, admin.actor("t"), DemoParameters(patients=12, seed=9, as_of=AS_OF))
    doctor = make_user("doc", "clinician").actor("t")
    with db.transaction() as s:
        rows = s.execute(
            select(Treatment.id, Treatment.patient_id).order_by(
                Treatment.patient_id, Treatment.treated_at, Treatment.id
            )
        ).all()
    by_patient: dict[int, list[int]] = {}
    for tid, pid in rows:
        by_patient.setdefault(pid, []).append(tid)
    pid, tids = next((p, t) for p, t in by_patient.items() if len(t) >= 2)
    judgement = builders.judgement("1")
    # linked by choice to the patient's FIRST treatment (the default would be the latest)
    chosen, _ = ae_svc.record_adverse_event(
        db, doctor, pid, type_="headache", onset=AS_OF, judgement=judgement, treatment_id=tids[0]
    )
    unlinked, _ = ae_svc.record_adverse_event(
        db, doctor, pid, type_="headache", onset=AS_OF, judgement=judgement, treatment_id=None
    )
    assert chosen.treatment_id == tids[0] and unlinked.treatment_id is None

    out = tmp_path / "export"
    export_research(db, admin.actor("t"), KEY, out)
    _, tables = _read(out)
    with db.transaction() as s:
        clinic_id = s.get(Patient, pid).clinic_id  # type: ignore[union-attr]
        events = s.execute(
            select(AdverseEventRecord.patient_id, AdverseEventRecord.treatment_id).order_by(
                AdverseEventRecord.id
            )
        ).all()
    pseudo = deid.pseudonym(KEY, clinic_id, pid)
    exported = tables["adverse_events"]
    assert len(exported) == len(events)
    # every linked event points at its treatment's 1-based position in the patient's order
    for (epid, etid), row in zip(events, exported, strict=True):
        if etid is None:
            assert row["treatment_seq"] == ""
        else:
            assert row["treatment_seq"] == str(by_patient[epid].index(etid) + 1)
    assert sum(1 for _, etid in events if etid is not None) > 2  # the demo links its events
    mine = [r for r in exported if r["pseudo_id"] == pseudo][-2:]
    assert [r["treatment_seq"] for r in mine] == ["1", ""]
    # the reference joins onto exactly one treatments row, which precedes the onset
    joined = [
        t for t in tables["treatments"] if t["pseudo_id"] == pseudo and t["treatment_seq"] == "1"
    ]
    assert len(joined) == 1
    assert joined[0]["shifted_date"] <= mine[0]["shifted_onset"]
    parquet = pq.read_table(out / "adverse_events.parquet").to_pylist()
    assert [r["treatment_seq"] for r in parquet if r["pseudo_id"] == pseudo][-2:] == [1, None]
