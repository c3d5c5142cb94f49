"""Scoring vectors for PHQ-9, PHQ-2, GAD-7 and GAD-2.

Band limits come from the papers, not from the definitions under test:
PHQ-9 (Kroenke, Spitzer & Williams, J Gen Intern Med 2001;16:606-613): 5, 10, 15 and 20
are the thresholds for mild, moderate, moderately severe and severe depression.
GAD-7 (Spitzer et al., Arch Intern Med 2006;166:1092-1097): 5, 10 and 15 for mild,
moderate and severe anxiety. PHQ-2 (Kroenke et al., Med Care 2003;41:1284-1292) and GAD-2
(Kroenke et al., Ann Intern Med 2007;146:317-325): a score of 3 or more is a positive screen.
Every total below is added up by hand in the comment beside its vector.
"""

from __future__ import annotations

import pytest

from glabella.clinic import instruments
from glabella.clinic.instruments import InstrumentError


def _phq9(values: list[int], item10: int | None = None) -> dict[str, int]:
    answers = {f"phq9_{n}": v for n, v in enumerate(values, start=1)}
    if item10 is not None:
        answers["phq9_10"] = item10
    return answers


def _gad7(values: list[int]) -> dict[str, int]:
    return {f"gad7_{n}": v for n, v in enumerate(values, start=1)}


PHQ9_VECTORS = [
    # values for items 1..9                 total (by hand)          band
    ([0, 0, 0, 0, 0, 0, 0, 0, 0], 0, "minimal"),  # all zero
    ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal"),  # 1+1+1+1 = 4
    ([1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild"),  # 1*5 = 5
    ([3, 3, 3, 0, 0, 0, 0, 0, 0], 9, "mild"),  # 3+3+3 = 9
    ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate"),  # 2*5 = 10
    ([2, 2, 2, 2, 2, 2, 2, 0, 0], 14, "moderate"),  # 2*7 = 14
    ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately severe"),  # 3*5 = 15
    ([3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "moderately severe"),  # 3*6 + 1 = 19
    ([3, 3, 3, 3, 2, 2, 2, 2, 0], 20, "severe"),  # 3*4 + 2*4 = 20
    ([3, 3, 3, 3, 3, 3, 3, 3, 3], 27, "severe"),  # all max: 3*9 = 27
]

GAD7_VECTORS = [
    ([0, 0, 0, 0, 0, 0, 0], 0, "minimal"),  # all zero
    ([1, 1, 1, 1, 0, 0, 0], 4, "minimal"),  # 1*4 = 4
    ([1, 1, 1, 1, 1, 0, 0], 5, "mild"),  # 1*5 = 5
    ([3, 3, 3, 0, 0, 0, 0], 9, "mild"),  # 3*3 = 9
    ([2, 2, 2, 2, 2, 0, 0], 10, "moderate"),  # 2*5 = 10
    ([2, 2, 2, 2, 2, 2, 2], 14, "moderate"),  # 2*7 = 14
    ([3, 3, 3, 3, 3, 0, 0], 15, "severe"),  # 3*5 = 15
    ([3, 3, 3, 3, 3, 3, 3], 21, "severe"),  # all max: 3*7 = 21
]


@pytest.mark.parametrize(("values", "total", "band"), PHQ9_VECTORS)
def test_phq9_band_boundaries(values: list[int], total: int, band: str) -> None:
    result = instruments.score(instruments.get("phq9"), _phq9(values))
    assert result.total == total
    assert result.band.label == band
    assert result.missing == ()


@pytest.mark.parametrize(("values", "total", "band"), GAD7_VECTORS)
def test_gad7_band_boundaries(values: list[int], total: int, band: str) -> None:
    result = instruments.score(instruments.get("gad7"), _gad7(values))
    assert result.total == total
    assert result.band.label == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_for_each_boundary(total: int, band: str) -> None:
    assert instruments.get("phq9").band_for(total).label == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_for_each_boundary(total: int, band: str) -> None:
    assert instruments.get("gad7").band_for(total).label == band


@pytest.mark.parametrize("instrument_id", ["phq9", "gad7", "phq2", "gad2"])
@pytest.mark.parametrize("total", [-1, 100])
def test_band_for_outside_range_is_refused(instrument_id: str, total: int) -> None:
    with pytest.raises(InstrumentError, match="outside the range"):
        instruments.get(instrument_id).band_for(total)


def test_phq9_item_10_is_recorded_but_not_scored() -> None:
    phq9 = instruments.get("phq9")
    without = instruments.score(phq9, _phq9([1, 1, 1, 1, 1, 0, 0, 0, 0]))
    with_10 = instruments.score(phq9, _phq9([1, 1, 1, 1, 1, 0, 0, 0, 0], item10=3))
    assert without.total == with_10.total == 5
    assert with_10.answers["phq9_10"] == 3
    assert "phq9_10" not in without.answers
    assert phq9.item("phq9_10").scored is False
    assert phq9.max_total == 27  # 9 scored items x 3, item 10 excluded


def test_answers_come_back_in_form_order() -> None:
    shuffled = dict(reversed(list(_phq9([0, 1, 2, 3, 0, 1, 2, 3, 0], item10=1).items())))
    result = instruments.score(instruments.get("phq9"), shuffled)
    assert list(result.answers) == [f"phq9_{n}" for n in range(1, 11)]
    assert result.total == 12  # 0+1+2+3+0+1+2+3+0 = 12


@pytest.mark.parametrize(
    ("a", "b", "total", "band"),
    [
        (0, 0, 0, "negative screen"),
        (1, 1, 2, "negative screen"),  # 2 < 3
        (2, 1, 3, "positive screen"),  # cut-off 3
        (0, 3, 3, "positive screen"),
        (3, 3, 6, "positive screen"),  # all max
    ],
)
def test_phq2_and_gad2_cut_off(a: int, b: int, total: int, band: str) -> None:
    phq2 = instruments.score(instruments.get("phq2"), {"phq2_1": a, "phq2_2": b})
    gad2 = instruments.score(instruments.get("gad2"), {"gad2_1": a, "gad2_2": b})
    assert (phq2.total, phq2.band.label) == (total, band)
    assert (gad2.total, gad2.band.label) == (total, band)


@pytest.mark.parametrize(
    "values",
    [
        [2, 1, 0, 0, 0, 0, 0, 0, 0],  # PHQ-2 = 2+1 = 3 (positive), PHQ-9 = 3 (minimal)
        [0, 1, 3, 3, 3, 3, 3, 3, 3],  # PHQ-2 = 0+1 = 1 (negative), PHQ-9 = 22 (severe)
        [3, 3, 0, 0, 0, 0, 0, 0, 1],  # PHQ-2 = 6
    ],
)
def test_phq2_is_derived_from_the_first_two_phq9_items(values: list[int]) -> None:
    phq9 = instruments.score(instruments.get("phq9"), _phq9(values))
    phq2 = instruments.derive(phq9, instruments.get("phq2"))
    assert phq2.instrument_id == "phq2"
    assert phq2.total == values[0] + values[1]
    assert dict(phq2.answers) == {"phq2_1": values[0], "phq2_2": values[1]}
    assert phq2.band.label == ("positive screen" if phq2.total >= 3 else "negative screen")


def test_gad2_is_derived_from_the_first_two_gad7_items() -> None:
    gad7 = instruments.score(instruments.get("gad7"), _gad7([2, 2, 0, 1, 0, 0, 3]))
    gad2 = instruments.derive(gad7, instruments.get("gad2"))
    assert gad7.total == 8  # 2+2+0+1+0+0+3
    assert gad2.total == 4  # 2+2
    assert gad2.band.label == "positive screen"


def test_derive_from_the_wrong_parent_is_refused() -> None:
    gad7 = instruments.score(instruments.get("gad7"), _gad7([0] * 7))
    with pytest.raises(InstrumentError, match="cannot be derived"):
        instruments.derive(gad7, instruments.get("phq2"))
    with pytest.raises(InstrumentError, match="cannot be derived"):
        instruments.derive(gad7, instruments.get("phq9"))


def test_score_is_immutable() -> None:
    result = instruments.score(instruments.get("gad2"), {"gad2_1": 1, "gad2_2": 1})
    with pytest.raises(TypeError):
        result.answers["gad2_1"] = 3  # type: ignore[index]
