"""Issue 16 item 8: no English sentence reaches the German consultation report.

Text is English only where it is marked ``lang="en"``: data from the evidence files without a
German version, and the bibliographic references of the sources list (citations keep their
original language; each is marked). The method descriptions of the sources list are the
report's own and must be German. Every other text node must be free of common English words.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from glabella.reports.i18n import get_translator
from glabella.reports.model import ConsultationReport, GradeDomain
from glabella.reports.render import footnote_text, grade_reason, render_body

#: Words that occur in English prose and not in German prose (checked with spaces around
#: them, on text with its whitespace collapsed, case-insensitive).
ENGLISH_MARKERS = (
    " the ",
    " and ",
    " with ",
    " of the ",
    " weight",
    " downgraded",
    " studies",
    " serious",
    " noted ",
    " under ",
    " than ",
    " from ",
    " reported ",
    " not ",
    " fewer ",
    " patients",
)

VOID = {"br", "img", "hr", "meta", "link", "input", "col", "wbr", "source"}


class _Collector(HTMLParser):
    """Text outside ``lang="en"`` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # True: inside an excluded element
        self.kept: list[str] = []
        self.excluded: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        a = dict(attrs)
        skip = a.get("lang") == "en"
        self.stack.append(bool(self.stack and self.stack[-1]) or skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        (self.excluded if self.stack and self.stack[-1] else self.kept).append(data)


def _german_text(report: ConsultationReport) -> tuple[str, str]:
    parser = _Collector()
    parser.feed(str(render_body(report, "de")))
    parser.close()
    assert not parser.stack, "unbalanced HTML in the rendered report"

    def norm(parts: list[str]) -> str:
        return " " + re.sub(r"\s+", " ", " ".join(parts)).lower() + " "

    return norm(parser.kept), norm(parser.excluded)


def test_collector_sees_english_when_it_is_not_marked() -> None:
    """The check itself can fail: unmarked English is found, marked English is not."""
    parser = _Collector()
    parser.feed(
        '<p lang="de">Gewicht <span>and the weight</span> <span lang="en">of the studies</span>'
        '</p><ol><li><span lang="en">Smith <i>and</i> the others</span></li></ol>'
    )
    kept = " ".join(parser.kept)
    assert "and the weight" in kept
    assert "of the studies" not in kept
    assert "Smith" not in kept
    assert "others" not in kept


def test_no_english_outside_marked_elements_and_references(
    mdd_report: ConsultationReport,
) -> None:
    kept, excluded = _german_text(mdd_report)
    found = {w.strip(): _context(kept, w) for w in ENGLISH_MARKERS if w in kept}
    assert not found, f"English in the German report: {found}"
    # The German report has GRADE reasons and method descriptions in German.
    assert "des gewichts" in kept
    assert "meta-analyse mit zufälligen effekten" in kept
    assert "sd der phq-9-gesamtwerte" in kept
    # Sanity: the references (excluded) are there and are English citations.
    assert " the " in excluded


def _context(text: str, word: str) -> str:
    i = text.index(word)
    return text[max(0, i - 60) : i + 60]


def test_english_grade_reasons_from_codes_equal_the_engine_sentences(
    mdd_report: ConsultationReport,
) -> None:
    """Every domain has a code, and the English template says what grade.py says."""
    t = get_translator("en")
    domains = [d for o in mdd_report.evidence.outcomes for d in o.certainty_domains]
    if mdd_report.evidence.change is not None:
        domains += list(mdd_report.evidence.change.certainty_domains)
    assert len(domains) >= 5
    for d in domains:
        assert d.code, d
        assert str(grade_reason(t, d)) == d.reason


def test_german_grade_reason_formats_numbers_in_german() -> None:
    """Hand-made domain: 45 % with a space, decimal comma in the CI."""
    t = get_translator("de")
    d = GradeDomain(
        "risk_of_bias",
        1,
        "",
        "rob_serious_high_concerns",
        {"ids": "a-1, b-2", "high": 0.449, "concern": 0.551},
    )
    assert str(grade_reason(t, d)) == (
        "Schwerwiegend: hohes Risiko in a-1, b-2 (45 % des Gewichts); "
        "einige Bedenken oder keine Bewertung bei 55 % des Gewichts."
    )
    ci = GradeDomain("imprecision", 1, "", "imprecision_null", {"lo": -0.5, "hi": 1.25})
    assert str(grade_reason(t, ci)) == "Das 95-%-KI (-0,50 bis 1,25) schließt „kein Effekt“ ein."


def test_english_footnotes_from_locale_equal_the_stored_text(
    mdd_report: ConsultationReport,
) -> None:
    """The report's own method texts say in English exactly what the stored record says."""
    t = get_translator("en")
    own = [f for f in mdd_report.footnotes if f.msg]
    assert {f.msg for f in own} >= {
        "sources.synthesis",
        "sources.synthesis_change",
        "sources.phq9_sd",
        "sources.smd_to_response",
    }
    for f in own:
        assert html.unescape(re.sub(r"<[^>]+>", "", str(footnote_text(t, f)))) == f.text


def test_side_effect_notes_in_german_when_the_data_has_them(
    mdd_report: ConsultationReport,
) -> None:
    """Notes with ``note_de`` in the study file are German, unmarked; English ones are not shown."""
    body = str(render_body(mdd_report, "de"))
    with_de = [a for a in mdd_report.adverse_events if a.note and a.note_de]
    assert with_de, "the MDD report shows side-effect notes with a German version"
    for a in with_de:
        assert html.escape(a.note_de or "", quote=False) in body
        assert html.escape(a.note or "", quote=False) not in body
    english = str(render_body(mdd_report, "en"))
    assert all(html.escape(a.note or "", quote=False) in english for a in with_de)
