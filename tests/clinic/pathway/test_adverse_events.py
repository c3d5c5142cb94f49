"""Adverse events: seriousness, distant spread and the alerts they raise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from glabella.clinic.adverse_events import (
    DISTANT_SPREAD_TYPES,
    Action,
    AdverseEvent,
    AEOutcome,
    AEType,
    Grade,
    InconsistentAdverseEventError,
    Relatedness,
    Seriousness,
    assess,
)

ONSET = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _ae(
    type_: AEType,
    grade: Grade = Grade.MILD,
    seriousness: frozenset[Seriousness] = frozenset(),
    outcome: AEOutcome = AEOutcome.RECOVERING,
    description: str = "",
) -> AdverseEvent:
    return AdverseEvent(
        type=type_,
        onset=ONSET,
        grade=grade,
        seriousness=seriousness,
        relatedness=Relatedness.POSSIBLE,
        action=Action.NONE,
        outcome=outcome,
        description=description,
    )


def test_mild_local_event_raises_no_alert() -> None:
    for t in (AEType.INJECTION_SITE_PAIN, AEType.BRUISING, AEType.HEADACHE, AEType.ASYMMETRY):
        assert assess(_ae(t)) == ()


def test_eyelid_ptosis_is_local_not_distant_spread() -> None:
    ae = _ae(AEType.EYELID_PTOSIS, Grade.MODERATE)
    assert not ae.possible_distant_spread
    assert assess(ae) == ()


@pytest.mark.parametrize(
    "t", [AEType.DYSPHAGIA, AEType.DYSPHONIA, AEType.BREATHING_DIFFICULTY, AEType.DIPLOPIA]
)
def test_possible_distant_spread_is_urgent_even_when_mild(t: AEType) -> None:
    alerts = assess(_ae(t, Grade.MILD))
    assert [(a.level, a.code) for a in alerts] == [("urgent", "possible_distant_spread")]
    assert "swallowing" in alerts[0].message


def test_distant_spread_types_follow_the_boxed_warning() -> None:
    assert {AEType.DYSPHAGIA, AEType.DYSPHONIA, AEType.BREATHING_DIFFICULTY} <= (
        DISTANT_SPREAD_TYPES
    )
    assert AEType.HEADACHE not in DISTANT_SPREAD_TYPES


def test_serious_event_is_urgent() -> None:
    ae = _ae(AEType.OTHER, Grade.SEVERE, frozenset({Seriousness.HOSPITALISATION}), description="x")
    assert ae.serious
    assert [(a.level, a.code) for a in assess(ae)] == [("urgent", "serious_adverse_event")]


def test_serious_distant_spread_raises_both_urgent_alerts() -> None:
    ae = _ae(
        AEType.BREATHING_DIFFICULTY,
        Grade.LIFE_THREATENING,
        frozenset({Seriousness.LIFE_THREATENING, Seriousness.HOSPITALISATION}),
    )
    codes = [a.code for a in assess(ae)]
    assert codes == ["possible_distant_spread", "serious_adverse_event"]
    assert all(a.level == "urgent" for a in assess(ae))


def test_severe_non_serious_event_is_high() -> None:
    alerts = assess(_ae(AEType.HEADACHE, Grade.SEVERE))
    assert [(a.level, a.code) for a in alerts] == [("high", "severe_grade")]
    assert assess(_ae(AEType.HEADACHE, Grade.MODERATE)) == ()


def test_mood_worsening_prompts_suicide_risk_assessment() -> None:
    alerts = assess(_ae(AEType.MOOD_WORSENING, Grade.MODERATE))
    assert [(a.level, a.code) for a in alerts] == [("high", "mood_worsening")]
    assert "C-SSRS" in alerts[0].message


def test_death_must_be_consistent_across_grade_seriousness_and_outcome() -> None:
    with pytest.raises(InconsistentAdverseEventError, match="grade 5"):
        _ae(AEType.OTHER, Grade.DEATH, description="x")
    ok = _ae(
        AEType.OTHER,
        Grade.DEATH,
        frozenset({Seriousness.DEATH}),
        AEOutcome.FATAL,
        description="x",
    )
    assert assess(ok)[0].level == "urgent"


def test_other_needs_description_and_onset_must_be_aware() -> None:
    with pytest.raises(InconsistentAdverseEventError, match="description"):
        _ae(AEType.OTHER)
    with pytest.raises(InconsistentAdverseEventError, match="timezone-aware"):
        AdverseEvent(
            AEType.HEADACHE,
            datetime(2026, 12, 1),
            Grade.MILD,
            frozenset(),
            Relatedness.UNLIKELY,
            Action.NONE,
            AEOutcome.RECOVERED,
        )
