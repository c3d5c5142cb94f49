"""Translations are complete and consistent; icon arrays hold 100 people with a text
alternative; the rendered HTML says "unknown" where a number is unknown."""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any

import pytest

from glabella.clinic.products import PRODUCTS
from glabella.evidence.studies import EvidenceBase
from glabella.reports.i18n import LANGUAGES, get_translator, load_locale
from glabella.reports.icons import IconGroup, counts_of_100, icon_array_svg
from glabella.reports.model import ConsultationReport, build_report
from glabella.reports.render import render_body, render_document

GENERATED = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    en = load_locale("en")
    for lang in LANGUAGES:
        other = load_locale(lang)
        assert set(other) == set(en), f"{lang}: keys differ: {set(other) ^ set(en)}"
        for key, text in en.items():
            assert _placeholders(other[key]) == _placeholders(text), f"{lang}: {key}"


def test_german_numbers_and_dates() -> None:
    t = get_translator("de")
    assert t.number(5.25) == "5,25"
    assert t.number(74793.97) == "74.794"
    assert t.points(0.425) == "+42" and t.points(-0.0999) == "\u221210"
    assert t.nnt_value(2.35) == "3"  # NNTs round up (Cochrane Handbook 15.4.4)
    assert t.nnt_value(None) == "\u221e"
    with pytest.raises(ValueError, match="language must be one of"):
        get_translator("xx")


def test_counts_of_100_by_hand() -> None:
    # 0.10 -> 10 people; 0.525 -> 53 (half up) -> 43 more; 1.0 -> 100 -> 47 more.
    assert counts_of_100(0.10, 0.525, 1.0) == [10, 43, 47]
    with pytest.raises(ValueError):
        counts_of_100(0.5, 0.4)


def test_icon_array_has_100_people_and_alt_text() -> None:
    svg = icon_array_svg(
        [IconGroup(10, "solid"), IconGroup(30, "uncertain")],
        title="Response with placebo",
        alt="Of 100 people, about 10 responded.",
        ident="x",
    )
    # Each person is two closed sub-paths (head and body): 100 people -> 200 "Z".
    assert svg.count("Z") == 200
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert 'aria-label="Of 100 people, about 10 responded."' in svg
    with pytest.raises(ValueError):
        icon_array_svg([IconGroup(101, "solid")], title="t", alt="a", ident="y")


def test_rendered_html_in_both_languages(mdd_report: ConsultationReport) -> None:
    en = str(render_body(mdd_report, "en"))
    de = str(render_body(mdd_report, "de"))
    assert "23 of 44 with botulinum toxin A, 6 of 60 with placebo" in en
    assert "23 von 44 mit Botulinumtoxin A, 6 von 60 mit Placebo" in de
    assert "How much does it help? Change in depression scores" in en
    assert "Wie viel hilft es? Veränderung der Depressionswerte" in de
    assert "Off-label use." in en and "Off-Label-Use" in de
    # German text carries no English sentence of the template (spot checks).
    for english in ("What the research says", "How well do the trials match", "The plan"):
        assert english not in de
    # Each icon array has its alternative text, in the page's language.
    # two arrays: the chance of response from the five-trial change score; the two-trial
    # response and remission syntheses follow as text only (their range is too wide to draw)
    assert en.count('role="img"') == 2 and de.count('role="img"') == 2
    assert "Of 100 people given placebo, about 10 had a clear improvement." in en
    assert "Von 100 Menschen mit Placebo hatten etwa 10 eine deutliche Besserung." in de


def test_thin_evidence_page_says_so_plainly(evidence: EvidenceBase, make_snapshot: Any) -> None:
    report = build_report(
        make_snapshot(), evidence, condition="bipolar", generated_at=GENERATED, app_version="t"
    )
    html = str(render_body(report, "en"))
    assert "Not enough evidence for a number." in html
    assert 'role="img"' not in html  # no icon array, no pooled chance
    assert not re.search(r"\d+ in 100", html)


_PRODUCTS = "|".join(PRODUCTS)  # every product id of clinic.products


def units_without_product(text: str) -> list[str]:
    """Every "<number> U/units/Einheiten" not followed by a product name (hazard H-report-2)."""
    flat = " ".join(text.split())
    pattern = re.compile(
        r"\d+(?:[.,]\d+)?\s*(?:U|units?|Einheiten)\b(?!\s+(?:of\s+)?(?:" + _PRODUCTS + r"))"
    )
    return pattern.findall(flat)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_no_unit_without_its_product(mdd_report: ConsultationReport, lang: str) -> None:
    text = re.sub(r"<[^>]+>", " ", render_document(mdd_report, lang))
    assert "29" in text
    assert units_without_product(text) == []
    assert units_without_product("give 29 U now") == ["29 U"]  # the check itself can fail
