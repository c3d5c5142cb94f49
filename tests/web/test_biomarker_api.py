"""`POST /api/v1/patients/{id}/photos`: measures in the response, bad input 422 naming the
field with nothing stored, consent required, images encrypted and deletable."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clinic" / "biomarker"))
from frown_faces import astronaut, frown_warp, iod_px, jpeg

PATIENT = {
    "mrn": "FR-API",
    "given_name": "Fay",
    "family_name": "Api",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}


def _patient(api: TestClient) -> int:
    response = api.post("/api/v1/patients", json=PATIENT)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_photos_over_the_api(api: TestClient) -> None:
    pid = _patient(api)
    rest = jpeg(astronaut())
    k = 0.08 * iod_px()
    frown = jpeg(frown_warp(k, k))
    files = {"rest": ("rest.jpg", rest, "image/jpeg"), "frown": ("frown.jpg", frown, "image/jpeg")}
    refused = api.post(f"/api/v1/patients/{pid}/photos", files=files)
    assert refused.status_code == 403, refused.text
    assert "photo consent" in refused.text
    consent = api.post(f"/api/v1/patients/{pid}/photo-consent", json={"confirmed": True})
    assert consent.status_code == 201, consent.text

    bad = api.post(
        f"/api/v1/patients/{pid}/photos",
        files={
            "rest": ("rest.jpg", rest, "image/jpeg"),
            "frown": ("f.txt", b"hello", "text/plain"),
        },
    )
    assert bad.status_code == 422, bad.text
    assert "frown" in bad.text and "not a readable image" in bad.text
    assert api.get(f"/api/v1/patients/{pid}/photos").json() == []

    ok = api.post(f"/api/v1/patients/{pid}/photos", files=files)
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["frown_activity_index"] > 4.0
    assert body["measures"]["rest"]["inner_brow_distance"] > 0.3
    image = api.get(f"/api/v1/patients/{pid}/photos/{body['id']}/rest")
    assert image.status_code == 200 and image.content == rest
    assert api.delete(f"/api/v1/patients/{pid}/photos").json() == {"deleted_pairs": 1}
    [kept] = api.get(f"/api/v1/patients/{pid}/photos").json()
    assert kept["images_stored"] is False
    assert kept["frown_activity_index"] == body["frown_activity_index"]
    assert api.get(f"/api/v1/patients/{pid}/photos/{body['id']}/rest").status_code == 404
