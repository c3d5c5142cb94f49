"""Every kind of bad answer is refused with an error that names the instrument and item."""

from __future__ import annotations

from typing import Any

import pytest

from glabella.clinic import instruments
from glabella.clinic.instruments import InstrumentError


def _phq9_all(value: int = 1) -> dict[str, Any]:
    return {f"phq9_{n}": value for n in range(1, 10)}


def test_unknown_instrument() -> None:
    with pytest.raises(InstrumentError) as info:
        instruments.get("phq10")
    assert "unknown instrument 'phq10'" in str(info.value)
    assert "phq9" in str(info.value)  # lists what is known
    assert info.value.item_id is None


def test_unknown_item_id() -> None:
    answers = _phq9_all() | {"phq9_11": 1}
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq9"), answers)
    assert info.value.item_id == "phq9_11"
    assert info.value.instrument_id == "phq9"
    assert "no item 'phq9_11'" in str(info.value)


def test_item_of_another_instrument_is_unknown() -> None:
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq2"), {"phq9_1": 1, "phq9_2": 1})
    assert info.value.item_id == "phq9_1"


@pytest.mark.parametrize("value", [-1, 4, 27, -100])
def test_out_of_range_value(value: int) -> None:
    answers = _phq9_all() | {"phq9_3": value}
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq9"), answers)
    assert info.value.item_id == "phq9_3"
    assert "question 3 (phq9_3)" in str(info.value)
    assert f"answer {value} is out of range (allowed: 0, 1, 2, 3)" in str(info.value)


def test_out_of_range_unscored_item_is_refused_too() -> None:
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq9"), _phq9_all() | {"phq9_10": 4})
    assert info.value.item_id == "phq9_10"


@pytest.mark.parametrize("value", ["2", 2.0, 1.5, True, False, [1], object()])
def test_value_that_is_not_a_whole_number(value: Any) -> None:
    answers = _phq9_all() | {"phq9_5": value}
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq9"), answers)
    assert info.value.item_id == "phq9_5"
    assert "not a whole number" in str(info.value)


@pytest.mark.parametrize("missing", ["phq9_1", "phq9_5", "phq9_9"])
def test_missing_scored_item(missing: str) -> None:
    answers = _phq9_all()
    del answers[missing]
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq9"), answers)
    assert info.value.item_id == missing
    assert "not answered" in str(info.value)


def test_none_counts_as_missing() -> None:
    answers = _phq9_all() | {"phq9_9": None}
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("phq9"), answers)
    assert info.value.item_id == "phq9_9"


def test_several_missing_items_are_all_named() -> None:
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("gad7"), {"gad7_1": 0, "gad7_2": 0})
    message = str(info.value)
    assert "question(s) 3, 4, 5, 6, 7 not answered" in message
    assert "gad7_3, gad7_4, gad7_5, gad7_6, gad7_7" in message
    assert info.value.item_id == "gad7_3"


@pytest.mark.parametrize("instrument_id", ["phq9", "phq2", "gad7", "gad2"])
def test_empty_answers(instrument_id: str) -> None:
    with pytest.raises(InstrumentError, match="not answered"):
        instruments.score(instruments.get(instrument_id), {})


def test_answers_that_are_not_a_mapping() -> None:
    with pytest.raises(InstrumentError, match="mapping"):
        instruments.score(instruments.get("gad2"), [1, 1])  # type: ignore[arg-type]


def test_optional_item_may_be_absent() -> None:
    # PHQ-9 item 10 is only asked "if you checked off any problems": not required.
    result = instruments.score(instruments.get("phq9"), _phq9_all(0))
    assert result.total == 0
    assert result.missing == ()


def test_error_attributes_and_str() -> None:
    error = InstrumentError("went wrong", instrument_id="gad7", item_id="gad7_2")
    assert isinstance(error, ValueError)
    assert error.message == "went wrong"
    assert str(error) == "gad7, gad7_2: went wrong"
    assert str(InstrumentError("plain")) == "plain"
