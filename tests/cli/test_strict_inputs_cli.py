"""Issue 15 item 6 through the CLI (H-059): the screening file of `glabella eligibility check`,
`glabella patients add` and `glabella treatments record` read the same strict models as the
JSON API; a string where a boolean or a list is expected, a future or impossible date is
exit code 2 with a message naming the field as a person reads it, and nothing is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from builders import run_cli, safe_screening
from glabella.cli import app

runner = CliRunner()

ANSWERS = safe_screening(phq9_item9=0)


def _check(tmp_path: Path, **changes: object) -> Result:
    body: dict[str, object] = {
        "product": "onabotulinumtoxinA",
        "date_of_birth": "1980-01-01",
        "sex": "female",
        "answers": ANSWERS,
        "date": "2026-11-25",
    }
    body.update(changes)
    file = tmp_path / "screen.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    return runner.invoke(app, ["eligibility", "check", str(file)])


def _said(result: Result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _refused(result: Result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    said = _said(result)
    for text in expected:
        assert text in said, said
    assert "Traceback" not in result.output and '"outcome"' not in result.output


def test_mdq_positive_as_the_text_no_is_refused_not_read_as_positive(tmp_path: Path) -> None:
    _refused(
        _check(tmp_path, mdq_positive="no"),
        'MDQ positive: must be true or false (without quotes), not the text "no"',
    )
    # the same fact typed as JSON: false is no reason, true is the psychiatric-review precaution
    negative = json.loads(_check(tmp_path, mdq_positive=False).output)
    assert negative["outcome"] == "eligible" and negative["reasons"] == []
    positive = json.loads(_check(tmp_path, mdq_positive=True).output)
    assert [r["rule_id"] for r in positive["reasons"]] == ["mdq_positive"]


def test_medications_as_one_string_is_refused_not_read_as_no_medicines(tmp_path: Path) -> None:
    _refused(
        _check(tmp_path, medications="warfarin"),
        'medications: must be a list, e.g. ["warfarin"], not the text "warfarin"',
    )
    listed = json.loads(_check(tmp_path, medications=["warfarin"]).output)
    assert [r["rule_id"] for r in listed["reasons"]] == ["anticoagulant"]


def test_future_date_of_birth_is_refused_not_age_minus_4(tmp_path: Path) -> None:
    _refused(
        _check(tmp_path, date_of_birth="2031-01-01", date=None),
        "date of birth: is in the future (2031-01-01)",
    )
    assert "age -" not in _said(_check(tmp_path, date_of_birth="2031-01-01", date=None))


def test_date_of_birth_after_the_screening_date_is_refused(tmp_path: Path) -> None:
    _refused(
        _check(tmp_path, date_of_birth="2026-11-26", date="2026-11-25"),
        "date of birth: is after the screening date 2026-11-25 (2026-11-26)",
    )


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("date_of_birth", "date of birth"),
        ("last_bont_date", "last BoNT date"),
        ("date", "screening date"),
    ],
)
def test_impossible_dates_are_refused_naming_the_field(
    tmp_path: Path, field: str, label: str
) -> None:
    _refused(_check(tmp_path, **{field: "2023-02-30"}), f"{label}: is not a real date (2023-02-30)")


def test_a_number_for_a_date_or_a_string_for_item_9_is_refused(tmp_path: Path) -> None:
    _refused(_check(tmp_path, date_of_birth=0), "date of birth: must be a date written YYYY-MM-DD")
    _refused(
        _check(tmp_path, answers={**ANSWERS, "phq9_item9": "2"}),
        "PHQ-9 item 9: must be 0, 1, 2 or 3",
    )


def test_a_misspelt_answer_name_is_refused_rather_than_dropped(tmp_path: Path) -> None:
    """An allergy typed under "allergy" would otherwise be ignored without a word."""
    _refused(
        _check(tmp_path, answers={**ANSWERS, "allergy": "Dysport"}),
        "answers.allergy: is not a field of this request",
    )
    spelt = json.loads(_check(tmp_path, answers={**ANSWERS, "allergies": ["Dysport"]}).output)
    assert spelt["outcome"] == "not_eligible"


def _db(url: str, *args: str) -> Result:
    return run_cli(url, *args)


def _patients(url: str) -> list[dict[str, object]]:
    listed = _db(url, "patients", "list", "--json")
    assert listed.exit_code == 0, listed.output
    return list(json.loads(listed.output))


def test_patients_add_refuses_a_future_or_impossible_date_of_birth(database_url: str) -> None:
    base = ["patients", "add", "--mrn", "S1", "--given-name", "Ada", "--family-name", "Lo"]
    future = _db(database_url, *base, "--dob", "2031-01-01", "--sex", "female")
    _refused(future, "date of birth: is in the future (2031-01-01)")
    impossible = _db(database_url, *base, "--dob", "2023-02-30", "--sex", "female")
    _refused(impossible, "date of birth: is not a real date (2023-02-30)")
    assert _patients(database_url) == []


def test_treatments_record_refuses_loose_types_naming_each_field(
    database_url: str, tmp_path: Path
) -> None:
    added = _db(
        database_url,
        *("patients", "add", "--mrn", "S2", "--given-name", "Ada", "--family-name", "Lo"),
        *("--dob", "1980-01-01", "--sex", "female", "--json"),
    )
    assert added.exit_code == 0, added.output
    pid = str(json.loads(added.output)["id"])
    body = {
        "product": "onabotulinumtoxinA",
        "lot_number": "L1",
        "lot_expiry": "2023-02-30",
        "vial_units": "100",
        "saline_ml": "2.5",
        "sites": {"procerus": "4"},
        "consent_id": True,
        "treated_at": 1700000000,
    }
    file = tmp_path / "treatment.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    result = _db(database_url, "treatments", "record", pid, str(file))
    _refused(
        result,
        "lot expiry: is not a real date (2023-02-30)",
        "consent id: must be a whole number, not true",
        "treatment time: must be a date and time written as text, not 1700000000",
    )
    listed = _db(database_url, "treatments", "list", pid)
    assert listed.exit_code == 0 and json.loads(listed.output) == []
