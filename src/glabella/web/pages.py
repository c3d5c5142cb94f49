"""HTML pages (Jinja2 + htmx): a thin adapter over the services, same rules as the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from glabella.clinic import instruments
from glabella.services import adverse_events as ae_service
from glabella.services import alerts as alert_service
from glabella.services import assessments as assessment_service
from glabella.services import dashboard as dashboard_service
from glabella.services import delivery as delivery_service
from glabella.services import followup as followup_service
from glabella.services import links as link_service
from glabella.services import patients as patient_service
from glabella.services import screening as screening_service
from glabella.services import treatments as treatment_service
from glabella.services import users as user_service
from glabella.services.context import Database
from glabella.services.errors import Invalid, ServiceError
from glabella.services.mail import SmtpConfig
from glabella.services.roles import CLINICAL_ROLES
from glabella.web import frown_views
from glabella.web.base_url import link_url
from glabella.web.charts import score_history_charts
from glabella.web.deps import (
    check_csrf,
    client_source,
    csrf_token,
    database,
    form_data,
    get_settings_from,
    home_page,
    keep_session,
    landing_page,
    page_user,
    sign_in,
    sign_out,
)
from glabella.web.forms import answers_from_form, field_name
from glabella.web.qr import qr_svg
from glabella.web.templating import TEMPLATES

router = APIRouter(include_in_schema=False)
DbDep = Annotated[Database, Depends(database)]
FormDep = Annotated[FormData, Depends(form_data)]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the common context (user, CSRF token, clinic timezone)."""
    settings = get_settings_from(request)
    context.setdefault("user", None)
    context["csrf"] = csrf_token(request)
    context["tz"] = settings.timezone
    context["field_name"] = field_name
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- sign-in ------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
def login_submit(
    request: Request,
    db: DbDep,
    username: Annotated[str, Form(max_length=80)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    check_csrf(request, csrf_token_)
    try:
        user = user_service.authenticate(db, username, password, client_source(request))
    except ServiceError as exc:
        return render(request, "login.html", status_code=401, error=exc.message, username=username)
    sign_in(request, user)
    return redirect(landing_page(user))


@router.post("/logout")
def logout(
    request: Request, csrf_token_: Annotated[str, Form(alias="csrf_token")] = ""
) -> Response:
    check_csrf(request, csrf_token_)
    sign_out(request)
    return redirect("/login")


@router.get("/account/password")
def password_page(request: Request) -> HTMLResponse:
    user = page_user(request, allow_password_change=True)
    return render(request, "password.html", user=user)


@router.post("/account/password")
def password_submit(
    request: Request,
    db: DbDep,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    confirm_password: Annotated[str, Form(max_length=256)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    user = page_user(request, allow_password_change=True)
    check_csrf(request, csrf_token_)
    if new_password != confirm_password:
        return render(
            request,
            "password.html",
            status_code=422,
            user=user,
            error="the new password and its confirmation differ",
        )
    try:
        generation = user_service.change_password(
            db, user.actor(client_source(request)), current_password, new_password
        )
    except ServiceError as exc:
        return render(
            request, "password.html", status_code=exc.status_code, user=user, error=exc.message
        )
    keep_session(request, generation)  # other sessions of this user end here
    return redirect(home_page(user.role))


# --- dashboard ----------------------------------------------------------------------------


@router.get("/")
def home(request: Request, db: DbDep) -> Response:
    user = page_user(request)
    if user.role not in CLINICAL_ROLES:
        return redirect("/patients")
    actor = user.actor(client_source(request))
    return _render_dashboard(request, db, user, actor)


def _render_dashboard(
    request: Request, db: Database, user: Any, actor: Any, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    """The dashboard page for the filters in the query string (paging links keep them)."""
    params = dict(request.query_params)
    filters = dashboard_service.parse_filters(params)
    board = dashboard_service.dashboard(db, actor, filters)
    kept = {
        k: v
        for k, v in (
            ("mine", "1" if filters.mine else ""),
            ("overdue_days", "" if filters.overdue_days is None else str(filters.overdue_days)),
            ("alert_level", filters.alert_level or ""),
            (
                "per_page",
                "" if filters.per_page == dashboard_service.PER_PAGE else str(filters.per_page),
            ),
        )
        if v
    }
    return render(
        request,
        "dashboard.html",
        status_code=status_code,
        user=user,
        board=board,
        filters=filters,
        query_base=urlencode(kept),
        alert_levels=dashboard_service.ALERT_LEVEL_LABELS,
        base_url_warning=(
            getattr(request.app.state, "base_url_warning", None) if user.role == "admin" else None
        ),
        undelivered=delivery_service.undelivered(db, actor),
        **extra,
    )


# --- patients -----------------------------------------------------------------------------


@router.get("/patients")
def patients_page(request: Request, db: DbDep) -> HTMLResponse:
    """The register. Searching is a POST (below): names never go into URLs or access logs."""
    user = page_user(request)
    found = patient_service.search_patients(db, user.actor(client_source(request)), "")
    return render(request, "patients.html", user=user, patients=found, q="")


@router.post("/patients/search")
def patients_search(
    request: Request,
    db: DbDep,
    q: Annotated[str, Form(max_length=200)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> HTMLResponse:
    user = page_user(request)
    check_csrf(request, csrf_token_)
    found = patient_service.search_patients(db, user.actor(client_source(request)), q)
    template = "patients_rows.html" if request.headers.get("HX-Request") else "patients.html"
    return render(request, template, user=user, patients=found, q=q)


@router.get("/patients/new")
def patient_new_page(request: Request) -> HTMLResponse:
    user = page_user(request)
    return render(request, "patient_form.html", user=user, patient=None, values={})


def _patient_form_values(form: Any) -> dict[str, object]:
    keys = ("mrn", "given_name", "family_name", "date_of_birth", "sex", "phone", "email")
    return {k: str(form.get(k, "")) for k in keys}


@router.post("/patients/new")
def patient_new_submit(request: Request, form: FormDep, db: DbDep) -> Response:
    user = page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    values = _patient_form_values(form)
    try:
        data = patient_service.parse_patient_input(values)
        patient = patient_service.create_patient(db, user.actor(client_source(request)), data)
    except ServiceError as exc:
        return render(
            request,
            "patient_form.html",
            status_code=exc.status_code,
            user=user,
            patient=None,
            values=values,
            error=exc.message,
            error_field=exc.field,
        )
    return redirect(f"/patients/{patient.id}")


@router.get("/patients/{patient_id}/edit")
def patient_edit_page(request: Request, patient_id: int, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    patient = patient_service.get_patient(db, user.actor(client_source(request)), patient_id)
    values = {k: str(v or "") for k, v in patient.to_dict().items()}
    return render(request, "patient_form.html", user=user, patient=patient, values=values)


@router.post("/patients/{patient_id}/edit")
def patient_edit_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    user = page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    values = _patient_form_values(form)
    actor = user.actor(client_source(request))
    try:
        data = patient_service.parse_patient_input(values)
        patient_service.update_patient(db, actor, patient_id, data)
    except ServiceError as exc:
        patient = patient_service.get_patient(db, actor, patient_id)
        return render(
            request,
            "patient_form.html",
            status_code=exc.status_code,
            user=user,
            patient=patient,
            values=values,
            error=exc.message,
            error_field=exc.field,
        )
    return redirect(f"/patients/{patient_id}")


@dataclass(frozen=True)
class ItemAnswer:
    number: int
    text: str
    value: int
    label: str
    flag: str | None
    """The safety rule's message when this answer raised it (e.g. PHQ-9 item 9 above 0)."""


def item_answers(instrument_id: str, answers: Mapping[str, int]) -> list[ItemAnswer]:
    """Each stored item answer with its wording and option label, in item order; an answer
    that meets a safety rule of the instrument (``phq9_9 > 0``) carries the rule's message."""
    try:
        instrument = instruments.get(instrument_id)
    except instruments.InstrumentError:
        return []
    rules = {r.item_id: r for r in instrument.safety_rules}
    out = []
    for item in instrument.items:
        if item.id not in answers:
            continue
        value = answers[item.id]
        label = next((o.label for o in item.options if o.value == value), str(value))
        rule = rules.get(item.id)
        flag = rule.message if rule is not None and value > rule.when_gt else None
        out.append(ItemAnswer(item.number, item.text, value, label, flag))
    return out


@router.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: int, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    actor = user.actor(client_source(request))
    patient = patient_service.get_patient(db, actor, patient_id)
    links = link_service.list_links(db, actor, patient_id)
    new_link = request.session.pop("new_link_url", None)
    context: dict[str, Any] = {
        "user": user,
        "patient": patient,
        "links": links,
        "now": db.now(),
        "new_link_url": new_link,
        "new_link_delivery": request.session.pop("new_link_delivery", None),
        "deliveries": delivery_service.list_deliveries(db, actor, patient_id),
        "email_ready": bool(get_settings_from(request).smtp_host),
        "new_link_qr": qr_svg(new_link, "QR code of the questionnaire link, for a tablet")
        if new_link
        else None,
        "patient_instruments": [
            i for i in instruments.all_instruments() if i.respondent == "patient"
        ],
        "all_instruments": instruments.all_instruments(),
        "clinical": user.role in CLINICAL_ROLES,
    }
    if context["clinical"]:
        history = assessment_service.list_assessments(db, actor, patient_id)
        treatments = treatment_service.list_treatments(db, actor, patient_id)
        markers = [(t.treated_at, f"{t.total_units} U {t.product_id}") for t in treatments]
        charts = []
        for instrument in instruments.all_instruments():
            points = [
                (a.submitted_at, a.total) for a in history if a.instrument_id == instrument.id
            ]
            if points:
                svgs = score_history_charts(instrument, points, markers=markers)
                charts.append((instrument, svgs))
        context["treatments"] = treatments
        context["followup"] = followup_service.patient_followup(db, actor, patient_id)
        context["adverse_events"] = ae_service.list_adverse_events(db, actor, patient_id)
        screenings = screening_service.list_screenings(db, actor, patient_id)
        context["screening"] = screenings[0] if screenings else None
        context["history"] = list(reversed(history))
        context["item_answers"] = {a.id: item_answers(a.instrument_id, a.answers) for a in history}
        context["charts"] = charts
        context["alerts"] = alert_service.list_alerts(db, actor, status=None, patient_id=patient_id)
        context["frown"] = frown_views.clinician_section(
            request,
            db,
            actor,
            patient_id,
            phq9=[(a.submitted_at, a.total) for a in history if a.instrument_id == "phq9"],
            treatments=[(t.treated_at, f"{t.total_units} U") for t in treatments],
            timezone=get_settings_from(request).timezone,
        )
        context["frown_guidance"] = frown_views.GUIDANCE
        context["fmt_measure"] = frown_views.fmt_measure
    return render(request, "patient.html", **context)


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


@router.post("/patients/{patient_id}/assess/{instrument_id}")
def assess_submit(
    request: Request, patient_id: int, instrument_id: str, form: FormDep, db: DbDep
) -> Response:
    user = page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    actor = user.actor(client_source(request))
    instrument = _instrument_or_404(instrument_id)
    raw = {k: str(v) for k, v in form.items()}
    try:
        answers = answers_from_form([instrument], raw)[instrument.id]
        assessment_service.submit_assessment(db, actor, patient_id, instrument.id, answers)
    except ServiceError as exc:
        patient = patient_service.get_patient(db, actor, patient_id)
        return render(
            request,
            "assess.html",
            status_code=exc.status_code,
            user=user,
            patient=patient,
            instrument=instrument,
            chosen=raw,
            error=exc.message,
        )
    return redirect(f"/patients/{patient_id}")


def _instrument_or_404(instrument_id: str) -> instruments.Instrument:
    try:
        return instruments.get(instrument_id)
    except instruments.InstrumentError as exc:
        from glabella.services.errors import NotFound

        raise NotFound(str(exc)) from None


# --- alerts -------------------------------------------------------------------------------


@router.post("/alerts/{alert_id}/action")
def alert_action(
    request: Request,
    alert_id: int,
    db: DbDep,
    action_text: Annotated[str, Form(max_length=4000)] = "",
    next_url: Annotated[str, Form(alias="next")] = "/",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    user = page_user(request)
    check_csrf(request, csrf_token_)
    actor = user.actor(client_source(request))
    try:
        alert_service.record_action(db, actor, alert_id, action_text)
    except ServiceError as exc:
        return _render_dashboard(
            request, db, user, actor, exc.status_code, error=exc.message, error_alert=alert_id
        )
    safe_next = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"
    return redirect(safe_next)


@router.get("/alerts")
def alert_history_page(request: Request, db: DbDep) -> HTMLResponse:
    """Every safety alert, open and closed: who raised it, what, when, who closed it."""
    user = page_user(request)
    actor = user.actor(client_source(request))
    params = dict(request.query_params)
    status = params.get("status", "").strip() or None
    if status == "all":
        status = None
    level = params.get("level", "").strip() or None
    page_raw = params.get("page", "").strip() or "1"
    if not page_raw.isdigit():
        raise Invalid("the page number must be a whole number", field="page")
    history = alert_service.alert_history(db, actor, status=status, level=level, page=int(page_raw))
    kept = urlencode({k: v for k, v in (("status", status or ""), ("level", level or "")) if v})
    return render(
        request,
        "alerts.html",
        user=user,
        history=history,
        query_base=kept,
        alert_levels=dashboard_service.ALERT_LEVEL_LABELS,
    )


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
