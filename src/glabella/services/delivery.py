"""Self-report links that reach patients: e-mail a new link, and the follow-up schedule's
own sending of each visit's questionnaire with one reminder (issue 16).

The message names the clinic and carries the link; neither the subject nor the body names an
instrument, a diagnosis or a score (the subject is read on lock screens and by others). Every
e-mail is a ``link_deliveries`` row (migration 0018), shown on the patient's page.

The schedule (:func:`send_due`): for the latest treatment of every treated patient, each
follow-up visit after baseline (weeks 2, 6, 12 of ``clinic.schedule``) that is *due* - local
today inside its window and no PHQ-9 recorded in it - gets one link (PHQ-9, whose item 9 asks
about thoughts of self-harm) e-mailed once; when the link is still unanswered
``reminder_days`` after that e-mail and the window is still open, the link is replaced by a
fresh one (the first is expired, so only one is usable) and e-mailed once more. The row is
claimed (unique treatment/visit/kind) *before* the e-mail goes out, so a second run, or a
second process, sends nothing twice; a failed e-mail, or a patient without an address, is
retried on the next run, and a claim left ``sending`` for an hour (a crash mid-send) too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from glabella.clinic import schedule
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid, NotFound
from glabella.services.followup import FOLLOWUP_INSTRUMENT
from glabella.services.links import new_link
from glabella.services.mail import MailError, SmtpConfig, send
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import PATIENT_ADMIN_ROLES, Role
from glabella.settings import Settings
from glabella.store.delivery import LinkDelivery
from glabella.store.models import Assessment, Clinic, Patient, SelfReportLink
from glabella.store.pathway import Treatment

STALE_CLAIM = dt.timedelta(hours=1)
"""A claim still ``sending`` after this long is taken to have failed and is retried."""

RETRYABLE = ("failed", "not_sent")

Sender = Callable[[SmtpConfig, str, str, str, str], str]
"""``send(config, to, subject, text, html)``; tests may wrap the real one."""


def mask_address(address: str | None) -> str:
    """``jane@example.org`` -> ``j…@example.org`` (enough to check, not to copy)."""
    if not address:
        return ""
    local, at, domain = address.partition("@")
    return f"{local[:1]}…{at}{domain}" if at else f"{address[:1]}…"


def compose(clinic: str, url: str, expires: str, *, reminder: bool = False) -> tuple[str, str, str]:
    """Subject, text and HTML of a link's e-mail (no health details anywhere)."""
    subject = f"{'Reminder: a' if reminder else 'A'} short questionnaire from {clinic}"
    lead = (
        "A reminder: the clinic is still waiting for your questionnaire."
        if reminder
        else "Your clinic asks you to fill in a short questionnaire."
    )
    text = (
        f"Hello,\n\n{lead}\n\nOpen this link to answer (it works once, until {expires}):\n"
        f"{url}\n\nIf you did not expect this message or the link does not open, please "
        f"contact {clinic}.\nIf you are in crisis, call your local emergency number now.\n"
    )
    html = (
        f"<p>Hello,</p><p>{escape(lead)}</p>"
        f'<p><a href="{escape(url)}">Open the questionnaire</a> '
        f"(it works once, until {escape(expires)}).</p>"
        f"<p>If the button does not work, copy this address into your browser:<br>"
        f"{escape(url)}</p><p>If you did not expect this message, please contact "
        f"{escape(clinic)}. If you are in crisis, call your local emergency number now.</p>"
    )
    return subject, text, html


@dataclass(frozen=True)
class DeliveryView:
    id: int
    kind: str
    visit_key: str | None
    address: str
    status: str
    error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "visit": self.visit_key,
            "address": self.address,
            "status": self.status,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
        }


def _view(row: LinkDelivery, link: SelfReportLink | None) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        kind=row.kind,
        visit_key=row.visit_key,
        address=mask_address(row.address),
        status=row.status,
        error=row.error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        answered_at=link.used_at if link else None,
    )


def _expires_text(expires_at: dt.datetime, tz: ZoneInfo) -> str:
    return expires_at.astimezone(tz).strftime("%d %B %Y, %H:%M")


def _finish(db: Database, delivery_id: int, error: str | None) -> None:
    with db.transaction() as session:
        row = session.get(LinkDelivery, delivery_id)
        assert row is not None
        row.status = "failed" if error else "sent"
        row.error = error[:300] if error else None
        row.sent_at = None if error else db.now()
        audit.record(
            session,
            None,
            f"link.email_{row.status}",
            "link_delivery",
            row.id,
            patient_id=row.patient_id,
        )


NOT_SET_UP = "e-mail is not set up (GLABELLA_SMTP_HOST); copy the link or show the QR code"
NO_ADDRESS = "the patient has no e-mail address on record; add one under Edit"


def check_can_email(db: Database, actor: Actor, patient_id: int, config: SmtpConfig | None) -> None:
    """``Invalid`` naming why a link for this patient cannot be e-mailed (checked first)."""
    require_role(actor, PATIENT_ADMIN_ROLES, "e-mail self-report links")
    if config is None:
        raise Invalid(NOT_SET_UP, field="deliver")
    with db.read() as session:
        if not load_patient(session, actor, patient_id).email:
            raise Invalid(NO_ADDRESS, field="email")


def email_link(
    db: Database,
    actor: Actor,
    link_id: int,
    url: str,
    config: SmtpConfig | None,
    *,
    sender: Sender = send,
) -> DeliveryView:
    """E-mail a link just made (its URL is known only now) to the patient's address on record.

    Raises ``Invalid`` when e-mail is not set up or the patient has no address (nothing is
    recorded); a refused e-mail is recorded as ``failed`` and returned, never raised.
    """
    require_role(actor, PATIENT_ADMIN_ROLES, "e-mail self-report links")
    if config is None:
        raise Invalid(
            "e-mail is not set up (GLABELLA_SMTP_HOST); copy the link or show the QR code"
        )
    now = db.now()
    with db.transaction() as session:
        link = session.get(SelfReportLink, link_id)
        if link is None:
            raise NotFound("no such link")
        patient = load_patient(session, actor, link.patient_id)
        if not patient.email:
            raise Invalid(NO_ADDRESS, field="email")
        clinic = session.get(Clinic, patient.clinic_id)
        tz = ZoneInfo(clinic.timezone if clinic else "UTC")
        row = LinkDelivery(
            patient_id=patient.id,
            link_id=link.id,
            kind="manual",
            channel="email",
            address=patient.email,
            status="sending",
            created_by_id=actor.user_id,
            created_at=now,
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "link.email", "link_delivery", row.id, patient_id=patient.id)
        delivery_id, address = row.id, patient.email
        message = compose(
            clinic.name if clinic else "the clinic", url, _expires_text(link.expires_at, tz)
        )
    error: str | None = None
    try:
        sender(config, address, *message)
    except MailError as exc:
        error = str(exc)
    _finish(db, delivery_id, error)
    with db.read() as session:
        row2 = session.get(LinkDelivery, delivery_id)
        assert row2 is not None
        return _view(row2, session.get(SelfReportLink, link_id))


def list_deliveries(db: Database, actor: Actor, patient_id: int) -> list[DeliveryView]:
    """A patient's e-mailed links, newest first, with when each link was answered."""
    require_role(actor, PATIENT_ADMIN_ROLES, "view self-report links")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        audit.record(session, actor, "link.delivery_list", "patient", patient_id)
        rows = session.execute(
            select(LinkDelivery, SelfReportLink)
            .outerjoin(SelfReportLink, SelfReportLink.id == LinkDelivery.link_id)
            .where(LinkDelivery.patient_id == patient_id)
            .order_by(LinkDelivery.created_at.desc(), LinkDelivery.id.desc())
        ).all()
        return [_view(d, link) for d, link in rows]


@dataclass(frozen=True)
class Undelivered:
    patient_id: int
    patient_name: str
    visit_key: str | None
    status: str
    error: str | None
    since: dt.datetime


def undelivered(db: Database, actor: Actor) -> list[Undelivered]:
    """The clinic's follow-up e-mails that did not go out (failed, no address), oldest first:
    each is a questionnaire - and its suicide item - not yet asked (hazard H-093)."""
    require_role(actor, PATIENT_ADMIN_ROLES, "view self-report links")
    with db.transaction() as session:
        rows = session.execute(
            select(LinkDelivery, Patient)
            .join(Patient, Patient.id == LinkDelivery.patient_id)
            .where(Patient.clinic_id == actor.clinic_id)
            .where(LinkDelivery.status.in_(RETRYABLE))
            .order_by(LinkDelivery.created_at, LinkDelivery.id)
        ).all()
        audit.record(session, actor, "link.undelivered", "patient", None, results=len(rows))
        return [
            Undelivered(
                p.id,
                f"{p.family_name}, {p.given_name}",
                d.visit_key,
                d.status,
                d.error,
                d.created_at,
            )
            for d, p in rows
        ]


# --- the follow-up schedule ---------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    reminders: int = 0
    failed: int = 0
    no_address: int = 0
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "reminders": self.reminders,
            "failed": self.failed,
            "no_address": self.no_address,
        }


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    kind: str
    address: str | None
    url: str | None
    message: tuple[str, str, str] | None


def _valid_hours(closes: dt.date, now: dt.datetime, tz: ZoneInfo) -> int:
    """Hours from now to the end of the window's last local day (1 to 30 days)."""
    end = dt.datetime.combine(closes + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    hours = math.ceil((end - now).total_seconds() / 3600)
    return max(24, min(24 * 30, hours))


def _schedule_actor(clinic: Clinic) -> Actor:
    return Actor(
        user_id=None,
        username="followup-schedule",
        role=Role.ADMIN,
        clinic_id=clinic.id,
        source="schedule",
    )


def _claim(
    session: Session,
    *,
    existing: LinkDelivery | None,
    patient: Patient,
    treatment: Treatment,
    visit: schedule.ScheduledVisit,
    kind: str,
    now: dt.datetime,
) -> LinkDelivery | None:
    """The row to send under, claimed ``sending``; ``None`` when it is done or in flight."""
    if existing is not None:
        stale = existing.status == "sending" and now - existing.created_at >= STALE_CLAIM
        if existing.status not in RETRYABLE and not stale:
            return None
        existing.status, existing.created_at, existing.error = "sending", now, None
        existing.address = patient.email
        return existing
    row = LinkDelivery(
        patient_id=patient.id,
        treatment_id=treatment.id,
        visit_key=visit.spec.key,
        kind=kind,
        channel="email",
        address=patient.email,
        status="sending",
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _plan(db: Database, link_url: Callable[[str], str], reminder_after: dt.timedelta) -> list[_Job]:
    """Claim every e-mail due now and make its link, in one transaction; send nothing yet."""
    now = db.now()
    jobs: list[_Job] = []
    with db.transaction() as session:
        for clinic in session.scalars(select(Clinic).order_by(Clinic.id)).all():
            tz = ZoneInfo(clinic.timezone)
            actor = _schedule_actor(clinic)
            patients = session.scalars(
                select(Patient)
                .where(Patient.clinic_id == clinic.id)
                .where(select(Treatment.id).where(Treatment.patient_id == Patient.id).exists())
                .order_by(Patient.id)
            ).all()
            for patient in patients:
                jobs.extend(
                    _plan_patient(
                        session, actor, clinic, tz, patient, now, link_url, reminder_after
                    )
                )
    return jobs


def _plan_patient(
    session: Session,
    actor: Actor,
    clinic: Clinic,
    tz: ZoneInfo,
    patient: Patient,
    now: dt.datetime,
    link_url: Callable[[str], str],
    reminder_after: dt.timedelta,
) -> list[_Job]:
    last = session.scalars(
        select(Treatment)
        .where(Treatment.patient_id == patient.id)
        .order_by(Treatment.treated_at.desc(), Treatment.id.desc())
        .limit(1)
    ).first()
    assert last is not None
    days = [
        at.astimezone(tz).date()
        for at in session.scalars(
            select(Assessment.submitted_at).where(
                Assessment.patient_id == patient.id,
                Assessment.instrument_id == FOLLOWUP_INSTRUMENT,
            )
        ).all()
    ]
    out: list[_Job] = []
    for visit in schedule.schedule_visits(last.treated_at, tz):
        if visit.spec.week == 0:
            continue
        done = {visit.spec.key} if any(visit.opens <= d <= visit.closes for d in days) else set()
        if schedule.visit_status(visit, now, tz, done) != "due":
            continue
        rows = {
            r.kind: r
            for r in session.scalars(
                select(LinkDelivery).where(
                    LinkDelivery.treatment_id == last.id,
                    LinkDelivery.visit_key == visit.spec.key,
                )
            ).all()
        }
        first = rows.get("initial")
        kind = "initial"
        if first is not None and first.status == "sent":
            link = session.get(SelfReportLink, first.link_id) if first.link_id else None
            unanswered = link is not None and link.used_at is None
            if not unanswered or first.sent_at is None or now - first.sent_at < reminder_after:
                continue
            kind = "reminder"
        row = _claim(
            session,
            existing=rows.get(kind),
            patient=patient,
            treatment=last,
            visit=visit,
            kind=kind,
            now=now,
        )
        if row is None:
            continue
        if not patient.email:
            row.status, row.error = "not_sent", "the patient has no e-mail address on record"
            out.append(_Job(row.id, kind, None, None, None))
            continue
        if kind == "reminder" and first is not None and first.link_id is not None:
            old = session.get(SelfReportLink, first.link_id)
            if old is not None and old.used_at is None and old.expires_at > now:
                old.expires_at = now  # one usable link at a time
        link, token = new_link(
            session,
            actor,
            patient.id,
            [FOLLOWUP_INSTRUMENT],
            now,
            _valid_hours(visit.closes, now, tz),
        )
        row.link_id = link.id
        audit.record(
            session,
            actor,
            "followup.email_claim",
            "link_delivery",
            row.id,
            patient_id=patient.id,
            visit=visit.spec.key,
            kind=kind,
        )
        url = link_url(token)
        message = compose(
            clinic.name, url, _expires_text(link.expires_at, tz), reminder=kind == "reminder"
        )
        out.append(_Job(row.id, kind, patient.email, url, message))
    return out


def schedule_link_url(settings: Settings) -> Callable[[str], str]:
    """Token -> URL for links made with no request behind them: ``GLABELLA_BASE_URL`` must be
    set (a guessed address, e.g. the listening 127.0.0.1, would not reach the patient)."""
    if not settings.base_url:
        raise Invalid(
            "set GLABELLA_BASE_URL to the address patients reach before sending scheduled "
            "questionnaires (e.g. https://clinic.example.org)",
            field="base_url",
        )
    base = settings.base_url.rstrip("/")
    return lambda token: f"{base}/r/{token}"


def run_schedule(db: Database, settings: Settings, *, sender: Sender = send) -> SendReport:
    """:func:`send_due` with the installation's settings (CLI and the server's own task)."""
    config = SmtpConfig.from_settings(settings)
    if config is None:
        raise Invalid(NOT_SET_UP.split(";")[0] + ": scheduled questionnaires cannot be sent")
    return send_due(
        db,
        config,
        schedule_link_url(settings),
        reminder_days=settings.followup_reminder_days,
        sender=sender,
    )


def send_due(
    db: Database,
    config: SmtpConfig,
    link_url: Callable[[str], str],
    *,
    reminder_days: int,
    sender: Sender = send,
) -> SendReport:
    """Create and e-mail every follow-up questionnaire due now, and the reminders (see above).

    ``link_url`` turns a token into the patient's URL (the configured base URL).
    """
    if reminder_days < 1:
        raise Invalid("reminders are sent at least 1 day after the first e-mail", field="days")
    report = SendReport()
    try:
        jobs = _plan(db, link_url, dt.timedelta(days=reminder_days))
    except IntegrityError:  # another process claimed the same visit meanwhile: next run
        report.messages.append("another run is sending; nothing sent by this one")
        return report
    for job in jobs:
        if job.address is None or job.message is None:
            report.no_address += 1
            continue
        error: str | None = None
        try:
            sender(config, job.address, *job.message)
        except MailError as exc:
            error = str(exc)
        _finish(db, job.delivery_id, error)
        if error:
            report.failed += 1
            report.messages.append(error)
        elif job.kind == "reminder":
            report.reminders += 1
        else:
            report.sent += 1
    return report
