"""Questionnaires: the instruments, scoring, a clinician's assessments and the patient's
self-report links (pages and JSON API)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import AfterValidator, Field, StrictInt, create_model
from starlette.concurrency import run_in_threadpool

from glabella.clinic import instruments, safety
from glabella.services import adverse_events as ae_service
from glabella.services import assessments as assessment_service
from glabella.services import delivery as delivery_service
from glabella.services import idempotency, submissions
from glabella.services import links as link_service
from glabella.services import patients as patient_service
from glabella.services.context import Actor
from glabella.services.errors import NotFound, ServiceError, Unauthorized
from glabella.services.mail import SmtpConfig
from glabella.services.users import UserView
from glabella.web import frown_views
from glabella.web import idempotency as idempotency_web
from glabella.web.access import MATRIX
from glabella.web.base_url import link_url
from glabella.web.deps import (
    ActorDep,
    DbDep,
    FormDep,
    WriterDep,
    check_csrf,
    client_source,
    get_settings_from,
    page_user,
    session_claim,
    touch_session,
)
from glabella.web.form_route import FormModel, handle_form
from glabella.web.forms import answers_from_form, field_name
from glabella.web.routes import Strict
from glabella.web.serialize import instrument_detail, instrument_summary, score_dict
from glabella.web.templating import redirect, render

api_router = APIRouter(prefix="/api/v1")
router = APIRouter(include_in_schema=False)


# --- JSON API -------------------------------------------------------------------------------


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


@api_router.get("/instruments", tags=["instruments"])
def list_instruments(actor: ActorDep) -> list[dict[str, object]]:
    return [instrument_summary(i) for i in instruments.all_instruments()]


@api_router.get("/instruments/{instrument_id}", tags=["instruments"])
def get_instrument(instrument_id: str, actor: ActorDep) -> dict[str, object]:
    try:
        return instrument_detail(instruments.get(instrument_id))
    except instruments.InstrumentError as exc:
        raise NotFound(str(exc), field="instrument_id") from None


@api_router.post("/score", tags=["instruments"])
def score(body: ScoreBody, actor: ActorDep) -> dict[str, object]:
    """Score answers without storing anything (pure)."""
    scored = assessment_service.score_answers(body.instrument, body.answers)
    result = score_dict(scored)
    result["alerts"] = [submissions.alert_dict(a) for a in safety.check(scored)]
    return result


@api_router.get("/patients/{patient_id}/assessments", tags=["assessments"])
def list_assessments(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [a.to_dict() for a in assessment_service.list_assessments(db, actor, patient_id)]


_SUBMIT_ROUTE = ("POST", "/api/v1/patients/{patient_id}/assessments")


@api_router.post(
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
    sub = submissions.AssessmentSubmission(
        claim=claim,
        allowed_roles=MATRIX[_SUBMIT_ROUTE],
        route=" ".join(_SUBMIT_ROUTE),
        patient_id=patient_id,
        scored=assessment_service.score_answers(body.instrument, body.answers),
        now=db.now(),
        key=key,
        request_hash=""
        if key is None
        else idempotency.request_hash(request.url.path, body.model_dump(mode="json")),
    )
    try:
        answer = await writer.run(lambda session: submissions.record_assessment(session, sub))
    except Unauthorized:
        request.session.clear()  # the account was deactivated or signed out meanwhile
        raise
    except idempotency.KeyTaken:  # a duplicate in another process won: answer with its answer
        assert key is not None
        return await run_in_threadpool(
            idempotency_web.winner, db, claim.user_id, sub.route, key, sub.request_hash
        )
    touch_session(request)
    if answer.replayed:
        return idempotency_web.replay(idempotency.Stored(answer.status, answer.body))
    return JSONResponse(answer.body, status_code=answer.status)


@api_router.get("/assessments/{assessment_id}", tags=["assessments"])
def get_assessment(assessment_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    return assessment_service.get_assessment(db, actor, assessment_id).to_dict()


@api_router.get("/patients/{patient_id}/links", tags=["self-report"])
def list_links(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    now = db.now()
    return [link.to_dict(now) for link in link_service.list_links(db, actor, patient_id)]


@api_router.post("/patients/{patient_id}/links", status_code=201, tags=["self-report"])
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


@api_router.get("/patients/{patient_id}/deliveries", tags=["self-report"])
def list_deliveries(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """The patient's e-mailed links (address masked), newest first."""
    return [d.to_dict() for d in delivery_service.list_deliveries(db, actor, patient_id)]


@api_router.get("/self-report/{token}", tags=["self-report"])
def open_self_report(token: str, db: DbDep) -> dict[str, object]:
    """What a patient's link asks for (no patient details)."""
    opened = link_service.open_link(db, token)
    return {
        "instruments": [instrument_detail(i) for i in opened.instruments],
        "ask_side_effects": opened.ask_side_effects,
    }


@api_router.post("/self-report/{token}", tags=["self-report"])
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


# --- pages ----------------------------------------------------------------------------------


@router.post("/patients/{patient_id}/links")
def patient_link_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    user = page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    settings = get_settings_from(request)
    chosen = [str(v) for v in form.getlist("instruments")]
    actor = user.actor(client_source(request))
    smtp = SmtpConfig.from_settings(settings)
    by_email = form.get("deliver") == "email"
    if by_email:  # refused before a link is made whose URL would be lost
        delivery_service.check_can_email(db, actor, patient_id, smtp)
    issued = link_service.create_link(
        db, actor, patient_id, chosen, valid_hours=settings.self_report_link_hours
    )
    url = link_url(request, settings, issued.token)
    request.session["new_link_url"] = url
    if by_email:
        sent = delivery_service.email_link(db, actor, issued.link.id, url, smtp)
        request.session["new_link_delivery"] = (
            f"E-mailed to {sent.address}."
            if sent.status == "sent"
            else f"The e-mail was not sent ({sent.error}): copy the link or show the QR code."
        )
    return redirect(f"/patients/{patient_id}#links")


@router.get("/patients/{patient_id}/assess/{instrument_id}")
def assess_page(request: Request, patient_id: int, instrument_id: str, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    patient = patient_service.get_patient(db, user.actor(client_source(request)), patient_id)
    instrument = _instrument_or_404(instrument_id)
    return render(
        request, "assess.html", user=user, patient=patient, instrument=instrument, chosen={}
    )


class AnswersForm(FormModel):
    """The questionnaire form of one instrument (fields ``<instrument>__<item>``)."""

    instrument_id: ClassVar[str] = ""

    @classmethod
    def form_field(cls, service_field: str) -> str:
        return f"{cls.instrument_id}__{service_field}"

    def answers(self) -> dict[str, int]:
        """The answers given, by item id."""
        prefix = f"{self.instrument_id}__"
        return {
            name[len(prefix) :]: value
            for name, value in self.model_dump().items()
            if isinstance(value, int)
        }


def _one_of(values: Iterable[int]) -> Callable[[int | None], int | None]:
    allowed = frozenset(values)

    def check(value: int | None) -> int | None:
        if value is not None and value not in allowed:
            raise ValueError("choose one of the answers offered")
        return value

    return check


@functools.cache
def answers_form(instrument_id: str) -> type[AnswersForm]:
    """The form model of an instrument: each item one of its options' values, titled as the
    form numbers it ("PHQ-9 question 3"); an unanswered item is left to the scoring rules."""
    instrument = instruments.get(instrument_id)
    fields: dict[str, Any] = {
        field_name(instrument, item.id): (
            Annotated[int | None, AfterValidator(_one_of(o.value for o in item.options))],
            Field(default=None, title=f"{instrument.short_name} question {item.number}"),
        )
        for item in instrument.items
    }
    model = create_model(f"AnswersForm_{instrument_id}", __base__=AnswersForm, **fields)
    model.instrument_id = instrument_id
    return model


@router.post("/patients/{patient_id}/assess/{instrument_id}")
def assess_submit(
    request: Request, patient_id: int, instrument_id: str, form: FormDep, db: DbDep
) -> Response:
    page_user(request)  # signed in and the CSRF token checked before the path is looked at
    check_csrf(request, str(form.get("csrf_token", "")))
    instrument = _instrument_or_404(instrument_id)

    def submit(actor: Actor, data: AnswersForm, user: UserView) -> Response:
        assessment_service.submit_assessment(db, actor, patient_id, instrument.id, data.answers())
        return redirect(f"/patients/{patient_id}")

    return handle_form(
        request,
        form,
        model=answers_form(instrument.id),
        template="assess.html",
        context=lambda actor, values: {
            "patient": patient_service.get_patient(db, actor, patient_id),
            "instrument": instrument,
            "chosen": values,
        },
        action=submit,
    )


def _instrument_or_404(instrument_id: str) -> instruments.Instrument:
    try:
        return instruments.get(instrument_id)
    except instruments.InstrumentError as exc:
        from glabella.services.errors import NotFound

        raise NotFound(str(exc)) from None


# --- the patient's self-report link -------------------------------------------------------


@router.get("/r/{token}")
def self_report_page(request: Request, token: str, db: DbDep) -> HTMLResponse:
    try:
        opened = link_service.open_link(db, token)
    except ServiceError as exc:
        return render(
            request, "self_report_closed.html", status_code=exc.status_code, message=exc.message
        )
    return render(
        request,
        "self_report.html",
        instruments_=opened.instruments,
        ask_side_effects=opened.ask_side_effects,
        side_effect_labels=ae_service.AE_LABELS,
        chosen={},
        chosen_effects=[],
        token=token,
        **frown_views.link_section(request, db, token),
    )


@router.post("/r/{token}")
def self_report_submit(request: Request, token: str, form: FormDep, db: DbDep) -> HTMLResponse:
    raw = {k: str(v) for k, v in form.items()}
    effects = [str(v) for v in form.getlist("side_effect")]
    try:
        opened = link_service.open_link(db, token)
    except ServiceError as exc:
        return render(
            request, "self_report_closed.html", status_code=exc.status_code, message=exc.message
        )
    try:
        answers = answers_from_form(opened.instruments, raw)
        description = raw.get("side_effect_description", "")
        reported = [(kind, description if kind == "other" else "") for kind in effects]
        result = link_service.submit_link(
            db, token, answers, client_source(request), side_effects=reported
        )
    except ServiceError as exc:
        return render(
            request,
            "self_report.html",
            status_code=exc.status_code,
            instruments_=opened.instruments,
            ask_side_effects=opened.ask_side_effects,
            side_effect_labels=ae_service.AE_LABELS,
            chosen=raw,
            chosen_effects=effects,
            token=token,
            error=exc.message,
            **frown_views.link_section(request, db, token),
        )
    return render(
        request,
        "self_report_thanks.html",
        crisis=result.show_crisis_resources,
        side_effects_reported=bool(effects),
    )
