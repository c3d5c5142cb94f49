"""Plain records the FHIR mapping reads and writes: no ORM, no I/O.

The service layer (:mod:`glabella.services.fhir`) fills these from the store for export and
writes them back on import; the mapping (:mod:`.export`, :mod:`.parse`) only sees these.
Units of toxin are ``Decimal`` and always travel with their product id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "AdverseEventData",
    "AssessmentData",
    "ConsentData",
    "FrownMeasureData",
    "PatientChart",
    "PatientData",
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


@dataclass(frozen=True)
class AdverseEventData:
    """An adverse event with its CTCAE grade and ICH E2A seriousness criteria."""

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
    """Everything exported for one patient."""

    patient: PatientData
    assessments: tuple[AssessmentData, ...] = ()
    treatments: tuple[TreatmentData, ...] = ()
    adverse_events: tuple[AdverseEventData, ...] = ()
    consents: tuple[ConsentData, ...] = field(default=())
    frown_measures: tuple[FrownMeasureData, ...] = ()
