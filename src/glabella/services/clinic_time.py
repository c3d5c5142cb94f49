"""The clinic's calendar: which timezone a clinic's dates are read in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from glabella.services.context import Actor, Database
from glabella.store.models import Clinic


def clinic_zone(session: Session, actor: Actor) -> ZoneInfo:
    """The acting user's clinic timezone (UTC when the clinic is unknown)."""
    clinic = session.get(Clinic, actor.clinic_id)
    return ZoneInfo(clinic.timezone if clinic else "UTC")


def clinic_now(db: Database, actor: Actor) -> dt.datetime:
    """The current time in the acting user's clinic timezone (the treatment form's default)."""
    with db.read() as session:
        tz = clinic_zone(session, actor)
    return db.now().astimezone(tz)
