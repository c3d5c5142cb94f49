"""Frown biomarker use cases: photo consent, measuring and storing a photo pair, viewing and
deleting the images. Photos are measured before anything is written: a bad photo stores nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from glabella.clinic import biomarker
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from glabella.services.links import usable_link
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.biomarker import FrownPhotoPair, PhotoConsent
from glabella.store.models import Patient, SelfReportLink, User

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


MIN_WITHDRAWAL_REASON = 5
MAX_WITHDRAWAL_REASON = 2000


def withdraw_photo_consent(db: Database, actor: Actor, patient_id: int, reason: str) -> int:
    """Record that the patient withdrew their photo consent (now, why, by the actor).

    Every photo consent in force is withdrawn (an older one must not revive); no new photo can
    be stored until consent is given again. Stored photos stay until deleted on request (a
    separate action). Returns how many consents were withdrawn.
    """
    require_role(actor, CLINICAL_ROLES, "record a photo consent withdrawal")
    why = reason.strip()
    if len(why) < MIN_WITHDRAWAL_REASON:
        raise Invalid(
            f"give the reason for the withdrawal (at least {MIN_WITHDRAWAL_REASON} characters)",
            field="reason",
        )
    if len(why) > MAX_WITHDRAWAL_REASON:
        raise Invalid(
            f"the reason is longer than {MAX_WITHDRAWAL_REASON} characters", field="reason"
        )
    now = db.now()
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(PhotoConsent).where(
                PhotoConsent.patient_id == patient_id, PhotoConsent.withdrawn_at.is_(None)
            )
        ).all()
        if not rows:
            raise Conflict("no photo consent in force to withdraw", field="form")
        for row in rows:
            row.withdrawn_at = now
            row.withdrawn_reason = why
            row.withdrawn_by_id = actor.user_id
        session.flush()
        audit.record(
            session,
            actor,
            "photo_consent.withdraw",
            "patient",
            patient_id,
            consents=[r.id for r in rows],
        )
        return len(rows)


@dataclass(frozen=True)
class PhotoWithdrawalView:
    """A withdrawn photo consent as the patient record shows it."""

    consent_id: int
    granted_at: dt.datetime
    withdrawn_at: dt.datetime
    reason: str | None
    withdrawn_by: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "consent_id": self.consent_id,
            "granted_at": self.granted_at.isoformat(),
            "withdrawn_at": self.withdrawn_at.isoformat(),
            "reason": self.reason,
            "withdrawn_by": self.withdrawn_by,
        }


def photo_consent_withdrawals(
    db: Database, actor: Actor, patient_id: int
) -> list[PhotoWithdrawalView]:
    """The patient's withdrawn photo consents, newest withdrawal first."""
    require_role(actor, CLINICAL_ROLES, "view photo consent")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.execute(
            select(PhotoConsent, User.full_name)
            .outerjoin(User, User.id == PhotoConsent.withdrawn_by_id)
            .where(PhotoConsent.patient_id == patient_id, PhotoConsent.withdrawn_at.is_not(None))
            .order_by(PhotoConsent.withdrawn_at.desc(), PhotoConsent.id.desc())
        ).all()
        return [
            PhotoWithdrawalView(c.id, c.granted_at, c.withdrawn_at, c.withdrawn_reason, name)
            for c, name in rows
            if c.withdrawn_at is not None
        ]


def submit_photos(
    db: Database, actor: Actor, patient_id: int, rest: bytes, frown: bytes, key: bytes
) -> PhotoPairView:
    """Decode and measure both photos, then store them encrypted with their measures."""
    require_role(actor, CLINICAL_ROLES, "record photos")
    pair = measure_both(rest, frown)
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        return _store_pair(session, actor, patient_id, db.now(), rest, frown, key, pair)


def photo_problems(data: bytes, field: str) -> list[str]:
    """What to fix in one photo (empty when it passes every check): no face, two faces, not
    frontal, blurred, too dark or over-exposed (``measure_photo``), or not a readable image
    (``decode_image``). Nothing is stored."""
    try:
        biomarker.measure_photo(biomarker.decode_image(data, field), field)
    except biomarker.ImageInputError as exc:
        return [_bare(exc, field)]
    except biomarker.PhotoQualityError as exc:
        return list(exc.problems)
    return []


def measure_both(rest: bytes, frown: bytes) -> biomarker.FrownMeasures:
    """Check and measure both photos; :class:`Invalid` lists what to fix in *each* failing
    photo (``problems``: one item per problem, ``field`` "rest" or "frown"), so one upload
    tells the person everything to retake."""
    measured: dict[str, biomarker.PhotoMeasures] = {}
    problems: list[dict[str, str | None]] = []
    for field, data in (("rest", rest), ("frown", frown)):
        try:
            measured[field] = biomarker.measure_photo(biomarker.decode_image(data, field), field)
        except biomarker.ImageInputError as exc:
            problems.append(
                {"code": "photo_unreadable", "field": field, "message": _bare(exc, field)}
            )
        except biomarker.PhotoQualityError as exc:
            problems.extend(
                {"code": "photo_quality", "field": field, "message": m} for m in exc.problems
            )
    if problems:
        first = str(problems[0]["field"])
        raise Invalid(
            "photos not stored: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
            field=first,
            problems=tuple(problems),
        )
    return biomarker.frown_activity_index(measured["rest"], measured["frown"])


def _bare(exc: Exception, field: str) -> str:
    return str(exc).removeprefix(f"{field}: ")


def _store_pair(
    session: Session,
    actor: Actor,
    patient_id: int,
    now: dt.datetime,
    rest: bytes,
    frown: bytes,
    key: bytes,
    pair: biomarker.FrownMeasures,
) -> PhotoPairView:
    """Store a measured pair, encrypted, under the patient's current photo consent."""
    rest_m, frown_m = pair.rest, pair.frown
    fernet = Fernet(key)
    consent = session.scalars(
        select(PhotoConsent)
        .where(PhotoConsent.patient_id == patient_id, PhotoConsent.withdrawn_at.is_(None))
        .order_by(PhotoConsent.granted_at.desc())
    ).first()
    if consent is None:
        raise Forbidden("no photo consent on record for this patient")
    row = FrownPhotoPair(
        patient_id=patient_id,
        taken_at=now,
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
    audit.record(session, actor, "photos.record", "frown_photo_pair", row.id, patient_id=patient_id)
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


@dataclass(frozen=True)
class PhotoConsentView:
    """The patient's current (not withdrawn) photo consent."""

    id: int
    granted_at: dt.datetime
    allow_research: bool
    given_by_patient: bool
    """True when the patient agreed on their own link page (no staff member recorded it)."""


def _current_consent(session: Session, patient_id: int) -> PhotoConsent | None:
    return session.scalars(
        select(PhotoConsent)
        .where(PhotoConsent.patient_id == patient_id, PhotoConsent.withdrawn_at.is_(None))
        .order_by(PhotoConsent.granted_at.desc(), PhotoConsent.id.desc())
    ).first()


def photo_consent_status(db: Database, actor: Actor, patient_id: int) -> PhotoConsentView | None:
    """The patient's current photo consent, or None when photos may not be taken."""
    require_role(actor, CLINICAL_ROLES, "view photo consent")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        row = _current_consent(session, patient_id)
        if row is None:
            return None
        return PhotoConsentView(
            row.id, row.granted_at, row.allow_research, row.recorded_by_id is None
        )


@dataclass(frozen=True)
class FrownRow:
    """One stored pair as the patient page shows it (measures only; images by link)."""

    id: int
    taken_at: dt.datetime
    index: float | None
    """None would mean "measurement failed": it must never be shown or plotted as 0."""
    rest: tuple[float, float, float]
    """Inner-brow distance, brow-to-eye height (IOD units) and line intensity at rest."""
    frown: tuple[float, float, float]
    images_stored: bool
    images_deleted_at: dt.datetime | None
    taken_by_patient: bool
    method_version: str


def frown_history(db: Database, actor: Actor, patient_id: int) -> list[FrownRow]:
    """The patient's measured pairs with their components, oldest first (audited read)."""
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
            FrownRow(
                id=r.id,
                taken_at=r.taken_at,
                index=r.frown_activity_index,
                rest=(r.rest_inner_brow_distance, r.rest_brow_eye_height, r.rest_line_intensity),
                frown=(
                    r.frown_inner_brow_distance,
                    r.frown_brow_eye_height,
                    r.frown_line_intensity,
                ),
                images_stored=r.rest_image is not None,
                images_deleted_at=r.images_deleted_at,
                taken_by_patient=r.recorded_by_id is None,
                method_version=r.method_version,
            )
            for r in rows
        ]


# --- the patient's own link page -------------------------------------------------------------


@dataclass(frozen=True)
class LinkPhotoState:
    """What the patient's link page may show: whether photo consent is on record and whether
    this link already delivered its pair (no patient details, no measures)."""

    consented: bool
    received: bool


def _link_patient_actor(session: Session, link: SelfReportLink, source: str | None) -> Actor:
    patient = session.get(Patient, link.patient_id)
    assert patient is not None
    return Actor(
        user_id=None,
        username="patient-link",
        role="patient",
        clinic_id=patient.clinic_id,
        source=source,
    )


def _link_received(session: Session, link: SelfReportLink) -> bool:
    """A pair the patient sent (no staff member) since this link was issued: one per link."""
    found = session.scalars(
        select(FrownPhotoPair.id).where(
            FrownPhotoPair.patient_id == link.patient_id,
            FrownPhotoPair.recorded_by_id.is_(None),
            FrownPhotoPair.taken_at >= link.created_at,
        )
    ).first()
    return found is not None


def link_photo_state(db: Database, token: str) -> LinkPhotoState:
    """The photo section's state on the patient's page (``NotFound``/``Gone`` for a bad link)."""
    with db.transaction() as session:
        link = usable_link(session, token, db.now())
        return LinkPhotoState(
            consented=_current_consent(session, link.patient_id) is not None,
            received=_link_received(session, link),
        )


def grant_photo_consent_by_link(
    db: Database, token: str, *, confirmed: bool, source: str | None = None
) -> int:
    """The patient's own agreement to clinical photographs, given on their link page (clinical
    use only; research use is recorded by the clinic). Audited as the patient link."""
    if not confirmed:
        raise Invalid("tick the box to agree to the photographs first", field="confirmed")
    with db.transaction() as session:
        link = usable_link(session, token, db.now())
        actor = _link_patient_actor(session, link, source)
        row = PhotoConsent(
            patient_id=link.patient_id,
            granted_at=db.now(),
            allow_research=False,
            recorded_by_id=None,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "photo_consent.grant",
            "patient",
            link.patient_id,
            research=False,
            link_id=link.id,
        )
        return row.id


def submit_photos_by_link(
    db: Database, token: str, rest: bytes, frown: bytes, key: bytes, source: str | None = None
) -> int:
    """The patient's own pair from their link page: checked and measured first (nothing stored
    on failure), photo consent required, one pair per link. Returns the pair's id only: the
    patient is not shown measures."""
    with db.transaction() as session:
        link = usable_link(session, token, db.now())
        if _current_consent(session, link.patient_id) is None:
            raise Forbidden("please agree to the photographs first")
        if _link_received(session, link):
            raise Gone("your photos for this link were already received; thank you")
    pair = measure_both(rest, frown)
    with db.transaction() as session:
        now = db.now()
        link = usable_link(session, token, now)
        if _link_received(session, link):
            raise Gone("your photos for this link were already received; thank you")
        actor = _link_patient_actor(session, link, source)
        return _store_pair(session, actor, link.patient_id, now, rest, frown, key, pair).id
