"""`glabella eligibility check` prints when to reassess and what each entry was read as."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from builders import safe_screening
from glabella.cli import app

runner = CliRunner()

ANSWERS = safe_screening(bont_last_12_weeks="yes", phq9_item9=0)


def _check(tmp_path: Path, **extra: object) -> dict[str, object]:
    file = tmp_path / "screen.json"
    file.write_text(
        json.dumps(
            {
                "product": "onabotulinumtoxinA",
                "date_of_birth": "1980-01-01",
                "sex": "female",
                "answers": ANSWERS,
                "date": "2026-11-25",
                **extra,
            }
        )
    )
    result = runner.invoke(app, ["eligibility", "check", str(file)])
    assert result.exit_code == 0, result.output
    body: dict[str, object] = json.loads(result.output)
    return body


def test_check_prints_the_day_to_reassess_after_a_recent_dose(tmp_path: Path) -> None:
    # last dose 2026-10-01 + 84 days (12 weeks) = 2026-12-24
    body = _check(tmp_path, last_bont_date="2026-10-01", medications=["Eliquis"])
    assert body["outcome"] == "not_eligible_now"
    assert body["outcome_text"] == (
        "Not eligible now — reassess on 2026-12-24 (12 weeks after the last dose)"
    )
    assert body["reassess"] == ["recent_bont: on 2026-12-24 (12 weeks after the last dose)"]
    assert body["matches"] == ["Eliquis → apixaban, B01AF02"]


def test_check_prints_a_lasting_contraindication_as_such(tmp_path: Path) -> None:
    body = _check(tmp_path, conditions=["myasthenia"])
    assert body["outcome"] == "not_eligible"
    assert body["outcome_text"] == "Not eligible (lasting contraindication)"
    assert body["reassess"] == []
