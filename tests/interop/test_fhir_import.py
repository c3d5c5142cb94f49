"""Import of a QuestionnaireResponse from another system: mapped, scored, alerts raised.

The foreign response uses the LOINC questionnaire conventions (linkId = the item's LOINC code
with a leading slash, answers coded with LOINC answer codes and their displays) and names the
patient by MRN, as another system would.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from fhir_seed import Seeded
from sqlalchemy import func, select

from glabella.clinic import instruments
from glabella.services import consent as consent_svc
from glabella.services import fhir as fhir_service
from glabella.services import treatments as treatment_svc
from glabella.services.errors import Conflict, Invalid, NotFound
from glabella.services.users import create_user
from glabella.store.models import Alert, Assessment
from glabella.store.pathway import AdverseEventRecord, ConsentRecord, Treatment

LABELS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]


def foreign_phq9(values: list[int], mrn: str = "FH-001") -> dict[str, Any]:
    items = instruments.get("phq9").items[:9]
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "http://loinc.org/q/44249-1",
        "subject": {"identifier": {"system": "urn:oid:2.999", "value": mrn}},
        "authored": "2026-07-20T09:00:00+01:00",
        "item": [
            {
                "linkId": f"/{item.loinc}",
                "answer": [{"valueCoding": {"system": "http://loinc.org", "display": LABELS[v]}}],
            }
            for item, v in zip(items, values, strict=True)
        ]
        + [{"linkId": "/44261-6", "answer": [{"valueInteger": sum(values)}]}],
    }


def _count(seeded: Seeded, model: type) -> int:
    with seeded.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_foreign_response_is_scored_and_item9_raises_the_suicide_alert(
    seeded_sqlite: Seeded,
) -> None:
    seeded = seeded_sqlite
    # 1+1+1+1+1+1+1+1+1 = 9 -> "mild"; item 9 = 1 ("Several days") > 0 -> urgent alert
    submission = fhir_service.import_questionnaire_response(
        seeded.db, seeded.actor, foreign_phq9([1] * 9)
    )
    saved = submission.assessment
    assert (saved.instrument_id, saved.total, saved.band) == ("phq9", 9, "mild")
    assert saved.source == "imported" and saved.patient_id == seeded.patient_id
    assert saved.submitted_at.isoformat() == "2026-07-20T08:00:00+00:00"  # +01:00 -> UTC
    assert [a.kind for a in submission.alerts] == ["suicide_risk"]
    with seeded.db.transaction() as session:
        alert = session.scalars(select(Alert).where(Alert.assessment_id == saved.id)).one()
        assert (alert.level, alert.status) == ("urgent", "open")


BAD_RESPONSES: list[tuple[Any, str, str]] = [
    # (change, where the error must point, what it must say)
    (
        lambda r: r["item"][3]["answer"][0]["valueCoding"].update(display="Often"),
        "item[3]",
        "Often",
    ),
    (lambda r: r["item"][2].update(linkId="/12345-6"), "item[2].linkId", "not an item"),
    (lambda r: r.update(status="in-progress"), "status", "completed"),
    (lambda r: r.update(questionnaire="http://other.example/q"), "questionnaire", "known"),
    (lambda r: r["item"].pop(8), "phq9_9", "not answered"),
    (lambda r: r.update(authored="2026-07-20T09:00:00"), "authored", "DateTime"),
    (lambda r: r["item"][0].update(linkId=7), "item[0].linkId", "valid string"),
    (lambda r: r.update(authored="2999-01-01T00:00:00Z"), "authored", "future"),
]


def test_bad_responses_are_refused_naming_where_and_store_nothing(seeded_sqlite: Seeded) -> None:
    seeded = seeded_sqlite
    before = (_count(seeded, Assessment), _count(seeded, Alert))
    for change, where, what in BAD_RESPONSES:
        resource = foreign_phq9([0] * 8 + [2])  # item 9 = 2 would raise an alert if stored
        change(resource)
        with pytest.raises(Invalid) as err:
            fhir_service.import_questionnaire_response(seeded.db, seeded.actor, resource)
        assert where in (err.value.field or "") + err.value.message, (where, err.value)
        assert what in err.value.message, (what, err.value)
    assert (_count(seeded, Assessment), _count(seeded, Alert)) == before


def test_import_into_another_clinic(seeded_sqlite: Seeded) -> None:
    """Clinic isolation, all-or-nothing bundles, product-bound units, no screening by import."""
    seeded = seeded_sqlite
    other, _ = create_user(
        seeded.db, username="dr.far", full_name="Far", role="clinician", clinic="Far Clinic"
    )
    actor = other.actor("test")
    # 1. a response about a patient of another clinic is not found (by MRN or by id)
    with pytest.raises(NotFound):
        fhir_service.import_questionnaire_response(seeded.db, actor, foreign_phq9([0] * 9))
    by_id = foreign_phq9([0] * 9)
    by_id["subject"] = {"reference": f"Patient/{seeded.patient_id}"}
    with pytest.raises(NotFound):
        fhir_service.import_questionnaire_response(seeded.db, actor, by_id)

    # 2. a site dose coded in another product's units is refused and nothing is stored
    bundle = fhir_service.patient_everything(seeded.db, seeded.actor, seeded.patient_id)
    broken = copy.deepcopy(bundle)
    admin = next(
        e for e in broken["entry"] if e["resource"]["resourceType"] == "MedicationAdministration"
    )
    admin["resource"]["dosage"]["dose"]["code"] = "abobotulinumtoxinA-unit"
    before = _count(seeded, Assessment)
    with pytest.raises(Invalid) as err:
        fhir_service.import_document(seeded.db, actor, broken)
    assert "dosage.dose" in (err.value.field or "")
    assert "never read as units of another" in err.value.message
    assert _count(seeded, Assessment) == before

    # 3. the placeholder screening of an imported treatment (outcome "imported") permits nothing
    report = fhir_service.import_document(seeded.db, actor, bundle)
    assert _count(seeded, Assessment) == before + 4
    pid = report.patients[0]
    version = consent_svc.current_text(seeded.db).version
    consent_id = consent_svc.sign_consent(seeded.db, actor, pid, version, "Fern Hale", True).id
    data = treatment_svc.TreatmentInput(
        product_id="onabotulinumtoxinA",
        lot_number="C9999",
        lot_expiry=dt.date(2099, 1, 31),
        vial_units="100",
        saline_ml="2.5",
        sites={"procerus": "4"},
        consent_id=consent_id,
    )
    with pytest.raises(Invalid) as err:
        treatment_svc.record_treatment(seeded.db, actor, pid, data)
    assert "screening outcome is imported" in err.value.message


def _chart_counts(seeded: Seeded) -> tuple[int, ...]:
    return tuple(
        _count(seeded, model)
        for model in (Assessment, Alert, ConsentRecord, Treatment, AdverseEventRecord)
    )


def test_importing_the_same_chart_again_stores_nothing_twice(seeded: Seeded) -> None:
    """A re-import must not double treatments (intervals, dose history) or responses."""
    other, _ = create_user(
        seeded.db, username="dr.far", full_name="Far", role="clinician", clinic="Far Clinic"
    )
    actor = other.actor("test")
    bundle = fhir_service.patient_everything(seeded.db, seeded.actor, seeded.patient_id)
    first = fhir_service.import_document(seeded.db, actor, bundle)
    assert len(first.assessments) == 4 and len(first.treatments) == 1
    assert first.already_stored == {}
    after_first = _chart_counts(seeded)

    again = fhir_service.import_document(seeded.db, actor, copy.deepcopy(bundle))
    assert (again.patients, again.assessments, again.consents) == ([], [], [])
    assert (again.treatments, again.adverse_events, again.alerts) == ([], [], [])
    assert again.already_stored == {
        "Patient": 1,
        "QuestionnaireResponse": 4,
        "Consent": 1,
        "Procedure": 1,
        "AdverseEvent": 1,
    }
    assert _chart_counts(seeded) == after_first

    # The chart grew at the source: one new response. Only that one is stored.
    grown = copy.deepcopy(bundle)
    response = next(
        e["resource"]
        for e in grown["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )
    newer = copy.deepcopy(response)
    newer["id"] = "new-response"
    newer["authored"] = "2026-10-01T09:00:00+00:00"
    grown["entry"].append({"resource": newer})
    third = fhir_service.import_document(seeded.db, actor, grown)
    assert len(third.assessments) == 1
    assert third.already_stored["QuestionnaireResponse"] == 4
    assert _count(seeded, Assessment) == after_first[0] + 1


def test_one_response_imported_twice_is_refused_naming_the_stored_assessment(
    seeded_sqlite: Seeded,
) -> None:
    seeded = seeded_sqlite
    stored = fhir_service.import_questionnaire_response(
        seeded.db, seeded.actor, foreign_phq9([0] * 9)
    )
    before = _count(seeded, Assessment)
    with pytest.raises(Conflict) as err:
        fhir_service.import_questionnaire_response(seeded.db, seeded.actor, foreign_phq9([0] * 9))
    assert f"assessment {stored.assessment.id}" in err.value.message
    assert _count(seeded, Assessment) == before
    # The same answers at another time are a new assessment.
    later = foreign_phq9([0] * 9)
    later["authored"] = "2026-07-27T09:00:00+01:00"
    assert fhir_service.import_questionnaire_response(seeded.db, seeded.actor, later)
    assert _count(seeded, Assessment) == before + 1
