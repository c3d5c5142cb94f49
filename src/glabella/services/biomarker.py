"""Frown biomarker use cases: photo consent, measuring and storing a photo pair, viewing and
deleting the images. Photos are measured before anything is written: a bad photo stores nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from glabella.clinic import biomarker
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Invalid, NotFound
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.biomarker import FrownPhotoPair, PhotoConsent

METHOD_VERSION = "fai-1"


@dataclass(frozen=True)
class PhotoPairView:
    id: int
    patient_id: int
    taken_at: dt.datetime
    measures: biomarker.FrownMeasures | None
    index: float
    images_stored: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "taken_at": self.taken_at.isoformat(),
            "frown_activity_index": self.index,
            "measures": asdict(self.measures) if self.measures else None,
            "images_stored": self.images_stored,
            "method_version": METHOD_VERSION,
        }


def grant_photo_consent(
    db: Database, actor: Actor, patient_id: int, *, allow_research: bool, confirmed: bool
) -> int:
    """Record the patient's separate photo consent; returns its id."""
    require_role(actor, CLINICAL_ROLES, "record photo consent")
    if not confirmed:
        raise Invalid("the patient must agree to clinical photographs", field="confirmed")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        row = PhotoConsent(
            patient_id=patient_id,
            granted_at=db.now(),
            allow_research=allow_research,
            recorded_by_id=actor.user_id,
        )
        session.add(row)
        session.flush()
        audit.record(
            session, actor, "photo_consent.grant", "patient", patient_id, research=allow_research
        )
        return row.id


def submit_photos(
    db: Database, actor: Actor, patient_id: int, rest: bytes, frown: bytes, key: bytes
) -> PhotoPairView:
    """Decode and measure both photos, then store them encrypted with their measures."""
    require_role(actor, CLINICAL_ROLES, "record photos")
    try:
        rest_m = biomarker.measure_photo(biomarker.decode_image(rest, "rest"), "rest")
        frown_m = biomarker.measure_photo(biomarker.decode_image(frown, "frown"), "frown")
    except (biomarker.ImageInputError, biomarker.PhotoQualityError) as exc:
        raise Invalid(str(exc), field=exc.field) from None
    pair = biomarker.frown_activity_index(rest_m, frown_m)
    fernet = Fernet(key)
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        consent = session.scalars(
            select(PhotoConsent)
            .where(PhotoConsent.patient_id == patient_id, PhotoConsent.withdrawn_at.is_(None))
            .order_by(PhotoConsent.granted_at.desc())
        ).first()
        if consent is None:
            raise Forbidden("no photo consent on record for this patient")
        row = FrownPhotoPair(
            patient_id=patient_id,
            taken_at=db.now(),
            recorded_by_id=actor.user_id,
            consent_id=consent.id,
            rest_inner_brow_distance=rest_m.inner_brow_distance,
            rest_brow_eye_height=rest_m.brow_eye_height,
            rest_line_intensity=rest_m.line_intensity,
            frown_inner_brow_distance=frown_m.inner_brow_distance,
            frown_brow_eye_height=frown_m.brow_eye_height,
            frown_line_intensity=frown_m.line_intensity,
            frown_activity_index=pair.index,
            method_version=METHOD_VERSION,
            rest_image=fernet.encrypt(rest),
            frown_image=fernet.encrypt(frown),
        )
        session.add(row)
        session.flush()
        audit.record(
            session, actor, "photos.record", "frown_photo_pair", row.id, patient_id=patient_id
        )
        return PhotoPairView(row.id, patient_id, row.taken_at, pair, pair.index, True)


def view_photo(
    db: Database, actor: Actor, patient_id: int, pair_id: int, which: str, key: bytes
) -> bytes:
    """The decrypted image (``which`` is "rest" or "frown"); every view is audited."""
    require_role(actor, CLINICAL_ROLES, "view photos")
    if which not in ("rest", "frown"):
        raise Invalid("which must be 'rest' or 'frown'", field="which")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        row = session.get(FrownPhotoPair, pair_id)
        if row is None or row.patient_id != patient_id:
            raise NotFound("no such photo pair for this patient")
        blob = row.rest_image if which == "rest" else row.frown_image
        if blob is None:
            raise NotFound("the images of this pair were deleted on request")
        audit.record(session, actor, "photos.view", "frown_photo_pair", pair_id, image=which)
        try:
            return Fernet(key).decrypt(blob)
        except InvalidToken:
            raise Invalid("the photo key does not match this database", field="photo_key") from None


def delete_images(db: Database, actor: Actor, patient_id: int, pair_id: int | None = None) -> int:
    """Delete the images (one pair, or all of the patient's), keeping the measures."""
    require_role(actor, CLINICAL_ROLES, "delete photos")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        query = select(FrownPhotoPair).where(
            FrownPhotoPair.patient_id == patient_id, FrownPhotoPair.images_deleted_at.is_(None)
        )
        if pair_id is not None:
            query = query.where(FrownPhotoPair.id == pair_id)
        rows = list(session.scalars(query))
        now = db.now()
        for row in rows:
            row.rest_image = None
            row.frown_image = None
            row.images_deleted_at = now
        audit.record(session, actor, "photos.delete", "patient", patient_id, pairs=len(rows))
        return len(rows)


def list_pairs(db: Database, actor: Actor, patient_id: int) -> list[PhotoPairView]:
    """The patient's measured pairs, oldest first (measures only, no images)."""
    require_role(actor, CLINICAL_ROLES, "view photo measures")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(FrownPhotoPair)
            .where(FrownPhotoPair.patient_id == patient_id)
            .order_by(FrownPhotoPair.taken_at, FrownPhotoPair.id)
        ).all()
        audit.record(session, actor, "photos.list", "patient", patient_id)
        return [
            PhotoPairView(
                r.id, patient_id, r.taken_at, None, r.frown_activity_index, r.rest_image is not None
            )
            for r in rows
        ]
