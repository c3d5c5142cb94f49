"""Informed consent: the versioned text is signed and timestamped, one consent per treatment.

The typed signature is compared with the patient record (:mod:`glabella.clinic.consent_name`,
hazard H-094): a name that does not match is refused unless the clinician states why the
patient signed with another name (a carer or legal representative), which is stored and
audited. A consent can be withdrawn (when, why, by whom); the treatment gate refuses a
withdrawn consent (H-095). :func:`consent_copy` gathers what the patient's PDF copy shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from glabella.clinic import consent as consent_rules
from glabella.clinic.consent_name import check_signed_name
from glabella.reports.consent_pdf import ConsentDocument
from glabella.services import audit
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid, NotFound
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.models import Patient, User
from glabella.store.pathway import ConsentRecord, Treatment

MIN_REASON_LENGTH = 5
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class ConsentView:
    id: int
    patient_id: int
    version: str
    text_sha256: str
    signed_at: dt.datetime
    signed_name: str
    used_by_treatment: int | None
    name_mismatch_reason: str | None = None
    withdrawn_at: dt.datetime | None = None
    withdrawn_reason: str | None = None
    withdrawn_by: str | None = None

    @property
    def usable(self) -> bool:
        """Not yet used by a treatment and not withdrawn."""
        return self.used_by_treatment is None and self.withdrawn_at is None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "version": self.version,
            "text_sha256": self.text_sha256,
            "signed_at": self.signed_at.isoformat(),
            "signed_name": self.signed_name,
            "name_mismatch_reason": self.name_mismatch_reason,
            "used_by_treatment": self.used_by_treatment,
            "withdrawn_at": None if self.withdrawn_at is None else self.withdrawn_at.isoformat(),
            "withdrawn_reason": self.withdrawn_reason,
            "withdrawn_by": self.withdrawn_by,
        }


def _view(session: Session, row: ConsentRecord, used_by: int | None) -> ConsentView:
    by = session.get(User, row.withdrawn_by_id) if row.withdrawn_by_id is not None else None
    return ConsentView(
        row.id,
        row.patient_id,
        row.version,
        row.text_sha256,
        row.signed_at,
        row.signed_name,
        used_by,
        row.name_mismatch_reason,
        row.withdrawn_at,
        row.withdrawn_reason,
        None if by is None else by.full_name,
    )


def current_text(db: Database) -> consent_rules.ConsentVersion:
    """The consent version in force today."""
    return consent_rules.current_version(db.now().date())


def _reason(text: str | None, field: str, what: str) -> str:
    reason = (text or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise Invalid(f"{what} (at least {MIN_REASON_LENGTH} characters)", field=field)
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(f"{what}: at most {MAX_REASON_LENGTH} characters", field=field)
    return reason


def sign_consent(
    db: Database,
    actor: Actor,
    patient_id: int,
    version: str,
    signed_name: str,
    confirmed: bool,
    different_name_reason: str | None = None,
) -> ConsentView:
    """Record the patient's signature on the version they were shown (witnessed by the actor).

    ``different_name_reason`` (None when not ticked) accepts a typed name that does not match
    the record; without it such a name is refused (H-094).
    """
    require_role(actor, CLINICAL_ROLES, "record consent")
    name = " ".join(signed_name.split())
    if not confirmed:
        raise Invalid(
            "the patient must confirm they have read and understood the text", field="confirmed"
        )
    if len(name) < 2:
        raise Invalid("type the patient's full name as their signature", field="signed_name")
    if len(name) > 200:
        raise Invalid("the typed name is longer than 200 characters", field="signed_name")
    now = db.now()
    with db.transaction() as session:
        patient = load_patient(session, actor, patient_id)
        versions = consent_rules.load_consent_versions()
        chosen = versions.get(version)
        today = now.astimezone(clinic_zone(session, actor)).date()
        if chosen is None or not chosen.in_force_on(today):
            raise Invalid(
                f"consent version {version!r} is not the one in force; reload the page",
                field="version",
            )
        check = check_signed_name(name, patient.given_name, patient.family_name)
        mismatch_reason: str | None = None
        if not check.matches:
            if different_name_reason is None:
                raise Invalid(
                    f'the typed name "{name}" does not match the patient record '
                    f'"{check.record}"; correct it, or tick "the patient signed with a '
                    'different name" and give the reason',
                    field="signed_name",
                )
            mismatch_reason = _reason(
                different_name_reason,
                "different_name_reason",
                "give the reason the patient signed with a different name "
                "(e.g. a carer or legal representative signed)",
            )
        row = ConsentRecord(
            patient_id=patient_id,
            version=chosen.version,
            text_sha256=chosen.sha256,
            signed_at=now,
            signed_name=name,
            witnessed_by_id=actor.user_id,
            name_mismatch_reason=mismatch_reason,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "consent.sign",
            "consent",
            row.id,
            patient_id=patient_id,
            version=chosen.version,
            name_matches_record=check.matches,
        )
        if mismatch_reason is not None:
            # The reason is the clinician's free text and may carry a name: it lives on the
            # consent row, the audit row says that (and which consent) it was confirmed.
            audit.record(
                session,
                actor,
                "consent.name_mismatch_confirmed",
                "consent",
                row.id,
                patient_id=patient_id,
            )
        return _view(session, row, None)


def list_consents(db: Database, actor: Actor, patient_id: int) -> list[ConsentView]:
    """A patient's consents, newest first, with the treatment each was used for."""
    require_role(actor, CLINICAL_ROLES, "view consents")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.execute(
            select(ConsentRecord, Treatment.id)
            .outerjoin(Treatment, Treatment.consent_id == ConsentRecord.id)
            .where(ConsentRecord.patient_id == patient_id)
            .order_by(ConsentRecord.signed_at.desc(), ConsentRecord.id.desc())
        ).all()
        audit.record(session, actor, "consent.list", "patient", patient_id)
        return [_view(session, c, tid) for c, tid in rows]


def _load_consent(
    session: Session, actor: Actor, patient_id: int, consent_id: int
) -> tuple[ConsentRecord, int | None]:
    load_patient(session, actor, patient_id)
    row = session.get(ConsentRecord, consent_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound(f"no consent {consent_id} for this patient", field="consent_id")
    used = session.scalars(select(Treatment.id).where(Treatment.consent_id == row.id)).first()
    return row, used


def withdraw_consent(
    db: Database, actor: Actor, patient_id: int, consent_id: int, reason: str
) -> ConsentView:
    """Record that the patient withdrew this consent (now, with the reason, by the actor).

    A withdrawn consent can no longer be used by a treatment (H-095). A consent already used
    by a treatment is not withdrawn: that treatment happened under it.
    """
    require_role(actor, CLINICAL_ROLES, "record a consent withdrawal")
    why = _reason(reason, "reason", "give the reason for the withdrawal")
    now = db.now()
    with db.transaction() as session:
        # The patient row lock that record_treatment takes too: a treatment being recorded on
        # this consent and its withdrawal run one after the other (PostgreSQL FOR UPDATE;
        # SQLite serialises writers), so neither sees the other half-done.
        session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
        row, used = _load_consent(session, actor, patient_id, consent_id)
        if row.withdrawn_at is not None:
            raise Conflict("this consent was already withdrawn", field="consent_id")
        if used is not None:
            raise Conflict(
                f"this consent was used for treatment {used}, which happened under it; "
                "it cannot be withdrawn afterwards",
                field="consent_id",
            )
        row.withdrawn_at = now
        row.withdrawn_reason = why
        row.withdrawn_by_id = actor.user_id
        session.flush()
        audit.record(session, actor, "consent.withdraw", "consent", row.id, patient_id=patient_id)
        return _view(session, row, None)


def consent_copy(db: Database, actor: Actor, patient_id: int, consent_id: int) -> ConsentDocument:
    """The signed consent with its exact text, for the patient's PDF copy (audited)."""
    require_role(actor, CLINICAL_ROLES, "print a consent")
    with db.transaction() as session:
        row, used = _load_consent(session, actor, patient_id, consent_id)
        patient = load_patient(session, actor, patient_id)
        version = consent_rules.load_consent_versions().get(row.version)
        if version is None or version.sha256 != row.text_sha256:
            raise Conflict(
                f"the text of consent version {row.version} is not available unchanged",
                field="consent_id",
            )
        witness = session.get(User, row.witnessed_by_id) if row.witnessed_by_id else None
        view = _view(session, row, used)
        audit.record(session, actor, "consent.copy", "consent", row.id, patient_id=patient_id)
        return ConsentDocument(
            consent_id=row.id,
            version=row.version,
            text_sha256=row.text_sha256,
            text=version.text,
            patient_name=f"{patient.family_name}, {patient.given_name}",
            date_of_birth=patient.date_of_birth,
            mrn=patient.mrn,
            signed_at=row.signed_at,
            signed_name=row.signed_name,
            name_mismatch_reason=row.name_mismatch_reason,
            recorded_by="unknown" if witness is None else witness.full_name,
            withdrawn_at=view.withdrawn_at,
            withdrawn_reason=view.withdrawn_reason,
            withdrawn_by=view.withdrawn_by,
            clinic_tz=str(clinic_zone(session, actor)),
            printed_at=db.now(),
        )
