"""The treatment record: refused unless screening, consent, interval, lot and doses all pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from glabella import labels
from glabella.clinic import protocol
from glabella.clinic.chart import TreatmentData
from glabella.clinic.products import find_product, get_product
from glabella.clinic.protocol import Problem
from glabella.clinic.treatment import (
    ConsentFact,
    ScreeningFact,
    TreatmentContext,
    TreatmentDraft,
    check_treatment,
    prepare,
)
from glabella.services import audit
from glabella.services.chart import decision_of, treatment_record
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import INJECTOR_ROLES, Role, role_label
from glabella.store.models import Patient, User
from glabella.store.pathway import ConsentRecord, Screening, Treatment, TreatmentSite

TREATMENT_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN, Role.NURSE})


@dataclass(frozen=True)
class TreatmentInput:
    """What the injector entered. ``treated_at`` None means now; without an offset it is
    read as the clinic's local time. ``product_id`` may be the INN or a trade name."""

    product_id: str
    lot_number: str
    lot_expiry: dt.date
    vial_units: object
    saline_ml: object
    sites: Mapping[str, object]
    consent_id: int
    protocol_id: str | None = None
    notes: str = ""
    treated_at: dt.datetime | None = None
    backdate_reason: str = ""
    injector_id: int | None = None
    """Who injected: an active clinician or nurse of the clinic; None means the signed-in
    user, refused when that user may not inject (an administrator, the CLI operator)."""


@dataclass(frozen=True)
class Injector:
    """A member of staff who may be recorded as the injector."""

    id: int
    full_name: str
    role: str
    role_label: str


@dataclass(frozen=True)
class SiteView:
    site_id: str
    label: str
    units: Decimal
    volume_ml: Decimal


@dataclass(frozen=True)
class TreatmentView:
    id: int
    patient_id: int
    treated_at: dt.datetime
    treatment_date: dt.date
    injector_name: str
    product_id: str
    unit_name: str
    protocol_id: str | None
    lot_number: str
    lot_expiry: dt.date
    vial_units: Decimal
    saline_ml: Decimal
    total_units: Decimal
    exceeds_label_dose: bool
    sites: tuple[SiteView, ...]
    notes: str | None
    backdate_reason: str | None = None
    injector_id: int | None = None

    @property
    def dose_label(self) -> str:
        return f"{self.total_units} U {labels.product(self.product_id)}"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "treated_at": self.treated_at.isoformat(),
            "treatment_date": self.treatment_date.isoformat(),
            "injector": self.injector_name,
            "injector_id": self.injector_id,
            "product": self.product_id,
            "product_label": labels.product(self.product_id),
            "unit_name": self.unit_name,
            "protocol": self.protocol_id,
            "lot_number": self.lot_number,
            "lot_expiry": self.lot_expiry.isoformat(),
            "vial_units": str(self.vial_units),
            "saline_ml": str(self.saline_ml),
            "total_units": str(self.total_units),
            "exceeds_label_dose": self.exceeds_label_dose,
            "sites": [
                {
                    "site": s.site_id,
                    "label": s.label,
                    "units": str(s.units),
                    "volume_ml": str(s.volume_ml),
                }
                for s in self.sites
            ],
            "notes": self.notes,
            "backdate_reason": self.backdate_reason,
        }


def _view(row: Treatment) -> TreatmentView:
    return treatment_view(treatment_record(row))


def treatment_view(t: TreatmentData) -> TreatmentView:
    """The chart's treatment as the pages and the API show it (site labels, unit name)."""
    sites = protocol.load_sites()
    assert t.treatment_date is not None  # a stored treatment always has its clinic-local day
    return TreatmentView(
        id=t.id,
        patient_id=t.patient_id,
        treated_at=t.treated_at,
        treatment_date=t.treatment_date,
        injector_name=t.injector_name,
        product_id=t.product_id,
        unit_name=get_product(t.product_id).unit_name,
        protocol_id=t.protocol_id,
        lot_number=t.lot_number,
        lot_expiry=t.lot_expiry,
        vial_units=t.vial_units,
        saline_ml=t.saline_ml,
        total_units=t.total_units,
        exceeds_label_dose=t.exceeds_label_dose,
        sites=tuple(
            SiteView(
                s.site_id,
                sites[s.site_id].label if s.site_id in sites else s.site_id,
                s.units,
                s.volume_ml,
            )
            for s in t.sites
        ),
        notes=t.notes,
        backdate_reason=t.backdate_reason,
        injector_id=t.injector_id,
    )


def _screening_facts(
    session: Session, patient_id: int, product_id: str | None
) -> list[ScreeningFact]:
    """The patient's screenings of ``product_id`` (none when the product is unknown)."""
    if product_id is None:
        return []
    rows = session.scalars(
        select(Screening)
        .where(Screening.patient_id == patient_id, Screening.product_id == product_id)
        .options(selectinload(Screening.overrides))
    ).all()
    facts = []
    for row in rows:
        decision = decision_of(row)
        facts.append(
            ScreeningFact(
                id=row.id,
                product_id=row.product_id,
                screened_at=row.screened_at,
                screened_on=row.screened_on,
                can_treat=decision.can_treat,
                outcome=decision.outcome,
                open_items=tuple(
                    r.rule_id
                    for r in decision.reasons
                    if r.severity != "precaution" or r.override is None
                ),
            )
        )
    return facts


def _consent_fact(session: Session, patient_id: int, consent_id: int) -> ConsentFact | None:
    consent = session.get(ConsentRecord, consent_id)
    if consent is None or consent.patient_id != patient_id:
        return None
    used = session.scalars(select(Treatment.id).where(Treatment.consent_id == consent.id)).first()
    return ConsentFact(consent.id, consent.signed_at, consent.version, used, consent.withdrawn_at)


def _lock_patient(session: Session, patient_id: int) -> None:
    """Hold the patient's row until commit, so that two requests recording treatments for one
    patient run the interval check one after the other (``SELECT ... FOR UPDATE`` on
    PostgreSQL; SQLite already serialises writing transactions with ``BEGIN IMMEDIATE``)."""
    session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())


def _eligible_injectors(session: Session, clinic_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.clinic_id == clinic_id,
                User.active.is_(True),
                User.role.in_(sorted(INJECTOR_ROLES)),
            )
            .order_by(User.full_name, User.id)
        ).all()
    )


def injector_choices(db: Database, actor: Actor) -> list[Injector]:
    """The staff who may be recorded as injector: active clinicians and nurses of the actor's
    clinic, by name (the treatment form's list)."""
    require_role(actor, TREATMENT_ROLES, "record treatments")
    with db.read() as session:
        return [
            Injector(u.id, u.full_name, u.role, role_label(u.role))
            for u in _eligible_injectors(session, actor.clinic_id)
        ]


def default_injector(actor: Actor, choices: list[Injector]) -> int | None:
    """The signed-in user when they may inject, else None (the form then asks)."""
    return actor.user_id if any(c.id == actor.user_id for c in choices) else None


def _injector(session: Session, actor: Actor, wanted: int | None) -> User | Problem:
    """The injector to store, or the problem with the choice (named at ``injector_id``)."""
    eligible = {u.id: u for u in _eligible_injectors(session, actor.clinic_id)}
    if wanted is None:
        if actor.user_id is not None and actor.user_id in eligible:
            return eligible[actor.user_id]
        return Problem(
            "injector_required",
            "choose who injected: you are not a clinician or nurse of this clinic, so the "
            "treatment cannot be recorded in your name",
            "injector_id",
        )
    if wanted in eligible:
        return eligible[wanted]
    user = session.get(User, wanted)
    if user is None or user.clinic_id != actor.clinic_id:
        why = "is not a member of staff of this clinic"
    elif not user.active:
        why = f"({user.full_name}) is deactivated"
    else:
        why = f"({user.full_name}) is {role_label(user.role).lower()}, not a clinician or nurse"
    return Problem("injector_ineligible", f"injector {wanted} {why}", "injector_id")


def _refused(problems: list[Problem]) -> Invalid:
    return Invalid(
        "treatment not recorded: " + "; ".join(p.message for p in problems),
        field=problems[0].field or "treatment",
        problems=tuple(p.to_dict() for p in problems),
    )


def record_treatment(
    db: Database, actor: Actor, patient_id: int, data: TreatmentInput
) -> TreatmentView:
    """Record one injection session, or refuse with every reason, storing nothing.

    The decision is :func:`glabella.clinic.treatment.check_treatment` (pure); this function
    only loads what it needs, calls it and writes.
    """
    require_role(actor, TREATMENT_ROLES, "record treatments")
    now = db.now()
    draft = TreatmentDraft(
        product_id=data.product_id,
        lot_number=data.lot_number,
        lot_expiry=data.lot_expiry,
        vial_units=data.vial_units,
        saline_ml=data.saline_ml,
        sites=data.sites,
        treated_at=data.treated_at or now,
        protocol_id=data.protocol_id or None,
        backdate_reason=data.backdate_reason,
    )
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        _lock_patient(session, patient_id)
        tz = clinic_zone(session, actor)
        product = find_product(data.product_id)
        others = session.scalars(
            select(Treatment.treated_at).where(Treatment.patient_id == patient_id)
        ).all()
        ctx = TreatmentContext(
            now=now,
            clinic_tz=tz,
            screenings=_screening_facts(session, patient_id, product.id if product else None),
            consent=_consent_fact(session, patient_id, data.consent_id),
            other_treatments=tuple(others),
        )
        injector = _injector(session, actor, data.injector_id)
        problems = check_treatment(draft, ctx)
        if isinstance(injector, Problem):
            problems.insert(0, injector)
        if problems:
            raise _refused(problems)
        assert isinstance(injector, User)  # a Problem was refused above
        ready = prepare(draft, ctx)
        volumes = dict(ready.site_volumes_ml)
        row = Treatment(
            patient_id=patient_id,
            treated_at=ready.treated_at,
            treatment_date=ready.treatment_date,
            injector_id=injector.id,
            injector_name=injector.full_name,
            product_id=ready.product.id,
            protocol_id=ready.protocol_id,
            lot_number=draft.lot_number.strip(),
            lot_expiry=draft.lot_expiry,
            vial_units=str(ready.vial_units),
            saline_ml=str(ready.saline_ml),
            total_units=str(ready.total_units),
            exceeds_label_dose=ready.exceeds_label_dose,
            screening_id=ready.screening_id,
            consent_id=data.consent_id,
            notes=data.notes.strip() or None,
            backdate_reason=draft.backdate_reason.strip() if ready.backdated else None,
            created_at=now,
            sites=[
                TreatmentSite(site_id=s, units=str(u), volume_ml=str(volumes[s]))
                for s, u in ready.site_units
            ],
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:  # the unique consent constraint under a race
            raise Conflict("that consent was already used for another treatment") from exc
        audit.record(
            session,
            actor,
            "treatment.record",
            "treatment",
            row.id,
            patient_id=patient_id,
            product=ready.product.id,
            total_units=str(ready.total_units),
            injector_id=injector.id,
        )
        if ready.backdated:
            audit.record(
                session,
                actor,
                "treatment.backdated",
                "treatment",
                row.id,
                patient_id=patient_id,
                treated_at=ready.treated_at.isoformat(),
                recorded_at=now.isoformat(),
                reason=draft.backdate_reason.strip(),
            )
        return _view(row)


def list_treatments(db: Database, actor: Actor, patient_id: int) -> list[TreatmentView]:
    """A patient's treatments, oldest first."""
    require_role(actor, TREATMENT_ROLES, "view treatments")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(Treatment)
            .where(Treatment.patient_id == patient_id)
            .options(selectinload(Treatment.sites))
            .order_by(Treatment.treated_at, Treatment.id)
        ).all()
        audit.record(session, actor, "treatment.list", "patient", patient_id)
        return [_view(r) for r in rows]
