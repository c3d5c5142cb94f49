"""The JSON API under /api/v1: a thin adapter over the services."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from glabella.clinic import instruments, safety
from glabella.services import alerts as alert_service
from glabella.services import assessments as assessment_service
from glabella.services import dashboard as dashboard_service
from glabella.services import delivery as delivery_service
from glabella.services import idempotency
from glabella.services import links as link_service
from glabella.services import patients as patient_service
from glabella.services import users as user_service
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid, NotFound, Unauthorized
from glabella.services.group_commit import GroupCommitWriter
from glabella.services.mail import SmtpConfig
from glabella.web import idempotency as idempotency_web
from glabella.web.access import MATRIX
from glabella.web.base_url import link_url
from glabella.web.deps import (
    client_source,
    confirmed_actor,
    database,
    get_settings_from,
    group_writer,
    keep_session,
    refuse_cross_site,
    request_actor,
    session_claim,
    session_user,
    sign_in,
    sign_out,
    touch_session,
)
from glabella.web.serialize import instrument_detail, instrument_summary, score_dict

router = APIRouter(prefix="/api/v1")

DbDep = Annotated[Database, Depends(database)]
ActorDep = Annotated[Actor, Depends(request_actor)]
WriterDep = Annotated[GroupCommitWriter, Depends(group_writer)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Strict):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=256)


class PasswordBody(Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class ScoreBody(Strict):
    instrument: str
    answers: dict[str, StrictInt]


class AnswersBody(Strict):
    instrument: str
    answers: dict[str, StrictInt]


class LinkBody(Strict):
    instruments: list[str] = Field(min_length=1)
    valid_hours: int | None = None
    deliver: Literal["email"] | None = None
    """``"email"``: also e-mail the link to the patient's address on record."""


class SideEffectBody(Strict):
    type: str
    description: str = Field(default="", max_length=2000)


class SelfReportBody(Strict):
    answers: dict[str, dict[str, StrictInt]]
    side_effects: list[SideEffectBody] = Field(default_factory=list, max_length=20)


class ActionBody(Strict):
    action_text: str = Field(max_length=4000)


def _user_dict(user: user_service.UserView) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "must_change_password": user.must_change_password,
    }


@router.post("/auth/login", tags=["auth"])
def login(body: LoginBody, request: Request, db: DbDep) -> dict[str, object]:
    """Sign in; the session cookie is set on the response."""
    user = user_service.authenticate(db, body.username, body.password, client_source(request))
    sign_in(request, user)
    return _user_dict(user)


@router.post("/auth/logout", tags=["auth"])
def logout(request: Request) -> dict[str, object]:
    """Sign out. Refused (403) from another site: a cross-origin ``Origin`` or
    ``Sec-Fetch-Site``, or a body type an HTML form can send (form, text) without the session's
    CSRF token in ``X-CSRF-Token``: JSON or no body, from this site, needs no token."""
    refuse_cross_site(request)
    sign_out(request)
    return {"signed_out": True}


@router.post("/auth/password", tags=["auth"])
def change_password(body: PasswordBody, request: Request, db: DbDep) -> dict[str, object]:
    """Change one's own password (also replaces a one-time password)."""
    user = session_user(request)
    if user is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/login")
    try:
        generation = user_service.change_password(
            db, user.actor(client_source(request)), body.current_password, body.new_password
        )
    except Invalid as exc:  # the passphrase rules name "password": here it is new_password
        if exc.field != "password":
            raise
        raise Invalid(exc.message, field="new_password") from None
    keep_session(request, generation)  # other sessions of this user end here
    return {"changed": True}


@router.get("/me", tags=["auth"])
def me(actor: ActorDep, db: DbDep) -> dict[str, object]:
    user = user_service.get_user(db, actor.user_id or 0)
    if user is None:
        raise NotFound("no such user")
    return _user_dict(user)


@router.get("/instruments", tags=["instruments"])
def list_instruments(actor: ActorDep) -> list[dict[str, object]]:
    return [instrument_summary(i) for i in instruments.all_instruments()]


@router.get("/instruments/{instrument_id}", tags=["instruments"])
def get_instrument(instrument_id: str, actor: ActorDep) -> dict[str, object]:
    try:
        return instrument_detail(instruments.get(instrument_id))
    except instruments.InstrumentError as exc:
        raise NotFound(str(exc), field="instrument_id") from None


@router.post("/score", tags=["instruments"])
def score(body: ScoreBody, actor: ActorDep) -> dict[str, object]:
    """Score answers without storing anything (pure)."""
    scored = assessment_service.score_answers(body.instrument, body.answers)
    result = score_dict(scored)
    result["alerts"] = [_alert_rule_dict(a) for a in safety.check(scored)]
    return result


def _alert_rule_dict(alert: safety.Alert) -> dict[str, object]:
    return {
        "kind": alert.kind,
        "level": alert.level,
        "item": alert.item_id,
        "message": alert.message,
    }


class SearchBody(Strict):
    q: str = Field(default="", max_length=200)


@router.get("/patients", tags=["patients"])
def list_patients(request: Request, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """The clinic's patients. To search, POST /api/v1/patients/search (no names in URLs)."""
    if "q" in request.query_params:
        raise Invalid(
            "search with POST /api/v1/patients/search: names must not go into URLs",
            field="q",
        )
    return [p.to_dict() for p in patient_service.search_patients(db, actor, "")]


@router.post("/patients/search", tags=["patients"])
def search_patients(body: SearchBody, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """Patients whose name, MRN or date of birth (YYYY-MM-DD) match ``q`` (in the body)."""
    return [p.to_dict() for p in patient_service.search_patients(db, actor, body.q)]


@router.post("/patients", status_code=201, tags=["patients"], response_model=dict[str, object])
def create_patient(
    body: dict[str, object], request: Request, actor: ActorDep, db: DbDep
) -> JSONResponse:
    """Register a patient (an ``Idempotency-Key`` makes a retry safe)."""
    data = patient_service.parse_patient_input(body)
    return idempotency_web.respond(
        request,
        db,
        actor,
        body,
        201,
        lambda: patient_service.create_patient(db, actor, data).to_dict(),
    )


@router.get("/patients/{patient_id}", tags=["patients"])
def get_patient(patient_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    return patient_service.get_patient(db, actor, patient_id).to_dict()


@router.put("/patients/{patient_id}", tags=["patients"])
def update_patient(
    patient_id: int, body: dict[str, object], actor: ActorDep, db: DbDep
) -> dict[str, object]:
    data = patient_service.parse_patient_input(body)
    return patient_service.update_patient(db, actor, patient_id, data).to_dict()


@router.get("/patients/{patient_id}/assessments", tags=["assessments"])
def list_assessments(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [a.to_dict() for a in assessment_service.list_assessments(db, actor, patient_id)]


_SUBMIT_ROUTE = ("POST", "/api/v1/patients/{patient_id}/assessments")


@router.post(
    "/patients/{patient_id}/assessments",
    status_code=201,
    tags=["assessments"],
    response_model=None,
)
async def submit_assessment(
    patient_id: int, body: AnswersBody, request: Request, db: DbDep, writer: WriterDep
) -> JSONResponse:
    """A clinician enters answers: scored, stored with any alert and an audit row.

    The clinic's hot path. The access matrix let the request in on the role its signed session
    claims (``access.CONFIRMED_IN_TRANSACTION``); the claim is confirmed against the database in
    the same transaction as the writes, which the group-commit writer shares with other
    submissions (``glabella.services.group_commit``). The answer comes after the commit.

    With an ``Idempotency-Key`` header the key is looked up, and stored with the answer, in
    that same transaction: a retry is answered from it and stores nothing new
    (``glabella.services.idempotency``).
    """
    claim = session_claim(request)
    if claim is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/login")
    key = idempotency_web.key_of(request)
    scored = assessment_service.score_answers(body.instrument, body.answers)
    now = db.now()
    allowed, route = MATRIX[_SUBMIT_ROUTE], " ".join(_SUBMIT_ROUTE)
    digest = (
        ""
        if key is None
        else idempotency.request_hash(request.url.path, body.model_dump(mode="json"))
    )

    def write(session: Session) -> tuple[int, object, bool]:
        """The answer's status and body, and whether it is a replay (``Idempotency-Key``)."""
        actor = confirmed_actor(session, claim, allowed, route)
        if key is not None:
            stored = idempotency.find(
                session, user_id=claim.user_id, route=route, key=key, request_hash=digest, now=now
            )
            if stored is not None:
                return stored.status, stored.body, True
        result = assessment_service.record_submission(session, actor, patient_id, scored, now=now)
        out = result.assessment.to_dict()
        out["alerts"] = [_alert_rule_dict(a) for a in result.alerts]
        if key is not None:
            idempotency.record(
                session,
                user_id=claim.user_id,
                route=route,
                key=key,
                request_hash=digest,
                now=now,
                status=201,
                body=out,
            )
        return 201, out, False

    try:
        status, out, replayed = await writer.run(write)
    except Unauthorized:
        request.session.clear()  # the account was deactivated or signed out meanwhile
        raise
    except idempotency.KeyTaken:  # a duplicate in another process won: answer with its answer
        assert key is not None
        return await run_in_threadpool(
            idempotency_web.winner, db, claim.user_id, route, key, digest
        )
    touch_session(request)
    if replayed:
        return idempotency_web.replay(idempotency.Stored(status, out))
    return JSONResponse(out, status_code=status)


@router.get("/assessments/{assessment_id}", tags=["assessments"])
def get_assessment(assessment_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    return assessment_service.get_assessment(db, actor, assessment_id).to_dict()


@router.get("/patients/{patient_id}/links", tags=["self-report"])
def list_links(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    now = db.now()
    return [link.to_dict(now) for link in link_service.list_links(db, actor, patient_id)]


@router.post("/patients/{patient_id}/links", status_code=201, tags=["self-report"])
def create_link(
    patient_id: int, body: LinkBody, request: Request, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Issue a self-report link; the URL is returned once and never stored."""
    settings = get_settings_from(request)
    smtp = SmtpConfig.from_settings(settings)
    if body.deliver == "email":  # refused before a link is made whose URL would be lost
        delivery_service.check_can_email(db, actor, patient_id, smtp)
    issued = link_service.create_link(
        db,
        actor,
        patient_id,
        body.instruments,
        valid_hours=body.valid_hours or settings.self_report_link_hours,
    )
    out = issued.link.to_dict(db.now())
    out["url"] = link_url(request, settings, issued.token)
    out["token"] = issued.token
    if body.deliver == "email":
        sent = delivery_service.email_link(db, actor, issued.link.id, str(out["url"]), smtp)
        out["delivery"] = sent.to_dict()
    return out


@router.get("/patients/{patient_id}/deliveries", tags=["self-report"])
def list_deliveries(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """The patient's e-mailed links (address masked), newest first."""
    return [d.to_dict() for d in delivery_service.list_deliveries(db, actor, patient_id)]


@router.get("/self-report/{token}", tags=["self-report"])
def open_self_report(token: str, db: DbDep) -> dict[str, object]:
    """What a patient's link asks for (no patient details)."""
    opened = link_service.open_link(db, token)
    return {
        "instruments": [instrument_detail(i) for i in opened.instruments],
        "ask_side_effects": opened.ask_side_effects,
    }


@router.post("/self-report/{token}", tags=["self-report"])
def submit_self_report(
    token: str, body: SelfReportBody, request: Request, db: DbDep
) -> dict[str, object]:
    """The patient submits; the answer never contains scores."""
    result = link_service.submit_link(
        db,
        token,
        body.answers,
        client_source(request),
        side_effects=[(e.type, e.description) for e in body.side_effects],
    )
    return {"received": True, "show_crisis_resources": result.show_crisis_resources}


@router.get("/alerts", tags=["alerts"])
def list_alerts(
    actor: ActorDep,
    db: DbDep,
    status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open",
) -> list[dict[str, object]]:
    wanted = None if status == "all" else status
    return [a.to_dict() for a in alert_service.list_alerts(db, actor, status=wanted)]


@router.get("/alerts/history", tags=["alerts"])
def alert_history(
    actor: ActorDep,
    db: DbDep,
    status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "all",
    level: Annotated[str | None, Query(pattern="^[a-z_]+$")] = None,
    patient_id: Annotated[int | None, Query(ge=1)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=alert_service.MAX_PER_PAGE)] = (
        alert_service.HISTORY_PER_PAGE
    ),
) -> dict[str, object]:
    """Every alert, open and closed, newest first: who raised it, what, when, who closed it."""
    return alert_service.alert_history(
        db,
        actor,
        status=None if status == "all" else status,
        level=level,
        patient_id=patient_id,
        page=page,
        per_page=per_page,
    ).to_dict()


@router.post("/alerts/{alert_id}/action", tags=["alerts"])
def act_on_alert(alert_id: int, body: ActionBody, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Record what was done about an alert; this is the only way an alert closes."""
    return alert_service.record_action(db, actor, alert_id, body.action_text).to_dict()


@router.get("/dashboard", tags=["dashboard"])
def dashboard(
    actor: ActorDep,
    db: DbDep,
    page: Annotated[int, Query(ge=1, description="page number, from 1")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=dashboard_service.MAX_PER_PAGE, description="patients per page")
    ] = dashboard_service.PER_PAGE,
    mine: Annotated[
        bool, Query(description="only patients I treated, screened or assessed")
    ] = False,
    overdue_days: Annotated[
        int | None, Query(ge=0, description="only follow-ups overdue by at least N days")
    ] = None,
    alert_level: Annotated[
        str | None, Query(description="only patients with an open alert: any, urgent, ...")
    ] = None,
) -> dict[str, object]:
    """The dashboard: one worklist page in urgency order (open alerts by level and age, then
    overdue follow-ups by days overdue, then by name), the open alerts and recent results."""
    filters = dashboard_service.WorklistFilters(
        page=page,
        per_page=per_page,
        mine=mine,
        overdue_days=overdue_days,
        alert_level=alert_level,
    )
    board = dashboard_service.dashboard(db, actor, filters)
    return {
        "alerts": [a.to_dict() for a in board.alerts],
        "open_alerts": board.open_alert_count,
        "worklist": board.worklist.to_dict(),
        "recent": [
            {
                "assessment_id": r.assessment_id,
                "patient_id": r.patient_id,
                "instrument": r.instrument_id,
                "total": r.total,
                "band": r.band,
                "submitted_at": r.submitted_at.isoformat(),
            }
            for r in board.recent
        ],
    }
