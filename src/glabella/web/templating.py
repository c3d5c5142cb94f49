"""Jinja2 environment shared by every page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from glabella.services.roles import role_label
from glabella.web.menu import home_for, menu_for

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _local(value: dt.datetime | None, tz: str = "Europe/London") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.globals["menu_for"] = menu_for
TEMPLATES.env.globals["home_for"] = home_for
TEMPLATES.env.globals["role_label"] = role_label
