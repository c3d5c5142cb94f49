"""FHIR R4 use cases: export a patient or the clinic, import questionnaire responses and charts.

Reads and writes are audited like every other access to patient data. An import runs in one
transaction: a document with any bad resource stores nothing, and the error names the
element (``Bundle.entry[4].resource.item[8].answer[0]``). Imported questionnaire responses
are scored by the instrument engine and stored through
:func:`glabella.services.assessments.store_scored`, so they raise the same safety alerts
(PHQ-9 item 9) as a response typed in the clinic.

A document imported again stores nothing twice (see ``import_document``).

Imported treatments are historical records made elsewhere: the eligibility screening behind
them is not part of the document, so each gets a placeholder screening with outcome
``imported`` (which never permits a new treatment: ``can_treat`` is only true for
``eligible``), and they are not re-checked against the interval or consent-window rules.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from glabella.clinic import adverse_events as ae_rules
from glabella.clinic import instruments
from glabella.clinic.chart import (
    AdverseEventData,
    ConsentData,
    PatientData,
    TreatmentData,
)
from glabella.clinic.products import get_product
from glabella.clinic.protocol import load_sites
from glabella.interop.fhir import codes, export, parse
from glabella.interop.fhir.validate import FhirInputError
from glabella.services import audit
from glabella.services.adverse_events import open_event_alerts
from glabella.services.assessments import Submission, store_scored
from glabella.services.chart import load_chart, load_charts
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid, NotFound
from glabella.services.patients import PatientInput, load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.models import Assessment, Patient
from glabella.store.pathway import (
    AdverseEventRecord,
    ConsentRecord,
    Screening,
    Treatment,
    TreatmentSite,
)

Resource = dict[str, Any]

IMPORTED_SOURCE = "imported"
"""``Assessment.source`` of a response from another system."""
KEPT_SOURCES = frozenset({"clinician", "self_report", IMPORTED_SOURCE})
"""Sources kept as they are when a Glabella export is imported (the tag says where from)."""


def _invalid(exc: FhirInputError) -> Invalid:
    return Invalid(str(exc), field=exc.where)


# --- export -------------------------------------------------------------------------------


def questionnaire(instrument_id: str) -> Resource:
    """An instrument's Questionnaire (no patient data: nothing to audit)."""
    try:
        return export.questionnaire(instruments.get(instrument_id))
    except instruments.InstrumentError as exc:
        raise NotFound(str(exc), field="instrument_id") from None


def patient_everything(
    db: Database, actor: Actor, patient_id: int, base: str = codes.BASE
) -> Resource:
    """``Patient/{id}/$everything``: a searchset Bundle of the patient's record (audited)."""
    require_role(actor, CLINICAL_ROLES, "export clinical records")
    with db.transaction() as session:
        resources = list(export.chart_resources(load_chart(session, actor, patient_id)))
        audit.record(session, actor, "fhir.export", "patient", patient_id, resources=len(resources))
    return export.bundle(resources, kind="searchset", base=base)


EXPORT_BATCH = 200
"""Patients read per batch by the bulk export (memory stays flat whatever the clinic's size)."""


@dataclass(frozen=True)
class ClinicExport:
    """A streamed bulk export: iterate it for the resources; ``patients`` says how many."""

    patients: int
    resources: Iterator[Resource]

    def __iter__(self) -> Iterator[Resource]:
        return self.resources


def export_clinic(db: Database, actor: Actor) -> ClinicExport:
    """Every resource of every patient of the actor's clinic, streamed (bulk export).

    The export is audited (one row, with the number of patients) before the first resource is
    produced. The resources are then read in batches of :data:`EXPORT_BATCH` patients inside
    one read-only transaction: one consistent snapshot, no write lock held (SQLite), and
    memory that does not grow with the clinic.
    """
    require_role(actor, CLINICAL_ROLES, "export clinical records")
    with db.transaction() as session:
        count = session.scalar(
            select(func.count()).select_from(Patient).where(Patient.clinic_id == actor.clinic_id)
        )
        audit.record(
            session, actor, "fhir.export_all", "clinic", actor.clinic_id, patients=count or 0
        )
    return ClinicExport(patients=count or 0, resources=_stream_clinic(db, actor.clinic_id))


def _stream_clinic(db: Database, clinic_id: int) -> Iterator[Resource]:
    with db.read() as session:
        ids = session.scalars(
            select(Patient.id).where(Patient.clinic_id == clinic_id).order_by(Patient.id)
        ).all()
        for start in range(0, len(ids), EXPORT_BATCH):
            for chart in load_charts(session, clinic_id, ids[start : start + EXPORT_BATCH]):
                yield from export.chart_resources(chart)
            session.expunge_all()  # let the batch's rows go


def export_patient(db: Database, actor: Actor, patient_id: int) -> Iterator[Resource]:
    """One patient's resources (for ndjson)."""
    everything = patient_everything(db, actor, patient_id)
    return (entry["resource"] for entry in everything["entry"])


# --- import -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import stored: counts by kind, the new ids, and the alerts raised."""

    patients: list[int] = field(default_factory=list)
    assessments: list[int] = field(default_factory=list)
    consents: list[int] = field(default_factory=list)
    treatments: list[int] = field(default_factory=list)
    adverse_events: list[int] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    already_stored: dict[str, int] = field(default_factory=dict)
    """Resources identical to a record this clinic already holds, by type (not stored again)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "patients": self.patients,
            "assessments": self.assessments,
            "consents": self.consents,
            "treatments": self.treatments,
            "adverse_events": self.adverse_events,
            "alerts": self.alerts,
            "skipped": self.skipped,
            "already_stored": self.already_stored,
        }

    def count_existing(self, resource_type: str) -> None:
        self.already_stored[resource_type] = self.already_stored.get(resource_type, 0) + 1


def _mrn_patient(session: Session, actor: Actor, mrn: str) -> Patient | None:
    return session.scalars(
        select(Patient).where(Patient.clinic_id == actor.clinic_id, Patient.mrn == mrn)
    ).first()


def _subject(
    session: Session,
    actor: Actor,
    parsed: parse.ParsedResponse,
    mapped: Mapping[str, int],
    where: str,
) -> int:
    """The local patient a response is about: a patient of this import, or of this clinic."""
    if parsed.subject_reference is not None:
        ref = parse.local_id({"reference": parsed.subject_reference}, "Patient", where)
        if ref in mapped:
            return mapped[ref]
        if not mapped and ref.isdigit():
            return load_patient(session, actor, int(ref)).id
        raise Invalid(f"{where}: Patient/{ref} is not in this document", field=where)
    if parsed.subject_mrn is not None:
        found = _mrn_patient(session, actor, parsed.subject_mrn)
        if found is None:
            raise NotFound(f"{where}: no patient with that MRN in this clinic", field=where)
        return found.id
    raise Invalid(
        f"{where}: subject is required (a Patient reference or an MRN identifier)", field=where
    )


def _store_response(
    session: Session,
    actor: Actor,
    db: Database,
    resource: Mapping[str, Any],
    where: str,
    mapped: Mapping[str, int],
    report: ImportReport,
    *,
    skip_existing: bool,
) -> Submission | None:
    """Score and store one response; None when it is already stored and ``skip_existing``
    (a re-imported document), a ``Conflict`` naming the stored assessment otherwise."""
    try:
        parsed = parse.parse_questionnaire_response(resource, where)
    except FhirInputError as exc:
        raise _invalid(exc) from None
    patient_id = _subject(session, actor, parsed, mapped, f"{where}.subject")
    try:
        scored = instruments.score(instruments.get(parsed.instrument_id), parsed.answers)
    except instruments.InstrumentError as exc:
        raise Invalid(f"{where}: {exc}", field=exc.item_id or where) from None
    now = db.now()
    authored = parsed.authored or now
    if authored > now + dt.timedelta(minutes=5):
        raise Invalid(f"{where}.authored is in the future", field=f"{where}.authored")
    if parsed.authored is not None:
        existing = _stored_assessment(session, patient_id, scored, parsed.authored)
        if existing is not None:
            if not skip_existing:
                raise Conflict(
                    f"{where}: this response is already stored (assessment {existing})",
                    field=where,
                )
            report.count_existing("QuestionnaireResponse")
            return None
    source = parsed.source if parsed.source in KEPT_SOURCES else IMPORTED_SOURCE
    submission = store_scored(
        session,
        actor,
        patient_id=patient_id,
        scored=scored,
        source=source or IMPORTED_SOURCE,
        now=authored,
        entered_by_id=actor.user_id,
    )
    report.assessments.append(submission.assessment.id)
    report.alerts.extend(a.kind for a in submission.alerts)
    return submission


def import_questionnaire_response(db: Database, actor: Actor, resource: object) -> Submission:
    """Import one QuestionnaireResponse from another system: validated, scored, alerts raised.

    The subject is ``Patient/<id>`` of this clinic or an identifier holding the patient's MRN.
    """
    require_role(actor, CLINICAL_ROLES, "import assessments")
    if not isinstance(resource, Mapping):
        raise Invalid("a QuestionnaireResponse must be a JSON object", field="resource")
    with db.transaction() as session:
        submission = _store_response(
            session,
            actor,
            db,
            resource,
            "QuestionnaireResponse",
            {},
            ImportReport(),
            skip_existing=False,
        )
        assert submission is not None  # a stored duplicate raises Conflict
        audit.record(
            session,
            actor,
            "fhir.import",
            "assessment",
            submission.assessment.id,
            resource="QuestionnaireResponse",
        )
        return submission


def _import_patient(
    session: Session, actor: Actor, db: Database, data: PatientData, where: str
) -> tuple[int, bool]:
    """A new patient, or the clinic's patient with this MRN when the demographics agree."""
    try:
        valid = PatientInput.model_validate(
            {
                "mrn": data.mrn,
                "given_name": data.given_name,
                "family_name": data.family_name,
                "date_of_birth": data.date_of_birth,
                "sex": data.sex,
                "phone": data.phone,
                "email": data.email,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        element = ".".join(str(p) for p in first["loc"])
        raise Invalid(f"{where}: {element} {first['msg']}", field=where) from None
    existing = _mrn_patient(session, actor, valid.mrn)
    if existing is not None:
        same = (existing.family_name, existing.given_name, existing.date_of_birth) == (
            valid.family_name,
            valid.given_name,
            valid.date_of_birth,
        )
        if not same:
            raise Conflict(
                f"{where}: MRN {valid.mrn!r} belongs to another patient in this clinic "
                "(name or date of birth differ)",
                field=where,
            )
        return existing.id, False
    now = db.now()
    row = Patient(clinic_id=actor.clinic_id, created_at=now, updated_at=now, **valid.model_dump())
    session.add(row)
    session.flush()
    audit.record(session, actor, "patient.create", "patient", row.id, via="fhir.import")
    return row.id, True


def _import_consent(session: Session, data: ConsentData, patient_id: int) -> int:
    row = ConsentRecord(
        patient_id=patient_id,
        version=data.version,
        text_sha256=data.text_sha256,
        signed_at=data.signed_at,
        signed_name=data.signed_name,
        witnessed_by_id=None,
    )
    session.add(row)
    session.flush()
    return row.id


def _import_treatment(
    session: Session,
    actor: Actor,
    data: TreatmentData,
    patient_id: int,
    consent_id: int,
    where: str,
) -> int:
    try:
        product = get_product(data.product_id)
    except KeyError:
        raise Invalid(f"{where}: unknown product {data.product_id!r}", field=where) from None
    sites = load_sites()
    for site in data.sites:
        if site.site_id not in sites:
            raise Invalid(f"{where}: unknown injection site {site.site_id!r}", field=where)
        if site.units <= 0:
            raise Invalid(f"{where}: units at {site.site_id} must be more than 0", field=where)
    if session.scalars(select(Treatment.id).where(Treatment.consent_id == consent_id)).first():
        raise Conflict(f"{where}: that consent is already used by another treatment", field=where)
    day = data.treated_at.astimezone(clinic_zone(session, actor)).date()
    screening = Screening(
        patient_id=patient_id,
        product_id=product.id,
        screened_on=day,
        screened_at=data.treated_at,
        screened_by_id=None,
        answers_json="{}",
        facts_json="{}",
        rules_version="fhir-import",
        outcome="imported",
        reasons_json="[]",
    )
    session.add(screening)
    session.flush()
    row = Treatment(
        patient_id=patient_id,
        treated_at=data.treated_at,
        treatment_date=day,
        injector_id=None,
        injector_name=data.injector_name,
        product_id=product.id,
        protocol_id=data.protocol_id,
        lot_number=data.lot_number,
        lot_expiry=data.lot_expiry,
        vial_units=str(data.vial_units),
        saline_ml=str(data.saline_ml),
        total_units=str(data.total_units),
        exceeds_label_dose=data.exceeds_label_dose,
        screening_id=screening.id,
        consent_id=consent_id,
        notes=data.notes,
        created_at=data.treated_at,
        sites=[
            TreatmentSite(site_id=s.site_id, units=str(s.units), volume_ml=str(s.volume_ml))
            for s in data.sites
        ],
    )
    session.add(row)
    session.flush()
    return row.id


def _import_adverse_event(
    session: Session,
    actor: Actor,
    data: AdverseEventData,
    patient_id: int,
    treatment_id: int | None,
    where: str,
    report: ImportReport,
) -> int:
    alerts: tuple[ae_rules.AEAlert, ...] = ()
    try:
        ae_type = ae_rules.AEType(data.type)
        if data.grade is not None:
            event = ae_rules.AdverseEvent(
                type=ae_type,
                onset=data.onset,
                grade=ae_rules.Grade(data.grade),
                seriousness=frozenset(ae_rules.Seriousness(s) for s in data.seriousness),
                relatedness=ae_rules.Relatedness(data.relatedness or ""),
                action=ae_rules.Action(data.action or ""),
                outcome=ae_rules.AEOutcome(data.outcome or ""),
                description=data.description,
            )
            alerts = ae_rules.assess(event)
    except ValueError as exc:
        raise Invalid(f"{where}: {exc}", field=where) from None
    row = AdverseEventRecord(
        patient_id=patient_id,
        treatment_id=treatment_id,
        type=ae_type.value,
        description=data.description,
        onset=data.onset,
        grade=data.grade,
        seriousness=",".join(sorted(data.seriousness)),
        relatedness=data.relatedness,
        action=data.action,
        outcome=data.outcome,
        reported_by=data.reported_by,
        recorded_by_id=actor.user_id,
        recorded_at=data.recorded_at,
    )
    session.add(row)
    session.flush()
    open_event_alerts(session, patient_id, alerts, data.recorded_at)
    report.alerts.extend(alert.code for alert in alerts)
    return row.id


def _patient_of(
    resource: Mapping[str, Any], key: str, mapped: Mapping[str, int], where: str
) -> int:
    ref = parse.local_id(resource.get(key), "Patient", f"{where}.{key}")
    if ref not in mapped:
        raise FhirInputError(f"Patient/{ref} is not in this document", f"{where}.{key}")
    return mapped[ref]


# A document imported again (the same export, or a chart that grew) must not double the
# record: a duplicated treatment would count twice against the re-treatment interval and the
# dose history, a duplicated response twice in the trajectory and the analytics. A resource is
# "already stored" when this clinic's patient holds a record with the same identifying content.


def _stored_assessment(
    session: Session, patient_id: int, scored: instruments.Score, authored: dt.datetime
) -> int | None:
    rows = session.scalars(
        select(Assessment)
        .where(
            Assessment.patient_id == patient_id,
            Assessment.instrument_id == scored.instrument_id,
            Assessment.total == scored.total,
        )
        .options(selectinload(Assessment.answers))
    ).all()
    answers = dict(scored.answers)
    for row in rows:
        same_time = row.submitted_at == authored
        if same_time and {a.item_id: a.value for a in row.answers} == answers:
            return row.id
    return None


def _stored_consent(session: Session, data: ConsentData, patient_id: int) -> int | None:
    rows = session.scalars(
        select(ConsentRecord).where(
            ConsentRecord.patient_id == patient_id,
            ConsentRecord.version == data.version,
            ConsentRecord.text_sha256 == data.text_sha256,
        )
    ).all()
    return next((r.id for r in rows if r.signed_at == data.signed_at), None)


def _stored_treatment(session: Session, data: TreatmentData, patient_id: int) -> int | None:
    rows = session.scalars(
        select(Treatment)
        .where(Treatment.patient_id == patient_id, Treatment.product_id == data.product_id)
        .options(selectinload(Treatment.sites))
    ).all()
    for row in rows:
        if row.treated_at != data.treated_at or Decimal(row.total_units) != data.total_units:
            continue
        sites = sorted((s.site_id, Decimal(s.units)) for s in row.sites)
        if sites == sorted((s.site_id, s.units) for s in data.sites):
            return row.id
    return None


def _stored_adverse_event(
    session: Session, data: AdverseEventData, patient_id: int, treatment_id: int | None
) -> bool:
    rows = session.scalars(
        select(AdverseEventRecord).where(
            AdverseEventRecord.patient_id == patient_id,
            AdverseEventRecord.type == data.type,
        )
    ).all()
    return any(
        (r.onset, r.treatment_id, r.recorded_at) == (data.onset, treatment_id, data.recorded_at)
        for r in rows
    )


def import_document(db: Database, actor: Actor, document: object) -> ImportReport:
    """Import a Bundle (or one resource): patients, responses, consents, treatments, events.

    Everything is stored in one transaction or nothing is. Score Observations are not read:
    the responses are scored again by the instrument engine (and their alerts raised).
    Importing a document again stores nothing twice: resources that match a stored record are
    counted in ``already_stored`` instead (a grown chart adds only what is new).
    """
    require_role(actor, CLINICAL_ROLES, "import clinical records")
    report = ImportReport()
    try:
        entries = parse.bundle_resources(document)
    except FhirInputError as exc:
        raise _invalid(exc) from None
    by_type: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
    for resource, where in entries:
        by_type.setdefault(str(resource["resourceType"]), []).append((resource, where))
    with db.transaction() as session:
        try:
            patients: dict[str, int] = {}
            for resource, where in by_type.get("Patient", []):
                new_id, created = _import_patient(
                    session, actor, db, parse.parse_patient(resource, where), where
                )
                patients[str(resource.get("id"))] = new_id
                if created:
                    report.patients.append(new_id)
                else:
                    report.count_existing("Patient")
            for resource, where in by_type.get("QuestionnaireResponse", []):
                _store_response(
                    session, actor, db, resource, where, patients, report, skip_existing=True
                )
            consents: dict[str, int] = {}
            for resource, where in by_type.get("Consent", []):
                pid = _patient_of(resource, "patient", patients, where)
                signed = parse.parse_consent(resource, where)
                existing = _stored_consent(session, signed, pid)
                if existing is not None:
                    consents[str(resource.get("id"))] = existing
                    report.count_existing("Consent")
                    continue
                new_id = _import_consent(session, signed, pid)
                consents[str(resource.get("id"))] = new_id
                report.consents.append(new_id)
            administrations: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
            for resource, where in by_type.get("MedicationAdministration", []):
                part_of = resource.get("partOf") or [None]
                ref = parse.local_id(part_of[0], "Procedure", f"{where}.partOf[0]")
                administrations.setdefault(ref, []).append((resource, where))
            treatments: dict[str, int] = {}
            for resource, where in by_type.get("Procedure", []):
                pid = _patient_of(resource, "subject", patients, where)
                local = str(resource.get("id"))
                data, consent_ref = parse.parse_treatment(
                    resource, administrations.pop(local, []), where
                )
                if consent_ref not in consents:
                    raise FhirInputError(
                        f"Consent/{consent_ref} is not in this document", f"{where}.extension"
                    )
                existing = _stored_treatment(session, data, pid)
                if existing is not None:
                    treatments[local] = existing
                    report.count_existing("Procedure")
                    continue
                new_id = _import_treatment(session, actor, data, pid, consents[consent_ref], where)
                treatments[local] = new_id
                report.treatments.append(new_id)
            for ref, orphans in administrations.items():
                raise FhirInputError(f"Procedure/{ref} is not in this document", orphans[0][1])
            for resource, where in by_type.get("AdverseEvent", []):
                pid = _patient_of(resource, "subject", patients, where)
                event, procedure_ref = parse.parse_adverse_event(resource, where)
                if procedure_ref is not None and procedure_ref not in treatments:
                    raise FhirInputError(
                        f"Procedure/{procedure_ref} is not in this document",
                        f"{where}.suspectEntity",
                    )
                tid = treatments[procedure_ref] if procedure_ref is not None else None
                if _stored_adverse_event(session, event, pid, tid):
                    report.count_existing("AdverseEvent")
                    continue
                report.adverse_events.append(
                    _import_adverse_event(session, actor, event, pid, tid, where, report)
                )
        except FhirInputError as exc:
            raise _invalid(exc) from None
        for kind in ("Observation", "Questionnaire", "Bundle"):
            if by_type.get(kind):
                report.skipped[kind] = len(by_type[kind])
        audit.record(
            session,
            actor,
            "fhir.import",
            "clinic",
            actor.clinic_id,
            **{k: len(v) for k, v in report.to_dict().items() if isinstance(v, list)},
        )
    return report


def read_document(text: str, name: str = "document") -> list[object]:
    """Parse a JSON document or ndjson lines; errors name the line."""
    stripped = text.strip()
    if not stripped:
        raise Invalid(f"{name} is empty", field=name)
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError:
        pass
    out: list[object] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise Invalid(f"{name} line {number}: not JSON ({exc.msg})", field=name) from None
    return out


def as_bundle(documents: list[object]) -> object:
    """One document as it is; ndjson lines (one resource each) as a collection Bundle."""
    if len(documents) == 1:
        return documents[0]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": d} for d in documents],
    }
