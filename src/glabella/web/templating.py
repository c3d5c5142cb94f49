"""Jinja2 environment shared by every page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from glabella.clinic.protocol import load_protocols
from glabella.labels import VOCABULARIES, arm, label, name_studies
from glabella.services import adverse_events as ae_service
from glabella.services.roles import role_label
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
