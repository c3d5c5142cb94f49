"""Who may use which route: the role x route access matrix, as data, enforced centrally.

Every route of the app (API, pages, static files, docs) must have an entry in ``MATRIX``:
``(METHOD, path template) -> roles allowed``. :class:`EnforceAccess` runs as a middleware on
every request: it finds the route the router will match, looks the rule up and refuses the
request before any endpoint code runs when the signed-in role is not listed. A route without
an entry is refused for everyone (fail closed) and ``tests/security/test_access_matrix.py``
fails naming it.

Roles: the five staff roles of ``glabella.services.roles.Role`` and ``ANONYMOUS`` (no signed-in
session). A patient never has a session: the self-report routes are ``PUBLIC`` because the
random single-use token in the URL is the credential (``glabella.services.links``).

Services keep their own role checks and clinic filters (defence in depth); this matrix is the
outer gate and the one place to read who can reach what.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from glabella.services.roles import Role
from glabella.web.deps import pending_second_factor, session_claim, session_user

ANONYMOUS = "anonymous"
"""The pseudo-role of a request without a signed-in session."""

ADMIN, CLINICIAN, NURSE = Role.ADMIN.value, Role.CLINICIAN.value, Role.NURSE.value
RECEPTIONIST, RESEARCHER = Role.RECEPTIONIST.value, Role.RESEARCHER.value

STAFF = frozenset({ADMIN, CLINICIAN, NURSE, RECEPTIONIST, RESEARCHER})
"""Every signed-in role."""
PUBLIC = STAFF | {ANONYMOUS}
"""Everyone, signed in or not (sign-in pages, static files, a patient's token link)."""
CLINICAL = frozenset({ADMIN, CLINICIAN, NURSE})
"""Roles that see clinical data: scores, answers, alerts, treatments."""
REGISTER = CLINICAL | {RECEPTIONIST}
"""Roles that see the patient register and send self-report links (no clinical data)."""
ALERT_ACTION = frozenset({ADMIN, CLINICIAN, NURSE})
"""Roles that may record the action that closes a safety alert."""
ADMIN_ONLY = frozenset({ADMIN})
PRESCRIBER = frozenset({ADMIN, CLINICIAN})
"""Roles that may override a screening precaution (prescribers)."""
RESEARCH = frozenset({ADMIN, RESEARCHER})
"""De-identified research data (the research export): researchers see no identifying data."""
AGGREGATES = CLINICAL | {RESEARCHER}
"""Clinic-level aggregates that name no patient (clinic analytics)."""

ALL_ROLES: tuple[str, ...] = (ADMIN, CLINICIAN, NURSE, RECEPTIONIST, RESEARCHER, ANONYMOUS)

Rule = frozenset[str]

MATRIX: dict[tuple[str, str], Rule] = {
    # --- infrastructure ---------------------------------------------------------------------
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    # The API's description is public (it holds no data; the foundation's contract).
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/api/docs/assets"): PUBLIC,  # the vendored Swagger UI files (mount)
    # --- JSON API: sign-in ------------------------------------------------------------------
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PUBLIC,
    ("POST", "/api/v1/auth/totp"): PUBLIC,
    ("POST", "/api/v1/auth/password"): STAFF,
    ("GET", "/api/v1/me"): STAFF,
    # --- JSON API: one's own account (second factor, recovery codes) -----------------------
    ("GET", "/api/v1/account"): STAFF,
    ("POST", "/api/v1/account/totp/enrol"): STAFF,
    ("POST", "/api/v1/account/totp/confirm"): STAFF,
    ("POST", "/api/v1/account/totp/disable"): STAFF,
    ("POST", "/api/v1/account/recovery-codes"): STAFF,
    # --- JSON API: staff administration (administrators only) -----------------------------
    ("GET", "/api/v1/admin/staff"): ADMIN_ONLY,
    ("POST", "/api/v1/admin/staff"): ADMIN_ONLY,
    ("GET", "/api/v1/admin/staff/{user_id}"): ADMIN_ONLY,
    ("PATCH", "/api/v1/admin/staff/{user_id}"): ADMIN_ONLY,
    ("POST", "/api/v1/admin/staff/{user_id}/deactivate"): ADMIN_ONLY,
    ("POST", "/api/v1/admin/staff/{user_id}/reactivate"): ADMIN_ONLY,
    ("POST", "/api/v1/admin/staff/{user_id}/reset-password"): ADMIN_ONLY,
    ("POST", "/api/v1/admin/staff/{user_id}/unlock"): ADMIN_ONLY,
    ("POST", "/api/v1/admin/staff/{user_id}/reset-two-factor"): ADMIN_ONLY,
    ("GET", "/api/v1/admin/clinics"): ADMIN_ONLY,
    # --- JSON API: instruments (no patient data) --------------------------------------------
    ("GET", "/api/v1/instruments"): STAFF,
    ("GET", "/api/v1/instruments/{instrument_id}"): STAFF,
    ("POST", "/api/v1/score"): STAFF,
    # --- JSON API: patient register ---------------------------------------------------------
    ("GET", "/api/v1/patients"): REGISTER,
    ("POST", "/api/v1/patients"): REGISTER,
    ("POST", "/api/v1/patients/search"): REGISTER,
    ("GET", "/api/v1/patients/{patient_id}"): REGISTER,
    ("PUT", "/api/v1/patients/{patient_id}"): REGISTER,
    ("GET", "/api/v1/patients/{patient_id}/links"): REGISTER,
    ("POST", "/api/v1/patients/{patient_id}/links"): REGISTER,
    ("GET", "/api/v1/patients/{patient_id}/deliveries"): REGISTER,
    # --- JSON API: clinical data ------------------------------------------------------------
    ("GET", "/api/v1/patients/{patient_id}/assessments"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/assessments"): CLINICAL,
    ("GET", "/api/v1/assessments/{assessment_id}"): CLINICAL,
    ("GET", "/api/v1/alerts"): CLINICAL,
    ("GET", "/api/v1/alerts/history"): CLINICAL,
    ("POST", "/api/v1/alerts/{alert_id}/action"): ALERT_ACTION,
    ("GET", "/api/v1/dashboard"): CLINICAL,
    # --- JSON API: the patient's link (the token is the credential) -------------------------
    ("GET", "/api/v1/self-report/{token}"): PUBLIC,
    ("POST", "/api/v1/self-report/{token}"): PUBLIC,
    # --- JSON API: clinical pathway (reference data, then per-patient clinical data) --------
    ("GET", "/api/v1/products"): STAFF,
    ("GET", "/api/v1/protocols"): STAFF,
    ("GET", "/api/v1/injection-sites"): STAFF,
    ("GET", "/api/v1/consent/current"): STAFF,
    ("GET", "/api/v1/patients/{patient_id}/screenings"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/screenings"): CLINICAL,
    ("POST", "/api/v1/screenings/{screening_id}/overrides"): PRESCRIBER,
    ("POST", "/api/v1/screenings/{screening_id}/unrecognised-confirmations"): PRESCRIBER,
    ("GET", "/api/v1/vocabulary/suggest"): CLINICAL,  # autocomplete of the screening form
    # frown biomarker (issue 18)
    ("POST", "/api/v1/patients/{patient_id}/photo-consent"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/photos"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/photos"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/photos/{pair_id}/{which}"): CLINICAL,
    ("DELETE", "/api/v1/patients/{patient_id}/photos"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/consents"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/consents"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/consents/{consent_id}/withdrawal"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/consents/{consent_id}/pdf"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/photo-consent/withdraw"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/treatments"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/treatments"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/adverse-events"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/adverse-events"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/adverse-events/{event_id}"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/adverse-events/{event_id}/updates"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/follow-up"): CLINICAL,
    ("GET", "/api/v1/follow-up/due"): CLINICAL,
    # --- FHIR R4 (application/fhir+json) ----------------------------------------------------
    ("GET", "/fhir/metadata"): PUBLIC,  # the CapabilityStatement: no patient data
    ("GET", "/fhir/Questionnaire/{instrument_id}"): STAFF,
    ("GET", "/fhir/Patient/{patient_id}/$everything"): CLINICAL,
    ("POST", "/fhir/QuestionnaireResponse"): CLINICAL,
    # --- pages: sign-in and account ---------------------------------------------------------
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/login/totp"): PUBLIC,
    ("POST", "/login/totp"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/account"): STAFF,
    ("POST", "/account/recovery-codes"): STAFF,
    ("GET", "/account/password"): STAFF,
    ("POST", "/account/password"): STAFF,
    ("GET", "/account/totp"): STAFF,
    ("POST", "/account/totp"): STAFF,
    ("POST", "/account/totp/disable"): STAFF,
    # --- pages: staff administration (administrators only) --------------------------------
    ("GET", "/admin/staff"): ADMIN_ONLY,
    ("POST", "/admin/staff"): ADMIN_ONLY,
    ("GET", "/admin/staff/{user_id}"): ADMIN_ONLY,
    ("POST", "/admin/staff/{user_id}"): ADMIN_ONLY,
    ("POST", "/admin/staff/{user_id}/deactivate"): ADMIN_ONLY,
    ("POST", "/admin/staff/{user_id}/reactivate"): ADMIN_ONLY,
    ("POST", "/admin/staff/{user_id}/reset-password"): ADMIN_ONLY,
    ("POST", "/admin/staff/{user_id}/unlock"): ADMIN_ONLY,
    ("POST", "/admin/staff/{user_id}/reset-two-factor"): ADMIN_ONLY,
    # --- pages: dashboard and register ------------------------------------------------------
    ("GET", "/"): REGISTER,
    ("GET", "/patients"): REGISTER,
    ("POST", "/patients/search"): REGISTER,
    ("GET", "/patients/new"): REGISTER,
    ("POST", "/patients/new"): REGISTER,
    ("GET", "/patients/{patient_id}"): REGISTER,
    ("GET", "/patients/{patient_id}/edit"): REGISTER,
    ("POST", "/patients/{patient_id}/edit"): REGISTER,
    ("POST", "/patients/{patient_id}/links"): REGISTER,
    # --- pages: clinical --------------------------------------------------------------------
    ("GET", "/patients/{patient_id}/assess/{instrument_id}"): CLINICAL,
    ("POST", "/patients/{patient_id}/assess/{instrument_id}"): CLINICAL,
    ("POST", "/alerts/{alert_id}/action"): ALERT_ACTION,
    ("GET", "/alerts"): CLINICAL,
    ("GET", "/patients/{patient_id}/screening"): CLINICAL,
    ("POST", "/patients/{patient_id}/screening"): CLINICAL,
    ("POST", "/screenings/{screening_id}/override"): PRESCRIBER,
    ("GET", "/patients/{patient_id}/consent"): CLINICAL,
    ("POST", "/patients/{patient_id}/consent"): CLINICAL,
    ("POST", "/patients/{patient_id}/consents/{consent_id}/withdraw"): CLINICAL,
    ("GET", "/patients/{patient_id}/consents/{consent_id}.pdf"): CLINICAL,
    ("GET", "/patients/{patient_id}/treatments/new"): CLINICAL,
    ("POST", "/patients/{patient_id}/treatments/new"): CLINICAL,
    ("GET", "/patients/{patient_id}/adverse-events/new"): CLINICAL,
    ("POST", "/patients/{patient_id}/adverse-events/new"): CLINICAL,
    ("GET", "/patients/{patient_id}/adverse-events/{event_id}"): CLINICAL,
    ("POST", "/patients/{patient_id}/adverse-events/{event_id}"): CLINICAL,
    # frown photos on the patient page (issue 18): consent, capture, audited views, deletion
    ("POST", "/patients/{patient_id}/photo-consent"): CLINICAL,
    ("POST", "/patients/{patient_id}/photo-consent/withdraw"): CLINICAL,
    ("POST", "/patients/{patient_id}/photos/check"): CLINICAL,
    ("POST", "/patients/{patient_id}/photos"): CLINICAL,
    ("GET", "/patients/{patient_id}/photos/{pair_id}/{which}"): CLINICAL,
    ("POST", "/patients/{patient_id}/photos/delete"): CLINICAL,
    # --- evidence base (published trial data, no patient data; researchers included) -------
    ("GET", "/api/v1/evidence/studies"): STAFF,
    ("GET", "/api/v1/evidence/studies/{study_id}"): STAFF,
    ("GET", "/api/v1/evidence/disorders/{disorder_id}"): STAFF,
    ("GET", "/api/v1/evidence/pool"): STAFF,
    ("GET", "/api/v1/evidence/sensitivity"): STAFF,
    ("GET", "/api/v1/evidence/headline"): STAFF,
    ("GET", "/evidence"): STAFF,
    ("GET", "/evidence/disorders/{disorder_id}"): STAFF,
    ("GET", "/evidence/studies/{study_id}"): STAFF,
    # --- trial planning from the evidence (no patient data; researchers included) ---------
    ("GET", "/evidence/planning"): STAFF,
    ("GET", "/api/v1/planning/means"): STAFF,
    ("GET", "/api/v1/planning/proportions"): STAFF,
    ("GET", "/api/v1/planning/crossover"): STAFF,
    ("GET", "/api/v1/planning/assurance"): STAFF,
    ("GET", "/api/v1/planning/simulate"): STAFF,
    ("GET", "/api/v1/planning/evidence"): STAFF,
    ("GET", "/api/v1/planning/retrospective"): STAFF,
    # --- consultation report (clinical data; generation and reads audited) -----------------
    ("GET", "/patients/{patient_id}/report"): CLINICAL,
    ("GET", "/patients/{patient_id}/report.pdf"): CLINICAL,
    ("POST", "/patients/{patient_id}/reports"): CLINICAL,
    ("GET", "/reports/{report_id}.pdf"): CLINICAL,
    ("GET", "/reports/report.css"): STAFF,
    ("GET", "/api/v1/patients/{patient_id}/consultation-report"): CLINICAL,
    ("GET", "/api/v1/patients/{patient_id}/consultation-reports"): CLINICAL,
    ("POST", "/api/v1/patients/{patient_id}/consultation-reports"): CLINICAL,
    ("GET", "/api/v1/consultation-reports/{report_id}"): CLINICAL,
    # --- clinic analytics (aggregates) and the de-identified research export -------------
    ("GET", "/api/v1/analytics"): AGGREGATES,
    ("GET", "/api/v1/analytics/frown"): AGGREGATES,
    ("GET", "/analytics"): AGGREGATES,
    ("GET", "/api/v1/not-on-track"): CLINICAL,
    ("GET", "/not-on-track"): CLINICAL,
    ("GET", "/api/v1/research/export"): RESEARCH,
    # --- pages: the patient's link ----------------------------------------------------------
    ("GET", "/r/{token}"): PUBLIC,
    ("POST", "/r/{token}"): PUBLIC,
    ("POST", "/r/{token}/photos/agree"): PUBLIC,
    ("POST", "/r/{token}/photos/check"): PUBLIC,
    ("POST", "/r/{token}/photos"): PUBLIC,
}


@dataclass(frozen=True)
class RouteKey:
    """One (method, path template) pair of the app."""

    method: str
    path: str


@dataclass(frozen=True)
class _Entry:
    method: str
    path: str
    regex: re.Pattern[str] | None
    prefix: bool


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    """The app's routes with the prefixes of included routers applied (flattened)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    if flatten is None:  # older FastAPI: included routes are copied into app.routes
        yield from app.routes
        return
    yield from flatten(app.routes)


def _entries(app: FastAPI) -> list[_Entry]:
    cached: list[_Entry] | None = getattr(app.state, "access_entries", None)
    if cached is not None:
        return cached
    entries: list[_Entry] = []
    for ctx in _route_contexts(app):
        route = getattr(ctx, "original_route", ctx)
        if isinstance(route, Mount):
            entries.append(_Entry("GET", route.path, None, prefix=True))
            continue
        path = getattr(ctx, "path", None)
        regex = getattr(ctx, "path_regex", None)
        if path is None:
            continue
        methods = getattr(ctx, "methods", None) or {"GET"}
        entries.extend(_Entry(m, path, regex, prefix=False) for m in sorted(methods) if m != "HEAD")
    app.state.access_entries = entries
    return entries


def route_keys(app: FastAPI) -> list[RouteKey]:
    """Every (method, path template) the app answers, HEAD excluded (it follows GET)."""
    return [RouteKey(e.method, e.path) for e in _entries(app)]


def missing_rules(app: FastAPI) -> list[RouteKey]:
    """Routes of ``app`` without an entry in ``MATRIX``."""
    return [k for k in route_keys(app) if (k.method, k.path) not in MATRIX]


def _matched(app: FastAPI, request: Request) -> tuple[str, str] | None:
    """The (method, template) of the route the router will run, or None (404/405 follow)."""
    path = request.url.path
    method = "GET" if request.method == "HEAD" else request.method
    for entry in _entries(app):
        if entry.prefix:
            if path == entry.path or path.startswith(entry.path.rstrip("/") + "/"):
                return "GET", entry.path
        elif entry.method == method and entry.regex is not None and entry.regex.match(path):
            return method, entry.path
    return None


CONFIRMED_IN_TRANSACTION: frozenset[tuple[str, str]] = frozenset(
    {("POST", "/api/v1/patients/{patient_id}/assessments")}
)
"""Routes checked here against the role the signed session claims, without a database read.

The hot path of the clinic (a clinician's submission) spends no thread hop and no read
transaction on the session: its endpoint confirms the claim with
``glabella.services.submissions.confirm_actor`` inside the same write transaction, against this same
``MATRIX`` rule, before it writes anything. A claim that this rule refuses (or a session
without one) is decided from the database as on every other route, so a role that was just
widened takes effect at once. Tested in ``tests/security/test_confirmed_in_transaction.py``.
"""


DENIED_HEADER = "X-Glabella-Access"
"""Set to ``denied`` on every refusal made by the matrix (tests and proxies can tell it apart
from a refusal made further in, e.g. a CSRF failure)."""


def _denied(request: Request, role: str, method: str, path: str) -> Response:
    api = request.url.path.startswith(("/api/", "/fhir/"))
    response: Response
    if role == ANONYMOUS and api:
        response = JSONResponse(
            {
                "error": {
                    "code": "unauthorized",
                    "message": "sign in first: POST /api/v1/auth/login",
                    "field": None,
                }
            },
            status_code=401,
        )
    elif role == ANONYMOUS:
        target = "/login/totp" if pending_second_factor(request) is not None else "/login"
        response = RedirectResponse(target, status_code=303)
    elif api:
        message = f"your role ({role}) has no access to {method} {path}"
        response = JSONResponse(
            {"error": {"code": "access_denied", "message": message, "field": None}},
            status_code=403,
        )
    else:
        from glabella.web.templating import TEMPLATES

        message = f"your role ({role}) has no access to {method} {path}"
        response = TEMPLATES.TemplateResponse(
            request,
            "error.html",
            {"status": 403, "message": message, "user": None},
            status_code=403,
        )
    response.headers[DENIED_HEADER] = "denied"
    return response


async def _decide(request: Request) -> Response | None:
    """The refusal for this request, or None when the matrix lets the session's role in."""
    matched = _matched(request.app, request)
    if matched is None:
        return None
    method, path = matched
    rule = MATRIX.get((method, path), frozenset())
    if rule == PUBLIC:
        return None
    if (method, path) in CONFIRMED_IN_TRANSACTION:
        claim = session_claim(request)
        if claim is not None and claim.role in rule:
            return None  # the endpoint confirms the claim before it writes anything
    user = await run_in_threadpool(session_user, request)
    role = user.role if user is not None else ANONYMOUS
    if role not in rule:
        return _denied(request, role, method, path)
    return None


class EnforceAccess:
    """Middleware (pure ASGI): refuse the request unless the matrix lets the role use the route.

    Pure ASGI rather than ``BaseHTTPMiddleware``: the request body is streamed straight to the
    endpoint, and no extra task or memory stream is spent per request. It must run inside the
    session middleware (it reads the session).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = await _decide(Request(scope, receive))
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)


__all__ = [
    "ALL_ROLES",
    "ANONYMOUS",
    "DENIED_HEADER",
    "MATRIX",
    "PUBLIC",
    "STAFF",
    "EnforceAccess",
    "RouteKey",
    "missing_rules",
    "route_keys",
]
