"""FHIR R4 REST endpoints (``application/fhir+json``), thin over :mod:`glabella.services.fhir`.

* ``GET /fhir/metadata``: the server's CapabilityStatement (public: no patient data).
* ``GET /fhir/Questionnaire/{id}``: an instrument as a Questionnaire (any staff role).
* ``GET /fhir/Patient/{id}/$everything``: the patient's record as a searchset Bundle.
* ``POST /fhir/QuestionnaireResponse``: import a response from another system (scored, alerts
  raised). The body must be sent as ``application/fhir+json`` or ``application/json`` (a
  cross-site HTML form cannot send either, which is the CSRF defence of this JSON endpoint).

Errors are FHIR ``OperationOutcome`` resources whose ``expression`` names the element.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

import glabella
from glabella.interop.fhir import export
from glabella.services import fhir as fhir_service
from glabella.services.errors import Invalid, NotFound, ServiceError
from glabella.web.deps import api_actor, check_csrf, get_db

api_router = APIRouter(prefix="/fhir", tags=["fhir"], include_in_schema=False)
"""Not in /api/openapi.json: the FHIR R4 specification describes these interactions, and their
errors are OperationOutcome resources, not the API's ``Error`` shape."""

FHIR_JSON = "application/fhir+json"
MAX_BODY = 1_000_000
"""Largest accepted request body (bytes): a questionnaire response is a few kilobytes."""

_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict"}


def _fhir(resource: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(resource, ensure_ascii=False), status_code=status, media_type=FHIR_JSON
    )


def outcome(status: int, message: str, where: str | None) -> Response:
    """An OperationOutcome answer (what and where)."""
    issue: dict[str, Any] = {
        "severity": "error",
        "code": _ISSUE_CODES.get(status, "invalid" if status == 422 else "exception"),
        "diagnostics": message,
    }
    if where:
        issue["expression"] = [where]
    return _fhir({"resourceType": "OperationOutcome", "issue": [issue]}, status)


def _answer(call: Callable[[], Response]) -> Response:
    try:
        return call()
    except ServiceError as exc:
        return outcome(exc.status_code, exc.message, exc.field)


def _int_id(raw: str, name: str) -> int:
    if not raw.isdigit():
        raise NotFound(f"no patient with id {raw!r}", field=name)
    return int(raw)


@api_router.get("/metadata")
def capability_statement(request: Request) -> Response:
    """The CapabilityStatement: what this FHIR endpoint implements (FHIR's ``capabilities``)."""
    base = str(request.base_url).rstrip("/") + "/fhir"
    return _fhir(
        export.capability_statement(base, glabella.__version__, dt.datetime.now(dt.UTC).date())
    )


@api_router.get("/Questionnaire/{instrument_id}")
def get_questionnaire(request: Request, instrument_id: str) -> Response:
    """An instrument as a FHIR Questionnaire, with its LOINC codes."""

    def run() -> Response:
        api_actor(request)
        return _fhir(fhir_service.questionnaire(instrument_id))

    return _answer(run)


@api_router.get("/Patient/{patient_id}/$everything")
def patient_everything(request: Request, patient_id: str) -> Response:
    """The patient's record: Patient, responses and scores, consents, treatments, events."""

    def run() -> Response:
        actor = api_actor(request)
        base = str(request.base_url).rstrip("/") + "/fhir"
        bundle = fhir_service.patient_everything(
            get_db(request), actor, _int_id(patient_id, "patient_id"), base
        )
        return _fhir(bundle)

    return _answer(run)


@api_router.post("/QuestionnaireResponse")
async def import_questionnaire_response(request: Request) -> Response:
    """Import a completed QuestionnaireResponse: it is scored and may raise safety alerts."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    csrf: str | None = None
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        submitted = (await request.form()).get("csrf_token")
        csrf = submitted if isinstance(submitted, str) else None

    def run() -> Response:
        actor = api_actor(request)
        if kind not in (FHIR_JSON, "application/json"):
            # Only an HTML form can POST cross-site without a CORS preflight, and a form cannot
            # send JSON: a form post is checked like every form (CSRF token) and then refused.
            check_csrf(request, csrf)
            raise Invalid(f"send the resource as {FHIR_JSON} (got {kind or 'nothing'})")
        if len(body) > MAX_BODY:
            raise Invalid(f"the body is larger than {MAX_BODY} bytes")
        try:
            resource = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Invalid(f"the body is not JSON ({exc})", field="body") from None
        submission = fhir_service.import_questionnaire_response(get_db(request), actor, resource)
        saved = submission.assessment
        return _fhir(
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "information",
                        "code": "informational",
                        "diagnostics": (
                            f"stored as assessment {saved.id}: {saved.instrument_id} total "
                            f"{saved.total} ({saved.band})"
                            + "".join(
                                f"; ALERT {a.level}: {a.message.strip()}" for a in submission.alerts
                            )
                        ),
                    }
                ],
            },
            201,
        )

    return await _run_in_thread(run)


async def _run_in_thread(run: Callable[[], Response]) -> Response:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_answer, run)
