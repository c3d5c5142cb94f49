"""FHIR R4 export: every resource validates, numbers are right, and a round trip is lossless.

Round trip: export the seeded patient, import the Bundle into an empty clinic, export again.
The two exports must be equal resource by resource once local ids are replaced by their
position (``Patient#0``, ``Procedure#0``, ...) in ``id``, ``fullUrl`` and every
``reference``. Nothing else is masked: times (authored, performed, onset, recorded, signed)
are carried over exactly, so no timestamp needs to be ignored.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from fhir_seed import Seeded
from sqlalchemy import select

from glabella.clinic import instruments
from glabella.demo.params import DemoParameters
from glabella.interop.fhir import codes, export
from glabella.interop.fhir.validate import validate_resource
from glabella.services import fhir as fhir_service
from glabella.services.context import Database
from glabella.services.demo_load import generate_clinic
from glabella.services.users import create_user
from glabella.store.models import AuditEvent

_REF = re.compile(r"^(?:.*/)?([A-Za-z]+)/([A-Za-z0-9\-.]+)$")


def _normalise(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources with local ids replaced by ``<Type>#<ordinal>`` everywhere."""
    resources = [e["resource"] for e in bundle["entry"]]
    ids: dict[tuple[str, str], str] = {}
    counters: dict[str, int] = {}
    for r in resources:
        n = counters.get(r["resourceType"], 0)
        counters[r["resourceType"]] = n + 1
        ids[(r["resourceType"], r["id"])] = f"{r['resourceType']}#{n}"

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "reference" and isinstance(value, str) and _REF.match(value):
                    kind, local = _REF.match(value).groups()  # type: ignore[union-attr]
                    out[key] = ids[(kind, local)]
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    normalised = []
    for r in resources:
        copy = walk(r)
        copy["id"] = ids[(r["resourceType"], r["id"])]
        normalised.append(copy)
    return normalised


def test_every_instrument_is_a_valid_questionnaire_with_loinc() -> None:
    for instrument in instruments.all_instruments():
        resource = export.questionnaire(instrument)
        validate_resource(resource)
        assert len(resource["item"]) == len(instrument.items)
    phq9 = export.questionnaire(instruments.get("phq9"))
    # LOINC codes as published: panel 44249-1, item 9 44260-8 (HL7 PHQ-9 examples)
    assert phq9["code"] == [
        {
            "system": "http://loinc.org",
            "code": "44249-1",
            "display": "Patient Health Questionnaire-9",
        }
    ]
    item9 = phq9["item"][8]
    assert item9["linkId"] == "phq9_9" and item9["code"][0]["code"] == "44260-8"
    assert [o["valueCoding"]["display"] for o in item9["answerOption"]] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert [o["extension"][0]["valueDecimal"] for o in item9["answerOption"]] == [0, 1, 2, 3]
    assert "code" not in export.questionnaire(instruments.get("who5"))  # no LOINC: none invented


def test_export_validates_and_carries_scores_and_product_bound_doses(
    seeded_sqlite: Seeded,
) -> None:
    seeded = seeded_sqlite
    bundle = fhir_service.patient_everything(seeded.db, seeded.actor, seeded.patient_id)
    validate_resource(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for r in resources:
        validate_resource(r)
    kinds = [r["resourceType"] for r in resources]
    # 4 assessments -> 4 responses + 4 score observations; 1 consent; 1 procedure + 5 sites
    assert kinds.count("QuestionnaireResponse") == 4 and kinds.count("Observation") == 4
    assert kinds.count("MedicationAdministration") == 5 and kinds.count("AdverseEvent") == 1
    assert bundle["type"] == "searchset" and bundle["total"] == len(resources) == 17

    first = next(r for r in resources if r["resourceType"] == "Observation")
    # baseline PHQ-9: 2+2+1+1+1+1+1+0+0 = 9 -> "mild" (5-9), LOINC total 44261-6
    assert first["code"]["coding"][0]["code"] == "44261-6"
    assert first["valueInteger"] == 9
    assert first["interpretation"][0]["text"] == "mild"
    cgis = [r for r in resources if r["resourceType"] == "Observation"][2]
    assert cgis["code"]["coding"][0]["system"] == codes.INSTRUMENT_TOTAL_SYSTEM  # no LOINC

    admins = [r for r in resources if r["resourceType"] == "MedicationAdministration"]
    doses = {a["dosage"]["site"]["coding"][0]["code"]: a["dosage"] for a in admins}
    procerus = doses["procerus"]
    assert procerus["dose"]["value"] == 5
    assert procerus["dose"]["code"] == "onabotulinumtoxinA-unit"
    assert "onabotulinumtoxinA" in procerus["dose"]["unit"]  # a unit never without its product
    # 100 U in 2.5 mL = 40 U/mL; 5 U -> 0.125 mL, 6 U -> 0.15 mL
    assert procerus["extension"][0]["valueQuantity"]["value"] == 0.125
    assert doses["corrugator_medial_left"]["extension"][0]["valueQuantity"]["value"] == 0.15
    medication = admins[0]["contained"][0]
    assert medication["batch"] == {"lotNumber": "C1234", "expirationDate": "2027-06-30"}
    procedure = next(r for r in resources if r["resourceType"] == "Procedure")
    total = next(e for e in procedure["extension"] if e["url"] == codes.EXT_TOTAL_DOSE)
    assert total["valueQuantity"]["value"] == 29  # 5 + 6 + 6 + 6 + 6
    event = next(r for r in resources if r["resourceType"] == "AdverseEvent")
    assert event["severity"]["coding"][0]["code"] == "moderate"  # CTCAE grade 2
    assert event["outcome"]["coding"][0]["code"] == "resolved"
    assert len(list(fhir_service.export_clinic(seeded.db, seeded.actor))) == 17  # bulk
    with seeded.db.transaction() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert {"fhir.export", "fhir.export_all"} <= set(actions)


def test_round_trip_into_an_empty_clinic_is_lossless(seeded: Seeded) -> None:
    db = seeded.db
    first = fhir_service.patient_everything(db, seeded.actor, seeded.patient_id)
    other, _ = create_user(
        db, username="dr.other", full_name="Other", role="clinician", clinic="Empty Clinic"
    )
    target = other.actor("test")
    assert target.clinic_id != seeded.actor.clinic_id
    report = fhir_service.import_document(db, target, first)
    assert len(report.patients) == 1 and len(report.assessments) == 4
    assert len(report.treatments) == 1 and len(report.adverse_events) == 1
    assert report.skipped == {"Observation": 4}
    second = fhir_service.patient_everything(db, target, report.patients[0])
    for entry in second["entry"]:
        validate_resource(entry["resource"])
    assert _normalise(second) == _normalise(first)
    assert second["entry"][0]["resource"]["id"] != first["entry"][0]["resource"]["id"]


def test_bulk_export_streams_in_batches_after_its_audit_row(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, _ = create_user(db, username="admin.b", full_name="Admin", role="admin")
    generate_clinic(
        db,
        admin.actor("test"),
        DemoParameters(patients=7, seed=3, as_of=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)),
    )
    clinician, _ = create_user(db, username="dr.b", full_name="Dr B", role="clinician")
    actor = clinician.actor("test")

    def audited() -> int:
        with db.transaction() as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "fhir.export_all")
            ).all()
            return len(rows)

    whole = list(fhir_service.export_clinic(db, actor))  # one batch (7 < EXPORT_BATCH)
    monkeypatch.setattr(fhir_service, "EXPORT_BATCH", 2)
    clinic = fhir_service.export_clinic(db, actor)
    assert clinic.patients == 7
    assert audited() == 2  # written before a single resource was read
    batched = list(clinic)
    assert batched == whole  # four batches give exactly the same resources, in order
    patient_ids = [int(r["id"]) for r in batched if r["resourceType"] == "Patient"]
    assert len(patient_ids) == 7 and patient_ids == sorted(patient_ids)
    # each patient's resources follow its Patient resource
    owner = None
    for resource in batched:
        if resource["resourceType"] == "Patient":
            owner = f"Patient/{resource['id']}"
            continue
        refs = json.dumps(resource)
        assert owner is not None and f'"{owner}"' in refs, resource["resourceType"]
