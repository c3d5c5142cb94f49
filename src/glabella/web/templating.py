"""Jinja2 environment shared by every page, and :func:`render` / :func:`redirect` for routes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from glabella.clinic.protocol import load_protocols
from glabella.labels import VOCABULARIES, arm, label, name_studies
from glabella.services import adverse_events as ae_service
from glabella.services.roles import role_label
from glabella.services.users import UserView
from glabella.web.deps import csrf_token, get_settings_from
from glabella.web.forms import field_name
from glabella.web.menu import home_for, menu_for

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _local(value: dt.datetime | None, tz: str = "Europe/London") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _label(code: object, vocabulary: str) -> str:
    """``{{ t.product_id|label("product") }}``: the label of a code (glabella.labels)."""
    if vocabulary == "role":
        return role_label(str(code)) if code else ""
    if vocabulary == "ae_outcome":  # the adverse-event form's own words
        return ae_service.OUTCOME_LABELS.get(str(code), str(code)) if code else ""
    return label(code, vocabulary)


TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.filters["label"] = _label
TEMPLATES.env.filters["studies_named"] = name_studies
TEMPLATES.env.globals["vocabularies"] = VOCABULARIES
TEMPLATES.env.globals["arm_label"] = arm
TEMPLATES.env.globals["protocol_names"] = lambda: {p.id: p.name for p in load_protocols().values()}
TEMPLATES.env.globals["menu_for"] = menu_for
TEMPLATES.env.globals["home_for"] = home_for
TEMPLATES.env.globals["role_label"] = role_label


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the common context (user, CSRF token, clinic timezone)."""
    settings = get_settings_from(request)
    context.setdefault("user", None)
    context["csrf"] = csrf_token(request)
    user = context["user"]
    # the signed-in user's clinic decides (clinics.timezone); pages without a user (sign-in,
    # the patient's link page) fall back to the configured default clinic zone
    context["tz"] = user.clinic_timezone if isinstance(user, UserView) else settings.timezone
    context["field_name"] = field_name
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """A 303 to ``url`` (after a form POST)."""
    return RedirectResponse(url, status_code=303)
