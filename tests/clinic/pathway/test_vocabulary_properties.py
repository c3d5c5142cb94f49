"""Properties of the screening vocabulary over its own data file (issue 15, "Done means").

The terms come from ``vocabulary.yaml`` read here with ``yaml`` (not through the loader under
test), and the group -> rule map from ``eligibility_rules.yaml``: a term added to the data
is tested without touching this file.

* every generic, brand, abbreviation and misspelling triggers its rule through ``screen``;
* random case, spaces and punctuation added or removed, a dose after the name, and one-letter
  typos (substitution, deletion, insertion, transposition) in terms of 6 letters or more
  still match the same concept. Terms under 6 letters ("MG", "ASA", "Botox", "Tween 20",
  whose letters are "tween") match exactly only, by design of the matcher: one edit of a
  2-5 letter word reaches too many unrelated words;
* one-letter edits of those short terms match nothing ("MG" does not become "MS" or "ME");
* unrelated common medicines, conditions and allergies match no concept and are listed as
  not recognised, so a clinician has to confirm them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import ADULT_FACTS, CLEAR_ANSWERS
from glabella.clinic.eligibility import (
    is_unrecognised,
    screen,
)
from glabella.clinic.products import PRODUCTS, Product
from glabella.clinic.vocabulary import Kind, load_vocabulary

_DATA: dict[str, Any] = yaml.safe_load(
    resources.files("glabella.clinic.vocabulary")
    .joinpath("data/vocabulary.yaml")
    .read_text("utf-8")
)
_RULES: dict[str, Any] = yaml.safe_load(
    resources.files("glabella.clinic").joinpath("data/eligibility_rules.yaml").read_text("utf-8")
)


def _rules_by_group() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rule in _RULES["rules"]:
        params = rule.get("params") or {}
        groups = list(params.get("groups") or []) + list(params.get("toxin_groups") or [])
        if params.get("excipient_group"):
            groups.append(params["excipient_group"])
        for g in groups:
            out.setdefault(g, set()).add(rule["id"])
    return out


RULES_BY_GROUP = _rules_by_group()


@dataclass(frozen=True)
class Term:
    """One term of the data file with the concept (None for a class word) it names."""

    kind: Kind
    group: str
    concept: str | None
    text: str

    def __str__(self) -> str:
        return f"{self.group}/{self.concept}: {self.text!r}"


TERMS: tuple[Term, ...] = tuple(
    Term(g["kind"], g["id"], c_id, str(t))
    for g in _DATA["groups"]
    for c_id, terms in [(None, g.get("class_terms") or [])]
    + [(str(c["id"]), [*c["terms"], *(c.get("misspellings") or [])]) for c in g["concepts"]]
    for t in terms
)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalpha())


LONG_TERMS = tuple(t for t in TERMS if len(_letters(t.text)) >= 6)
SHORT_TERMS = tuple(t for t in TERMS if len(_letters(t.text)) < 6)
ALL_KEYS = {
    kind: {"".join(ch for ch in t.text.lower() if ch.isalnum()) for t in TERMS if t.kind == kind}
    for kind in ("medication", "condition", "allergy")
}

TODAY = date(2026, 11, 25)
CLEAR = CLEAR_ANSWERS
ADULT = ADULT_FACTS
VOCAB_RULES = {r for rules in RULES_BY_GROUP.values() for r in rules}


def _screen(kind: Kind, entry: str, product: Product) -> set[str]:
    if kind == "allergy":
        d = screen(replace(CLEAR, allergies=(entry,)), ADULT, product, TODAY)
    elif kind == "medication":
        d = screen(CLEAR, replace(ADULT, medications=(entry,)), product, TODAY)
    else:
        d = screen(CLEAR, replace(ADULT, conditions=(entry,)), product, TODAY)
    return {r.rule_id for r in d.reasons}


def _matches_concept(entry: str, term: Term) -> bool:
    return any(
        m.group_id == term.group and m.concept_id == term.concept
        for m in load_vocabulary().match(entry, term.kind)
    )


def test_the_data_file_has_terms_of_every_kind_and_every_group_serves_a_rule() -> None:
    assert {t.kind for t in TERMS} == {"medication", "condition", "allergy"}
    assert len(TERMS) > 150  # the file as written has ~190 terms; a broken read gives few
    for g in _DATA["groups"]:
        assert g["id"] in RULES_BY_GROUP, f"group {g['id']} is used by no eligibility rule"


@pytest.mark.parametrize("term", TERMS, ids=str)
def test_every_term_in_the_data_file_triggers_its_rule(term: Term) -> None:
    rules = RULES_BY_GROUP[term.group]
    if term.group == "excipients":
        # an excipient blocks the products that contain it, and only those
        assert term.concept is not None
        containing = [p for p in PRODUCTS.values() if term.concept in p.excipients]
        assert containing, f"no product lists excipient {term.concept!r}"
        for product in containing:
            assert "hypersensitivity" in _screen(term.kind, term.text, product), (term, product.id)
        for product in PRODUCTS.values():
            if product.excipients_verified and term.concept not in product.excipients:
                assert "hypersensitivity" not in _screen(term.kind, term.text, product), (
                    term,
                    product.id,
                )
        return
    for product in PRODUCTS.values():
        fired = _screen(term.kind, term.text, product)
        assert rules <= fired, (term, product.id, fired)
        assert not any(is_unrecognised(r) for r in fired), (term, fired)
    assert _matches_concept(term.text, term), term


_SEPARATORS = (" ", "-", ".", "/", ",", "  ", "_")


@st.composite
def _respelled(draw: st.DrawFn) -> tuple[Term, str]:
    """A term in random case, its spaces removed or kept, separators added, punctuated."""
    term = draw(st.sampled_from(TERMS))
    chars = [ch.upper() if draw(st.booleans()) else ch.lower() for ch in term.text]
    text = "".join(ch for ch in chars if ch != " " or draw(st.booleans()))
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(1, max(1, len(text) - 1)))
        text = text[:i] + draw(st.sampled_from(_SEPARATORS)) + text[i:]
    before = draw(st.sampled_from(("", " ", "(", "- ", '"')))
    after = draw(st.sampled_from(("", " ", ")", ".", ";", '"', " 5 mg", " 20mg twice daily")))
    return term, before + text + after


@settings(max_examples=600, deadline=None)
@given(_respelled())
def test_case_spacing_punctuation_and_a_dose_do_not_change_the_concept(
    case: tuple[Term, str],
) -> None:
    term, entry = case
    assert _matches_concept(entry, term), (str(term), entry)


@st.composite
def _one_typo(draw: st.DrawFn) -> tuple[Term, str]:
    """A term of 6+ letters with one letter substituted, deleted, inserted or transposed."""
    term = draw(st.sampled_from(LONG_TERMS))
    text = term.text
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    op = draw(st.sampled_from(("substitute", "delete", "insert", "transpose")))
    i = draw(st.sampled_from(letters))
    letter = draw(st.sampled_from(string.ascii_lowercase))
    if op == "substitute":
        if letter == text[i].lower():
            letter = "z" if letter != "z" else "q"
        typo = text[:i] + letter + text[i + 1 :]
    elif op == "delete":
        typo = text[:i] + text[i + 1 :]
    elif op == "insert":
        j = draw(st.sampled_from([*letters, letters[-1] + 1]))
        typo = text[:j] + letter + text[j:]
    else:
        pairs = [k for k in letters if k + 1 < len(text) and text[k + 1].isalpha()]
        k = draw(st.sampled_from(pairs))
        typo = text[:k] + text[k + 1] + text[k] + text[k + 2 :]
    return term, typo


@settings(max_examples=1500, deadline=None)
@given(_one_typo())
def test_one_letter_typo_in_a_term_of_six_letters_or_more_keeps_the_concept(
    case: tuple[Term, str],
) -> None:
    term, typo = case
    assert _matches_concept(typo, term), (str(term), typo)


def test_every_single_typo_of_every_long_term_keeps_the_concept() -> None:
    """Exhaustive companion of the property above (~100 000 edits, every letter a-z)."""
    misses: list[str] = []
    for term in LONG_TERMS:
        text = term.text.lower()
        letters = [i for i, ch in enumerate(text) if ch.isalpha()]
        edits: set[str] = set()
        for i in letters:
            edits.add(text[:i] + text[i + 1 :])
            if i + 1 < len(text) and text[i + 1].isalpha():
                edits.add(text[:i] + text[i + 1] + text[i] + text[i + 2 :])
            for ch in string.ascii_lowercase:
                edits.add(text[:i] + ch + text[i + 1 :])
                edits.add(text[:i] + ch + text[i:])
        edits.update(text + ch for ch in string.ascii_lowercase)
        misses.extend(f"{term}: {e!r}" for e in sorted(edits) if not _matches_concept(e, term))
    assert not misses, misses[:20]


def test_one_letter_edits_of_short_terms_match_nothing() -> None:
    """ "MG" -> "MS", "ME", "MGS"...: short terms are exact only, so no fuzzy neighbours."""
    vocab = load_vocabulary()
    hits: list[str] = []
    for term in SHORT_TERMS:
        text = "".join(ch for ch in term.text.lower() if ch.isalnum())
        edits: set[str] = {text[:i] + text[i + 1 :] for i in range(len(text))}
        for i in range(len(text) + 1):
            for ch in string.ascii_lowercase:
                edits.add(text[:i] + ch + text[i + 1 :])
                edits.add(text[:i] + ch + text[i:])
        for e in edits - ALL_KEYS[term.kind]:
            got = vocab.match(e, term.kind)
            if got:
                hits.append(f"{term}: {e!r} -> {[m.describe() for m in got]}")
    assert not hits, hits[:20]


@pytest.mark.parametrize(
    "entry",
    ["MS", "ME", "MI", "GI", "Mr", "mgs", "AS", "ALL", "AF", "IBS", "MD", "Mag", "GERD"],
)
def test_unrelated_short_conditions_are_not_myasthenia_or_motor_neuron_disease(entry: str) -> None:
    assert load_vocabulary().match(entry, "condition") == (), entry


def test_a_unit_after_a_number_is_not_the_abbreviation_mg() -> None:
    """ "MG" is myasthenia gravis, but "lamotrigine 100 mg" in a condition is a dose."""
    fired = _screen("condition", "epilepsy, on lamotrigine 100 mg", PRODUCTS["onabotulinumtoxinA"])
    assert "nmj_disorder" not in fired
    assert "unrecognised_condition_1" in fired  # still shown for the clinician to confirm
    assert "nmj_disorder" in _screen("condition", "ocular MG", PRODUCTS["onabotulinumtoxinA"])


UNRELATED = (
    "sertraline",
    "metformin",
    "amlodipine",
    "ibuprofen",
    "paracetamol",
    "levothyroxine",
    "atorvastatin",
    "omeprazole",
    "citalopram",
    "fluoxetine",
    "mirtazapine",
    "venlafaxine",
    "lithium",
    "quetiapine",
    "lamotrigine",
    "gabapentin",
    "simvastatin",
    "ramipril",
    "lisinopril",
    "bisoprolol",
    "salbutamol",
    "prednisolone",
    "amoxicillin",
    "doxycycline",
    "clarithromycin",
    "erythromycin",
    "azithromycin",
    "vancomycin",
    "clindamycin",
    "insulin",
    "penicillin",
    "latex",
    "peanuts",
    "shellfish",
    "hypertension",
    "asthma",
    "type 2 diabetes",
    "hypothyroidism",
    "migraine",
    "epilepsy",
    "anxiety",
    "multiple sclerosis",
    "Parkinson's disease",
    "atrial fibrillation",
    "rheumatoid arthritis",
    "myopia",
    "myositis",
    "mastitis",
    "magnesium",
    "botulism",
)


@pytest.mark.parametrize("entry", UNRELATED)
def test_unrelated_medicines_and_conditions_match_no_concept(entry: str) -> None:
    vocab = load_vocabulary()
    for kind in ("medication", "condition", "allergy"):
        assert vocab.match(entry, kind) == (), (entry, kind)
        fired = _screen(kind, entry, PRODUCTS["onabotulinumtoxinA"])
        assert not fired & VOCAB_RULES, (entry, kind, fired)
        assert f"unrecognised_{kind}_1" in fired, (entry, kind, fired)


@pytest.mark.parametrize(
    ("entry", "groups"),
    [
        ("Eliquis and amikacn", {"anticoagulants_antiplatelets", "aminoglycosides"}),
        ("aspirin, gentamycn", {"anticoagulants_antiplatelets", "aminoglycosides"}),
        ("metformin; rocuronum", {"neuromuscular_blockers"}),
    ],
)
def test_a_typo_next_to_an_exact_name_is_still_read(entry: str, groups: set[str]) -> None:
    """One exact match must not switch off typo tolerance for the rest of the entry."""
    got = {m.group_id for m in load_vocabulary().match(entry, "medication")}
    assert got == groups, (entry, got)


def test_aminoglycoside_typed_with_a_typo_after_a_known_drug_still_defers_treatment() -> None:
    fired = _screen("medication", "Eliquis and amikacn", PRODUCTS["onabotulinumtoxinA"])
    assert {"anticoagulant", "aminoglycoside_course"} <= fired


def test_the_longest_reading_names_the_concept() -> None:
    """ "congenital myasthenia" is G70.2 only, not also G70.0 for its word "myasthenia"."""
    got = load_vocabulary().match("congenital myasthenia", "condition")
    assert [(m.concept_id, m.code) for m in got] == [("congenital myasthenic syndrome", "G70.2")]
    typo = load_vocabulary().match("low molecular weigth heparin", "medication")
    assert [(m.concept_id, m.code) for m in typo] == [(None, "B01A")]
