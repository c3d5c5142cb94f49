"""Issue 15: the ways people type medicines, conditions and allergies (each case from the issue)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from builders import ADULT_FACTS, CLEAR_ANSWERS
from glabella.clinic.eligibility import (
    Decision,
    screen,
)
from glabella.clinic.products import PRODUCTS

ONA = PRODUCTS["onabotulinumtoxinA"]
TODAY = date(2026, 11, 25)
CLEAR = CLEAR_ANSWERS
ADULT = ADULT_FACTS


def _ids(d: Decision) -> set[str]:
    return {r.rule_id for r in d.reasons}


@pytest.mark.parametrize("drug", ["Eliquis", "Xarelto", "Coumadin", "clopidogrel", "ELIQUIS 5mg"])
def test_brand_names_and_antiplatelets_are_anticoagulant_precautions(drug: str) -> None:
    d = screen(CLEAR, replace(ADULT, medications=(drug,)), ONA, TODAY)
    assert _ids(d) == {"anticoagulant"}, drug


@pytest.mark.parametrize("drug", ["gentamycin", "Cidomycin", "gentamicin"])
def test_aminoglycoside_by_brand_or_misspelling_defers(drug: str) -> None:
    d = screen(CLEAR, replace(ADULT, medications=(drug,)), ONA, TODAY)
    assert _ids(d) == {"aminoglycoside_course"}, drug
    assert d.outcome == "not_eligible_now"


@pytest.mark.parametrize("condition", ["myasthenia", "MG", "myasthenia gravis", "Myastenia gravis"])
def test_nmj_disorder_by_short_name_or_typo(condition: str) -> None:
    d = screen(CLEAR, replace(ADULT, conditions=(condition,)), ONA, TODAY)
    assert _ids(d) == {"nmj_disorder"}, condition
    assert d.outcome == "not_eligible"


@pytest.mark.parametrize(
    "allergy", ["Dysport", "Xeomin", "abobotulinumtoxinA", "onabotulinumtoxin A", "botox"]
)
def test_allergy_to_any_botulinum_toxin_blocks_botox(allergy: str) -> None:
    d = screen(replace(CLEAR, allergies=(allergy,)), ADULT, ONA, TODAY)
    assert "hypersensitivity" in _ids(d), allergy
    assert d.outcome == "not_eligible"


def test_a_match_says_what_it_matched() -> None:
    d = screen(CLEAR, replace(ADULT, medications=("Eliquis",)), ONA, TODAY)
    described = [m.describe() for m in d.matches]
    assert any("apixaban" in text and "B01AF02" in text for text in described), described


@pytest.mark.parametrize("drug", ["paracetamol", "sertraline", "metformin"])
def test_unrelated_medicines_trigger_no_drug_rule(drug: str) -> None:
    d = screen(CLEAR, replace(ADULT, medications=(drug,)), ONA, TODAY)
    assert not _ids(d) & {"anticoagulant", "aminoglycoside_course", "nmj_drugs"}, drug
