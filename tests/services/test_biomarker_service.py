"""Frown photos through the services on a real database: consent, encryption at rest,
audited views, deletion keeping the measures, and bad input storing nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from glabella.services import biomarker as bio_svc
from glabella.services import patients as patient_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Invalid, NotFound
from glabella.settings import Settings
from glabella.store.biomarker import FrownPhotoPair
from glabella.store.models import AuditEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clinic" / "biomarker"))
from frown_faces import astronaut, frown_warp, iod_px, jpeg

KEY = Fernet.generate_key()


@pytest.fixture(scope="module")
def photos() -> tuple[bytes, bytes]:
    k = 0.08 * iod_px()
    return jpeg(astronaut()), jpeg(frown_warp(k, k))


def _patient(db: Database, actor: Actor) -> int:
    data = patient_svc.parse_patient_input(
        {
            "mrn": "FR-1",
            "given_name": "Fay",
            "family_name": "Rown",
            "date_of_birth": "1980-05-05",
            "sex": "female",
        }
    )
    return patient_svc.create_patient(db, actor, data).id


def _count(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(FrownPhotoPair)) or 0)


def test_pair_stored_encrypted_viewed_audited_deleted_keeping_measures(
    db: Database, actor: Actor, photos: tuple[bytes, bytes]
) -> None:
    pid = _patient(db, actor)
    bio_svc.grant_photo_consent(db, actor, pid, allow_research=False, confirmed=True)
    view = bio_svc.submit_photos(db, actor, pid, photos[0], photos[1], KEY)
    assert view.index > 4.0  # the 0.08-IOD warp: about 8 (tests/clinic/biomarker)
    with db.read() as s:
        row = s.get(FrownPhotoPair, view.id)
        assert row is not None and row.rest_image is not None
        assert photos[0] not in row.rest_image  # ciphertext, not the JPEG
        # a Fernet token (base64url text), not JPEG bytes: "JFIF" itself can occur by chance in
        # random base64 text (about 1 in 16.7 million per position), so test the form instead
        assert not row.rest_image.startswith(b"\xff\xd8")  # the JPEG start-of-image marker
        assert set(row.rest_image) <= set(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
        )
    assert bio_svc.view_photo(db, actor, pid, view.id, "rest", KEY) == photos[0]
    with pytest.raises(Invalid, match="photo key"):
        bio_svc.view_photo(db, actor, pid, view.id, "rest", Fernet.generate_key())
    with db.read() as s:
        actions = list(s.scalars(select(AuditEvent.action)))
    assert actions.count("photos.view") == 1
    assert "photos.record" in actions
    assert bio_svc.delete_images(db, actor, pid) == 1
    with pytest.raises(NotFound, match="deleted"):
        bio_svc.view_photo(db, actor, pid, view.id, "frown", KEY)
    [kept] = bio_svc.list_pairs(db, actor, pid)
    assert kept.index == pytest.approx(view.index)
    assert kept.images_stored is False


def test_no_photo_consent_stores_nothing(
    db: Database, actor: Actor, photos: tuple[bytes, bytes]
) -> None:
    pid = _patient(db, actor)
    with pytest.raises(Forbidden, match="photo consent"):
        bio_svc.submit_photos(db, actor, pid, photos[0], photos[1], KEY)
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("frown", "field", "message"),
    [
        (b"not an image at all", "frown", "not a readable image"),
        (b"", "frown", "empty"),
        (None, "frown", "no face found"),
    ],
)
def test_bad_photo_is_invalid_naming_the_field_and_stores_nothing(
    db: Database,
    actor: Actor,
    photos: tuple[bytes, bytes],
    frown: bytes | None,
    field: str,
    message: str,
) -> None:
    pid = _patient(db, actor)
    bio_svc.grant_photo_consent(db, actor, pid, allow_research=False, confirmed=True)
    data = frown if frown is not None else jpeg(np.full((480, 640, 3), 120, dtype=np.uint8))
    with pytest.raises(Invalid, match=message) as info:
        bio_svc.submit_photos(db, actor, pid, photos[0], data, KEY)
    assert info.value.field == field
    assert _count(db) == 0


def test_photo_key_is_generated_outside_the_database_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key = settings.resolved_photo_key()
    Fernet(key)  # a valid Fernet key
    path = tmp_path / "photo_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert settings.resolved_photo_key() == key  # stable across calls
