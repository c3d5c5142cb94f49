"""The consent signature check against the record (H-094) and the rendered consent text."""

from __future__ import annotations

import pytest

from glabella.clinic.consent import load_consent_versions, render_consent_html
from glabella.clinic.consent_name import check_signed_name, name_tokens


@pytest.mark.parametrize(
    "typed",
    [
        "Anna Müller",
        "anna muller",  # case and accent
        "Müller, Anna",  # order and comma
        "  ANNA    MÜLLER  ",  # extra spaces
        "Mueller Anna",  # German transliteration of ü (DIN 5007-2)
        "müller anna",
        "Müller,Anna",
    ],
)
def test_the_same_name_typed_differently_matches(typed: str) -> None:
    assert check_signed_name(typed, "Anna", "Müller").matches


@pytest.mark.parametrize(
    ("typed", "given", "family"),
    [
        ("Anna Meier", "Anna", "Müller"),  # another family name
        ("Anna", "Anna", "Müller"),  # a name missing
        ("Anna Maria Müller", "Anna", "Müller"),  # an extra name
        ("A. Müller", "Anna", "Müller"),  # an initial
        ("Hanna Müller", "Anna", "Müller"),  # one letter more is another person
        ("...", "Anna", "Müller"),  # nothing left after the punctuation
    ],
)
def test_a_different_name_does_not_match(typed: str, given: str, family: str) -> None:
    check = check_signed_name(typed, given, family)
    assert not check.matches
    assert check.record == f"{family}, {given}"


def test_other_letters_apostrophes_and_hyphens() -> None:
    assert check_signed_name("sean obrien", "Seán", "O'Brien").matches
    assert check_signed_name("Anna Lena Søndergaard", "Anna-Lena", "Søndergaard").matches
    assert check_signed_name("Strauss Jo", "Jo", "Strauß").matches  # casefold: ß = ss
    # the parts a key is built from, order-free: hand-written expected value
    assert name_tokens("Müller-Lüdenscheidt, Anna") == ("anna", "ludenscheidt", "muller")


def test_packaged_text_renders_without_markdown_marks() -> None:
    text = load_consent_versions()["1"].text
    html = render_consent_html(text)
    assert "<h1>Consent to glabellar botulinum toxin A treatment for depression</h1>" in html
    assert "<h2>This use is off-label</h2>" in html
    assert "<strong>It is not licensed for the treatment of depression.</strong>" in html
    assert "<li>Allergic reactions.</li>" in html
    assert "#" not in html and "**" not in html


def test_raw_html_in_a_consent_text_is_escaped() -> None:
    html = render_consent_html(
        "# T\n\nok <script>alert(1)</script>\n\n<div onclick=x>block</div>\n\n"
        "[link](javascript:alert(1)) <img src=x onerror=alert(1)>\n"
    )
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<div" not in html and "&lt;div onclick=x&gt;" in html
    assert "<img" not in html
    assert 'href="javascript:' not in html
