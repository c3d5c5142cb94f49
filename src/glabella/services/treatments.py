"""The treatment record: refused unless screening, consent, interval, lot and doses all pass."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from glabella.clinic import consent as consent_rules
from glabella.clinic import protocol, schedule
from glabella.clinic.products import Dose, get_product
from glabella.services import audit
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import Role
from glabella.services.screening import decision_of, latest_screening_row
from glabella.store.pathway import ConsentRecord, Treatment, TreatmentSite

TREATMENT_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN, Role.NURSE})
SCREENING_VALID_DAYS = 30
"""A screening older than this must be repeated before treating (clinic policy)."""


@dataclass(frozen=True)
class TreatmentInput:
    product_id: str
    lot_number: str
    lot_expiry: dt.date
    vial_units: str
    saline_ml: str
    sites: dict[str, str]
    consent_id: int
    protocol_id: str | None = None
    notes: str = ""
    treated_at: dt.datetime | None = None


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

    @property
    def dose_label(self) -> str:
        return f"{self.total_units} U {self.product_id}"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "treated_at": self.treated_at.isoformat(),
            "treatment_date": self.treatment_date.isoformat(),
            "injector": self.injector_name,
            "product": self.product_id,
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
        }


def _view(row: Treatment) -> TreatmentView:
    sites = protocol.load_sites()
    return TreatmentView(
        id=row.id,
        patient_id=row.patient_id,
        treated_at=row.treated_at,
        treatment_date=row.treatment_date,
        injector_name=row.injector_name,
        product_id=row.product_id,
        unit_name=get_product(row.product_id).unit_name,
        protocol_id=row.protocol_id,
        lot_number=row.lot_number,
        lot_expiry=row.lot_expiry,
        vial_units=Decimal(row.vial_units),
        saline_ml=Decimal(row.saline_ml),
        total_units=Decimal(row.total_units),
        exceeds_label_dose=row.exceeds_label_dose,
        sites=tuple(
            SiteView(
                s.site_id,
                sites[s.site_id].label if s.site_id in sites else s.site_id,
                Decimal(s.units),
                Decimal(s.volume_ml),
            )
            for s in row.sites
        ),
        notes=row.notes,
    )


def _decimal(raw: str, field: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise Invalid(f"{field.replace('_', ' ')}: {raw!r} is not a number", field=field) from None
    if not value.is_finite():
        raise Invalid(f"{field.replace('_', ' ')} must be a finite number", field=field)
    return value


def record_treatment(
    db: Database, actor: Actor, patient_id: int, data: TreatmentInput
) -> TreatmentView:
    """Record one injection session, or refuse with every reason, storing nothing."""
    require_role(actor, TREATMENT_ROLES, "record treatments")
    try:
        product = get_product(data.product_id)
    except KeyError:
        raise Invalid(f"unknown product {data.product_id!r}", field="product") from None
    if not data.lot_number.strip():
        raise Invalid("lot number is required", field="lot_number")
    vial_units = _decimal(data.vial_units, "vial_units")
    saline_ml = _decimal(data.saline_ml, "saline_ml")
    injections = []
    for site_id, raw in sorted(data.sites.items()):
        if str(raw).strip() in ("", "0"):
            continue
        units = _decimal(raw, f"site {site_id}")
        if units <= 0:
            raise Invalid(f"units at {site_id} must be more than 0", field=site_id)
        injections.append(protocol.SiteInjection(site_id, Dose(units, product)))
    now = db.now()
    treated_at = data.treated_at or now
    if treated_at.tzinfo is None:
        raise Invalid("treatment time must include a timezone", field="treated_at")
    if treated_at > now + dt.timedelta(minutes=5):
        raise Invalid("a treatment cannot be recorded in the future", field="treated_at")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        tz = clinic_zone(session, actor)
        day = treated_at.astimezone(tz).date()
        problems: list[str] = []

        screening = latest_screening_row(session, patient_id, product.id)
        if screening is None:
            problems.append(f"no eligibility screening for {product.id}: screen the patient first")
        else:
            decision = decision_of(screening)
            if (day - screening.screened_on).days > SCREENING_VALID_DAYS:
                problems.append(
                    f"the last screening ({screening.screened_on.isoformat()}) is older than "
                    f"{SCREENING_VALID_DAYS} days: screen again"
                )
            if not decision.can_treat:
                open_items = ", ".join(
                    r.rule_id
                    for r in decision.reasons
                    if r.severity != "precaution" or r.override is None
                )
                problems.append(
                    f"screening outcome is {decision.outcome.replace('_', ' ')} ({open_items})"
                )

        consent = session.get(ConsentRecord, data.consent_id)
        if consent is None or consent.patient_id != patient_id:
            problems.append("no signed consent selected for this treatment")
        else:
            used = session.scalars(
                select(Treatment.id).where(Treatment.consent_id == consent.id)
            ).first()
            if used is not None:
                problems.append("that consent was already used for another treatment; sign again")
            check = consent_rules.can_record_treatment(
                consent.signed_at, consent.version, treated_at, tz
            )
            problems.extend(check.reasons)

        last = session.scalars(
            select(Treatment)
            .where(Treatment.patient_id == patient_id, Treatment.treated_at < treated_at)
            .order_by(Treatment.treated_at.desc())
            .limit(1)
        ).first()
        if last is not None and not schedule.retreatment_allowed(last.treated_at, treated_at, tz):
            allowed = schedule.retreatment_allowed_from(last.treated_at, tz)
            problems.append(
                f"re-treatment is allowed from {allowed.isoformat()} "
                f"(12 weeks after {last.treatment_date.isoformat()})"
            )
        try:
            plan = protocol.TreatmentPlan(
                product=product,
                treatment_date=day,
                lot=protocol.Lot(product, data.lot_number.strip(), data.lot_expiry),
                reconstitution=protocol.Reconstitution(product, vial_units, saline_ml),
                injections=tuple(injections),
            )
            validated = protocol.validate_treatment(plan)
        except protocol.TreatmentRefusedError as exc:
            problems.extend(p.message for p in exc.problems)
            validated = None
        except (TypeError, ValueError) as exc:
            problems.append(str(exc))
            validated = None
        if problems or validated is None:
            raise Invalid("treatment not recorded: " + "; ".join(problems), field="treatment")
        if data.protocol_id and data.protocol_id not in protocol.load_protocols():
            raise Invalid(f"unknown protocol {data.protocol_id!r}", field="protocol_id")
        volumes = dict(validated.volumes_ml)
        row = Treatment(
            patient_id=patient_id,
            treated_at=treated_at,
            treatment_date=day,
            injector_id=actor.user_id,
            injector_name=actor.username,
            product_id=product.id,
            protocol_id=data.protocol_id or None,
            lot_number=data.lot_number.strip(),
            lot_expiry=data.lot_expiry,
            vial_units=str(vial_units),
            saline_ml=str(saline_ml),
            total_units=str(validated.total.units),
            exceeds_label_dose=validated.exceeds_label_dose,
            screening_id=screening.id if screening else 0,
            consent_id=data.consent_id,
            notes=data.notes.strip() or None,
            created_at=now,
            sites=[
                TreatmentSite(
                    site_id=i.site_id, units=str(i.dose.units), volume_ml=str(volumes[i.site_id])
                )
                for i in injections
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
            product=product.id,
            total_units=str(validated.total.units),
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
