"""The patient's data as the report sees it: a frozen, JSON-round-trippable snapshot.

The service layer reads the record and builds a :class:`PatientSnapshot`; the pure report
builder (:mod:`glabella.report.model`) never touches the database. The snapshot is stored with
every generated report so that the report can be rebuilt exactly from it later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AssessmentPoint",
    "PatientSnapshot",
    "ReasonSnapshot",
    "ScreeningSnapshot",
    "SiteSnapshot",
    "TreatmentSnapshot",
    "VisitSnapshot",
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


@dataclass(frozen=True)
class ReasonSnapshot:
    """One reason of an eligibility decision, with any recorded override."""

    rule_id: str
    severity: str
    message: str
    source: str
    detail: str = ""
    overridden_by: str | None = None
    override_reason: str | None = None
    reassess: str = ""
    """When to reassess a temporary contraindication (empty otherwise)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
            "detail": self.detail,
            "overridden_by": self.overridden_by,
            "override_reason": self.override_reason,
            "reassess": self.reassess,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReasonSnapshot:
        """Inverse of :meth:`to_dict`."""
        return cls(
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
    reasons: tuple[ReasonSnapshot, ...]
    medications: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "product_id": self.product_id,
            "screened_on": self.screened_on.isoformat(),
            "outcome": self.outcome,
            "rules_version": self.rules_version,
            "reasons": [r.to_dict() for r in self.reasons],
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
            reasons=tuple(ReasonSnapshot.from_dict(r) for r in d["reasons"]),
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
