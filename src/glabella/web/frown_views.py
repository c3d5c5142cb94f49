"""What the frown-photo sections of the clinician's patient page and of the patient's link page
show (context builders; the routes are in ``glabella.web.routes.biomarker``).

A refused upload's problems travel in ``request.state.frown_problems`` (field -> what to fix)
so that the route can re-render the page with status 422 and the photos' messages next to
their inputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request

from glabella.formatting import fixed
from glabella.services import biomarker as bio_service
from glabella.services.context import Actor, Database
from glabella.services.errors import ServiceError
from glabella.web.frown_chart import NARROW_WIDTH, frown_phq9_svg

GUIDANCE = (
    "Hold the phone at arm's length, about 50 cm from the face, at eye level.",
    "Face the camera straight on (frontal), head upright, whole face in the frame.",
    "Even light from the front (face a window or a lamp); no flash, no sun from one side.",
    "Hair off the forehead and brows; take off glasses.",
    "Only the patient in the photo.",
    "First photo: face relaxed. Second photo: frown as hard as you can (brows down and together).",
)
"""On-screen guidance; the checks of ``glabella.clinic.biomarker.measure`` enforce the parts a
machine can see (one face, frontal, sharp, exposure)."""

MEASURE_FAILED = "measurement failed"
"""What a missing measure reads as: never 0 (a failed detection is not "no frown")."""


def fmt_measure(value: float | None, places: int = 1) -> str:
    """A measure for display; a missing one reads "measurement failed", never 0."""
    if value is None:
        return MEASURE_FAILED
    return fixed(value, places)


@dataclass(frozen=True)
class FrownSection:
    """The clinician's section: consent state, the chart, the table."""

    consent: bio_service.PhotoConsentView | None
    rows: list[bio_service.FrownRow]
    chart: str | None
    chart_narrow: str | None
    """The same chart drawn 360 wide, shown on phones instead of ``chart``."""
    problems: dict[str, list[str]]
    notice: str | None
    withdrawals: tuple[bio_service.PhotoWithdrawalView, ...] = ()
    """Withdrawn photo consents (when, why, recorded by whom), newest first."""


def problems_by_field(exc: ServiceError) -> dict[str, list[str]]:
    """Group an error's problems by field ("rest", "frown", or "form" for the whole form)."""
    grouped: dict[str, list[str]] = {}
    for problem in exc.problems:
        grouped.setdefault(str(problem.get("field") or "form"), []).append(
            str(problem.get("message") or "")
        )
    if not grouped:
        grouped[exc.field if exc.field in ("rest", "frown", "confirmed", "reason") else "form"] = [
            exc.message
        ]
    return grouped


def clinician_section(
    request: Request,
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    phq9: Sequence[tuple[dt.datetime, int]],
    treatments: Sequence[tuple[dt.datetime, str]],
    timezone: str,
) -> FrownSection:
    """The patient page's frown section (the measures' read is audited by the service)."""
    consent = bio_service.photo_consent_status(db, actor, patient_id)
    rows = bio_service.frown_history(db, actor, patient_id)
    chart = chart_narrow = None
    if rows:  # PHQ-9 alone has its own chart in the score history
        fai = [(r.taken_at, r.index) for r in rows]
        zone = ZoneInfo(timezone)
        chart = frown_phq9_svg(fai, phq9, treatments, zone)
        chart_narrow = frown_phq9_svg(
            fai, phq9, treatments, zone, width=NARROW_WIDTH, chart_id="frown-chart-narrow"
        )
    problems: dict[str, list[str]] = getattr(request.state, "frown_problems", {})
    notice = request.session.pop("frown_notice", None)
    return FrownSection(
        consent,
        rows,
        chart,
        chart_narrow,
        problems,
        notice if isinstance(notice, str) else None,
        tuple(bio_service.photo_consent_withdrawals(db, actor, patient_id)),
    )


def link_section(request: Request, db: Database, token: str) -> dict[str, Any]:
    """The patient's link page context: photo consent on record? pair already received?
    Empty (no photo section) when the link can no longer be used."""
    try:
        state = bio_service.link_photo_state(db, token)
    except ServiceError:
        return {}
    notice = request.session.pop("photo_notice", None)
    return {
        "photo_state": state,
        "photo_problems": getattr(request.state, "frown_problems", {}),
        "photo_notice": notice if isinstance(notice, str) else None,
        "photo_guidance": GUIDANCE,
    }
