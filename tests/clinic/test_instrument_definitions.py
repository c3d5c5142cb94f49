"""The loader refuses faulty definitions, and every shipped definition passes its checks."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from glabella.clinic import instruments
from glabella.clinic.instruments import InstrumentError, loinc_check_digit_ok
from glabella.clinic.instruments.loader import _check_derived, parse_definition


def _raw(instrument_id: str) -> dict[str, Any]:
    folder = resources.files("glabella.clinic.instruments").joinpath("definitions")
    data = yaml.safe_load(folder.joinpath(f"{instrument_id}.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _refused(data: dict[str, Any], fragment: str, instrument_id: str = "phq9") -> None:
    with pytest.raises(InstrumentError) as info:
        parse_definition(data, instrument_id)
    assert fragment in str(info.value)


def test_shipped_definitions_load() -> None:
    ids = [instrument.id for instrument in instruments.all_instruments()]
    assert set(ids) >= {"phq9", "phq2", "gad7", "gad2"}
    assert instruments.all_instruments() is not None
    # loaded once and cached: the same object each time
    assert instruments.get("phq9") is instruments.get("phq9")


def test_unchanged_definition_parses() -> None:
    assert parse_definition(_raw("phq9"), "phq9") == instruments.get("phq9")


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("44249-1", True),  # by hand: 9->9, 4, 2->4, 4, 4->8; sum 29; check 1
        ("44261-6", True),  # 1->2, 6, 2->4, 4, 4->8; sum 24; check 6
        ("44261-5", False),  # wrong check digit
        ("44216-6", False),  # transposed digits
        ("44261", False),
        ("abc-1", False),
        ("", False),
    ],
)
def test_loinc_check_digit(code: str, ok: bool) -> None:
    assert loinc_check_digit_ok(code) is ok


def test_every_shipped_loinc_code_has_a_valid_check_digit() -> None:
    for instrument in instruments.all_instruments():
        codes = [instrument.loinc_panel, instrument.loinc_total]
        codes += [item.loinc for item in instrument.items]
        for code in codes:
            assert code is None or loinc_check_digit_ok(code), (instrument.id, code)


def test_id_must_match_the_file() -> None:
    _refused(_raw("phq9"), "must be lower-case and equal 'phq2'", "phq2")


def test_items_numbered_in_order() -> None:
    data = _raw("phq9")
    data["items"][2]["number"] = 4
    _refused(data, "numbered 1..n in order")


def test_item_id_must_follow_the_pattern() -> None:
    data = _raw("phq9")
    data["items"][0]["id"] = "q1"
    _refused(data, "item id must be 'phq9_1'")


def test_duplicate_option_values_are_refused() -> None:
    data = _raw("phq9")
    data["options"][3]["value"] = 2
    _refused(data, "option values must be unique")


def test_declared_range_must_match_the_items() -> None:
    data = _raw("phq9")
    data["range"] = [0, 30]
    _refused(data, "does not match the items: [0, 27]")


def test_bands_with_a_gap_are_refused() -> None:
    data = _raw("phq9")
    data["bands"][1]["min"] = 6
    _refused(data, "contiguous")


def test_bands_overlapping_are_refused() -> None:
    data = _raw("phq9")
    data["bands"][1]["min"] = 4
    _refused(data, "contiguous")


def test_bands_short_of_the_maximum_are_refused() -> None:
    data = _raw("phq9")
    data["bands"][-1]["max"] = 26
    _refused(data, "must end at the maximum total 27")


def test_bad_loinc_code_is_refused() -> None:
    data = _raw("phq9")
    data["items"][8]["loinc"] = "44260-9"
    _refused(data, "not a valid LOINC code")


def test_prorating_is_not_allowed_without_a_verified_rule() -> None:
    data = _raw("phq9")
    data["missing"]["max_missing"] = 1
    _refused(data, "only max_missing: 0")


def test_unknown_scoring_method_is_refused() -> None:
    data = _raw("phq9")
    data["scoring"]["method"] = "mean"
    _refused(data, "unknown scoring method")


def test_unknown_respondent_is_refused() -> None:
    data = _raw("phq9")
    data["respondent"] = "carer"
    _refused(data, "respondent 'carer'")


def test_safety_rule_on_unknown_item_is_refused() -> None:
    data = _raw("phq9")
    data["safety"][0]["item"] = "phq9_11"
    _refused(data, "names an item the instrument does not have")


def test_safety_rule_on_optional_item_is_refused() -> None:
    data = _raw("phq9")
    data["safety"][0]["item"] = "phq9_10"
    _refused(data, "a safety item must be required")


@pytest.mark.parametrize("threshold", [3, -1])
def test_safety_rule_that_can_never_or_always_fire_is_refused(threshold: int) -> None:
    data = _raw("phq9")
    data["safety"][0]["when_gt"] = threshold
    _refused(data, "can never or always trigger")


def test_missing_licence_is_refused() -> None:
    data = _raw("gad7")
    del data["licence"]["statement"]
    _refused(data, "'statement' must be a non-empty string", "gad7")


def test_derived_item_must_match_its_parent_word_for_word() -> None:
    phq9 = instruments.get("phq9")
    data = _raw("phq2")
    data["items"][1]["text"] = "Feeling down, depressed or hopeless"  # comma dropped
    edited = parse_definition(data, "phq2")
    with pytest.raises(InstrumentError) as info:
        _check_derived({"phq9": phq9, "phq2": edited})
    assert info.value.item_id == "phq2_2"


def test_derived_from_unknown_parent_is_refused() -> None:
    data = copy.deepcopy(_raw("phq2"))
    edited = parse_definition(data, "phq2")
    with pytest.raises(InstrumentError, match="unknown instrument 'phq9'"):
        _check_derived({"phq2": edited})


def _synthetic(max_of: list[list[str]] | None = None) -> dict[str, Any]:
    """A four-item 0-3 instrument in which items 1 and 2 may be scored as their maximum."""
    options = [{"value": v, "label": f"level {v}"} for v in range(4)]
    data: dict[str, Any] = {
        "id": "demo",
        "name": "Demonstration scale",
        "short_name": "DEMO",
        "respondent": "patient",
        "preamble": "In the last week:",
        "wording_source": "written for this test",
        "licence": {"statement": "test only", "source": "this test"},
        "citation": "none",
        "loinc": {"panel": None, "total": None},
        "options": options,
        "items": [
            {"id": f"demo_{n}", "number": n, "text": f"question {n}", "loinc": None}
            for n in range(1, 5)
        ],
        "scoring": {"method": "sum"},
        "missing": {"max_missing": 0, "rule": "all items required"},
    }
    if max_of is None:
        data["range"] = [0, 12]
        data["bands"] = [{"min": 0, "max": 12, "label": "any"}]
    else:
        data["scoring"]["max_of"] = max_of
        data["range"] = [0, 9]  # max(3, 3) + 3 + 3 = 9
        data["bands"] = [
            {"min": 0, "max": 4, "label": "low"},
            {"min": 5, "max": 9, "label": "high"},
        ]
    return data


@pytest.mark.parametrize(
    ("values", "total"),
    [
        ([3, 1, 2, 0], 5),  # max(3, 1) + 2 + 0 = 5
        ([0, 2, 2, 2], 6),  # max(0, 2) + 2 + 2 = 6
        ([3, 3, 3, 3], 9),  # max(3, 3) + 3 + 3 = 9
        ([0, 0, 0, 0], 0),
    ],
)
def test_max_of_group_counts_its_highest_item_once(values: list[int], total: int) -> None:
    demo = parse_definition(_synthetic([["demo_1", "demo_2"]]), "demo")
    assert (demo.min_total, demo.max_total) == (0, 9)
    answers = {f"demo_{n}": v for n, v in enumerate(values, start=1)}
    assert instruments.score(demo, answers).total == total
    plain = parse_definition(_synthetic(), "demo")
    assert instruments.score(plain, answers).total == sum(values)


def test_max_of_naming_an_unknown_item_is_refused() -> None:
    _refused(_synthetic([["demo_1", "demo_9"]]), "not a scored item", "demo")


def test_max_of_item_in_two_groups_is_refused() -> None:
    _refused(_synthetic([["demo_1", "demo_2"], ["demo_2", "demo_3"]]), "more than one", "demo")


def test_instruments_are_listed_in_display_order() -> None:
    ids = [instrument.id for instrument in instruments.all_instruments()]
    assert ids[:4] == ["phq9", "phq2", "gad7", "gad2"]
    assert ids.index("who5") < ids.index("cgis") < ids.index("cgii")


def test_scored_item_cannot_be_optional() -> None:
    data = _raw("phq9")
    data["items"][8]["required"] = False
    _refused(data, "a scored item cannot be optional")
