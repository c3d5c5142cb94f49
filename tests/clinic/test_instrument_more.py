"""CGI-S, CGI-I and WHO-5 (issue 5, more instruments): wording, scoring and bands.

Sources, independent of the definition files:
CGI (Guy 1976, ECDEU Assessment Manual): each rating 1-7 is reported as its own anchor;
"0 = not assessed" is not a rating.
WHO-5 (Topp et al., Psychother Psychosom 2015;84:167-176): raw score = sum of five items
scored 0-5; percentage = raw x 4; percentage <= 50 indicates poor well-being and
percentage <= 28 likely depression.
"""

from __future__ import annotations

import pytest

from glabella.clinic import instruments, safety
from glabella.clinic.instruments import InstrumentError

CGIS_QUESTION = (
    "Considering your total clinical experience with this particular population, how "
    "mentally ill is the patient at this time?"
)
CGIS_ANCHORS = [
    "Normal, not at all ill",
    "Borderline mentally ill",
    "Mildly ill",
    "Moderately ill",
    "Markedly ill",
    "Severely ill",
    "Among the most extremely ill patients",
]
CGII_QUESTION = (
    "Rate total improvement whether or not, in your judgment, it is due entirely to drug "
    "treatment. Compared to his condition at admission to the project, how much has he changed?"
)
CGII_ANCHORS = [
    "Very much improved",
    "Much improved",
    "Minimally improved",
    "No change",
    "Minimally worse",
    "Much worse",
    "Very much worse",
]
WHO5_ITEMS = [
    "I have felt cheerful and in good spirits",
    "I have felt calm and relaxed",
    "I have felt active and vigorous",
    "I woke up feeling fresh and rested",
    "My daily life has been filled with things that interest me",
]
WHO5_OPTIONS = [
    (5, "All of the time"),
    (4, "Most of the time"),
    (3, "More than half of the time"),
    (2, "Less than half of the time"),
    (1, "Some of the time"),
    (0, "At no time"),
]


@pytest.mark.parametrize(
    ("instrument_id", "question", "anchors"),
    [("cgis", CGIS_QUESTION, CGIS_ANCHORS), ("cgii", CGII_QUESTION, CGII_ANCHORS)],
)
def test_cgi_wording_and_anchors(instrument_id: str, question: str, anchors: list[str]) -> None:
    instrument = instruments.get(instrument_id)
    assert instrument.respondent == "clinician"
    assert len(instrument.items) == 1
    item = instrument.items[0]
    assert item.text == question
    assert [(o.value, o.label) for o in item.options] == list(enumerate(anchors, start=1))
    assert "public domain" in instrument.licence.lower()


@pytest.mark.parametrize(
    ("instrument_id", "anchors"), [("cgis", CGIS_ANCHORS), ("cgii", CGII_ANCHORS)]
)
@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5, 6, 7])
def test_cgi_each_rating_is_its_own_band(
    instrument_id: str, anchors: list[str], rating: int
) -> None:
    result = instruments.score(instruments.get(instrument_id), {f"{instrument_id}_1": rating})
    assert result.total == rating
    assert result.band.label == anchors[rating - 1].lower()
    assert safety.check(result) == ()


@pytest.mark.parametrize("instrument_id", ["cgis", "cgii"])
@pytest.mark.parametrize("rating", [0, 8, -1])
def test_cgi_not_assessed_and_out_of_range_are_refused(instrument_id: str, rating: int) -> None:
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get(instrument_id), {f"{instrument_id}_1": rating})
    assert info.value.item_id == f"{instrument_id}_1"


def test_who5_wording_and_options() -> None:
    who5 = instruments.get("who5")
    assert who5.respondent == "patient"
    assert "over the last two weeks" in who5.preamble
    assert [item.text for item in who5.items] == WHO5_ITEMS
    for item in who5.items:
        assert [(o.value, o.label) for o in item.options] == WHO5_OPTIONS
    assert "Psychiatric Centre North Zealand" in who5.licence


@pytest.mark.parametrize(
    ("values", "raw", "band"),
    [
        ([0, 0, 0, 0, 0], 0, "likely depression"),  # all zero
        ([2, 2, 1, 1, 1], 7, "likely depression"),  # 7 x 4 = 28% (<= 28)
        ([2, 2, 2, 1, 1], 8, "poor well-being"),  # 8 x 4 = 32%
        ([3, 3, 2, 2, 2], 12, "poor well-being"),  # 12 x 4 = 48% (<= 50)
        ([3, 3, 3, 2, 2], 13, "no indication of poor well-being"),  # 13 x 4 = 52%
        ([5, 5, 5, 5, 5], 25, "no indication of poor well-being"),  # all max, 100%
    ],
)
def test_who5_vectors(values: list[int], raw: int, band: str) -> None:
    answers = {f"who5_{n}": v for n, v in enumerate(values, start=1)}
    result = instruments.score(instruments.get("who5"), answers)
    assert result.total == raw
    assert result.band.label == band


@pytest.mark.parametrize("raw", range(26))
def test_who5_bands_follow_the_percentage_cut_offs(raw: int) -> None:
    percentage = raw * 4  # Topp et al. 2015
    if percentage <= 28:
        expected = "likely depression"
    elif percentage <= 50:
        expected = "poor well-being"
    else:
        expected = "no indication of poor well-being"
    assert instruments.get("who5").band_for(raw).label == expected


@pytest.mark.parametrize("value", [6, -1])
def test_who5_out_of_range_is_refused(value: int) -> None:
    answers = {f"who5_{n}": 3 for n in range(1, 6)} | {"who5_4": value}
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("who5"), answers)
    assert info.value.item_id == "who5_4"


def test_every_instrument_records_licence_source_and_citation() -> None:
    for instrument in instruments.all_instruments():
        assert instrument.licence.strip(), instrument.id
        assert instrument.licence_source.strip(), instrument.id
        assert instrument.citation.strip(), instrument.id
        assert instrument.wording_source.strip(), instrument.id
        if instrument.loinc_panel is None:
            assert "could be verified" in instrument.loinc_note, instrument.id
