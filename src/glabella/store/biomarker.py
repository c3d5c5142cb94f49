"""ORM models of the frown biomarker: photo consent and measured photo pairs.

Images are stored only encrypted (Fernet, key outside the database, see
``glabella.services.photo_crypto``); deleting them on request clears the two image columns and
keeps the numeric measures.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from glabella.store.models import Base, UTCDateTime


class PhotoConsent(Base):
    """The patient's separate consent to clinical photographs (and, optionally, research use)."""

    __tablename__ = "photo_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    allow_research: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Migration 0019: why and by whom the withdrawal was recorded.
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class FrownPhotoPair(Base):
    """One visit's rest and maximal-frown photos (encrypted) with their measures."""

    __tablename__ = "frown_photo_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("photo_consents.id"))
    rest_inner_brow_distance: Mapped[float] = mapped_column(Float)
    rest_brow_eye_height: Mapped[float] = mapped_column(Float)
    rest_line_intensity: Mapped[float] = mapped_column(Float)
    frown_inner_brow_distance: Mapped[float] = mapped_column(Float)
    frown_brow_eye_height: Mapped[float] = mapped_column(Float)
    frown_line_intensity: Mapped[float] = mapped_column(Float)
    frown_activity_index: Mapped[float] = mapped_column(Float)
    method_version: Mapped[str] = mapped_column(String(40))
    rest_image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    frown_image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    images_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
