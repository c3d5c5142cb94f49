"""The wording shown to patients equals an independent transcription of the published forms.

The transcription below was typed from the Pfizer PHQ-9 and GAD-7 forms (English, US;
phqscreeners.com), separately from the definition files. A silent edit to any question,
option label, stem, licence statement or LOINC code in a definition fails here (hazard
H-002, wrong instrument wording).
"""

from __future__ import annotations

import pytest

from glabella.clinic import instruments

FREQUENCY = ["Not at all", "Several days", "More than half the days", "Nearly every day"]

PHQ9_STEM = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)
PHQ9_ITEMS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or "
    "your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite "
    "\u2014 being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
    "If you checked off any problems, how difficult have these problems made it for you to "
    "do your work, take care of things at home, or get along with other people?",
]
PHQ9_ITEM10_OPTIONS = [
    "Not difficult at all",
    "Somewhat difficult",
    "Very difficult",
    "Extremely difficult",
]

GAD7_STEM = "Over the last 2 weeks, how often have you been bothered by the following problems?"
GAD7_ITEMS = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
]

PFIZER_STATEMENT = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)

# LOINC codes, as used in the HL7 US Core PHQ-9 examples, the HL7 Personal Health Record IG
# (Questionnaire/phq9, Questionnaire/gad7) and the MII PRO IG (GAD-7 total).
LOINC = {
    "phq9": ("44249-1", "44261-6"),
    "phq2": ("55757-9", "55758-7"),
    "gad7": ("69737-5", "70274-6"),
    "gad2": (None, None),  # no code could be verified: left empty on purpose
}
ITEM_LOINC = {
    "phq9": [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
        "69722-7",
    ],
    "gad7": ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"],
}


def _texts(instrument_id: str) -> list[str]:
    return [item.text for item in instruments.get(instrument_id).items]


def _labels(instrument_id: str, number: int) -> list[str]:
    item = instruments.get(instrument_id).items[number - 1]
    return [option.label for option in item.options]


def _values(instrument_id: str, number: int) -> list[int]:
    item = instruments.get(instrument_id).items[number - 1]
    return [option.value for option in item.options]


def test_phq9_wording_matches_the_form() -> None:
    assert instruments.get("phq9").preamble == PHQ9_STEM
    assert _texts("phq9") == PHQ9_ITEMS


def test_phq9_options_and_values() -> None:
    for number in range(1, 10):
        assert _labels("phq9", number) == FREQUENCY
        assert _values("phq9", number) == [0, 1, 2, 3]
    assert _labels("phq9", 10) == PHQ9_ITEM10_OPTIONS


def test_phq9_item_9_is_the_self_harm_question() -> None:
    item = instruments.get("phq9").item("phq9_9")
    assert item.number == 9
    assert item.text == PHQ9_ITEMS[8]
    assert item.loinc == "44260-8"
    assert item.scored is True
    assert item.required is True


def test_gad7_wording_matches_the_form() -> None:
    assert instruments.get("gad7").preamble == GAD7_STEM
    assert _texts("gad7") == GAD7_ITEMS
    for number in range(1, 8):
        assert _labels("gad7", number) == FREQUENCY
        assert _values("gad7", number) == [0, 1, 2, 3]


def test_phq2_and_gad2_are_the_first_two_items() -> None:
    assert _texts("phq2") == PHQ9_ITEMS[:2]
    assert _texts("gad2") == GAD7_ITEMS[:2]
    assert instruments.get("phq2").preamble == PHQ9_STEM
    assert instruments.get("gad2").preamble == GAD7_STEM
    for instrument_id in ("phq2", "gad2"):
        for number in (1, 2):
            assert _labels(instrument_id, number) == FREQUENCY


@pytest.mark.parametrize("instrument_id", ["phq9", "phq2", "gad7", "gad2"])
def test_licence_statement_and_source(instrument_id: str) -> None:
    instrument = instruments.get(instrument_id)
    assert " ".join(instrument.licence.split()) == PFIZER_STATEMENT
    assert "phqscreeners.com" in instrument.licence_source
    assert instrument.respondent == "patient"


@pytest.mark.parametrize("instrument_id", ["phq9", "phq2", "gad7", "gad2"])
def test_loinc_panel_and_total(instrument_id: str) -> None:
    instrument = instruments.get(instrument_id)
    assert (instrument.loinc_panel, instrument.loinc_total) == LOINC[instrument_id]


def test_item_loinc_codes() -> None:
    for instrument_id, codes in ITEM_LOINC.items():
        assert [item.loinc for item in instruments.get(instrument_id).items] == codes
    assert [i.loinc for i in instruments.get("phq2").items] == ITEM_LOINC["phq9"][:2]
    assert [i.loinc for i in instruments.get("gad2").items] == ITEM_LOINC["gad7"][:2]


@pytest.mark.parametrize(
    ("instrument_id", "fragment"),
    [
        ("phq9", "J Gen Intern Med. 2001;16(9):606-613"),
        ("phq2", "Med Care. 2003;41(11):1284-1292"),
        ("gad7", "Arch Intern Med. 2006;166(10):1092-1097"),
        ("gad2", "Ann Intern Med. 2007;146(5):317-325"),
    ],
)
def test_citations(instrument_id: str, fragment: str) -> None:
    assert fragment in " ".join(instruments.get(instrument_id).citation.split())
