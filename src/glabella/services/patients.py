"""Use cases for the patient register: add, edit, find, list."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator
from sqlalchemy import ColumnElement, bindparam, or_, select
from sqlalchemy.orm import Session

from glabella.services import audit, strict_inputs
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Forbidden, NotFound, OtherClinic
from glabella.services.roles import PATIENT_ADMIN_ROLES
from glabella.services.strict_inputs import IsoDate
from glabella.store.models import Patient

SEXES = ("female", "male", "other", "unknown")

FORBIDDEN_CHARACTERS = frozenset(
    "\x00\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""NUL and the Unicode bidirectional controls (UAX #9: LRM, RLM, LRE..RLO, LRI..PDI): a name or
MRN holding them displays as another (CVE-2021-42574, "Trojan Source"), so a record could be
shown as a different patient's."""


def like_pattern(query: str) -> str:
    """A case-insensitive substring pattern with ``%``, ``_`` and ``\\`` matched literally."""
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PatientInput(BaseModel):
    """What a user types to register or edit a patient."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    mrn: str = Field(min_length=1, max_length=64, title="MRN")
    given_name: str = Field(min_length=1, max_length=120, title="given name")
    family_name: str = Field(min_length=1, max_length=120, title="family name")
    date_of_birth: IsoDate = Field(title="date of birth")
    sex: str = Field(title="sex")
    phone: str | None = Field(default=None, max_length=40, title="phone")
    email: EmailStr | None = Field(default=None, title="email")

    @field_validator("mrn", "given_name", "family_name", "phone")
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        if value is not None:
            bad = next((c for c in value if c in FORBIDDEN_CHARACTERS or ord(c) < 32), None)
            if bad is not None:
                raise ValueError(
                    f"contains the invisible control character U+{ord(bad):04X}"
                    " (NUL, line breaks and right-to-left overrides are not allowed)"
                )
        return value

    @field_validator("sex")
    @classmethod
    def _sex(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SEXES:
            raise ValueError(f"must be one of {', '.join(SEXES)}")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise ValueError(f"is in the future ({value.isoformat()})")
        if value.year < 1900:
            raise ValueError(f"is before 1900 ({value.isoformat()})")
        return value

    @field_validator("phone", "email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def parse_patient_input(data: dict[str, object]) -> PatientInput:
    """Validate raw form/JSON data, raising ``Invalid`` that names the first bad field."""
    try:
        return PatientInput.model_validate(data)
    except ValidationError as exc:
        raise strict_inputs.invalid(exc, PatientInput) from None


@dataclass(frozen=True)
class PatientView:
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    phone: str | None
    email: str | None

    @classmethod
    def of(cls, p: Patient) -> PatientView:
        return cls(
            id=p.id,
            mrn=p.mrn,
            given_name=p.given_name,
            family_name=p.family_name,
            date_of_birth=p.date_of_birth,
            sex=p.sex,
            phone=p.phone,
            email=p.email,
        )

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "mrn": self.mrn,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "sex": self.sex,
            "phone": self.phone,
            "email": self.email,
        }


def require_role(actor: Actor, roles: frozenset[str], what: str) -> None:
    """Refuse a use case to a role that may not do it."""
    if actor.role not in roles:
        raise Forbidden(f"your role ({actor.role}) may not {what}")


def load_patient(session: Session, actor: Actor, patient_id: int) -> Patient:
    """The patient with this id in the actor's clinic (another clinic's patient is not found)."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"no patient with id {patient_id}", field="patient_id")
    if patient.clinic_id != actor.clinic_id:
        raise OtherClinic(
            f"no patient with id {patient_id}",
            field="patient_id",
            actor=actor,
            entity="patient",
            entity_id=patient_id,
        )
    return patient


def require_record_in_clinic(
    session: Session, actor: Actor, patient_id: int, entity: str, entity_id: int
) -> None:
    """A record (assessment, screening) of a patient is in the actor's clinic; otherwise it is
    "not found" under the record's own id, revealing neither the record nor its patient's id."""
    clinic_id = session.connection().execute(_PATIENT_CLINIC, {"id": patient_id}).scalar()
    if clinic_id != actor.clinic_id:
        raise OtherClinic(
            f"no {entity} with id {entity_id}",
            field=f"{entity}_id",
            actor=actor,
            entity=entity,
            entity_id=entity_id,
        )


_PATIENT_CLINIC = select(Patient.clinic_id).where(Patient.id == bindparam("id"))


def require_patient(session: Session, actor: Actor, patient_id: int) -> None:
    """Like :func:`load_patient` without loading the record: a single-column lookup for hot
    paths (a submission) that only need to know the patient is in the actor's clinic."""
    clinic_id = session.connection().execute(_PATIENT_CLINIC, {"id": patient_id}).scalar()
    if clinic_id is None:
        raise NotFound(f"no patient with id {patient_id}", field="patient_id")
    if clinic_id != actor.clinic_id:
        raise OtherClinic(
            f"no patient with id {patient_id}",
            field="patient_id",
            actor=actor,
            entity="patient",
            entity_id=patient_id,
        )


def _mrn_taken(session: Session, clinic_id: int, mrn: str, except_id: int | None = None) -> bool:
    query = select(Patient.id).where(Patient.clinic_id == clinic_id, Patient.mrn == mrn)
    if except_id is not None:
        query = query.where(Patient.id != except_id)
    return session.scalars(query).first() is not None


def create_patient(db: Database, actor: Actor, data: PatientInput) -> PatientView:
    """Register a patient; the MRN must be new in this clinic."""
    require_role(actor, PATIENT_ADMIN_ROLES, "register patients")
    with db.transaction() as session:
        if _mrn_taken(session, actor.clinic_id, data.mrn):
            raise Conflict(f"MRN {data.mrn!r} is already registered in this clinic", field="mrn")
        now = db.now()
        patient = Patient(
            clinic_id=actor.clinic_id, created_at=now, updated_at=now, **data.model_dump()
        )
        session.add(patient)
        session.flush()
        audit.record(session, actor, "patient.create", "patient", patient.id)
        return PatientView.of(patient)


def update_patient(db: Database, actor: Actor, patient_id: int, data: PatientInput) -> PatientView:
    """Edit a patient's demographics; the MRN stays unique in the clinic."""
    require_role(actor, PATIENT_ADMIN_ROLES, "edit patients")
    with db.transaction() as session:
        patient = load_patient(session, actor, patient_id)
        if _mrn_taken(session, actor.clinic_id, data.mrn, except_id=patient_id):
            raise Conflict(f"MRN {data.mrn!r} is already registered in this clinic", field="mrn")
        changed = [k for k, v in data.model_dump().items() if getattr(patient, k) != v]
        for key, value in data.model_dump().items():
            setattr(patient, key, value)
        patient.updated_at = db.now()
        audit.record(session, actor, "patient.update", "patient", patient.id, fields=changed)
        return PatientView.of(patient)


def get_patient(db: Database, actor: Actor, patient_id: int) -> PatientView:
    """One patient (the read is audited)."""
    require_role(actor, PATIENT_ADMIN_ROLES, "view patients")
    with db.transaction() as session:
        patient = load_patient(session, actor, patient_id)
        audit.record(session, actor, "patient.view", "patient", patient.id)
        return PatientView.of(patient)


def search_patients(
    db: Database, actor: Actor, query: str = "", limit: int = 100
) -> list[PatientView]:
    """Patients of the clinic whose name, MRN or date of birth (YYYY-MM-DD) match ``query``."""
    require_role(actor, PATIENT_ADMIN_ROLES, "search patients")
    query = query.strip()
    with db.transaction() as session:
        stmt = select(Patient).where(Patient.clinic_id == actor.clinic_id)
        if query:
            like = like_pattern(query)
            conditions: list[ColumnElement[bool]] = [
                Patient.mrn.ilike(like, escape="\\"),
                Patient.given_name.ilike(like, escape="\\"),
                Patient.family_name.ilike(like, escape="\\"),
            ]
            with contextlib.suppress(ValueError):
                conditions.append(Patient.date_of_birth == dt.date.fromisoformat(query))
            stmt = stmt.where(or_(*conditions))
        stmt = stmt.order_by(Patient.family_name, Patient.given_name, Patient.id).limit(limit)
        patients = [PatientView.of(p) for p in session.scalars(stmt)]
        audit.record(session, actor, "patient.search", "patient", None, results=len(patients))
        return patients
