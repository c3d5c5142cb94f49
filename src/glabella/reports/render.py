"""Rendering: the report data + a language -> HTML (page fragment or A4 document) -> PDF.

The same body template serves the web page and the PDF. The PDF is made by WeasyPrint from
the standalone document (A4, print CSS, headings tagged, ``lang`` set, SVG charts with
titles and descriptions); ``pdf_variant="pdf/ua-1"`` asks WeasyPrint for a tagged PDF.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from glabella.labels import label, name_studies
from glabella.reports.i18n import Translator, get_translator
from glabella.reports.icons import IconGroup, counts_of_100, icon_array_svg
from glabella.reports.model import (
    ConsultationReport,
    DoseData,
    Footnote,
    GradeDomain,
    OutcomeEvidence,
)

__all__ = ["RenderMeta", "render_body", "render_document", "render_pdf", "report_stylesheet"]


@dataclass(frozen=True)
class RenderMeta:
    """What is known about the stored record when rendering (None for a preview)."""

    report_id: int | None = None
    content_hash: str | None = None


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("glabella.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = label  # codes -> what a person reads (glabella.labels)
    return env


@cache
def report_stylesheet() -> str:
    """The report's CSS (A4 page rules for the PDF; the same classes style the web page)."""
    return (
        resources.files("glabella.reports").joinpath("templates", "report.css").read_text("utf-8")
    )


def dose_text(t: Translator, d: DoseData | None) -> str:
    """Units with their product, always (e.g. "29 U onabotulinumtoxinA (Botox)")."""
    if d is None:
        return t("common.unknown")
    return t("plan.dose", units=d.units, product=d.product_id, brand=d.brand)


#: GRADE parameters that are shares of the meta-analytic weight (fractions 0..1).
_GRADE_SHARES = frozenset({"share", "high", "concern"})
#: GRADE parameters that are CI limits (formatted like every other number of the report).
_GRADE_NUMBERS = frozenset({"lo", "hi"})


def grade_reason(t: Translator, d: GradeDomain) -> Markup:
    """The reason of one GRADE domain in the report's language (``grade.reason.<code>``).

    Shares become whole percentages, I² a whole number, CI limits numbers with the language's
    decimal separator. ``details`` (indirectness reasons recorded in the English evidence
    files) stays English and is marked ``lang="en"``. Without a code (older data) the English
    reason is shown, marked ``lang="en"``.
    """
    if not d.code or not t.has(f"grade.reason.{d.code}"):
        return Markup('<span lang="en">{}</span>').format(name_studies(d.reason))
    params: dict[str, Any] = {}
    for key, value in d.params.items():
        if key in _GRADE_SHARES and isinstance(value, int | float):
            params[key] = escape(t.percent(float(value)))
        elif key == "i2" and isinstance(value, int | float):
            params[key] = escape(t.number(float(value), 0))
        elif key in _GRADE_NUMBERS and isinstance(value, int | float):
            params[key] = escape(t.number(float(value)))
        elif key == "details":
            params[key] = Markup('<span lang="en">{}</span>').format(name_studies(str(value)))
        elif key == "ids":  # study ids -> "Finzi & Rosenthal 2014" (the stored params keep ids)
            params[key] = escape(name_studies(str(value)))
        else:
            params[key] = escape(str(value))
    return Markup(escape(t.messages[f"grade.reason.{d.code}"]).format(**params))


def footnote_text(t: Translator, f: Footnote) -> Markup:
    """A footnote in the report's language when it is the report's own wording (``f.msg``).

    Citations (params ``cite*``) and footnotes without a locale key (bibliographic
    references) keep their original language and are marked ``lang="en"``.
    """
    if not f.msg or not t.has(f.msg):
        return Markup('<span lang="en">{}</span>').format(f.text)
    params: dict[str, Any] = {}
    for key, value in f.params.items():
        if key.startswith("cite"):
            params[key] = Markup('<span lang="en">{}</span>').format(value)
        elif isinstance(value, float):
            params[key] = escape(str(int(value)) if value.is_integer() else t.number(value, 1))
        else:
            params[key] = escape(str(value))
    return Markup(escape(t.messages[f.msg]).format(**params))


def _arrays(t: Translator, o: OutcomeEvidence, ident: str) -> dict[str, Markup]:
    return _icon_arrays(
        t, o.outcome, o.placebo_risk, o.bont_risk, o.bont_risk_lo, o.bont_risk_hi, ident
    )


def _icon_arrays(
    t: Translator,
    outcome: str,
    placebo_risk: float,
    bont_risk: float,
    bont_lo: float,
    bont_hi: float,
    ident: str,
) -> dict[str, Markup]:
    """Two icon arrays: placebo, and the toxin with its range (solid to the lower bound)."""
    what = t(f"evidence.outcome_noun.{outcome}")
    placebo = counts_of_100(placebo_risk)[0]
    plac_alt = t("icons.placebo_alt", n=placebo, what=what)
    lo, hi = sorted((bont_lo, bont_hi))
    solid, uncertain = counts_of_100(lo, hi)
    bont_alt = t(
        "icons.bont_alt" if solid > 0 else "icons.bont_alt_from_zero",
        n=t.per100(bont_risk),
        lo=t.per100(lo),
        hi=t.per100(hi),
        what=what,
    )
    return {
        "placebo": Markup(
            icon_array_svg(
                [IconGroup(placebo, "solid")],
                title=f"{t('icons.placebo_title', what=what)}. {plac_alt}",
                alt=plac_alt,
                ident=f"{ident}-placebo",
            )
        ),
        "placebo_alt": Markup(escape(plac_alt)),
        "bont": Markup(
            icon_array_svg(
                [IconGroup(solid, "extra"), IconGroup(uncertain, "uncertain")],
                title=f"{t('icons.bont_title', what=what)}. {bont_alt}",
                alt=bont_alt,
                ident=f"{ident}-bont",
            )
        ),
        "bont_alt": Markup(escape(bont_alt)),
    }


def _nnt_text(t: Translator, o: OutcomeEvidence) -> str:
    if o.nnt_kind == "none":
        head = t("evidence.nnt_none")
    else:
        head = t(f"evidence.nnt_head.{o.nnt_kind}", n=t.nnt_value(o.nnt))
    if o.crosses_no_effect:
        return t(
            "evidence.nnt_ci_crossing",
            head=head,
            b=t.nnt_value(o.nntb_limit),
            h=t.nnt_value(o.nnth_limit),
        )
    near = o.nntb_limit if o.nnt_kind == "NNTB" else o.nnth_limit
    return t(
        "evidence.nnt_ci",
        head=head,
        kind=o.nnt_kind,
        near=t.nnt_value(near),
        far=t.nnt_value(o.nnt_far),
    )


def _context(report: ConsultationReport, lang: str, meta: RenderMeta) -> dict[str, Any]:
    t = get_translator(lang)
    arrays = {o.outcome: _arrays(t, o, f"ia-{o.outcome}") for o in report.evidence.outcomes}
    c = report.evidence.change
    change_arrays = (
        _icon_arrays(t, "response", c.placebo_rate, c.resp_rate, c.resp_lo, c.resp_hi, "ia-change")
        if c is not None
        else {}
    )
    left_out_names = ", ".join(
        t(
            "evidence.change.left_out_arm",
            short=x.short,
            dose=f"{x.dose_units:g}",
            product=x.product,
        )
        if x.dose_units is not None
        else x.short
        for x in (c.left_out if c is not None else ())
    )
    return {
        "change_arrays": change_arrays,
        "left_out_names": left_out_names,
        "r": report,
        "t": t,
        "lang": lang,
        "meta": meta,
        "arrays": arrays,
        "nnt_text": {o.outcome: _nnt_text(t, o) for o in report.evidence.outcomes},
        "dose": lambda d: dose_text(t, d),
        "grade_reason": lambda d: grade_reason(t, d),
        "footnote_text": lambda f: footnote_text(t, f),
        "generated": report.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def render_body(report: ConsultationReport, lang: str, meta: RenderMeta | None = None) -> Markup:
    """The report's content as an HTML fragment (for the web page)."""
    ctx = _context(report, lang, meta or RenderMeta())
    return Markup(_env().get_template("report_body.html").render(**ctx))


def render_document(report: ConsultationReport, lang: str, meta: RenderMeta | None = None) -> str:
    """A standalone A4 HTML document of the report (the input of the PDF)."""
    ctx = _context(report, lang, meta or RenderMeta())
    body = Markup(_env().get_template("report_body.html").render(**ctx))
    return (
        _env()
        .get_template("report_document.html")
        .render(body=body, css=Markup(report_stylesheet()), **ctx)
    )


def render_pdf(report: ConsultationReport, lang: str, meta: RenderMeta | None = None) -> bytes:
    """The report as a tagged A4 PDF (WeasyPrint)."""
    import weasyprint  # type: ignore[import-untyped]  # imported late: pango loads slowly

    html = render_document(report, lang, meta)
    doc = weasyprint.HTML(string=html, base_url=None)
    pdf: bytes = doc.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)
    return pdf
