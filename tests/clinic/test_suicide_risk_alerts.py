"""Suicide-risk escalation from PHQ-9 item 9 (hazard H-001, missed suicide-risk item)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from glabella.clinic import instruments, safety
from glabella.clinic.instruments import InstrumentError, Score


def _phq9(item9: int, others: int = 0) -> Score:
    answers = {f"phq9_{n}": others for n in range(1, 9)} | {"phq9_9": item9}
    return instruments.score(instruments.get("phq9"), answers)


@pytest.mark.parametrize(
    ("value", "label"),
    [(1, "Several days"), (2, "More than half the days"), (3, "Nearly every day")],
)
def test_item_9_above_zero_raises_one_urgent_alert(value: int, label: str) -> None:
    alerts = safety.check(_phq9(value))
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.kind == "suicide_risk"
    assert alert.level == "urgent"
    assert alert.instrument_id == "phq9"
    assert alert.item_id == "phq9_9"
    assert alert.value == value
    assert "suicide risk" in alert.message
    assert f"'{label}' ({value})" in alert.message


def test_item_9_zero_raises_nothing() -> None:
    assert safety.check(_phq9(0)) == ()
    assert safety.check(_phq9(0, others=3)) == ()  # severe total, but no item-9 alert


def test_alert_does_not_depend_on_the_total() -> None:
    # Total 1 (minimal band) with item 9 = 1 still alerts.
    score = _phq9(1)
    assert score.total == 1
    assert score.band.label == "minimal"
    assert len(safety.check(score)) == 1


@pytest.mark.parametrize("instrument_id", ["gad7", "gad2", "phq2"])
def test_instruments_without_safety_rules_never_alert(instrument_id: str) -> None:
    instrument = instruments.get(instrument_id)
    answers = {item.id: item.max_value for item in instrument.items}
    assert safety.check(instruments.score(instrument, answers)) == ()


def test_the_rule_is_declared_in_the_definition() -> None:
    rules = instruments.get("phq9").safety_rules
    assert [(r.item_id, r.when_gt, r.alert, r.level) for r in rules] == [
        ("phq9_9", 0, "suicide_risk", "urgent")
    ]


def test_phq9_cannot_be_scored_without_item_9() -> None:
    answers = {f"phq9_{n}": 0 for n in range(1, 9)}
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq9"), answers)
    assert info.value.item_id == "phq9_9"


def test_check_refuses_a_score_that_lacks_the_safety_item() -> None:
    phq9 = instruments.get("phq9")
    forged = Score(
        instrument_id="phq9",
        total=0,
        band=phq9.band_for(0),
        answers=MappingProxyType({f"phq9_{n}": 0 for n in range(1, 9)}),
    )
    with pytest.raises(InstrumentError) as info:
        safety.check(forged)
    assert info.value.item_id == "phq9_9"
