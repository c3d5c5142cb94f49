"""Frown photos on the web (issue 18): photo consent first, capture from the phone camera
input, each photo checked with what to fix (nothing stored on failure), the measures table and
chart on the patient page, audited views, deletion on request; the patient's link page."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from glabella.services import links as link_service
from glabella.services.context import Database
from glabella.services.users import UserView
from glabella.store.biomarker import FrownPhotoPair
from glabella.store.models import AuditEvent
from glabella.web import limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clinic" / "biomarker"))
from frown_faces import astronaut, frown_warp, iod_px, jpeg

PATIENT = {
    "mrn": "FR-WEB",
    "given_name": "Fay",
    "family_name": "Web",
    "date_of_birth": "1975-02-03",
    "sex": "female",
}


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    k = 0.08 * iod_px()  # a 0.08-IOD inward and downward brow warp: FAI about 8
    face = astronaut()[150:700, 250:650]
    return {
        "rest": jpeg(astronaut()),
        "frown": jpeg(frown_warp(k, k)),
        "blank": jpeg(np.full((480, 640, 3), 128, dtype=np.uint8)),
        "two": jpeg(np.ascontiguousarray(np.concatenate([face, face], axis=1))),
    }


def _csrf(page_text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_text)
    assert found is not None
    return found.group(1)


def _pairs(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(FrownPhotoPair)) or 0)


def _audits(db: Database, action: str) -> int:
    with db.read() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def _files(rest: bytes, frown: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"rest": ("rest.jpg", rest, "image/jpeg"), "frown": ("frown.jpg", frown, "image/jpeg")}


def test_clinician_page_consent_capture_checks_table_chart_view_delete(
    api: TestClient, db: Database, photos: dict[str, bytes]
) -> None:
    pid = int(api.post("/api/v1/patients", json=PATIENT).json()["id"])
    page = api.get(f"/patients/{pid}")
    assert "Photo consent (needed before any photo)" in page.text
    assert 'capture="user"' not in page.text  # no upload before consent
    csrf = _csrf(page.text)

    refused = api.post(f"/patients/{pid}/photo-consent", data={"csrf_token": csrf})
    assert refused.status_code == 422
    assert "the patient must agree to clinical photographs" in refused.text
    done = api.post(
        f"/patients/{pid}/photo-consent",
        data={"csrf_token": csrf, "confirmed": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/patients/{pid}#frown"
    page = api.get(f"/patients/{pid}")
    assert "Photo consent recorded." in page.text
    assert 'accept="image/*" capture="user"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert "about 50 cm" in page.text and "take off glasses" in page.text

    # no face in the rest photo, two faces in the frown photo: both messages, nothing stored
    bad = api.post(
        f"/patients/{pid}/photos",
        data={"csrf_token": csrf},
        files=_files(photos["blank"], photos["two"]),
    )
    assert bad.status_code == 422
    rest_box = re.search(r'id="check-rest"[^>]*>(.*?)</div>', bad.text, re.S)
    frown_box = re.search(r'id="check-frown"[^>]*>(.*?)</div>', bad.text, re.S)
    assert rest_box is not None and "no face found" in rest_box.group(1)
    assert frown_box is not None and "2 faces found" in frown_box.group(1)
    assert _pairs(db) == 0
    not_image = api.post(
        f"/patients/{pid}/photos",
        data={"csrf_token": csrf},
        files=_files(photos["rest"], b"not a photo at all"),
    )
    assert not_image.status_code == 422 and "not a readable image" in not_image.text
    passed_box = re.search(r'id="check-rest"[^>]*>(.*?)</div>', not_image.text, re.S)
    assert passed_box is not None and "This photo passed the checks" in passed_box.group(1)
    missing = api.post(f"/patients/{pid}/photos", data={"csrf_token": csrf})
    assert missing.status_code == 422 and "no photo chosen" in missing.text
    assert _pairs(db) == 0

    ok = api.post(
        f"/patients/{pid}/photos",
        data={"csrf_token": csrf},
        files=_files(photos["rest"], photos["frown"]),
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    [stored] = api.get(f"/api/v1/patients/{pid}/photos").json()
    index = stored["frown_activity_index"]
    assert index > 4.0
    page = api.get(f"/patients/{pid}")
    assert f"frown activity index {index:.1f}" in page.text  # the notice
    table = re.search(r'<table class="frown-measures">(.*?)</table>', page.text, re.S)
    assert table is not None
    assert f"<strong>{index:.1f}</strong>" in table.group(1)
    assert "measurement failed" not in table.group(1)
    # one measured visit in each chart (the wide one and the phone one)
    for chart_id in ("frown-chart", "frown-chart-narrow"):
        svg = re.search(rf'<svg [^>]*id="{chart_id}">(.*?)</svg>', page.text, re.S)
        assert svg is not None and svg.group(1).count('class="fai-point"') == 1

    views_before = _audits(db, "photos.view")
    image = api.get(f"/patients/{pid}/photos/{stored['id']}/rest")
    assert image.status_code == 200 and image.content == photos["rest"]
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"] == "no-store"
    assert _audits(db, "photos.view") == views_before + 1

    unconfirmed = api.post(f"/patients/{pid}/photos/delete", data={"csrf_token": csrf})
    assert unconfirmed.status_code == 422 and "tick the box" in unconfirmed.text
    deleted = api.post(
        f"/patients/{pid}/photos/delete", data={"csrf_token": csrf, "confirmed": "yes"}
    )
    assert deleted.status_code == 200
    assert "Images of 1 visit deleted; the measures are kept." in deleted.text
    assert _audits(db, "photos.delete") == 1
    [kept] = api.get(f"/api/v1/patients/{pid}/photos").json()
    assert kept["images_stored"] is False and kept["frown_activity_index"] == index
    assert f"<strong>{index:.1f}</strong>" in deleted.text
    assert api.get(f"/patients/{pid}/photos/{stored['id']}/rest").status_code == 404


def test_photo_forms_need_the_csrf_token(
    api: TestClient, db: Database, photos: dict[str, bytes]
) -> None:
    pid = int(api.post("/api/v1/patients", json=PATIENT).json()["id"])
    assert api.post(f"/api/v1/patients/{pid}/photo-consent", json={"confirmed": True}).is_success
    forged = api.post(f"/patients/{pid}/photos", files=_files(photos["rest"], photos["frown"]))
    assert forged.status_code == 403 and "did not come from this site" in forged.text
    assert api.post(f"/patients/{pid}/photo-consent", data={"confirmed": "yes"}).status_code == 403
    assert api.post(f"/patients/{pid}/photos/delete", data={"confirmed": "yes"}).status_code == 403
    assert _pairs(db) == 0


def test_check_route_says_what_to_fix_at_once_and_stores_nothing(
    api: TestClient, db: Database, photos: dict[str, bytes]
) -> None:
    pid = int(api.post("/api/v1/patients", json=PATIENT).json()["id"])
    csrf = _csrf(api.get(f"/patients/{pid}").text)
    bad = api.post(
        f"/patients/{pid}/photos/check",
        data={"csrf_token": csrf, "field": "frown"},
        files={"photo": ("x.jpg", photos["blank"], "image/jpeg")},
    )
    assert bad.status_code == 200
    assert bad.json()["ok"] is False and "no face found" in bad.json()["problems"][0]
    good = api.post(
        f"/patients/{pid}/photos/check",
        data={"csrf_token": csrf, "field": "rest"},
        files={"photo": ("x.jpg", photos["rest"], "image/jpeg")},
    )
    assert good.json() == {"field": "rest", "ok": True, "problems": []}
    forged = api.post(
        f"/patients/{pid}/photos/check",
        data={"field": "rest"},
        files={"photo": ("x.jpg", photos["rest"], "image/jpeg")},
    )
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
    assert _pairs(db) == 0


def test_patient_link_page_agree_then_send_one_pair(
    api: TestClient, db: Database, clinician: UserView, photos: dict[str, bytes]
) -> None:
    pid = int(api.post("/api/v1/patients", json=PATIENT).json()["id"])
    issued = link_service.create_link(db, clinician.actor("t"), pid, ["phq9"], valid_hours=24)
    url = f"/r/{issued.token}"
    page = api.get(url)
    assert "Photos of your frown" in page.text
    assert "I agree to my clinic storing two photos" in page.text
    assert 'capture="user"' not in page.text
    early = api.post(f"{url}/photos", files=_files(photos["rest"], photos["frown"]))
    assert early.status_code == 403 and "please agree to the photographs first" in early.text
    assert api.post(f"{url}/photos/agree", data={}).status_code == 422
    agreed = api.post(f"{url}/photos/agree", data={"confirmed": "yes"})
    assert agreed.status_code == 200 and 'accept="image/*" capture="user"' in agreed.text
    bad = api.post(f"{url}/photos", files=_files(photos["rest"], photos["blank"]))
    assert bad.status_code == 422 and "no face found" in bad.text
    assert _pairs(db) == 0
    sent = api.post(f"{url}/photos", files=_files(photos["rest"], photos["frown"]))
    assert sent.status_code == 200 and "your two photos were received" in sent.text
    assert "frown activity index" not in sent.text.lower()  # the patient is shown no measures
    again = api.post(f"{url}/photos", files=_files(photos["rest"], photos["frown"]))
    assert again.status_code == 410 and "already received" in again.text
    assert _pairs(db) == 1
    with db.read() as s:
        row = s.scalars(select(FrownPhotoPair)).one()
        assert row.recorded_by_id is None
    clinic_page = api.get(f"/patients/{pid}")
    assert "patient (link)" in clinic_page.text
    assert "by the patient on their link page" in clinic_page.text
    # answers sent: the link is used up and takes no more photos
    answers = {f"phq9__phq9_{i}": "0" for i in range(1, 10)}
    assert api.post(url, data=answers).status_code == 200
    closed = api.post(f"{url}/photos", files=_files(photos["rest"], photos["frown"]))
    assert closed.status_code == 410 and "already been used" in closed.text


def test_photo_uploads_have_their_own_body_limit(api: TestClient) -> None:
    for path in ("/patients/3/photos", "/r/abc/photos", "/api/v1/patients/3/photos"):
        assert limits.limit_for(path) is limits.PHOTOS
    assert limits.limit_for("/r/abc") is limits.SMALL
    assert limits.limit_for("/patients/3/photos/delete") is limits.API
    # two 25 MiB photos fit; a larger body is refused before it is read
    assert limits.PHOTOS.max_bytes == 2 * 25 * 1024 * 1024 + 64 * 1024
    refused = api.post(
        "/patients/1/photos",
        content=b"x",
        headers={
            "content-length": str(limits.PHOTOS.max_bytes + 1),
            "content-type": "multipart/form-data; boundary=x",
        },
    )
    assert refused.status_code == 413
