"""Property-based checks of the scoring engine over every shipped instrument."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glabella.clinic import instruments
from glabella.clinic.instruments import Instrument, InstrumentError

ALL = instruments.all_instruments()
IDS = [instrument.id for instrument in ALL]


@st.composite
def complete_answers(draw: st.DrawFn, instrument: Instrument) -> dict[str, int]:
    """A valid answer to every item (optional items sometimes left out)."""
    answers: dict[str, int] = {}
    for item in instrument.items:
        if not item.required and draw(st.booleans()):
            continue
        answers[item.id] = draw(st.sampled_from([o.value for o in item.options]))
    return answers


def _plain_sum(instrument: Instrument, answers: dict[str, int]) -> int:
    return sum(answers[item.id] for item in instrument.items if item.scored)


@pytest.mark.parametrize("instrument_id", [i.id for i in ALL if not i.scoring.max_of])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_total_is_the_sum_of_scored_items(instrument_id: str, data: st.DataObject) -> None:
    instrument = instruments.get(instrument_id)
    answers = data.draw(complete_answers(instrument))
    result = instruments.score(instrument, answers)
    assert result.total == _plain_sum(instrument, answers)
    assert instrument.min_total <= result.total <= instrument.max_total
    assert result.band.min <= result.total <= result.band.max
    assert dict(result.answers) == answers


@pytest.mark.parametrize("instrument_id", IDS)
def test_every_total_has_exactly_one_band(instrument_id: str) -> None:
    instrument = instruments.get(instrument_id)
    for total in range(instrument.min_total, instrument.max_total + 1):
        holders = [band for band in instrument.bands if band.min <= total <= band.max]
        assert len(holders) == 1, total
        assert instrument.band_for(total) == holders[0]


@pytest.mark.parametrize("instrument_id", IDS)
@settings(max_examples=100, deadline=None)
@given(a=st.integers(-5, 200), b=st.integers(-5, 200))
def test_band_is_monotone_in_total(instrument_id: str, a: int, b: int) -> None:
    instrument = instruments.get(instrument_id)
    low, high = sorted((a, b))
    lo_ok = instrument.min_total <= low <= instrument.max_total
    hi_ok = instrument.min_total <= high <= instrument.max_total
    if not (lo_ok and hi_ok):
        for total in (low, high):
            if not instrument.min_total <= total <= instrument.max_total:
                with pytest.raises(InstrumentError):
                    instrument.band_for(total)
        return
    order = list(instrument.bands)
    assert order.index(instrument.band_for(low)) <= order.index(instrument.band_for(high))


@pytest.mark.parametrize("instrument_id", IDS)
@settings(max_examples=100, deadline=None)
@given(data=st.data(), bad=st.integers(-1000, 1000))
def test_any_value_outside_the_options_is_refused(
    instrument_id: str, data: st.DataObject, bad: int
) -> None:
    instrument = instruments.get(instrument_id)
    answers = data.draw(complete_answers(instrument))
    item = data.draw(st.sampled_from(instrument.items))
    if item.option_for(bad) is not None:
        return
    answers[item.id] = bad
    with pytest.raises(InstrumentError) as info:
        instruments.score(instrument, answers)
    assert info.value.item_id == item.id


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_phq9_item_10_never_changes_the_total(data: st.DataObject) -> None:
    phq9 = instruments.get("phq9")
    answers = data.draw(complete_answers(phq9))
    answers.pop("phq9_10", None)
    base = instruments.score(phq9, answers).total
    for value in (0, 1, 2, 3):
        assert instruments.score(phq9, answers | {"phq9_10": value}).total == base
