"""Issue 16 item 3: an adverse event's judgement has no pre-selected answer (hazard H-090)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from glabella.services.adverse_events import Judgement, parse_judgement
from glabella.services.errors import Invalid

CHOSEN = Judgement(
    grade="2",
    serious="no",
    seriousness=(),
    relatedness="possible",
    action="symptomatic_treatment",
    outcome="recovering",
)


def test_every_answer_chosen_is_accepted() -> None:
    parsed = parse_judgement(CHOSEN)
    assert int(parsed.grade) == 2
    assert parsed.relatedness.value == "possible"
    assert parsed.outcome.value == "recovering"
    assert parsed.seriousness == frozenset()


@pytest.mark.parametrize("field", ["grade", "serious", "relatedness", "action", "outcome"])
def test_an_unchosen_answer_is_refused_naming_it(field: str) -> None:
    with pytest.raises(Invalid) as refused:
        unchosen: dict[str, Any] = {field: ""}
        parse_judgement(replace(CHOSEN, **unchosen))
    assert refused.value.field == field
    assert "nothing is pre-selected" in refused.value.message


def test_all_unchosen_names_every_label() -> None:
    empty = Judgement(grade="", serious="", seriousness=(), relatedness="", action="", outcome="")
    with pytest.raises(Invalid) as refused:
        parse_judgement(empty)
    for label in ("serious", "relatedness", "action", "outcome"):
        assert label in refused.value.message.lower(), label


def test_serious_yes_needs_criteria_and_no_refuses_them() -> None:
    with pytest.raises(Invalid) as yes_without:
        parse_judgement(replace(CHOSEN, serious="yes"))
    assert yes_without.value.field == "seriousness"
    with pytest.raises(Invalid) as no_with:
        parse_judgement(replace(CHOSEN, seriousness=("hospitalisation",)))
    assert no_with.value.field == "serious"
    serious = parse_judgement(replace(CHOSEN, serious="yes", seriousness=("hospitalisation",)))
    assert {s.value for s in serious.seriousness} == {"hospitalisation"}
