"""The patient's data as the report sees it: a frozen, JSON-round-trippable snapshot.

The service layer reads the patient's chart (:func:`glabella.services.chart.load_chart`) and
:func:`snapshot_of` turns it into a :class:`PatientSnapshot`; the pure report builder
(:mod:`glabella.reports.model`) never touches the database. The snapshot is stored with every
generated report so that the report can be rebuilt exactly from it later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from glabella.clinic.chart import PatientChart, ScreeningReason

__all__ = [
    "AssessmentPoint",
    "PatientSnapshot",
    "ScreeningSnapshot",
    "SiteSnapshot",
    "TreatmentSnapshot",
    "VisitSnapshot",
    "snapshot_of",
]


def _d(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value))


def _od(value: Any) -> dt.date | None:
    return None if value is None else _d(value)


@dataclass(frozen=True)
class AssessmentPoint:
    """One scored questionnaire: instrument, total, band label, clinic-local date."""

    instrument_id: str
    total: int
    band: str
    submitted_on: dt.date

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "instrument_id": self.instrument_id,
            "total": self.total,
            "band": self.band,
            "submitted_on": self.submitted_on.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AssessmentPoint:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["instrument_id"]), int(d["total"]), str(d["band"]), _d(d["submitted_on"]))


def _reason_dict(r: ScreeningReason) -> dict[str, Any]:
    """A reason for the stored snapshot (the time of an override is not kept)."""
    return {
        "rule_id": r.rule_id,
        "severity": r.severity,
        "message": r.message,
        "source": r.source,
        "detail": r.detail,
        "overridden_by": r.overridden_by,
        "override_reason": r.override_reason,
        "reassess": r.reassess,
    }


def _reason_of(d: Mapping[str, Any]) -> ScreeningReason:
    """Inverse of :func:`_reason_dict`."""
    return ScreeningReason(
        rule_id=str(d["rule_id"]),
        severity=str(d["severity"]),
        message=str(d["message"]),
        source=str(d["source"]),
        detail=str(d.get("detail") or ""),
        overridden_by=d.get("overridden_by"),
        override_reason=d.get("override_reason"),
        reassess=str(d.get("reassess") or ""),
    )


@dataclass(frozen=True)
class ScreeningSnapshot:
    """The latest eligibility screening: decision, reasons, and the medicines and conditions."""

    product_id: str
    screened_on: dt.date
    outcome: str
    rules_version: str
    reasons: tuple[ScreeningReason, ...]
    medications: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "product_id": self.product_id,
            "screened_on": self.screened_on.isoformat(),
            "outcome": self.outcome,
            "rules_version": self.rules_version,
            "reasons": [_reason_dict(r) for r in self.reasons],
            "medications": list(self.medications),
            "conditions": list(self.conditions),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScreeningSnapshot:
        """Inverse of :meth:`to_dict`."""
        return cls(
            product_id=str(d["product_id"]),
            screened_on=_d(d["screened_on"]),
            outcome=str(d["outcome"]),
            rules_version=str(d["rules_version"]),
            reasons=tuple(_reason_of(r) for r in d["reasons"]),
            medications=tuple(d.get("medications") or ()),
            conditions=tuple(d.get("conditions") or ()),
        )


@dataclass(frozen=True)
class SiteSnapshot:
    """Units given at one site (a decimal string, in the treatment's product units)."""

    site_id: str
    units: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"site_id": self.site_id, "units": self.units}


@dataclass(frozen=True)
class TreatmentSnapshot:
    """One recorded injection session."""

    treatment_date: dt.date
    product_id: str
    total_units: str
    protocol_id: str | None
    sites: tuple[SiteSnapshot, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "treatment_date": self.treatment_date.isoformat(),
            "product_id": self.product_id,
            "total_units": self.total_units,
            "protocol_id": self.protocol_id,
            "sites": [s.to_dict() for s in self.sites],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TreatmentSnapshot:
        """Inverse of :meth:`to_dict`."""
        return cls(
            treatment_date=_d(d["treatment_date"]),
            product_id=str(d["product_id"]),
            total_units=str(d["total_units"]),
            protocol_id=d.get("protocol_id"),
            sites=tuple(SiteSnapshot(str(s["site_id"]), str(s["units"])) for s in d["sites"]),
        )


@dataclass(frozen=True)
class VisitSnapshot:
    """A follow-up visit on the clinic calendar with its status."""

    key: str
    target: dt.date
    opens: dt.date
    closes: dt.date
    status: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "key": self.key,
            "target": self.target.isoformat(),
            "opens": self.opens.isoformat(),
            "closes": self.closes.isoformat(),
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VisitSnapshot:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(d["key"]), _d(d["target"]), _d(d["opens"]), _d(d["closes"]), str(d["status"])
        )


@dataclass(frozen=True)
class PatientSnapshot:
    """Everything the report needs to know about one patient, as of one clinic-local day."""

    patient_id: int
    given_name: str
    family_name: str
    mrn: str
    date_of_birth: dt.date
    sex: str
    as_of: dt.date
    assessments: tuple[AssessmentPoint, ...] = ()
    screening: ScreeningSnapshot | None = None
    treatments: tuple[TreatmentSnapshot, ...] = ()
    visits: tuple[VisitSnapshot, ...] = ()
    retreatment_from: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (stored with each report record)."""
        return {
            "patient_id": self.patient_id,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "mrn": self.mrn,
            "date_of_birth": self.date_of_birth.isoformat(),
            "sex": self.sex,
            "as_of": self.as_of.isoformat(),
            "assessments": [a.to_dict() for a in self.assessments],
            "screening": self.screening.to_dict() if self.screening else None,
            "treatments": [t.to_dict() for t in self.treatments],
            "visits": [v.to_dict() for v in self.visits],
            "retreatment_from": self.retreatment_from.isoformat()
            if self.retreatment_from
            else None,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PatientSnapshot:
        """Inverse of :meth:`to_dict`."""
        return cls(
            patient_id=int(d["patient_id"]),
            given_name=str(d["given_name"]),
            family_name=str(d["family_name"]),
            mrn=str(d["mrn"]),
            date_of_birth=_d(d["date_of_birth"]),
            sex=str(d["sex"]),
            as_of=_d(d["as_of"]),
            assessments=tuple(AssessmentPoint.from_dict(a) for a in d.get("assessments") or ()),
            screening=ScreeningSnapshot.from_dict(d["screening"]) if d.get("screening") else None,
            treatments=tuple(TreatmentSnapshot.from_dict(t) for t in d.get("treatments") or ()),
            visits=tuple(VisitSnapshot.from_dict(v) for v in d.get("visits") or ()),
            retreatment_from=_od(d.get("retreatment_from")),
        )


def snapshot_of(
    chart: PatientChart,
    *,
    as_of: dt.datetime,
    tz: ZoneInfo,
    visits: tuple[VisitSnapshot, ...] = (),
    retreatment_from: dt.date | None = None,
) -> PatientSnapshot:
    """The report's view of a chart at ``as_of``: dates on the clinic calendar (``tz``), the
    latest screening only, and the follow-up ``visits`` computed by the caller."""
    p = chart.patient
    scr = chart.latest_screening
    return PatientSnapshot(
        patient_id=p.id,
        given_name=p.given_name,
        family_name=p.family_name,
        mrn=p.mrn,
        date_of_birth=p.date_of_birth,
        sex=p.sex,
        as_of=as_of.astimezone(tz).date(),
        assessments=tuple(
            AssessmentPoint(a.instrument_id, a.total, a.band, a.submitted_at.astimezone(tz).date())
            for a in chart.assessments
        ),
        screening=None
        if scr is None
        else ScreeningSnapshot(
            product_id=scr.product_id,
            screened_on=scr.screened_on,
            outcome=scr.outcome,
            rules_version=scr.rules_version,
            # the report does not show when an override was made; the stored snapshot keeps
            # only what the report reads (and round-trips exactly)
            reasons=tuple(dataclasses.replace(r, overridden_at=None) for r in scr.reasons),
            medications=scr.medications,
            conditions=scr.conditions,
        ),
        treatments=tuple(
            TreatmentSnapshot(
                treatment_date=t.treatment_date or t.treated_at.astimezone(tz).date(),
                product_id=t.product_id,
                total_units=str(t.total_units),
                protocol_id=t.protocol_id,
                sites=tuple(SiteSnapshot(s.site_id, str(s.units)) for s in t.sites),
            )
            for t in chart.treatments
        ),
        visits=visits,
        retreatment_from=retreatment_from,
    )
