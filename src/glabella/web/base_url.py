"""The address a patient's link points at, and the warning when it is not the one served.

With ``GLABELLA_BASE_URL`` blank a link carries the scheme and host of the request that made
it (the staff member's browser reached the app there; ``X-Forwarded-Proto``/``-Host`` count
only from a trusted proxy, see ``web.proxies``). With it set, the link carries it; when it
names another address than the one served (another port at start-up, or another host on the
request that made a link), a warning is logged once and kept for the admin's dashboard: a
patient given such a link gets "connection refused" (issue 16, hazard H-091).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import Request

from glabella.settings import Settings

log = logging.getLogger("glabella.base_url")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def startup_mismatch(settings: Settings) -> str | None:
    """Why the configured base URL cannot be the listening address, or ``None``.

    Only the port can be compared at start-up (a host name may resolve to the listening
    address); behind a trusted proxy the ports differ by design and nothing is reported, nor
    when ``GLABELLA_PORT`` was not given (``make run`` gives it; a bare ``uvicorn --port``
    does not tell the app, and the request check below still applies).
    """
    if not settings.base_url or settings.trusted_proxies.strip():
        return None
    if "port" not in settings.model_fields_set:  # not told where it listens (GLABELLA_PORT)
        return None
    port = _origin(settings.base_url)[2]
    if port != settings.port:
        return (
            f"GLABELLA_BASE_URL is {settings.base_url} but the server listens on port "
            f"{settings.port}: links sent to patients will not reach this server "
            "(fix GLABELLA_BASE_URL, or leave it blank to use the address served)"
        )
    return None


def request_mismatch(settings: Settings, request: Request) -> str | None:
    """Why the configured base URL is not the address this request reached, or ``None``."""
    if not settings.base_url:
        return None
    served = str(request.base_url)
    if _origin(settings.base_url) == _origin(served):
        return None
    return (
        f"GLABELLA_BASE_URL is {settings.base_url.rstrip('/')} but this server was reached at "
        f"{served.rstrip('/')}: check that patients can open links at the configured address"
    )


def note_mismatch(request: Request, message: str | None) -> None:
    """Log ``message`` once per app and keep it for the admin's dashboard."""
    if message is None:
        return
    state = request.app.state
    if getattr(state, "base_url_warning", None) != message:
        log.warning("%s", message)
        state.base_url_warning = message


def link_base(request: Request, settings: Settings) -> str:
    """The scheme://host[:port] a new link starts with (no trailing slash)."""
    if settings.base_url:
        note_mismatch(request, request_mismatch(settings, request))
        return settings.base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def link_url(request: Request, settings: Settings, token: str) -> str:
    """The patient's URL of a self-report link token."""
    return f"{link_base(request, settings)}/r/{token}"
