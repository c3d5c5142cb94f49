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

from glabella import labels
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
        # shown with study names ("Finzi & Rosenthal 2014", HTML-escaped in the markup) where
        # the engine, and the stored report, keep the ids ("finzi-2014")
        assert html.unescape(str(grade_reason(t, d))) == labels.name_studies(d.reason)


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


#: The study ids, protocol ids and product code the inventory found in the German report.
CODES = ("finzi-2014", "zamanian-2017", "brin-2020", "magid-2014", "wollmer-2012", "li-2022")


def _before_sources(body: str) -> str:
    return body.split('class="sources"', 1)[0]


def test_english_study_texts_are_marked_and_said_to_be_english(
    mdd_report: ConsultationReport,
) -> None:
    """Study and rule texts without German: lang="en" and "(englischer Originaltext)".

    Either the marker follows the English element, or (the study-match table, where every cell
    would carry it) the table's caption says so once.
    """
    body = _before_sources(str(render_body(mdd_report, "de")))
    marker = "(englischer Originaltext)"
    table_note = "englischer Originaltext aus den Studienunterlagen"
    english = list(re.finditer(r'<span( class="[^"]*")? lang="en">(.*?)</span>', body, re.S))
    assert len(english) >= 10, "the MDD report shows English study texts (summaries, populations)"
    match_table = body[body.index('<table class="grid match">') :]
    match_table = match_table[: match_table.index("</table>")]
    assert table_note in match_table
    unmarked = []
    for m in english:
        after = body[m.end() : m.end() + 60]
        in_table = match_table.find(m.group(0)) >= 0 and body.find(match_table) <= m.start()
        if marker not in after and not in_table:
            unmarked.append(m.group(2)[:80])
    assert not unmarked, f"English without the note: {unmarked}"
    # the English report has no such note
    english_body = str(render_body(mdd_report, "en"))
    assert marker not in english_body and table_note not in english_body


def test_study_side_effect_terms_are_german(mdd_report: ConsultationReport) -> None:
    """Terms of the study files with a German text in the locale are shown in German."""
    kept, _ = _german_text(mdd_report)
    terms = {a.term for a in mdd_report.adverse_events if a.term_key is None}
    assert {"upper respiratory infection", "dizziness"} <= terms
    t = get_translator("de")
    for term in terms:
        assert t.has(f"ae_term.{term}"), f"no German for the study term {term!r}"
        assert t(f"ae_term.{term}").lower() in kept
        assert f" {term} " not in kept
    assert "infektion der oberen atemwege" in kept and "schwindel" in kept


def test_german_report_names_studies_and_products_not_codes(
    mdd_report: ConsultationReport,
) -> None:
    """GRADE reasons name studies by authors and year; the product with its brand."""
    reasons = [d for o in mdd_report.evidence.outcomes for d in o.certainty_domains]
    # the report model keeps the engine's ids (its content hash, so a rebuild stays identical)
    assert any("finzi-2014" in str(d.params.get("ids", "")) for d in reasons)
    kept, _ = _german_text(mdd_report)
    for code in CODES:
        assert code not in kept, code
    assert "hohes risiko in finzi & rosenthal 2014, zamanian 2017" in kept
    assert "sicherheitsprüfung für onabotulinumtoxina (botox) am" in kept


def test_german_pdf_text_has_labels_not_codes(mdd_report: ConsultationReport) -> None:
    """The PDF itself (text extracted by pypdf): labels and German study terms, no codes."""
    import io

    from pypdf import PdfReader

    from glabella.reports.render import render_pdf

    reader = PdfReader(io.BytesIO(render_pdf(mdd_report, "de")))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "onabotulinumtoxinA (Botox)" in text
    assert "Finzi & Rosenthal 2014, Zamanian 2017" in text
    assert "(englischer Originaltext)" in text
    assert "Infektion der oberen Atemwege" in text and "Schwindel" in text
    references = text.rsplit("Quellen", 1)[0]  # the numbered citations keep their wording
    for code in CODES:
        assert code not in references, code
    assert "upper respiratory infection" not in text and "dizziness" not in text
