"""Research export of the frown biomarker: numeric measures per visit, only where the
patient's most recent photo consent allows research use, never images, CSV-safe."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from builders import new_patient
from glabella.interop import deid
from glabella.services import biomarker
from glabella.services.context import Actor, Database
from glabella.services.research_export import export_research
from glabella.services.users import UserView
from glabella.store.biomarker import FrownPhotoPair, PhotoConsent

KEY = b"research-key-for-tests-0123456789"
TAKEN = dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)


def _patient(db: Database, actor: Actor, mrn: str) -> int:
    return new_patient(
        db, actor, mrn=mrn, given_name="Ann", family_name=f"Person{mrn}", date_of_birth="1980-01-01"
    )


def _pair(
    db: Database, pid: int, consent: int, index: float, *, days: int = 0, method: str = "fai-1"
) -> None:
    with db.transaction() as s:
        s.add(
            FrownPhotoPair(
                patient_id=pid,
                taken_at=TAKEN + dt.timedelta(days=days),
                consent_id=consent,
                rest_inner_brow_distance=0.5,
                rest_brow_eye_height=0.4,
                rest_line_intensity=0.125,
                frown_inner_brow_distance=0.45,
                frown_brow_eye_height=0.34,
                frown_line_intensity=0.3,
                frown_activity_index=index,
                method_version=method,
                rest_image=b"IMAGE-BYTES-REST",
                frown_image=b"IMAGE-BYTES-FROWN",
            )
        )


def _withdraw(db: Database, consent: int) -> None:
    with db.transaction() as s:
        row = s.get(PhotoConsent, consent)
        assert row is not None
        row.withdrawn_at = TAKEN + dt.timedelta(days=30)


def test_only_research_consented_measures_are_exported(
    db: Database, make_user: Callable[[str, str], UserView], tmp_path: Path
) -> None:
    admin = make_user("boss", "admin").actor("t")

    def consent(pid: int, research: bool) -> int:
        return biomarker.grant_photo_consent(
            db, admin, pid, allow_research=research, confirmed=True
        )

    yes, no, withdrawn, replaced = (_patient(db, admin, m) for m in ("A1", "B2", "C3", "D4"))
    c_yes = consent(yes, True)
    _pair(db, yes, c_yes, 25.0)
    _pair(db, yes, c_yes, 4.5, days=14, method="=HYPERLINK(1)")  # a formula-looking text
    _pair(db, no, consent(no, False), 11.0)  # clinical photos only
    c_w = consent(withdrawn, True)
    _pair(db, withdrawn, c_w, 12.0)
    _withdraw(db, c_w)
    _pair(db, replaced, consent(replaced, True), 13.0)
    consent(replaced, False)  # a newer consent without research use replaces the older one

    out = tmp_path / "export"
    report = export_research(db, make_user("res", "researcher").actor("t"), KEY, out)
    assert report.rows["frown_measures"] == 2
    with (out / "frown_measures.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pseudo = deid.pseudonym(KEY, admin.clinic_id, yes)
    assert [r["pseudo_id"] for r in rows] == [pseudo, pseudo]
    assert [r["pair_seq"] for r in rows] == ["1", "2"]
    assert [float(r["frown_activity_index"]) for r in rows] == [25.0, 4.5]
    assert float(rows[0]["rest_line_intensity"]) == 0.125
    assert rows[0]["day"] == ""  # never treated: no day number
    # dates moved back by the patient's offset, 30-365 days
    shift = (TAKEN.date() - dt.date.fromisoformat(rows[0]["shifted_date"])).days
    assert 30 <= shift <= 365
    assert rows[1]["method_version"] == "'=HYPERLINK(1)"  # CSV-safe (OWASP prefix)
    table = pq.read_table(out / "frown_measures.parquet")
    assert table.column("frown_activity_index").to_pylist() == [25.0, 4.5]
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in out.iterdir())
    assert "IMAGE-BYTES" not in text and "image" not in (out / "frown_measures.csv").read_text()
