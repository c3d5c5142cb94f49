"""Self-report links: random, single-use, expiring; the URL carries only the token."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from glabella.clinic import instruments
from glabella.services import audit
from glabella.services.adverse_events import store_patient_report
from glabella.services.assessments import score_answers, store_scored
from glabella.services.context import Actor, Database
from glabella.services.errors import Gone, Invalid, NotFound
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import PATIENT_ADMIN_ROLES
from glabella.store.models import Patient, SelfReportLink
from glabella.store.pathway import Treatment


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LinkView:
    id: int
    patient_id: int
    instrument_ids: tuple[str, ...]
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None

    @classmethod
    def of(cls, link: SelfReportLink) -> LinkView:
        return cls(
            id=link.id,
            patient_id=link.patient_id,
            instrument_ids=tuple(link.instrument_ids.split(",")),
            created_at=link.created_at,
            expires_at=link.expires_at,
            used_at=link.used_at,
        )

    def status(self, now: dt.datetime) -> str:
        if self.used_at is not None:
            return "completed"
        return "expired" if now >= self.expires_at else "pending"

    def to_dict(self, now: dt.datetime) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "instruments": list(self.instrument_ids),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "used_at": self.used_at.isoformat() if self.used_at else None,
            "status": self.status(now),
        }


@dataclass(frozen=True)
class IssuedLink:
    """A new link; ``token`` is shown once and never stored."""

    link: LinkView
    token: str


def create_link(
    db: Database,
    actor: Actor,
    patient_id: int,
    instrument_ids: Sequence[str],
    *,
    valid_hours: int,
) -> IssuedLink:
    """Issue a self-report link for the given instruments."""
    require_role(actor, PATIENT_ADMIN_ROLES, "send self-report links")
    ids = [i.strip().lower() for i in instrument_ids if i.strip()]
    if not ids:
        raise Invalid("choose at least one instrument", field="instruments")
    for instrument_id in ids:
        try:
            instrument = instruments.get(instrument_id)
        except instruments.InstrumentError as exc:
            raise Invalid(str(exc), field="instruments") from None
        if instrument.respondent != "patient":
            raise Invalid(
                f"{instrument.short_name} is clinician-rated and cannot be sent to a patient",
                field="instruments",
            )
    if len(set(ids)) != len(ids):
        raise Invalid("an instrument is listed twice", field="instruments")
    if not 1 <= valid_hours <= 24 * 30:
        raise Invalid("a link is valid for 1 hour to 30 days", field="valid_hours")
    now = db.now()
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        link, token = new_link(session, actor, patient_id, ids, now, valid_hours)
        return IssuedLink(link=LinkView.of(link), token=token)


def new_link(
    session: Session,
    actor: Actor,
    patient_id: int,
    instrument_ids: Sequence[str],
    now: dt.datetime,
    valid_hours: int,
) -> tuple[SelfReportLink, str]:
    """Add a link in the caller's transaction (ids already checked): the row and its token."""
    token = secrets.token_urlsafe(32)
    link = SelfReportLink(
        token_hash=_hash(token),
        patient_id=patient_id,
        instrument_ids=",".join(instrument_ids),
        created_by_id=actor.user_id,
        created_at=now,
        expires_at=now + dt.timedelta(hours=valid_hours),
    )
    session.add(link)
    session.flush()
    audit.record(session, actor, "link.create", "self_report_link", link.id, patient_id=patient_id)
    return link, token


def _usable_link(session: Session, token: str, now: dt.datetime) -> SelfReportLink:
    link = session.scalars(
        select(SelfReportLink).where(SelfReportLink.token_hash == _hash(token))
    ).first()
    if link is None:
        raise NotFound("this questionnaire link is not valid; please ask the clinic for a new one")
    if link.used_at is not None:
        raise Gone("this questionnaire link has already been used; thank you")
    if now >= link.expires_at:
        raise Gone("this questionnaire link has expired; please ask the clinic for a new one")
    return link


def usable_link(session: Session, token: str, now: dt.datetime) -> SelfReportLink:
    """The link of ``token`` while it can still be used (``NotFound``/``Gone`` otherwise);
    for other use cases on the patient's page (the frown photos, ``services.biomarker``)."""
    return _usable_link(session, token, now)


@dataclass(frozen=True)
class OpenedLink:
    """What the patient's page shows: the instruments, and whether to ask about side effects."""

    instruments: tuple[instruments.Instrument, ...]
    ask_side_effects: bool


def open_link(db: Database, token: str) -> OpenedLink:
    """The instruments a valid link asks for (no patient details are returned)."""
    with db.transaction() as session:
        link = _usable_link(session, token, db.now())
        treated = session.scalars(
            select(Treatment.id).where(Treatment.patient_id == link.patient_id).limit(1)
        ).first()
        return OpenedLink(
            instruments=tuple(instruments.get(i) for i in link.instrument_ids.split(",")),
            ask_side_effects=treated is not None,
        )


@dataclass(frozen=True)
class LinkSubmission:
    """What the patient is told: only whether to show crisis resources, never scores."""

    assessment_ids: tuple[int, ...]
    show_crisis_resources: bool


def submit_link(
    db: Database,
    token: str,
    answers: Mapping[str, Mapping[str, int]],
    source: str | None = None,
    side_effects: Sequence[tuple[str, str]] = (),
) -> LinkSubmission:
    """Score and store every instrument of the link and use the link up, all in one transaction.

    ``side_effects`` are (type, description) pairs the patient reports; each is stored as a
    patient-reported adverse event with its alert, in the same transaction.
    """
    now = db.now()
    with db.transaction() as session:
        link = _usable_link(session, token, now)
        wanted = link.instrument_ids.split(",")
        extra = sorted(set(answers) - set(wanted))
        if extra:
            raise Invalid(f"this link does not ask for {', '.join(extra)}", field=extra[0])
        scored = []
        for instrument_id in wanted:
            if instrument_id not in answers:
                raise Invalid(f"answers for {instrument_id} are missing", field=instrument_id)
            scored.append(score_answers(instrument_id, answers[instrument_id]))
        claimed = session.execute(
            update(SelfReportLink)
            .where(SelfReportLink.id == link.id, SelfReportLink.used_at.is_(None))
            .values(used_at=now)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            raise Gone("this questionnaire link has already been used; thank you")
        patient = session.get(Patient, link.patient_id)
        assert patient is not None
        actor = Actor(
            user_id=None,
            username="patient-link",
            role="patient",
            clinic_id=patient.clinic_id,
            source=source,
        )
        ids: list[int] = []
        crisis = False
        for one in scored:
            stored = store_scored(
                session,
                actor,
                patient_id=link.patient_id,
                scored=one,
                source="self_report",
                now=now,
                entered_by_id=None,
                link_id=link.id,
            )
            ids.append(stored.assessment.id)
            crisis = crisis or any(a.kind == "suicide_risk" for a in stored.alerts)
        for kind, description in side_effects:
            store_patient_report(session, actor, link.patient_id, kind, description, now)
        return LinkSubmission(assessment_ids=tuple(ids), show_crisis_resources=crisis)


def list_links(db: Database, actor: Actor, patient_id: int) -> list[LinkView]:
    """A patient's links, newest first."""
    require_role(actor, PATIENT_ADMIN_ROLES, "view self-report links")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(SelfReportLink)
            .where(SelfReportLink.patient_id == patient_id)
            .order_by(SelfReportLink.created_at.desc(), SelfReportLink.id.desc())
        ).all()
        audit.record(session, actor, "link.list", "patient", patient_id)
        return [LinkView.of(r) for r in rows]
