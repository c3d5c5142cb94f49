"""Property tests over the vocabulary (issue 15 "Done means", hazards H-040 and H-042): every
generic, brand, abbreviation and class word in the data file triggers the rule that uses its
group; random case, spacing and punctuation, and one-letter typos of the longer words, still
do; unrelated medicines trigger no drug rule. The rule that serves each group is read from the
rule set itself, so a group no rule uses, or a rule pointed at the wrong group, fails here."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import ADULT_FACTS, CLEAR_ANSWERS
from glabella.clinic.eligibility import (
    load_rules,
    screen,
)
from glabella.clinic.products import PRODUCTS
from glabella.clinic.vocabulary import load_vocabulary, normalise

ONA = PRODUCTS["onabotulinumtoxinA"]
TODAY = date(2026, 11, 25)
CLEAR = CLEAR_ANSWERS
ADULT = ADULT_FACTS
VOCAB = load_vocabulary()


def _rule_of_group() -> dict[str, str]:
    out: dict[str, str] = {}
    for rule in load_rules().rules:
        for group in [*rule.params.get("groups", []), *rule.params.get("toxin_groups", [])]:
            out[str(group)] = rule.id
    return out


RULE_OF_GROUP = _rule_of_group()
# (group id, kind, term) for every term of every group a rule uses by group
TERMS = [
    (g.id, g.kind, term)
    for g in VOCAB.groups
    if g.id in RULE_OF_GROUP
    for term in (*g.class_terms, *(t for c in g.concepts for t in c.terms))
]
ALL_COMPACT = {normalise(t).replace(" ", "") for _, _, t in TERMS} | {
    normalise(t).replace(" ", "") for g in VOCAB.groups for c in g.concepts for t in c.terms
}


def _fired(kind: str, entry: str) -> set[str]:
    if kind == "medication":
        d = screen(CLEAR, replace(ADULT, medications=(entry,)), ONA, TODAY)
    elif kind == "condition":
        d = screen(CLEAR, replace(ADULT, conditions=(entry,)), ONA, TODAY)
    else:
        d = screen(replace(CLEAR, allergies=(entry,)), ADULT, ONA, TODAY)
    return {r.rule_id for r in d.reasons}


def test_every_drug_and_condition_group_is_served_by_a_rule() -> None:
    assert set(RULE_OF_GROUP) == {g.id for g in VOCAB.groups if g.id != "excipients"}
    assert len(TERMS) > 100


@pytest.mark.parametrize(("group", "kind", "term"), TERMS)
def test_every_term_in_the_data_file_triggers_its_rule(group: str, kind: str, term: str) -> None:
    assert RULE_OF_GROUP[group] in _fired(kind, term), (group, term)


@st.composite
def _retyped(draw: st.DrawFn) -> tuple[str, str, str]:
    """A term in random case, with random spaces, hyphens or dots between its letters."""
    group, kind, term = draw(st.sampled_from(TERMS))
    out = []
    for ch in term:
        out.append(ch.upper() if draw(st.booleans()) else ch.lower())
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from([" ", "  ", "-", ".", " - "])))
    return group, kind, "".join(out).strip(" -.") or term


@settings(max_examples=300, deadline=None)
@given(case=_retyped())
def test_random_case_spacing_and_punctuation_still_match(case: tuple[str, str, str]) -> None:
    group, kind, entry = case
    assert RULE_OF_GROUP[group] in _fired(kind, entry), (group, entry)


FUZZY_TERMS = [(g, k, t) for g, k, t in TERMS if t.isalpha() and len(t) >= 6]


@st.composite
def _one_typo(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """One substitution, deletion, insertion or swap of neighbours in a long one-word term."""
    group, kind, term = draw(st.sampled_from(FUZZY_TERMS))
    word = term.lower()
    i = draw(st.integers(0, len(word) - 2))
    letter = draw(st.sampled_from(string.ascii_lowercase))
    edit = draw(st.sampled_from(["substitute", "delete", "insert", "swap"]))
    if edit == "substitute":
        typo = word[:i] + letter + word[i + 1 :]
    elif edit == "delete":
        typo = word[:i] + word[i + 1 :]
    elif edit == "insert":
        typo = word[:i] + letter + word[i:]
    else:
        typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return group, kind, term, typo


@settings(max_examples=300, deadline=None)
@given(case=_one_typo())
def test_one_letter_typos_of_long_terms_still_match(case: tuple[str, str, str, str]) -> None:
    group, kind, term, typo = case
    if typo != term.lower() and typo in ALL_COMPACT:
        return  # the typo is itself another term of the vocabulary: that one is matched
    assert RULE_OF_GROUP[group] in _fired(kind, typo), (term, typo)


UNRELATED = [
    "sertraline",
    "fluoxetine",
    "escitalopram",
    "venlafaxine",
    "mirtazapine",
    "bupropion",
    "lithium",
    "quetiapine",
    "metformin",
    "levothyroxine",
    "omeprazole",
    "amlodipine",
    "atorvastatin",
    "lisinopril",
    "paracetamol",
    "salbutamol",
    "cetirizine",
    "vitamin D",
    "amoxicillin",
    "ibuprofen",
]
DRUG_RULES = {"anticoagulant", "aminoglycoside_course", "nmj_drugs"}


@pytest.mark.parametrize("drug", UNRELATED)
def test_unrelated_medicines_trigger_no_drug_rule(drug: str) -> None:
    assert not _fired("medication", drug) & DRUG_RULES, drug
