"""Shared test builders: the safe screening (form/JSON answers, and the domain record), a
registered, screened, consented or treated patient (through the services or the JSON API),
the CLI run in-process, and a settable clock.

The patient builders go through the real services or API (no rows written by hand), so a
test set up with them passes every check a clinician would meet. Keyword arguments override
any field, so a test states only what it is about (``safe_screening(pregnant="yes")``).

Import as ``from builders import ...`` (``tests/`` is on ``sys.path`` through the root
``conftest.py``, as for ``reliability_figures``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from glabella.cli import app as cli_app
from glabella.clinic.eligibility import PatientFacts, ScreeningAnswers, SuicideScreen
from glabella.services import adverse_events as ae_svc
from glabella.services import assessments as assess_svc
from glabella.services import consent as consent_svc
from glabella.services import patients as patient_svc
from glabella.services import screening as screening_svc
from glabella.services import treatments as treatment_svc
from glabella.services.context import Actor, Database
from glabella.settings import get_settings

PRODUCT = "onabotulinumtoxinA"


class Clock:
    """A settable clock for ``Database.clock``: ``db.clock = clock = Clock(start)``, then
    ``clock.now += dt.timedelta(...)`` moves the services' "now"."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


# Every safety question of the screening form answered "no" (PHQ-9 item 9 = 0): eligible.
_SAFE: dict[str, Any] = {
    "prior_bont_reaction": "no",
    "infection_or_inflammation_at_sites": "no",
    "pregnant": "no",
    "breastfeeding": "no",
    "bont_last_12_weeks": "no",
    "prior_eyelid_ptosis": "no",
    "psychotic_symptoms_current": "no",
    "psychotic_disorder_history": "no",
    "phq9_item9": "0",
}
# C-SSRS screen questions 1 and 2 (wish to be dead, suicidal thoughts): "no".
_CSSRS_NO: dict[str, Any] = {"cssrs_1": "no", "cssrs_2": "no"}

# 5 + 6 + 6 + 6 + 6 = 29 U onabotulinumtoxinA (a plain split typed by hand)
SITES_29U: dict[str, str] = {
    "procerus": "5",
    "corrugator_medial_right": "6",
    "corrugator_medial_left": "6",
    "corrugator_lateral_right": "6",
    "corrugator_lateral_left": "6",
}


# The same safe screening as the domain record the pure eligibility rules take
# (clinic.eligibility.screen), for the tests without a database; vary it with
# dataclasses.replace(CLEAR_ANSWERS, pregnant=True).
CLEAR_ANSWERS = ScreeningAnswers(
    prior_bont_reaction=False,
    allergies=(),
    infection_or_inflammation_at_sites=False,
    pregnant=False,
    breastfeeding=False,
    bont_last_12_weeks="no",
    prior_eyelid_ptosis=False,
    psychotic_symptoms_current=False,
    psychotic_disorder_history=False,
    suicide=SuicideScreen(cssrs_1=False, cssrs_2=False, phq9_item9=0),
)
# An adult woman with nothing else on record (46 on the tests' 2026-11-25).
ADULT_FACTS = PatientFacts(date_of_birth=dt.date(1980, 5, 17), sex="female")


def safe_screening(*, cssrs: bool = False, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the safe screening answers (form/JSON shape), with ``changes``.

    ``cssrs=True`` adds the C-SSRS screen questions 1-2 answered "no"; a JSON body passes
    ``phq9_item9=0`` (an integer, as the API takes it).
    """
    return {**_SAFE, **(_CSSRS_NO if cssrs else {}), **changes}


def phq9(*items: int) -> dict[str, int]:
    """PHQ-9 answers ``phq9_1`` ... in order (Kroenke et al. 2001: each item 0-3)."""
    return {f"phq9_{i}": v for i, v in enumerate(items, start=1)}


def new_patient(
    db: Database,
    actor: Actor,
    *,
    mrn: str = "B-001",
    given_name: str = "Pat",
    family_name: str = "Way",
    date_of_birth: str = "1980-05-05",
    sex: str = "female",
    **fields: object,
) -> int:
    """Register a patient through the service; the new patient's id."""
    data = patient_svc.parse_patient_input(
        {
            "mrn": mrn,
            "given_name": given_name,
            "family_name": family_name,
            "date_of_birth": date_of_birth,
            "sex": sex,
            **fields,
        }
    )
    return patient_svc.create_patient(db, actor, data).id


def patient_with_baseline(
    db: Database, actor: Actor, baseline: Sequence[int], **patient: Any
) -> int:
    """A registered patient with a baseline PHQ-9 (``baseline`` = items 1-9 in order)."""
    pid = new_patient(db, actor, **patient)
    assess_svc.submit_assessment(db, actor, pid, "phq9", phq9(*baseline))
    return pid


def screen(
    db: Database,
    actor: Actor,
    pid: int,
    answers: Mapping[str, Any] | None = None,
    *,
    product: str = PRODUCT,
    medications: tuple[str, ...] = (),
    conditions: tuple[str, ...] = (),
) -> screening_svc.ScreeningView:
    """Screen ``pid`` for ``product``: the safe answers unless ``answers`` are given."""
    parsed = screening_svc.parse_screening_answers(
        dict(answers if answers is not None else safe_screening())
    )
    return screening_svc.run_screening(
        db, actor, pid, product, parsed, medications=medications, conditions=conditions
    )


def sign_consent(
    db: Database,
    actor: Actor,
    pid: int,
    signed_name: str,
    *,
    different_name_reason: str | None = None,
) -> int:
    """Sign the consent version in force (the patient confirmed: ticked); the consent id."""
    version = consent_svc.current_text(db).version
    return consent_svc.sign_consent(
        db, actor, pid, version, signed_name, True, different_name_reason=different_name_reason
    ).id


def treatment_input(consent_id: int, **changes: Any) -> treatment_svc.TreatmentInput:
    """29 U onabotulinumtoxinA, 100 U vial in 2.5 mL, lot C1234 to 2027-06-30, ``changes``."""
    fields: dict[str, Any] = {
        "product_id": PRODUCT,
        "lot_number": "C1234",
        "lot_expiry": dt.date(2027, 6, 30),
        "vial_units": "100",
        "saline_ml": "2.5",
        "sites": dict(SITES_29U),
        "consent_id": consent_id,
    }
    return treatment_svc.TreatmentInput(**{**fields, **changes})


def treat(
    db: Database, actor: Actor, pid: int, consent_id: int, **changes: Any
) -> treatment_svc.TreatmentView:
    """Record a treatment (``treatment_input`` with ``changes``)."""
    return treatment_svc.record_treatment(db, actor, pid, treatment_input(consent_id, **changes))


def judgement(
    grade: str,
    *,
    serious: str = "no",
    seriousness: tuple[str, ...] = (),
    relatedness: str = "possible",
    action: str = "none",
    outcome: str = "recovered",
) -> ae_svc.Judgement:
    """A clinician's adverse-event judgement with every answer chosen (the form has no
    defaults, H-090; these are the test's): grade as typed, not serious unless given."""
    return ae_svc.Judgement(
        grade=grade,
        serious=serious,
        seriousness=seriousness,
        relatedness=relatedness,
        action=action,
        outcome=outcome,
    )


@dataclass(frozen=True)
class Treated:
    patient_id: int
    consent_id: int
    treatment: treatment_svc.TreatmentView


def treated_patient(
    db: Database,
    actor: Actor,
    *,
    given_name: str = "Pat",
    family_name: str = "Way",
    answers: Mapping[str, Any] | None = None,
    treatment: Mapping[str, Any] | None = None,
    **patient: Any,
) -> Treated:
    """A patient registered, screened safe, consented and treated (all at the db's clock).

    ``patient`` goes to ``new_patient``, ``answers`` to ``screen``, ``treatment`` to
    ``treatment_input``; the consent is signed with the record's own name (H-094).
    """
    pid = new_patient(db, actor, given_name=given_name, family_name=family_name, **patient)
    screen(db, actor, pid, answers)
    consent_id = sign_consent(db, actor, pid, f"{given_name} {family_name}")
    done = treat(db, actor, pid, consent_id, **dict(treatment or {}))
    return Treated(patient_id=pid, consent_id=consent_id, treatment=done)


# The same steps over the JSON API (a signed-in ``TestClient``, e.g. the ``api`` fixture).

API_PATIENT: dict[str, str] = {
    "mrn": "API-1",
    "given_name": "Nora",
    "family_name": "Api",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}


def api_patient(api: TestClient, patient: Mapping[str, object] | None = None) -> int:
    """POST a patient (``API_PATIENT`` unless given): 201 and the new id."""
    response = api.post("/api/v1/patients", json=dict(patient or API_PATIENT))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def api_screen(
    api: TestClient, pid: int, answers: Mapping[str, Any] | None = None, **extra: object
) -> dict[str, Any]:
    """POST a screening for onabotulinumtoxinA (safe answers, API shape): 201 and its body."""
    response = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={
            "product": PRODUCT,
            "answers": dict(answers or safe_screening(phq9_item9=0)),
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def api_consent(api: TestClient, pid: int, signed_name: str) -> int:
    """POST a signed consent on the current version: 201 and its id."""
    version = api.get("/api/v1/consent/current").json()["version"]
    response = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": signed_name, "confirmed": True},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def api_ready_patient(
    api: TestClient, patient: Mapping[str, object] | None = None
) -> tuple[int, int]:
    """A patient registered, screened safe and consented over the API: (id, consent id)."""
    record = dict(patient or API_PATIENT)
    pid = api_patient(api, record)
    api_screen(api, pid)
    return pid, api_consent(api, pid, f"{record['given_name']} {record['family_name']}")


def api_treatment_body(consent_id: object, **changes: object) -> dict[str, object]:
    """A treatment body: 4 + 4 = 8 U onabotulinumtoxinA, lot L1 expiring in a year."""
    return {
        "product": PRODUCT,
        "lot_number": "L1",
        "lot_expiry": (dt.date.today() + dt.timedelta(days=365)).isoformat(),
        "vial_units": "100",
        "saline_ml": "2.5",
        "sites": {"procerus": "4", "corrugator_medial_left": "4"},
        "consent_id": consent_id,
        **changes,
    }


def run_cli(database_url: str, *args: str) -> Result:
    """``glabella ARGS`` in-process on ``database_url`` (settings re-read before and after)."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, list(args), env={"GLABELLA_DATABASE_URL": database_url})
    finally:
        get_settings.cache_clear()
