"""Clinic analytics (page + JSON) and the de-identified research export (zip download).

Thin adapters over ``glabella.services.analytics`` and ``glabella.services.research_export``.
Both show aggregates or de-identified rows only, so researchers may use them (see
``web/access.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from glabella.analytics.charts import funnel_svg, months_svg, trajectory_svg
from glabella.analytics.compute import NOT_ON_TRACK_MIN_N, NOT_ON_TRACK_Z
from glabella.analytics.frown import CAVEAT, RETURN_FRACTION
from glabella.services.analytics import (
    DEFINITIONS,
    NOT_ON_TRACK_RECENT_DAYS,
    clinic_analytics,
    not_on_track_list,
)
from glabella.services.errors import Invalid
from glabella.services.frown_analytics import DEFINITIONS as FROWN_DEFINITIONS
from glabella.services.frown_analytics import frown_analytics
from glabella.services.research_export import export_zip
from glabella.web.deps import (
    ActorDep,
    DbDep,
    client_source,
    get_settings_from,
    page_user,
)
from glabella.web.templating import render

api_router = APIRouter(prefix="/api/v1")
router = APIRouter(include_in_schema=False)


def _as_of(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"as_of: {raw!r} is not an ISO date-time", field="as_of") from None
    if moment.tzinfo is None:
        raise Invalid("as_of: give a timezone offset, e.g. +00:00", field="as_of")
    return moment


@api_router.get("/analytics", tags=["analytics"])
def analytics_json(
    actor: ActorDep,
    db: DbDep,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, object]:
    """The clinic's outcomes (Wilson 95 % CIs) beside the trials, by group, with definitions."""
    return clinic_analytics(db, actor, as_of=_as_of(as_of)).to_dict()


@api_router.get("/analytics/frown", tags=["analytics"])
def frown_analytics_json(
    actor: ActorDep,
    db: DbDep,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
    return_fraction: Annotated[float, Query(gt=0, lt=1)] = RETURN_FRACTION,
) -> dict[str, object]:
    """Frown biomarker beside PHQ-9: week-2 frown reduction vs week-6 PHQ-9 change
    (correlation with 95 % CIs, observational), frown return vs mood benefit end (medians)."""
    result = frown_analytics(db, actor, as_of=_as_of(as_of), return_fraction=return_fraction)
    return {**result.to_dict(), "definitions": FROWN_DEFINITIONS}


@api_router.get(
    "/research/export",
    tags=["research"],
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "a zip file"}},
)
def research_export(request: Request, actor: ActorDep, db: DbDep) -> Response:
    """The de-identified research export (CSV + Parquet + data dictionary) as a zip file."""
    key = get_settings_from(request).resolved_research_key()
    payload = export_zip(db, actor, key)
    return Response(
        payload,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="glabella-research-export.zip"'},
    )


@router.get("/analytics")
def analytics_page(request: Request, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    actor = user.actor(client_source(request))
    report = clinic_analytics(db, actor)
    frown = frown_analytics(db, actor)
    o = report.outcomes
    return render(
        request,
        "analytics.html",
        user=user,
        report=report,
        o=o,
        definitions=DEFINITIONS,
        funnel=funnel_svg(o.funnel, o.funnel_p0),
        months=months_svg(o.months, report.treatments_per_month),
        trajectory=trajectory_svg(report.trajectory),
        frown=frown,
        frown_definitions=FROWN_DEFINITIONS,
        frown_caveat=CAVEAT,
    )


NOT_ON_TRACK_RULE = (
    f"Latest PHQ-9 (last {NOT_ON_TRACK_RECENT_DAYS} days) above the clinic's "
    "expected-recovery bound for the patient's baseline severity band and week: mean + "
    f"{NOT_ON_TRACK_Z} SD of the clinic's patients in that band and week, when at least "
    f"{NOT_ON_TRACK_MIN_N} patients are in it. The idea of Lambert's outcome monitoring: expected "
    "recovery curves by intake severity with a tolerance bound as an early warning (Finch et al. "
    "2001, OQ-45, N = 11 492; Bybee, Lambert & Eggett 2007, Tijdschr Psychother, "
    "doi:10.1007/BF03062308). The empirical curve, the one-sided 90 % bound and the minimum n "
    "are clinic choices, not validated for BoNT-A: a prompt to review, not a verdict."
)


@api_router.get("/not-on-track", tags=["analytics"])
def not_on_track_json(
    actor: ActorDep, db: DbDep, as_of: Annotated[str | None, Query(max_length=40)] = None
) -> dict[str, object]:
    """Patients whose latest PHQ-9 is above the clinic's expected-recovery bound."""
    rows = not_on_track_list(db, actor, as_of=_as_of(as_of))
    return {"rule": NOT_ON_TRACK_RULE, "patients": [r.to_dict() for r in rows]}


@router.get("/not-on-track")
def not_on_track_page(request: Request, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    actor = user.actor(client_source(request))
    rows = not_on_track_list(db, actor)
    return render(request, "not_on_track.html", user=user, rows=rows, rule=NOT_ON_TRACK_RULE)
