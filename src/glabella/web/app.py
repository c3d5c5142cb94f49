"""The FastAPI application: JSON API, HTML pages, error handling and security headers."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import glabella
from glabella.services import audit, delivery, strict_inputs
from glabella.services.context import Actor, Database
from glabella.services.errors import OtherClinic, ServiceError
from glabella.services.group_commit import GroupCommitWriter
from glabella.settings import Settings, get_settings
from glabella.web.access import EnforceAccess
from glabella.web.base_url import startup_mismatch
from glabella.web.deps import LoginRequired, PasswordChangeRequired, pending_second_factor
from glabella.web.limits import BoundedRequests
from glabella.web.methods import MethodNotAllowed
from glabella.web.openapi import document_errors
from glabella.web.proxies import TrustedProxies, parse_trusted
from glabella.web.routes import (
    admin,
    analytics,
    assessments,
    auth,
    biomarker,
    evidence,
    fhir,
    pathway,
    patients,
    planning,
    reports,
)
from glabella.web.templating import TEMPLATES

log = logging.getLogger("glabella.web")

_followup_sleep = asyncio.sleep
"""The pause between two rounds of the server's follow-up e-mails (a test shortens it)."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


_TOKEN_PATHS = re.compile(r"(/r/|/api/v1/self-report/)[^/?\s]+")


def redact_url(path: str) -> str:
    """A URL fit for a log: no query string (searches may hold names) and no link tokens."""
    return _TOKEN_PATHS.sub(r"\1[token]", path.split("?", 1)[0])


class RedactAccessLog(logging.Filter):
    """Strips query strings and self-report tokens from uvicorn's access-log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_url(args[2]), *args[3:])
        return True


def install_log_redaction() -> None:
    """Attach :class:`RedactAccessLog` to uvicorn's access logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in logger.filters):
        logger.addFilter(RedactAccessLog())


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "user": None},
        status_code=status,
    )


def _body_model(request: Request) -> type[BaseModel] | None:
    """The route's body model, whose field titles label the errors ("date of birth")."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _describe_validation(
    exc: RequestValidationError, model: type[BaseModel] | None = None
) -> tuple[str, str, list[dict[str, str | None]]]:
    """First message, its field and every problem, each naming its field (H-059)."""
    problems = strict_inputs.describe(list(exc.errors()), model, skip=("body", "query", "path"))
    if not problems:
        return "request: invalid request", "request", []
    first = problems[0]
    return str(first["message"]), first["field"] or "request", problems


class SecurityHeaders:
    """Middleware (pure ASGI): CSP, no sniffing or framing, no referrer, no caching by default,
    and HSTS when served over TLS, added to every HTTP response."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if self.https:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _audit_other_clinic(request: Request, exc: OtherClinic) -> None:
    """A refused cross-clinic request leaves an audit row (its own transaction: the request's
    rolled back). The answer stays the same 404 as for a record that does not exist."""
    if not isinstance(exc.actor, Actor):
        return
    db: Database = request.app.state.db
    with db.transaction() as session:
        audit.record(session, exc.actor, "access.refused_other_clinic", exc.entity, exc.entity_id)


CHECKPOINT_MINUTES = 60
"""Each app process appends a signed audit checkpoint on startup and then this often."""


def _audit_checkpoints(
    db: Database, settings: Settings
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A process with another audit key would break the chain for every process: it does
        # not start (hazard H-065).
        await asyncio.to_thread(audit.check_key, db)

        async def loop() -> None:
            path = settings.resolved_checkpoint_file()
            while True:
                try:
                    await asyncio.to_thread(audit.write_checkpoint, db, path)
                except audit.CheckpointError:
                    log.error("audit checkpoint refused: the audit chain does not verify")
                except Exception:  # a checkpoint must never take the server down
                    log.exception("audit checkpoint failed")
                await asyncio.sleep(CHECKPOINT_MINUTES * 60)

        app.state.base_url_warning = startup_mismatch(settings)
        if app.state.base_url_warning:
            log.warning("%s", app.state.base_url_warning)

        async def followup() -> None:
            while True:
                await _followup_sleep(settings.followup_send_minutes * 60)
                try:
                    report = await asyncio.to_thread(delivery.run_schedule, db, settings)
                    if report.failed:
                        log.error("follow-up e-mails: %s failed", report.failed)
                except ServiceError as exc:
                    log.error("follow-up e-mails not sent: %s", exc.message)
                except Exception:  # the schedule must never take the server down
                    log.exception("follow-up e-mails failed")

        tasks = [asyncio.create_task(loop())]
        if settings.followup_send_minutes > 0:
            tasks.append(asyncio.create_task(followup()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan


API_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Glabella API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script></body></html>
"""


def _api_docs(app: FastAPI) -> None:
    """``/api/docs``: Swagger UI from the ``swagger-ui-py`` package, no CDN, strict CSP."""
    # the package's own module imports its framework handlers: read only its static folder
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: reinstall the project")
    assets = Path(next(iter(spec.submodule_search_locations))) / "static"

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(API_DOCS_PAGE)

    app.mount("/api/docs/assets", StaticFiles(directory=str(assets)), name="api-docs")


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the app; tests pass their own settings and database."""
    settings = settings or get_settings()
    db = db or Database.from_url(settings.resolved_database_url())
    audit.use_key(settings.resolved_audit_key())
    app = FastAPI(
        lifespan=_audit_checkpoints(db, settings),
        title="Glabella",
        version=glabella.__version__,
        description="BoNT-A for depression: evidence engine, clinical pathway, learning clinic.",
        docs_url=None,  # served below from the vendored Swagger UI (works offline)
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.writer = GroupCommitWriter(db)
    install_log_redaction()

    # Added first, so it runs inside the session middleware (it needs the session).
    app.add_middleware(EnforceAccess)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="glabella_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.https,
    )

    # Outside the access matrix: a method the path does not serve is a 405 with its Allow.
    app.add_middleware(MethodNotAllowed)
    # Outside the session and the app: an oversized body is refused before anything reads it.
    app.add_middleware(BoundedRequests)
    app.add_middleware(SecurityHeaders, https=settings.https)
    app.add_middleware(TrustedProxies, trusted=parse_trusted(settings.trusted_proxies))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        if isinstance(exc, OtherClinic):
            await run_in_threadpool(_audit_other_clinic, request, exc)
        if _wants_json(request):
            return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code)
        return _error_page(request, exc.status_code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        message, where, problems = _describe_validation(exc, _body_model(request))
        if _wants_json(request):
            return JSONResponse(
                {
                    "error": {
                        "code": "invalid",
                        "message": message,
                        "field": where,
                        "problems": problems,
                    }
                },
                status_code=422,
            )
        return _error_page(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else "error"
        if exc.status_code == 404:
            message = "not found"
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": "http", "message": message, "field": None}},
                status_code=exc.status_code,
                headers=exc.headers,  # e.g. 405's Allow (RFC 9110 section 15.5.6)
            )
        page = _error_page(request, exc.status_code, message)
        for name, value in (exc.headers or {}).items():
            page.headers[name] = value
        return page

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/login/totp" if pending_second_factor(request) is not None else "/login"
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> Response:
        # An id or number too large for the database column (e.g. /patients/99999999999999999999).
        message = "a number in the request is out of range; nothing was saved"
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": "invalid", "message": message, "field": None}},
                status_code=422,
            )
        return _error_page(request, 422, message)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error, reference %s", reference)
        message = f"something went wrong on our side (reference {reference}); nothing was saved"
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": "internal", "message": message, "field": None}},
                status_code=500,
            )
        return _error_page(request, 500, message)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": glabella.__version__}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """For a reverse proxy's or orchestrator's health check: this process answers *and*
        reaches the database (``/healthz`` only says the process answers). 503 otherwise."""
        try:
            with db.read() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            log.warning("readiness check: the database is unreachable (%s)", type(exc).__name__)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok", "version": glabella.__version__})

    # The order is the matching order: JSON API first, then the pages (each feature's routes
    # are in glabella.web.routes.<feature>: ``api_router`` JSON, ``router`` HTML pages).
    for api_router in (
        auth.api_router,
        patients.api_router,
        assessments.api_router,
        pathway.api_router,
        biomarker.api_router,
        fhir.api_router,
        admin.api_router,
        analytics.api_router,
        evidence.api_router,
        reports.api_router,
        planning.api_router,
    ):
        app.include_router(api_router)
    for page_router in (
        auth.router,
        admin.router,
        analytics.router,
        patients.router,
        assessments.router,
        pathway.router,
        biomarker.router,
        evidence.router,
        reports.router,
        planning.router,
    ):
        app.include_router(page_router)
    _api_docs(app)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    document_errors(app)
    return app
