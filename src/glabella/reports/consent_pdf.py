"""The patient's copy of a signed consent: an A4 HTML document and its PDF (WeasyPrint).

Same approach as the consultation report (:mod:`glabella.reports.render`): a standalone
document with print CSS, ``lang`` set, made into a tagged PDF (``pdf/ua-1``). The consent text
is the exact signed version, rendered from Markdown with raw HTML disabled
(:func:`glabella.clinic.consent.render_consent_html`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from glabella.clinic.consent import render_consent_html

__all__ = ["ConsentDocument", "render_consent_document", "render_consent_pdf"]


@dataclass(frozen=True)
class ConsentDocument:
    """Everything the copy shows (plain values; the service layer fills it)."""

    consent_id: int
    version: str
    text_sha256: str
    text: str
    patient_name: str
    date_of_birth: dt.date
    mrn: str
    signed_at: dt.datetime
    signed_name: str
    name_mismatch_reason: str | None
    recorded_by: str
    withdrawn_at: dt.datetime | None
    withdrawn_reason: str | None
    withdrawn_by: str | None
    clinic_tz: str
    printed_at: dt.datetime


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("glabella.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _when(moment: dt.datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.day} {local:%B %Y, %H:%M} ({tz})"


def render_consent_document(doc: ConsentDocument) -> str:
    """The copy as a standalone A4 HTML document (the input of the PDF)."""
    return (
        _env()
        .get_template("consent_document.html")
        .render(
            d=doc,
            text_html=Markup(render_consent_html(doc.text)),  # html disabled
            when=lambda m: _when(m, doc.clinic_tz),
            dob=f"{doc.date_of_birth.day} {doc.date_of_birth:%B %Y}",
        )
    )


def render_consent_pdf(doc: ConsentDocument) -> bytes:
    """The copy as a tagged A4 PDF (WeasyPrint)."""
    import weasyprint  # type: ignore[import-untyped]  # imported late: pango loads slowly

    html = render_consent_document(doc)
    pdf: bytes = weasyprint.HTML(string=html, base_url=None).write_pdf(
        pdf_variant="pdf/ua-1", uncompressed_pdf=False
    )
    return pdf
