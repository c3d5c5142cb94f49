"""Issue 15 defects not yet pinned by a test of their own (hazard audit, H-040..H-043, H-059).

Dates are hand-counted: 2026-10-01 + 84 days = 2026-12-24 (Oct 30 + Nov 30 + Dec 24 = 84).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from builders import ADULT_FACTS, CLEAR_ANSWERS
from glabella.clinic.eligibility import (
    PatientFacts,
    ScreeningAnswers,
    confirm_unrecognised,
    screen,
)
from glabella.clinic.products import PRODUCTS

ONA = PRODUCTS["onabotulinumtoxinA"]
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CLEAR = CLEAR_ANSWERS
ADULT = ADULT_FACTS


@pytest.mark.parametrize("drug", ["aminoglycoside", "Aminoglycosides", "amikacin"])
def test_the_word_aminoglycoside_and_other_members_defer(drug: str) -> None:
    d = screen(CLEAR, replace(ADULT, medications=(drug,)), ONA, TODAY)
    assert {r.rule_id for r in d.reasons} == {"aminoglycoside_course"}, drug
    assert d.outcome == "not_eligible_now"


@pytest.mark.parametrize("planned", sorted(PRODUCTS))
@pytest.mark.parametrize(
    "allergy", ["Botox", "Dysport", "Xeomin", "Jeuveau", "incobotulinumtoxin A", "botulinum toxin"]
)
def test_allergy_to_any_bont_product_blocks_every_product(planned: str, allergy: str) -> None:
    """The labels' contraindication is hypersensitivity to *any* botulinum toxin product."""
    d = screen(replace(CLEAR, allergies=(allergy,)), ADULT, PRODUCTS[planned], TODAY)
    assert "hypersensitivity" in {r.rule_id for r in d.reasons}, (planned, allergy)
    assert d.outcome == "not_eligible" and not d.can_treat


def test_an_unrecognised_entry_blocks_treatment_until_it_is_confirmed() -> None:
    d = screen(CLEAR, replace(ADULT, medications=("Zorblaxin",)), ONA, TODAY)
    assert [r.rule_id for r in d.reasons] == ["unrecognised_medication_1"]
    assert d.reasons[0].detail == "medicine: Zorblaxin"
    assert d.outcome == "eligible_with_precautions" and not d.can_treat
    confirmed, record = confirm_unrecognised(d, "unrecognised_medication_1", "Dr A", NOW)
    assert confirmed.outcome == "eligible" and confirmed.can_treat
    assert record.clinician == "Dr A"


@pytest.mark.parametrize(
    ("answers", "facts", "reassess"),
    [
        (
            replace(CLEAR, pregnant=True),
            ADULT,
            "pregnancy: after the pregnancy and any breastfeeding",
        ),
        (
            replace(CLEAR, infection_or_inflammation_at_sites=True),
            ADULT,
            "infection_at_sites: when the infection or inflammation at the sites has resolved",
        ),
        (
            CLEAR,
            replace(ADULT, last_bont_date=date(2026, 10, 1)),
            "recent_bont: on 2026-12-24 (12 weeks after the last dose)",
        ),
        (
            CLEAR,
            replace(ADULT, medications=("gentamicin",)),
            "aminoglycoside_course: after the aminoglycoside course has ended",
        ),
    ],
)
def test_temporary_contraindications_name_when_to_reassess(
    answers: ScreeningAnswers, facts: PatientFacts, reassess: str
) -> None:
    d = screen(answers, facts, ONA, TODAY)
    assert d.outcome == "not_eligible_now"
    assert d.reassess == (reassess,)


def test_a_lasting_contraindication_stays_not_eligible_with_no_reassessment() -> None:
    d = screen(CLEAR, replace(ADULT, conditions=("myasthenia",)), ONA, TODAY)
    assert d.outcome == "not_eligible"
    assert d.reassess == () and all(r.reassess == "" for r in d.reasons)


def test_the_rules_refuse_a_birth_or_last_dose_after_the_screening_day() -> None:
    """No "age -4": a date of birth after the screening day is an error, never a fact."""
    with pytest.raises(ValueError, match=r"date of birth: is after the screening date"):
        screen(CLEAR, replace(ADULT, date_of_birth=date(2031, 1, 1)), ONA, TODAY)
    with pytest.raises(ValueError, match=r"last BoNT date: is after the screening date"):
        screen(CLEAR, replace(ADULT, last_bont_date=date(2026, 11, 26)), ONA, TODAY)
    born_today = screen(CLEAR, replace(ADULT, date_of_birth=TODAY), ONA, TODAY)
    assert "age 0" in {r.detail for r in born_today.reasons}
