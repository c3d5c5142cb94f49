"""The consultation report in the app: staff page, PDF download, and the JSON API.

Routes (all clinical staff; each read or generation writes an audit row in the service):

* ``GET /patients/{id}/report`` - the report as a page (a preview, not recorded), with a
  "Record and download PDF" button, a "Preview PDF" link and the list of recorded reports;
* ``GET /patients/{id}/report.pdf`` - the PDF as a preview, marked as such, recording nothing
  (opening a link must not create a clinical record);
* ``POST /patients/{id}/reports`` - generates and records the report (form with CSRF token),
  then redirects to its PDF;
* ``GET /reports/{report_id}.pdf`` - rebuilds a recorded report from its stored inputs;
* JSON: ``GET /api/v1/patients/{id}/consultation-report`` (preview),
  ``POST /api/v1/patients/{id}/consultation-reports`` (generate and record),
  ``GET /api/v1/patients/{id}/consultation-reports`` (list),
  ``GET /api/v1/consultation-reports/{report_id}`` (rebuild, with ``identical``).

Query parameters carry only the condition code, the language and a protocol id - never
patient data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict

from glabella.reports.i18n import LANGUAGES
from glabella.reports.model import CONDITIONS
from glabella.reports.render import RenderMeta, render_body, render_pdf, report_stylesheet
from glabella.services import patients as patient_service
from glabella.services import reports as report_service
from glabella.services.errors import Invalid
from glabella.web.deps import ActorDep, DbDep, FormDep, check_csrf, client_source, page_user
from glabella.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["reports"])
Condition = Annotated[str, Query(max_length=16)]
Lang = Annotated[str, Query(max_length=8)]
ProtocolId = Annotated[str | None, Query(max_length=80)]


def _pdf_response(result: report_service.GeneratedReport) -> Response:
    meta = RenderMeta(
        report_id=result.record.id if result.record else None,
        content_hash=result.record.content_hash if result.record else None,
    )
    pdf = render_pdf(result.report, result.lang, meta)
    name = f"consultation-report-{result.record.id if result.record else 'preview'}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- pages --------------------------------------------------------------------------------


@router.get("/reports/report.css")
def report_css() -> Response:
    """The report's stylesheet (shared with the PDF), for the page."""
    return Response(
        report_stylesheet(), media_type="text/css", headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/patients/{patient_id}/report")
def report_page(
    request: Request,
    patient_id: int,
    db: DbDep,
    condition: Condition = "mdd",
    lang: Lang = "en",
    protocol: ProtocolId = None,
) -> HTMLResponse:
    user = page_user(request)
    actor = user.actor(client_source(request))
    patient = patient_service.get_patient(db, actor, patient_id)
    result = report_service.preview_report(
        db, actor, patient_id, condition=condition, lang=lang, protocol_id=protocol or None
    )
    records = report_service.list_reports(db, actor, patient_id)
    return render(
        request,
        "report_consultation.html",
        user=user,
        patient=patient,
        body=render_body(result.report, lang),
        condition=condition,
        lang=lang,
        protocol=protocol or "",
        conditions=CONDITIONS,
        languages=LANGUAGES,
        records=records,
    )


@router.get("/patients/{patient_id}/report.pdf")
def report_pdf(
    request: Request,
    patient_id: int,
    db: DbDep,
    condition: Condition = "mdd",
    lang: Lang = "en",
    protocol: ProtocolId = None,
) -> Response:
    actor = page_user(request).actor(client_source(request))
    result = report_service.preview_report(
        db, actor, patient_id, condition=condition, lang=lang, protocol_id=protocol or None
    )
    return _pdf_response(result)


@router.post("/patients/{patient_id}/reports")
def record_report(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    """Generate and record the report (an explicit POST), then download its PDF."""
    user = page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    actor = user.actor(client_source(request))
    protocol = str(form.get("protocol", "")).strip()[:80]
    result = report_service.generate_report(
        db,
        actor,
        patient_id,
        condition=str(form.get("condition", "mdd"))[:16],
        lang=str(form.get("lang", "en"))[:8],
        protocol_id=protocol or None,
    )
    assert result.record is not None  # generate_report always records
    return redirect(f"/reports/{result.record.id}.pdf")


@router.get("/reports/{report_id}.pdf")
def recorded_report_pdf(request: Request, report_id: int, db: DbDep) -> Response:
    actor = page_user(request).actor(client_source(request))
    return _pdf_response(report_service.regenerate_report(db, actor, report_id))


# --- JSON API -----------------------------------------------------------------------------


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: str = "mdd"
    lang: str = "en"
    protocol_id: str | None = None


def _json(result: report_service.GeneratedReport) -> dict[str, object]:
    return {
        "record": result.record.to_dict() if result.record else None,
        "lang": result.lang,
        "content_hash": result.report.content_hash(),
        "identical": result.identical,
        "note": result.note,
        "report": result.report.to_dict(),
    }


@api_router.get("/patients/{patient_id}/consultation-report")
def api_preview(
    patient_id: int,
    db: DbDep,
    actor: ActorDep,
    condition: Condition = "mdd",
    lang: Lang = "en",
    protocol: ProtocolId = None,
) -> dict[str, object]:
    try:
        result = report_service.preview_report(
            db, actor, patient_id, condition=condition, lang=lang, protocol_id=protocol
        )
    except Invalid as exc:  # the service's field is ``protocol_id``; this query names it protocol
        if exc.field != "protocol_id":
            raise
        raise Invalid(exc.message, field="protocol") from None
    return _json(result)


@api_router.post("/patients/{patient_id}/consultation-reports", status_code=201)
def api_generate(
    patient_id: int, body: ReportBody, db: DbDep, actor: ActorDep
) -> dict[str, object]:
    return _json(
        report_service.generate_report(
            db,
            actor,
            patient_id,
            condition=body.condition,
            lang=body.lang,
            protocol_id=body.protocol_id,
        )
    )


@api_router.get("/patients/{patient_id}/consultation-reports")
def api_list(patient_id: int, db: DbDep, actor: ActorDep) -> list[dict[str, object]]:
    return [r.to_dict() for r in report_service.list_reports(db, actor, patient_id)]


@api_router.get("/consultation-reports/{report_id}")
def api_regenerate(report_id: int, db: DbDep, actor: ActorDep) -> dict[str, object]:
    return _json(report_service.regenerate_report(db, actor, report_id))
