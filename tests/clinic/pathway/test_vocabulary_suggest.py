"""Autocomplete from the screening vocabulary (pure): what is offered is what the rules read."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from glabella.clinic.vocabulary import MAX_SUGGEST_QUERY, Kind, load_vocabulary

KINDS: tuple[Kind, ...] = ("medication", "condition", "allergy")
_DATA: dict[str, Any] = yaml.safe_load(
    resources.files("glabella.clinic.vocabulary")
    .joinpath("data/vocabulary.yaml")
    .read_text("utf-8")
)
MISSPELLINGS = {
    str(t).lower()
    for g in _DATA["groups"]
    for c in g["concepts"]
    for t in c.get("misspellings", [])
}


def _labels(query: str, kind: Kind) -> list[str]:
    return [s.describe() for s in load_vocabulary().suggest(query, kind)]


def test_a_brand_prefix_offers_the_brand_with_its_generic_and_code() -> None:
    assert _labels("eli", "medication")[0] == "Eliquis → apixaban, B01AF02"
    assert _labels("Xar", "medication") == ["Xarelto → rivaroxaban, B01AF01"]
    assert _labels("dysp", "allergy") == ["Dysport → abobotulinumtoxinA, M03AX01"]
    assert _labels("MG", "condition") == ["MG → myasthenia gravis, G70.0"]


def test_a_class_word_offers_its_group() -> None:
    assert _labels("blood thin", "medication") == [
        "blood thinner → Anticoagulant or antiplatelet (ATC B01A antithrombotic agents), B01A",
        "blood thinners → Anticoagulant or antiplatelet (ATC B01A antithrombotic agents), B01A",
    ]


def test_misspellings_are_never_offered_but_lead_to_the_right_term() -> None:
    assert _labels("warf", "medication") == ["warfarin → warfarin, B01AA03"]
    assert _labels("gentamy", "medication") == ["gentamicin → gentamicin, J01GB03"]
    # a typo no term starts with: the typo-tolerant reading, answered with the generic
    assert _labels("gentamycn", "medication") == ["gentamicin → gentamicin, J01GB03"]
    for kind in KINDS:
        offered = {s.term.lower() for s in load_vocabulary().offers(kind)}
        assert not offered & MISSPELLINGS, kind


def test_prefixes_rank_before_inner_matches_and_shorter_first() -> None:
    labels = [s.term for s in load_vocabulary().suggest("heparin", "medication")]
    assert labels == ["heparin", "unfractionated heparin", "low molecular weight heparin"]


def test_unrelated_or_empty_text_offers_nothing() -> None:
    assert _labels("sertraline", "medication") == []
    assert _labels("", "medication") == []
    assert _labels("  ,; ", "condition") == []


def test_the_query_is_bounded() -> None:
    assert load_vocabulary().suggest("a" * MAX_SUGGEST_QUERY, "medication") == ()
    with pytest.raises(ValueError, match="q: at most 50 characters"):
        load_vocabulary().suggest("a" * (MAX_SUGGEST_QUERY + 1), "medication")


@pytest.mark.parametrize("kind", KINDS)
def test_every_offer_is_read_by_the_rules_as_what_it_says(kind: Kind) -> None:
    """Choosing a suggestion must give the match the suggestion named."""
    vocab = load_vocabulary()
    offers = vocab.offers(kind)
    assert len(offers) > 20
    for o in offers:
        got = {(m.group_id, m.concept_id) for m in vocab.match(o.term, kind)}
        assert (o.group_id, o.concept_id) in got, o


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=MAX_SUGGEST_QUERY), st.sampled_from(KINDS))
def test_any_text_within_the_bound_gives_at_most_15_offers_without_error(
    text: str, kind: Kind
) -> None:
    got = load_vocabulary().suggest(text, kind)
    assert len(got) <= 15
    assert len({s.term.lower() for s in got}) == len(got)  # no term twice
