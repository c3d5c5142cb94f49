"""`glabella eligibility confirm-unrecognised`: entries the vocabulary did not recognise are
confirmed by a named clinician, all or nothing, each refusal naming what is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from typer.testing import Result

from builders import new_patient, run_cli, safe_screening, screen
from glabella.services import screening
from glabella.services.context import Database
from glabella.services.users import create_user

PASSWORD = "correct horse battery staple"
SAFE = safe_screening()


@dataclass(frozen=True)
class Seeded:
    url: str
    screening_id: int


@pytest.fixture
def seeded(database_url: str) -> Iterator[Seeded]:
    db = Database.from_url(database_url)
    try:
        clinician, _ = create_user(
            db, username="dr.conf", full_name="Dr Conf", role="clinician", password=PASSWORD
        )
        create_user(db, username="nu.rse", full_name="Nurse", role="nurse", password=PASSWORD)
        actor = clinician.actor("test")
        pid = new_patient(
            db,
            actor,
            mrn="CU-1",
            given_name="Uma",
            family_name="Known",
            date_of_birth="1977-07-07",
        )
        view = screen(
            db, actor, pid, SAFE, medications=("Zolpidem", "Eliquis"), conditions=("tinnitus",)
        )
        assert [r.rule_id for r in view.unconfirmed] == [
            "unrecognised_medication_1",
            "unrecognised_condition_1",
        ]
        yield Seeded(database_url, view.id)
    finally:
        db.engine.dispose()


def _run(url: str, *args: str) -> Result:
    return run_cli(url, *args)


def _confirm(seeded: Seeded, *args: str) -> Result:
    return _run(seeded.url, "eligibility", "confirm-unrecognised", str(seeded.screening_id), *args)


def _said(result: Result) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(result.output.split())


def _unconfirmed(seeded: Seeded) -> list[str]:
    db = Database.from_url(seeded.url)
    try:
        actor = create_user(
            db, username="dr.check", full_name="Check", role="clinician", password=PASSWORD
        )[0].actor("test")
        rows = screening.list_screenings(db, actor, 1)
        return [r.rule_id for r in rows[0].unconfirmed]
    finally:
        db.engine.dispose()


def test_entries_as_typed_are_confirmed_by_the_named_clinician(seeded: Seeded) -> None:
    result = _confirm(
        seeded, "--entry", "zolpidem", "--entry", "condition: Tinnitus", "--by", "dr.conf"
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["unconfirmed"] == []
    confirmed = {r["rule_id"]: r for r in body["reasons"] if r["rule_id"].startswith("unrec")}
    assert set(confirmed) == {"unrecognised_medication_1", "unrecognised_condition_1"}
    for reason in confirmed.values():
        assert reason["overridden_by"] == "Dr Conf"  # the full name of --by dr.conf
        assert reason["override_reason"] == "confirmed not relevant to this screening"
    # the anticoagulant precaution (Eliquis) is still open: confirming is not overriding it
    assert body["outcome"] == "eligible_with_precautions"
    assert _unconfirmed(seeded) == []


def test_an_entry_can_be_named_by_its_id(seeded: Seeded) -> None:
    result = _confirm(seeded, "--entry", "unrecognised_condition_1", "--by", "dr.conf")
    assert result.exit_code == 0, result.output
    assert [u["entry"] for u in json.loads(result.output)["unconfirmed"]] == ["medicine: Zolpidem"]


def test_an_unknown_entry_refuses_the_whole_request_and_lists_the_open_ones(
    seeded: Seeded,
) -> None:
    result = _confirm(seeded, "--entry", "zolpidem", "--entry", "Eliquis", "--by", "dr.conf")
    assert result.exit_code == 2
    assert "'Eliquis' is not an unconfirmed entry" in _said(result)
    assert "medicine: Zolpidem (unrecognised_medication_1)" in _said(result)
    assert "Traceback" not in result.output
    # all or nothing: zolpidem was not confirmed either
    assert _unconfirmed(seeded) == ["unrecognised_medication_1", "unrecognised_condition_1"]


def test_a_nurse_may_not_confirm(seeded: Seeded) -> None:
    result = _confirm(seeded, "--entry", "zolpidem", "--by", "nu.rse")
    assert result.exit_code == 2
    assert "confirm unrecognised entries" in _said(result)
    assert _unconfirmed(seeded) == ["unrecognised_medication_1", "unrecognised_condition_1"]


def test_the_clinician_must_be_an_active_account(seeded: Seeded) -> None:
    result = _confirm(seeded, "--entry", "zolpidem", "--by", "dr.nobody")
    assert result.exit_code == 2
    assert "no active account 'dr.nobody'" in _said(result)
    missing = _confirm(seeded, "--entry", "zolpidem")
    assert missing.exit_code == 2
    assert "--by" in _said(missing)


def test_no_entry_and_an_unknown_screening_are_clear_errors(seeded: Seeded) -> None:
    result = _confirm(seeded, "--by", "dr.conf")
    assert result.exit_code == 2
    assert "name at least one unrecognised entry" in _said(result)
    other = _run(
        seeded.url, "eligibility", "confirm-unrecognised", "999", "--entry", "x", "--by", "dr.conf"
    )
    assert other.exit_code == 2
    assert "no screening with id 999" in _said(other)


def test_the_same_text_in_two_fields_must_be_named_by_id(seeded: Seeded) -> None:
    db = Database.from_url(seeded.url)
    try:
        actor = create_user(
            db, username="dr.two", full_name="Two", role="clinician", password=PASSWORD
        )[0].actor("test")
        view = screen(db, actor, 1, SAFE, medications=("fish oil",), conditions=("Fish-Oil",))
    finally:
        db.engine.dispose()
    args = ["eligibility", "confirm-unrecognised", str(view.id), "--by", "dr.conf"]
    result = _run(seeded.url, *args, "--entry", "fish oil")
    assert result.exit_code == 2
    assert (
        "'fish oil' names 2 entries (unrecognised_medication_1, unrecognised_condition_1)"
        in _said(result)
    )
    by_id = _run(seeded.url, *args, "--entry", "unrecognised_condition_1")
    assert by_id.exit_code == 0, by_id.output
