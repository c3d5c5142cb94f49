"""The patient's chart: frozen records of everything stored about one patient. Pure: no I/O.

One read model for every reader of the record. :func:`glabella.services.chart.load_chart`
fills a :class:`PatientChart` from the store (one query per kind of record, batched for many
patients); the FHIR mapping (:mod:`glabella.interop.fhir`), the consultation report's snapshot
and the pathway use cases read these records and never the ORM rows. The FHIR import also
writes records of this shape (``id`` 0 before they are stored).

Units of toxin are ``Decimal`` and always travel with their product id (units are not
interchangeable between products).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from glabella.clinic import eligibility

__all__ = [
    "AdverseEventChange",
    "AdverseEventData",
    "AssessmentData",
    "ConsentData",
    "FrownMeasureData",
    "PatientChart",
    "PatientData",
    "ScreeningData",
    "ScreeningReason",
    "SiteData",
    "TreatmentData",
]


@dataclass(frozen=True)
class PatientData:
    """Demographics of one patient (``id`` is the local id; 0 before import)."""

    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class AssessmentData:
    """One scored questionnaire: answers by item id, in form order."""

    id: int
    patient_id: int
    instrument_id: str
    total: int
    band: str
    source: str
    submitted_at: dt.datetime
    answers: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ScreeningReason:
    """One reason of an eligibility decision, with any recorded override.

    The stored form of :class:`glabella.clinic.eligibility.Reason` (the override flattened to
    who, why and when).
    """

    rule_id: str
    severity: str
    message: str
    source: str
    detail: str = ""
    overridden_by: str | None = None
    override_reason: str | None = None
    overridden_at: dt.datetime | None = None
    reassess: str = ""
    """When to reassess a temporary contraindication (empty otherwise)."""

    @classmethod
    def of(cls, reason: eligibility.Reason) -> ScreeningReason:
        """The record of a rule engine reason."""
        o = reason.override
        return cls(
            rule_id=reason.rule_id,
            severity=reason.severity,
            message=reason.message,
            source=reason.source,
            detail=reason.detail,
            overridden_by=o.clinician if o else None,
            override_reason=o.reason if o else None,
            overridden_at=o.at if o else None,
            reassess=reason.reassess,
        )


@dataclass(frozen=True)
class ScreeningData:
    """One eligibility screening: the decision (overrides included) and what it was run on."""

    id: int
    patient_id: int
    product_id: str
    screened_on: dt.date
    screened_at: dt.datetime
    outcome: str
    rules_version: str
    reasons: tuple[ScreeningReason, ...]
    matches: tuple[str, ...] = ()
    """What each typed medicine, condition and allergy matched ("Eliquis → apixaban, B01AF02")."""
    medications: tuple[str, ...] = ()
    """The medicines as typed at the screening."""
    conditions: tuple[str, ...] = ()
    """The conditions as typed at the screening."""

    @property
    def can_treat(self) -> bool:
        return self.outcome == "eligible"

    @property
    def reassess(self) -> tuple[str, ...]:
        """When to reassess, for an outcome of not eligible now."""
        if self.outcome != "not_eligible_now":
            return ()
        return tuple(r.reassess for r in self.reasons if r.reassess)

    @property
    def outcome_text(self) -> str:
        """E.g. "Not eligible now — reassess after the pregnancy and any breastfeeding"."""
        return eligibility.outcome_text(self.outcome, self.reassess)

    @property
    def unconfirmed(self) -> tuple[ScreeningReason, ...]:
        """Entries not recognised and not yet confirmed as not relevant."""
        return tuple(
            r
            for r in self.reasons
            if eligibility.is_unrecognised(r.rule_id) and not r.overridden_by
        )

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (the API's screening)."""
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "product": self.product_id,
            "screened_on": self.screened_on.isoformat(),
            "screened_at": self.screened_at.isoformat(),
            "outcome": self.outcome,
            "outcome_text": self.outcome_text,
            "can_treat": self.can_treat,
            "reassess": list(self.reassess),
            "matches": list(self.matches),
            "unconfirmed": [
                {"rule_id": r.rule_id, "entry": r.detail, "message": r.message}
                for r in self.unconfirmed
            ],
            "rules_version": self.rules_version,
            "reasons": [
                {
                    **{k: v for k, v in dataclasses.asdict(r).items() if k != "overridden_at"},
                    "overridden_at": r.overridden_at.isoformat() if r.overridden_at else None,
                }
                for r in self.reasons
            ],
        }


@dataclass(frozen=True)
class SiteData:
    """Units of the treatment's product given at one site, and the volume drawn up."""

    site_id: str
    units: Decimal
    volume_ml: Decimal


@dataclass(frozen=True)
class TreatmentData:
    """One injection session: product, lot, reconstitution and the dose at each site."""

    id: int
    patient_id: int
    treated_at: dt.datetime
    injector_name: str
    product_id: str
    protocol_id: str | None
    lot_number: str
    lot_expiry: dt.date
    vial_units: Decimal
    saline_ml: Decimal
    total_units: Decimal
    exceeds_label_dose: bool
    consent_id: int
    sites: tuple[SiteData, ...]
    notes: str | None = None
    treatment_date: dt.date | None = None
    """The clinic-local day of ``treated_at`` as stored (None on a parsed import: the service
    sets it from the clinic's timezone)."""
    injector_id: int | None = None
    """The member of staff who injected (None on an import, or for a record made elsewhere)."""
    backdate_reason: str | None = None
    """Why the treatment was recorded after the day it was given (None when it was not)."""


@dataclass(frozen=True)
class AdverseEventChange:
    """One follow-up update: ``changes`` maps each changed field to (before, after)."""

    changed_at: dt.datetime
    changed_by: str
    changes: dict[str, tuple[object, object]]
    note: str
    shown: tuple[tuple[str, str, str], ...] = ()
    """(form label, before, after) in words, for people to read."""

    def to_dict(self) -> dict[str, object]:
        return {
            "changed_at": self.changed_at.isoformat(),
            "changed_by": self.changed_by,
            "changes": {k: {"before": b, "after": a} for k, (b, a) in self.changes.items()},
            "note": self.note,
        }


@dataclass(frozen=True)
class AdverseEventData:
    """An adverse event with its CTCAE grade, ICH E2A seriousness criteria and update history."""

    id: int
    patient_id: int
    treatment_id: int | None
    type: str
    description: str
    onset: dt.datetime
    grade: int | None
    seriousness: tuple[str, ...]
    relatedness: str | None
    action: str | None
    outcome: str | None
    reported_by: str
    recorded_at: dt.datetime
    label: str = ""
    """The type's label for display (not imported: it follows from ``type``)."""
    resolved_on: dt.date | None = None
    treatment_date: dt.date | None = None
    """The day of the treatment it followed (None when it follows none)."""
    history: tuple[AdverseEventChange, ...] = ()
    """The follow-up updates, oldest first."""

    @property
    def graded(self) -> bool:
        return self.grade is not None

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (the API's adverse event)."""
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "treatment_id": self.treatment_id,
            "treatment_date": None
            if self.treatment_date is None
            else self.treatment_date.isoformat(),
            "type": self.type,
            "description": self.description,
            "onset": self.onset.isoformat(),
            "grade": self.grade,
            "seriousness": list(self.seriousness),
            "relatedness": self.relatedness,
            "action": self.action,
            "outcome": self.outcome,
            "resolved_on": None if self.resolved_on is None else self.resolved_on.isoformat(),
            "reported_by": self.reported_by,
            "recorded_at": self.recorded_at.isoformat(),
            "history": [c.to_dict() for c in self.history],
        }


@dataclass(frozen=True)
class ConsentData:
    """A signed consent: the text version, its SHA-256 and the typed signature."""

    id: int
    patient_id: int
    version: str
    text_sha256: str
    signed_at: dt.datetime
    signed_name: str
    withdrawn: bool = False
    """The patient withdrew it (exported with status ``inactive``)."""


@dataclass(frozen=True)
class FrownMeasureData:
    """The numeric measures of one visit's rest and maximal-frown photos (never the images).

    Distances and heights are in inter-ocular distances; line intensities are dimensionless
    (see ``glabella.clinic.biomarker.measure``). Only pairs the patient's photo consent allows
    to be exported are ever put into a chart (the service decides).
    """

    id: int
    patient_id: int
    taken_at: dt.datetime
    rest_inner_brow_distance: float
    rest_brow_eye_height: float
    rest_line_intensity: float
    frown_inner_brow_distance: float
    frown_brow_eye_height: float
    frown_line_intensity: float
    frown_activity_index: float
    method_version: str


@dataclass(frozen=True)
class PatientChart:
    """Everything stored about one patient, each kind of record oldest first."""

    patient: PatientData
    assessments: tuple[AssessmentData, ...] = ()
    treatments: tuple[TreatmentData, ...] = ()
    adverse_events: tuple[AdverseEventData, ...] = ()
    consents: tuple[ConsentData, ...] = field(default=())
    frown_measures: tuple[FrownMeasureData, ...] = ()
    screenings: tuple[ScreeningData, ...] = ()

    @property
    def latest_screening(self) -> ScreeningData | None:
        """The newest screening (by time, then id), any product."""
        return self.screenings[-1] if self.screenings else None
