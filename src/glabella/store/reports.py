"""ORM models of generated consultation reports and the evidence snapshots they used.

A report record keeps what is needed to rebuild the report exactly: the patient snapshot it
was built from, the condition, language and time, the app version, and the version (content
hash) of the evidence base. The evidence files themselves are kept once per version in
``evidence_snapshots``, so a report made before the evidence base changed can be rebuilt from
the evidence it actually used.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from glabella.store.models import Base, UTCDateTime


class EvidenceSnapshot(Base):
    """The study files of one evidence-base version (JSON object: file name -> text)."""

    __tablename__ = "evidence_snapshots"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    files_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ConsultationReportRecord(Base):
    """One generated consultation report."""

    __tablename__ = "consultation_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    condition: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(8))
    protocol_id: Mapped[str | None] = mapped_column(String(80))
    app_version: Mapped[str] = mapped_column(String(40))
    evidence_version: Mapped[str] = mapped_column(
        String(64), ForeignKey("evidence_snapshots.version")
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot_json: Mapped[str] = mapped_column(Text)
