"""Informed consent: the versioned text is signed and timestamped, one consent per treatment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from glabella.clinic import consent as consent_rules
from glabella.services import audit
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.pathway import ConsentRecord, Treatment


@dataclass(frozen=True)
class ConsentView:
    id: int
    patient_id: int
    version: str
    text_sha256: str
    signed_at: dt.datetime
    signed_name: str
    used_by_treatment: int | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "version": self.version,
            "text_sha256": self.text_sha256,
            "signed_at": self.signed_at.isoformat(),
            "signed_name": self.signed_name,
            "used_by_treatment": self.used_by_treatment,
        }


def current_text(db: Database) -> consent_rules.ConsentVersion:
    """The consent version in force today."""
    return consent_rules.current_version(db.now().date())


def sign_consent(
    db: Database, actor: Actor, patient_id: int, version: str, signed_name: str, confirmed: bool
) -> ConsentView:
    """Record the patient's signature on the version they were shown (witnessed by the actor)."""
    require_role(actor, CLINICAL_ROLES, "record consent")
    name = signed_name.strip()
    if not confirmed:
        raise Invalid(
            "the patient must confirm they have read and understood the text", field="confirmed"
        )
    if len(name) < 2:
        raise Invalid("type the patient's full name as their signature", field="signed_name")
    now = db.now()
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        versions = consent_rules.load_consent_versions()
        chosen = versions.get(version)
        today = now.astimezone(clinic_zone(session, actor)).date()
        if chosen is None or not chosen.in_force_on(today):
            raise Invalid(
                f"consent version {version!r} is not the one in force; reload the page",
                field="version",
            )
        row = ConsentRecord(
            patient_id=patient_id,
            version=chosen.version,
            text_sha256=chosen.sha256,
            signed_at=now,
            signed_name=name,
            witnessed_by_id=actor.user_id,
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
        )
        return ConsentView(
            row.id, patient_id, row.version, row.text_sha256, row.signed_at, row.signed_name, None
        )


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
        return [
            ConsentView(
                c.id, c.patient_id, c.version, c.text_sha256, c.signed_at, c.signed_name, tid
            )
            for c, tid in rows
        ]
