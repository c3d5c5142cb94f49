"""The e-mails of self-report links (migration 0018): who was sent what link, when, how."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from glabella.store.models import Base, UTCDateTime


class LinkDelivery(Base):
    """One e-mail of a self-report link: by staff (``manual``) or the follow-up schedule
    (``initial``/``reminder`` of one visit of one treatment, unique: see migration 0018)."""

    __tablename__ = "link_deliveries"
    __table_args__ = (
        UniqueConstraint("treatment_id", "visit_key", "kind", name="uq_link_deliveries_visit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("self_report_links.id"))
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatments.id"))
    visit_key: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
