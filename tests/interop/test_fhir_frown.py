"""FHIR Observations of the frown biomarker and the glabellar line ratings (issue 18).

Numbers only, never images; the photo measures only where the patient's most recent photo
consent is in force (a withdrawn consent takes them out); every resource validated with the
fhir.resources R4B models, as the rest of the export.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from fhir_seed import Seeded

from glabella.interop.fhir import codes
from glabella.interop.fhir.validate import validate_resource
from glabella.services import assessments as assess_svc
from glabella.services import biomarker as bio_svc
from glabella.services import fhir as fhir_service
from glabella.store.biomarker import FrownPhotoPair, PhotoConsent

REST_IMAGE = b"REST-IMAGE-BYTES-must-never-leave"
FROWN_IMAGE = b"FROWN-IMAGE-BYTES-must-never-leave"
TAKEN = dt.datetime(2026, 6, 2, 10, 0, tzinfo=dt.UTC)
# Hand-made measures (inter-ocular distances); FAI = 100 * [ (0.50-0.45)/0.50
# + (0.40-0.34)/0.40 + (0.30-0.10)/(0.30+0.10) ] / 3 = 100 * (0.10 + 0.15 + 0.50) / 3 = 25.0
MEASURES = {
    "rest_inner_brow_distance": 0.50,
    "rest_brow_eye_height": 0.40,
    "rest_line_intensity": 0.10,
    "frown_inner_brow_distance": 0.45,
    "frown_brow_eye_height": 0.34,
    "frown_line_intensity": 0.30,
    "frown_activity_index": 25.0,
}


def _pair(seeded: Seeded, consent_id: int) -> int:
    with seeded.db.transaction() as session:
        row = FrownPhotoPair(
            patient_id=seeded.patient_id,
            taken_at=TAKEN,
            recorded_by_id=None,
            consent_id=consent_id,
            method_version="fai-1",
            rest_image=REST_IMAGE,
            frown_image=FROWN_IMAGE,
            **MEASURES,
        )
        session.add(row)
        session.flush()
        return row.id


def _withdraw(seeded: Seeded, consent_id: int) -> None:
    with seeded.db.transaction() as session:
        row = session.get(PhotoConsent, consent_id)
        assert row is not None
        row.withdrawn_at = TAKEN + dt.timedelta(days=1)


def _export(seeded: Seeded) -> list[dict[str, object]]:
    bundle = fhir_service.patient_everything(seeded.db, seeded.actor, seeded.patient_id)
    validate_resource(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for r in resources:
        validate_resource(r)
    return resources


def _no_images(resources: list[dict[str, object]]) -> None:
    text = json.dumps(resources)
    for image in (REST_IMAGE, FROWN_IMAGE):
        assert image.decode() not in text
        assert base64.b64encode(image).decode() not in text
    assert "rest_image" not in text and "frown_image" not in text


@pytest.fixture
def measured(seeded_sqlite: Seeded) -> tuple[Seeded, int, int]:
    seeded = seeded_sqlite
    consent = bio_svc.grant_photo_consent(
        seeded.db, seeded.actor, seeded.patient_id, allow_research=False, confirmed=True
    )
    pair = _pair(seeded, consent)
    assess_svc.submit_assessment(
        seeded.db, seeded.actor, seeded.patient_id, "gls", {"gls_1": 1, "gls_2": 3}
    )
    return seeded, consent, pair


def test_frown_index_and_measures_are_observations_with_project_codes(
    measured: tuple[Seeded, int, int],
) -> None:
    seeded, _, pair = measured
    resources = _export(seeded)
    _no_images(resources)
    [frown] = [r for r in resources if r["id"] == f"frown-{pair}"]
    assert frown["resourceType"] == "Observation"
    assert frown["code"]["coding"][0] == {  # type: ignore[index]
        "system": codes.FROWN_SYSTEM,
        "code": "frown-activity-index",
        "display": frown["code"]["text"],  # type: ignore[index]
    }
    assert codes.FROWN_SYSTEM == "https://glabella.example/fhir/CodeSystem/frown-biomarker"
    assert frown["valueQuantity"]["value"] == 25.0  # type: ignore[index]
    assert frown["effectiveDateTime"] == "2026-06-02T10:00:00+00:00"
    assert frown["method"]["coding"][0]["code"] == "fai-1"  # type: ignore[index]
    components = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
        for c in frown["component"]  # type: ignore[attr-defined]
    }
    assert components == {
        "inner-brow-distance-rest": 0.50,
        "inner-brow-distance-frown": 0.45,
        "brow-eye-height-rest": 0.40,
        "brow-eye-height-frown": 0.34,
        "glabellar-line-intensity-rest": 0.10,
        "glabellar-line-intensity-frown": 0.30,
    }
    for c in frown["component"]:  # type: ignore[attr-defined]
        assert c["valueQuantity"]["system"] == codes.UCUM and c["valueQuantity"]["code"] == "1"


def test_gls_ratings_are_two_observations(measured: tuple[Seeded, int, int]) -> None:
    seeded, _, _ = measured
    resources = _export(seeded)
    ratings = {
        r["code"]["coding"][0]["code"]: r  # type: ignore[index]
        for r in resources
        if r["resourceType"] == "Observation" and "-gls-" in str(r["id"])
    }
    assert set(ratings) == {"glabellar-line-severity-rest", "glabellar-line-severity-frown"}
    rest, frown = ratings["glabellar-line-severity-rest"], ratings["glabellar-line-severity-frown"]
    assert (rest["valueInteger"], frown["valueInteger"]) == (1, 3)
    assert frown["interpretation"][0]["text"] == "Severe"  # type: ignore[index]
    assert rest["derivedFrom"] == frown["derivedFrom"]
    assert str(rest["derivedFrom"][0]["reference"]).startswith(  # type: ignore[index]
        "QuestionnaireResponse/"
    )


def test_withdrawn_photo_consent_takes_the_measures_out(measured: tuple[Seeded, int, int]) -> None:
    seeded, consent, pair = measured
    _withdraw(seeded, consent)
    resources = _export(seeded)
    assert not [r for r in resources if r["id"] == f"frown-{pair}"]
    # the clinician's ratings are an ordinary assessment, not photo data: still exported
    assert len([r for r in resources if "-gls-" in str(r["id"])]) == 2
    assert len(list(fhir_service.export_clinic(seeded.db, seeded.actor))) == len(resources)


def test_a_newer_withdrawn_consent_is_not_revived_by_an_older_one(
    measured: tuple[Seeded, int, int],
) -> None:
    seeded, _, pair = measured
    newer = bio_svc.grant_photo_consent(
        seeded.db, seeded.actor, seeded.patient_id, allow_research=True, confirmed=True
    )
    assert [r for r in _export(seeded) if r["id"] == f"frown-{pair}"]
    _withdraw(seeded, newer)
    assert not [r for r in _export(seeded) if r["id"] == f"frown-{pair}"]


def test_bulk_export_carries_the_measures_numbers_only(measured: tuple[Seeded, int, int]) -> None:
    seeded, _, pair = measured
    resources = list(fhir_service.export_clinic(seeded.db, seeded.actor))
    _no_images(resources)
    assert [r["id"] for r in resources if r["id"] == f"frown-{pair}"] == [f"frown-{pair}"]


def test_import_of_an_export_with_frown_observations_skips_them(
    measured: tuple[Seeded, int, int],
) -> None:
    seeded, _, _ = measured
    from glabella.services.users import create_user

    bundle = fhir_service.patient_everything(seeded.db, seeded.actor, seeded.patient_id)
    other, _ = create_user(
        seeded.db, username="dr.other", full_name="Other", role="clinician", clinic="Other"
    )
    report = fhir_service.import_document(seeded.db, other.actor("test"), bundle)
    # 5 score observations (4 seeded + gls), 2 gls ratings, 1 frown index: none imported as such
    assert report.skipped == {"Observation": 8}
    assert len(report.assessments) == 5  # the gls response is re-scored like any other
