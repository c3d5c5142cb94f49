"""The research export use case: de-identified tables as CSV and Parquet, with a dictionary.

Rows are streamed from the database in chunks, de-identified by :mod:`glabella.interop.deid`
and written to ``<table>.csv`` and ``<table>.parquet`` side by side, plus
``data_dictionary.csv`` / ``data_dictionary.md`` and ``manifest.json``. Files are written into
a temporary directory and moved into place only when the export is complete (nothing
half-written), and the export is recorded in the audit trail.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from glabella.interop import deid
from glabella.interop.csv_safety import safe_cell, safe_row
from glabella.services import audit
from glabella.services.biomarker_export import consented_measures
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Invalid
from glabella.services.roles import Role
from glabella.store.models import Assessment, AssessmentAnswer, Patient
from glabella.store.pathway import AdverseEventRecord, Screening, Treatment, TreatmentSite

EXPORT_ROLES = frozenset({Role.ADMIN, Role.RESEARCHER})
CHUNK = 50_000


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str


TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "patients": (
        "One row per patient.",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id (keyed HMAC-SHA256)."),
            Column("sex", pa.string(), "female, male, other or unknown."),
            Column(
                "age_at_index",
                pa.int32(),
                "Age in completed years at the first treatment (or registration if never "
                "treated); empty when 90 or over.",
            ),
            Column("age_90_plus", pa.bool_(), "True when the age is 90 or over (grouped)."),
            Column("treated", pa.bool_(), "True when the patient had at least one treatment."),
        ),
    ),
    "treatments": (
        "One row per injection session.",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id."),
            Column("treatment_seq", pa.int32(), "1 for the patient's first treatment, 2, ..."),
            Column("shifted_date", pa.date32(), "Treatment date moved by the patient's offset."),
            Column("day", pa.int32(), "Days since the patient's first treatment (0 = first)."),
            Column(
                "injector",
                pa.string(),
                "Pseudonymous injector code, one per staff account (a name change keeps it).",
            ),
            Column("product", pa.string(), "Product INN; units are this product's units."),
            Column("protocol", pa.string(), "Named protocol id, empty if none."),
            Column("total_units", pa.string(), "Total units given (exact decimal)."),
            Column("exceeds_label_dose", pa.bool_(), "Total above the labelled glabellar dose."),
        ),
    ),
    "treatment_sites": (
        "Units per injection site.",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id."),
            Column("treatment_seq", pa.int32(), "The treatment (see treatments)."),
            Column("site", pa.string(), "Injection site id (glabella.clinic.protocol)."),
            Column("units", pa.string(), "Units at the site (exact decimal)."),
        ),
    ),
    "screenings": (
        "Eligibility screenings (answers and free text are not exported).",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id."),
            Column("shifted_date", pa.date32(), "Screening date moved by the patient's offset."),
            Column("day", pa.int32(), "Days since the patient's first treatment."),
            Column("product", pa.string(), "Product screened for."),
            Column("outcome", pa.string(), "Rule engine outcome."),
            Column("rules_version", pa.string(), "Version of the eligibility rules."),
        ),
    ),
    "assessments": (
        "Questionnaire totals.",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id."),
            Column("assessment_seq", pa.int32(), "Order of the patient's assessments (1, 2...)."),
            Column("shifted_date", pa.date32(), "Date moved by the patient's offset."),
            Column("day", pa.int32(), "Days since the patient's first treatment."),
            Column("instrument", pa.string(), "Instrument id (phq9, gad7, ...)."),
            Column("total", pa.int32(), "Total score."),
            Column("band", pa.string(), "Severity band of the total."),
            Column("source", pa.string(), "clinician or self_report."),
        ),
    ),
    "assessment_items": (
        "Item-level answers.",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id."),
            Column("assessment_seq", pa.int32(), "The assessment (see assessments)."),
            Column("item", pa.string(), "Item id of the instrument definition."),
            Column("value", pa.int32(), "Answer value."),
        ),
    ),
    "adverse_events": (
        "Adverse events (descriptions are free text and are not exported).",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id."),
            Column(
                "treatment_seq",
                pa.int32(),
                "The treatment it followed (joins treatments on pseudo_id and treatment_seq); "
                "empty if unlinked.",
            ),
            Column("shifted_onset", pa.date32(), "Onset date moved by the patient's offset."),
            Column("day", pa.int32(), "Days since the patient's first treatment."),
            Column("type", pa.string(), "Adverse event type."),
            Column("grade", pa.int32(), "CTCAE v5 grade (empty until graded)."),
            Column("serious", pa.bool_(), "Any ICH E2A seriousness criterion."),
            Column("relatedness", pa.string(), "Causality judged by the clinician."),
            Column("action", pa.string(), "Action taken."),
            Column("outcome", pa.string(), "Outcome of the event."),
            Column("reported_by", pa.string(), "staff or patient."),
        ),
    ),
    "frown_measures": (
        "Frown biomarker, one row per measured rest/frown photo pair (visit): numeric measures "
        "only, never images, and only for patients whose most recent photo consent is in force "
        "and allows research use (glabella.services.biomarker_export). Distances and heights "
        "are in inter-ocular distances (IOD); line intensities are dimensionless; the method "
        "and the index formula are in glabella.clinic.biomarker.measure.",
        (
            Column("pseudo_id", pa.string(), "Pseudonymous patient id."),
            Column("pair_seq", pa.int32(), "Order of the patient's measured pairs (1, 2...)."),
            Column("shifted_date", pa.date32(), "Photo date moved by the patient's offset."),
            Column("day", pa.int32(), "Days since the patient's first treatment."),
            Column("rest_inner_brow_distance", pa.float64(), "Inner-brow distance at rest (IOD)."),
            Column("rest_brow_eye_height", pa.float64(), "Brow-to-eye height at rest (IOD)."),
            Column("rest_line_intensity", pa.float64(), "Glabellar line intensity at rest."),
            Column(
                "frown_inner_brow_distance", pa.float64(), "Inner-brow distance at frown (IOD)."
            ),
            Column("frown_brow_eye_height", pa.float64(), "Brow-to-eye height at frown (IOD)."),
            Column("frown_line_intensity", pa.float64(), "Glabellar line intensity at frown."),
            Column(
                "frown_activity_index",
                pa.float64(),
                "Frown activity index (0 = frown photo as at rest; larger = stronger frown).",
            ),
            Column("method_version", pa.string(), "Version of the measurement method."),
        ),
    ),
}


@dataclass(frozen=True)
class ExportReport:
    directory: Path
    rows: dict[str, int]
    files: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"directory": str(self.directory), "rows": self.rows, "files": list(self.files)}


class _TableWriter:
    """Writes one table to CSV and Parquet in chunks."""

    def __init__(self, directory: Path, name: str) -> None:
        self.name = name
        self.columns = TABLES[name][1]
        self.schema = pa.schema([(c.name, c.type) for c in self.columns])
        self.csv_file = (directory / f"{name}.csv").open("w", newline="", encoding="utf-8")
        self.csv = csv.writer(self.csv_file)
        self.csv.writerow([c.name for c in self.columns])
        self.parquet = pq.ParquetWriter(str(directory / f"{name}.parquet"), self.schema)
        self.rows = 0

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        self.csv.writerows(
            [
                "" if v is None else (str(v).lower() if isinstance(v, bool) else safe_cell(v))
                for v in r
            ]
            for r in rows
        )
        arrays = [
            pa.array(list(col), type=c.type)
            for col, c in zip(zip(*rows, strict=True), self.columns, strict=True)
        ]
        self.parquet.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows += len(rows)

    def close(self) -> None:
        self.csv_file.close()
        self.parquet.close()


def _chunks(session: Session, stmt: Executable) -> Iterator[Sequence[Any]]:
    result = session.execute(stmt.execution_options(yield_per=CHUNK))
    yield from result.partitions(CHUNK)


def _local(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    return moment.astimezone(tz).date()


def _dictionary(directory: Path) -> None:
    with (directory / "data_dictionary.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["table", "column", "type", "description"])
        for table, (_, cols) in TABLES.items():
            for c in cols:
                out.writerow(safe_row([table, c.name, str(c.type), c.description]))
    lines = [
        "# Glabella research export: data dictionary",
        "",
        deid.__doc__ or "",
        "",
    ]
    for table, (about, cols) in TABLES.items():
        lines += [f"## {table}", "", about, "", "| column | type | description |", "|---|---|---|"]
        lines += [f"| {c.name} | {c.type} | {c.description} |" for c in cols]
        lines.append("")
    (directory / "data_dictionary.md").write_text("\n".join(lines), encoding="utf-8")


def _export(session: Session, actor: Actor, key: bytes, work: Path) -> dict[str, int]:
    tz = clinic_zone(session, actor)
    cid = actor.clinic_id
    first_treatment = dict(
        session.execute(
            select(Treatment.patient_id, func.min(Treatment.treatment_date))
            .join(Patient, Patient.id == Treatment.patient_id)
            .where(Patient.clinic_id == cid)
            .group_by(Treatment.patient_id)
        ).all()
    )
    keys: dict[int, deid.PatientKey] = {}
    writers = {name: _TableWriter(work, name) for name in TABLES}
    try:
        w = writers["patients"]
        stmt = (
            select(Patient.id, Patient.sex, Patient.date_of_birth, Patient.created_at)
            .where(Patient.clinic_id == cid)
            .order_by(Patient.id)
        )
        for chunk in _chunks(session, stmt):
            out: list[tuple[Any, ...]] = []
            for pid, sex, born, created in chunk:
                anchor = first_treatment.get(pid)
                k = deid.patient_key(key, cid, pid, anchor)
                keys[pid] = k
                age = deid.export_age(born, anchor or _local(created, tz))
                out.append((k.pseudo_id, sex, age.years, age.ninety_plus, anchor is not None))
            w.write(out)

        seq: dict[int, int] = {}
        treatment_seq: dict[int, int] = {}
        injectors: dict[str, str] = {}
        # Keyed by the staff account when the treatment names one: the stored name is the
        # injector's full name at the time, so a renamed account must not become a second
        # injector; treatments without an account (imported, demo) fall back to the name.
        stmt_t = (
            select(
                Treatment.id,
                Treatment.patient_id,
                Treatment.treatment_date,
                Treatment.injector_id,
                Treatment.injector_name,
                Treatment.product_id,
                Treatment.protocol_id,
                Treatment.total_units,
                Treatment.exceeds_label_dose,
            )
            .join(Patient, Patient.id == Treatment.patient_id)
            .where(Patient.clinic_id == cid)
            .order_by(Treatment.patient_id, Treatment.treated_at, Treatment.id)
        )
        for chunk in _chunks(session, stmt_t):
            out = []
            for tid, pid, day, injector_id, injector_name, product, proto, units, over in chunk:
                injector = f"account:{injector_id}" if injector_id else injector_name
                k = keys[pid]
                n = seq[pid] = seq.get(pid, 0) + 1
                treatment_seq[tid] = n
                code = injectors.get(injector)
                if code is None:
                    code = injectors[injector] = deid.injector_code(key, cid, injector)
                out.append(
                    (
                        k.pseudo_id,
                        n,
                        k.shifted(day),
                        k.day_number(day),
                        code,
                        product,
                        proto,
                        units,
                        over,
                    )
                )
            writers["treatments"].write(out)

        stmt_s = (
            select(
                TreatmentSite.treatment_id,
                Treatment.patient_id,
                TreatmentSite.site_id,
                TreatmentSite.units,
            )
            .join(Treatment, Treatment.id == TreatmentSite.treatment_id)
            .join(Patient, Patient.id == Treatment.patient_id)
            .where(Patient.clinic_id == cid)
            .order_by(TreatmentSite.id)
        )
        for chunk in _chunks(session, stmt_s):
            writers["treatment_sites"].write(
                [(keys[pid].pseudo_id, treatment_seq[tid], site, u) for tid, pid, site, u in chunk]
            )

        stmt_sc = (
            select(
                Screening.patient_id,
                Screening.screened_on,
                Screening.product_id,
                Screening.outcome,
                Screening.rules_version,
            )
            .join(Patient, Patient.id == Screening.patient_id)
            .where(Patient.clinic_id == cid)
            .order_by(Screening.patient_id, Screening.screened_at, Screening.id)
        )
        for chunk in _chunks(session, stmt_sc):
            writers["screenings"].write(
                [
                    (
                        keys[pid].pseudo_id,
                        keys[pid].shifted(d),
                        keys[pid].day_number(d),
                        prod,
                        outcome,
                        version,
                    )
                    for pid, d, prod, outcome, version in chunk
                ]
            )

        assessment_seq: dict[int, tuple[str, int]] = {}
        aseq: dict[int, int] = {}
        stmt_a = (
            select(
                Assessment.id,
                Assessment.patient_id,
                Assessment.submitted_at,
                Assessment.instrument_id,
                Assessment.total,
                Assessment.band,
                Assessment.source,
            )
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(Patient.clinic_id == cid)
            .order_by(Assessment.patient_id, Assessment.submitted_at, Assessment.id)
        )
        for chunk in _chunks(session, stmt_a):
            out = []
            for aid, pid, at, inst, total, band, source in chunk:
                k = keys[pid]
                n = aseq[pid] = aseq.get(pid, 0) + 1
                assessment_seq[aid] = (k.pseudo_id, n)
                day = _local(at, tz)
                out.append(
                    (k.pseudo_id, n, k.shifted(day), k.day_number(day), inst, total, band, source)
                )
            writers["assessments"].write(out)

        stmt_i = (
            select(AssessmentAnswer.assessment_id, AssessmentAnswer.item_id, AssessmentAnswer.value)
            .join(Assessment, Assessment.id == AssessmentAnswer.assessment_id)
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(Patient.clinic_id == cid)
            .order_by(AssessmentAnswer.id)
        )
        for chunk in _chunks(session, stmt_i):
            writers["assessment_items"].write(
                [(*assessment_seq[aid], item, value) for aid, item, value in chunk]
            )

        stmt_ae = (
            select(
                AdverseEventRecord.patient_id,
                AdverseEventRecord.treatment_id,
                AdverseEventRecord.onset,
                AdverseEventRecord.type,
                AdverseEventRecord.grade,
                AdverseEventRecord.seriousness,
                AdverseEventRecord.relatedness,
                AdverseEventRecord.action,
                AdverseEventRecord.outcome,
                AdverseEventRecord.reported_by,
            )
            .join(Patient, Patient.id == AdverseEventRecord.patient_id)
            .where(Patient.clinic_id == cid)
            .order_by(AdverseEventRecord.id)
        )
        for chunk in _chunks(session, stmt_ae):
            out = []
            for pid, tid, onset, kind, grade, serious, rel, action, outcome, by in chunk:
                k = keys[pid]
                day = _local(onset, tz)
                out.append(
                    (
                        k.pseudo_id,
                        None if tid is None else treatment_seq.get(tid),
                        k.shifted(day),
                        k.day_number(day),
                        kind,
                        grade,
                        bool(serious),
                        rel,
                        action,
                        outcome,
                        by,
                    )
                )
            writers["adverse_events"].write(out)

        pair_seq: dict[int, int] = {}
        out = []
        for m in consented_measures(session, research=True, clinic_id=cid):
            k = keys[m.patient_id]
            n = pair_seq[m.patient_id] = pair_seq.get(m.patient_id, 0) + 1
            day = _local(m.taken_at, tz)
            out.append(
                (
                    k.pseudo_id,
                    n,
                    k.shifted(day),
                    k.day_number(day),
                    m.rest_inner_brow_distance,
                    m.rest_brow_eye_height,
                    m.rest_line_intensity,
                    m.frown_inner_brow_distance,
                    m.frown_brow_eye_height,
                    m.frown_line_intensity,
                    m.frown_activity_index,
                    m.method_version,
                )
            )
        writers["frown_measures"].write(out)
    finally:
        for writer in writers.values():
            writer.close()
    return {name: w.rows for name, w in writers.items()}


def export_research(
    db: Database, actor: Actor, key: bytes, out_dir: Path, *, overwrite: bool = False
) -> ExportReport:
    """Write the de-identified export of the actor's clinic into ``out_dir`` (audited)."""
    if actor.role not in EXPORT_ROLES:
        raise Forbidden(f"your role ({actor.role}) may not export research data")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise Invalid(f"{out_dir} exists and is not empty: choose a new directory", field="out")
        if not (out_dir / "manifest.json").is_file():
            raise Invalid(
                f"{out_dir} is not an earlier research export (no manifest.json): "
                "--overwrite only replaces an export",
                field="out",
            )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".research-", dir=out_dir.parent))
    try:
        with db.transaction() as session:
            rows = _export(session, actor, key, work)
            _dictionary(work)
            manifest = {
                "format": "glabella-research-export/1",
                "exported_on": dt.date.today().isoformat(),
                "tables": rows,
                "method": "Safe-Harbor-style de-identification; see data_dictionary.md",
            }
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
            audit.record(
                session,
                actor,
                "research.export",
                "clinic",
                actor.clinic_id,
                **{f"rows_{k}": v for k, v in rows.items()},
            )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = tuple(sorted(p.name for p in out_dir.iterdir()))
    return ExportReport(out_dir, rows, files)


def export_zip(db: Database, actor: Actor, key: bytes) -> bytes:
    """The export as one zip archive (for the API)."""
    with tempfile.TemporaryDirectory(prefix="glabella-research-") as tmp:
        report = export_research(db, actor, key, Path(tmp) / "export")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in report.files:
                archive.write(report.directory / name, arcname=name)
        return buffer.getvalue()
