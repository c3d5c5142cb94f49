"""A synthetic patient for the report tests (no database needed for the pure builder)."""

from __future__ import annotations

import datetime as dt

import pytest

from glabella.clinic.chart import ScreeningReason
from glabella.evidence.studies import EvidenceBase, load_evidence
from glabella.reports.model import ConsultationReport, build_report
from glabella.reports.snapshot import (
    AssessmentPoint,
    PatientSnapshot,
    ScreeningSnapshot,
)

GENERATED = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def synthetic_patient(sex: str = "female", medications: tuple[str, ...] = ()) -> PatientSnapshot:
    """A woman with moderately severe depression (PHQ-9 17), screened, not yet treated."""
    return PatientSnapshot(
        patient_id=7,
        given_name="Ada",
        family_name="Example",
        mrn="SYN-7",
        date_of_birth=dt.date(1980, 5, 1),
        sex=sex,
        as_of=dt.date(2026, 11, 25),
        assessments=(
            AssessmentPoint("phq9", 12, "moderate", dt.date(2026, 10, 1)),
            AssessmentPoint("phq9", 17, "moderately severe", dt.date(2026, 11, 20)),
            AssessmentPoint("gad7", 9, "mild", dt.date(2026, 11, 20)),
        ),
        screening=ScreeningSnapshot(
            product_id="onabotulinumtoxinA",
            screened_on=dt.date(2026, 11, 20),
            outcome="eligible_with_precautions",
            rules_version="2026-11-25",
            reasons=(
                ScreeningReason(
                    "anticoagulant",
                    "precaution",
                    "Anticoagulant: higher risk of bruising at the injection sites.",
                    "US labels",
                    "apixaban",
                ),
            ),
            medications=medications,
        ),
    )


@pytest.fixture(scope="session")
def evidence() -> EvidenceBase:
    return load_evidence()


@pytest.fixture(scope="session")
def mdd_report(evidence: EvidenceBase) -> ConsultationReport:
    snap = synthetic_patient(medications=("sertraline 100 mg", "apixaban 5 mg"))
    return build_report(snap, evidence, condition="mdd", generated_at=GENERATED, app_version="t")


@pytest.fixture(scope="session")
def make_snapshot() -> object:
    """``make_snapshot(sex=..., medications=...)`` -> a synthetic :class:`PatientSnapshot`."""
    return synthetic_patient
