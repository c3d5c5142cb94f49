"""The clinic's calendar: which timezone a clinic's dates are read in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from glabella.services.context import Actor
from glabella.store.models import Clinic


def clinic_zone(session: Session, actor: Actor) -> ZoneInfo:
    """The acting user's clinic timezone (UTC when the clinic is unknown)."""
    clinic = session.get(Clinic, actor.clinic_id)
    return ZoneInfo(clinic.timezone if clinic else "UTC")
