"""The patient register, the patient page, the dashboard and the safety alerts: pages and JSON
API, thin adapters over the services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field

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
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.roles import CLINICAL_ROLES
from glabella.services.users import UserView
from glabella.web import frown_views
from glabella.web import idempotency as idempotency_web
from glabella.web.charts import score_history_charts
from glabella.web.deps import (
    ActorDep,
    DbDep,
    FormDep,
    check_csrf,
    client_source,
    get_settings_from,
    page_user,
)
from glabella.web.form_route import FormModel, handle_form, titled
from glabella.web.qr import qr_svg
from glabella.web.routes import Strict
from glabella.web.templating import redirect, render

api_router = APIRouter(prefix="/api/v1")
router = APIRouter(include_in_schema=False)


# --- JSON API -------------------------------------------------------------------------------


class SearchBody(Strict):
    q: str = Field(default="", max_length=200)


@api_router.get("/patients", tags=["patients"])
def list_patients(request: Request, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """The clinic's patients. To search, POST /api/v1/patients/search (no names in URLs)."""
    if "q" in request.query_params:
        raise Invalid(
            "search with POST /api/v1/patients/search: names must not go into URLs",
            field="q",
        )
    return [p.to_dict() for p in patient_service.search_patients(db, actor, "")]


@api_router.post("/patients/search", tags=["patients"])
def search_patients(body: SearchBody, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """Patients whose name, MRN or date of birth (YYYY-MM-DD) match ``q`` (in the body)."""
    return [p.to_dict() for p in patient_service.search_patients(db, actor, body.q)]


@api_router.post("/patients", status_code=201, tags=["patients"], response_model=dict[str, object])
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


@api_router.get("/patients/{patient_id}", tags=["patients"])
def get_patient(patient_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    return patient_service.get_patient(db, actor, patient_id).to_dict()


@api_router.put("/patients/{patient_id}", tags=["patients"])
def update_patient(
    patient_id: int, body: dict[str, object], actor: ActorDep, db: DbDep
) -> dict[str, object]:
    data = patient_service.parse_patient_input(body)
    return patient_service.update_patient(db, actor, patient_id, data).to_dict()


class ActionBody(Strict):
    action_text: str = Field(max_length=4000)


@api_router.get("/alerts", tags=["alerts"])
def list_alerts(
    actor: ActorDep,
    db: DbDep,
    status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open",
) -> list[dict[str, object]]:
    wanted = None if status == "all" else status
    return [a.to_dict() for a in alert_service.list_alerts(db, actor, status=wanted)]


@api_router.get("/alerts/history", tags=["alerts"])
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


@api_router.post("/alerts/{alert_id}/action", tags=["alerts"])
def act_on_alert(alert_id: int, body: ActionBody, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Record what was done about an alert; this is the only way an alert closes."""
    return alert_service.record_action(db, actor, alert_id, body.action_text).to_dict()


@api_router.get("/dashboard", tags=["dashboard"])
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


# --- pages: dashboard -----------------------------------------------------------------------


@router.get("/")
def home(request: Request, db: DbDep) -> Response:
    user = page_user(request)
    if user.role not in CLINICAL_ROLES:
        return redirect("/patients")
    actor = user.actor(client_source(request))
    return _render_dashboard(request, db, user, actor)


def _dashboard_context(
    request: Request, db: Database, user: UserView, actor: Actor
) -> dict[str, Any]:
    """The dashboard for the filters in the query string (paging links keep them)."""
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
    return {
        "board": board,
        "filters": filters,
        "query_base": urlencode(kept),
        "alert_levels": dashboard_service.ALERT_LEVEL_LABELS,
        "base_url_warning": (
            getattr(request.app.state, "base_url_warning", None) if user.role == "admin" else None
        ),
        "undelivered": delivery_service.undelivered(db, actor),
    }


def _render_dashboard(request: Request, db: Database, user: UserView, actor: Actor) -> HTMLResponse:
    return render(
        request, "dashboard.html", user=user, **_dashboard_context(request, db, user, actor)
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


PatientForm = titled(
    patient_service.PatientInput,
    "PatientForm",
    {
        "mrn": "Medical record number (MRN)",
        "given_name": "Given name",
        "family_name": "Family name",
        "date_of_birth": "Date of birth",
        "sex": "Sex",
        "phone": "Phone",
        "email": "Email",
    },
)
"""The register / edit form (``patient_form.html``): the service's checks, the form's labels."""


@router.post("/patients/new")
def patient_new_submit(request: Request, form: FormDep, db: DbDep) -> Response:
    def create(actor: Actor, data: FormModel, user: UserView) -> Response:
        assert isinstance(data, patient_service.PatientInput)
        return redirect(f"/patients/{patient_service.create_patient(db, actor, data).id}")

    return handle_form(
        request,
        form,
        model=PatientForm,
        template="patient_form.html",
        context=lambda actor, values: {"patient": None},
        action=create,
    )


@router.get("/patients/{patient_id}/edit")
def patient_edit_page(request: Request, patient_id: int, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    patient = patient_service.get_patient(db, user.actor(client_source(request)), patient_id)
    values = {k: str(v or "") for k, v in patient.to_dict().items()}
    return render(request, "patient_form.html", user=user, patient=patient, values=values)


@router.post("/patients/{patient_id}/edit")
def patient_edit_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    def update(actor: Actor, data: FormModel, user: UserView) -> Response:
        assert isinstance(data, patient_service.PatientInput)
        patient_service.update_patient(db, actor, patient_id, data)
        return redirect(f"/patients/{patient_id}")

    return handle_form(
        request,
        form,
        model=PatientForm,
        template="patient_form.html",
        context=lambda actor, values: {
            "patient": patient_service.get_patient(db, actor, patient_id)
        },
        action=update,
    )


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
        markers = [(t.treated_at, t.dose_label) for t in treatments]
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
            timezone=user.clinic_timezone,
        )
        context["frown_guidance"] = frown_views.GUIDANCE
        context["fmt_measure"] = frown_views.fmt_measure
    return render(request, "patient.html", **context)


# --- alerts -------------------------------------------------------------------------------


class AlertActionForm(FormModel):
    """What was done about an alert (``_alert.html``); the service requires 10 characters."""

    action_text: str = Field(default="", max_length=4000, title="Action taken")
    next: str = Field(default="/", max_length=2000)


@router.post("/alerts/{alert_id}/action")
def alert_action(request: Request, alert_id: int, form: FormDep, db: DbDep) -> Response:
    def act(actor: Actor, data: AlertActionForm, user: UserView) -> Response:
        alert_service.record_action(db, actor, alert_id, data.action_text)
        target = data.next
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")

    return handle_form(
        request,
        form,
        model=AlertActionForm,
        template="dashboard.html",
        context=lambda actor, values: {
            **_dashboard_context(request, db, page_user(request), actor),
            "error_alert": alert_id,
        },
        action=act,
    )


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
