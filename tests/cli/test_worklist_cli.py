"""`glabella followup worklist` and `glabella followup alerts` on a real database."""

from __future__ import annotations

import json

from typer.testing import Result

from builders import run_cli
from glabella.services import assessments, patients
from glabella.services.context import Database
from glabella.services.users import create_user

PASSWORD = "a passphrase for the cli test"


def _run(url: str, *args: str) -> Result:
    return run_cli(url, *args)


def _seed(url: str) -> dict[str, int]:
    db = Database.from_url(url)
    try:
        actor = create_user(
            db, username="dr.cli", full_name="Dr Cli", role="clinician", password=PASSWORD
        )[0].actor("test")
        ids = {}
        for family in ("Amos", "Bell"):
            data = patients.parse_patient_input(
                {
                    "mrn": f"CLI-{family}",
                    "given_name": "Jo",
                    "family_name": family,
                    "date_of_birth": "1975-03-04",
                    "sex": "male",
                }
            )
            ids[family] = patients.create_patient(db, actor, data).id
        # Bell endorses item 9 (value 1): an urgent alert puts Bell before Amos
        answers = {f"phq9_{i}": 0 for i in range(1, 9)} | {"phq9_9": 1}
        assessments.submit_assessment(db, actor, ids["Bell"], "phq9", answers)
        return ids
    finally:
        db.engine.dispose()


def test_worklist_and_alert_history_from_the_cli(database_url: str) -> None:
    ids = _seed(database_url)
    result = _run(database_url, "followup", "worklist", "--json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.output)
    assert page["total"] == 2
    assert [r["patient_id"] for r in page["rows"]] == [ids["Bell"], ids["Amos"]]
    assert page["rows"][0]["alert_level"] == "urgent"
    table = _run(database_url, "followup", "worklist", "--alert-level", "urgent")
    assert table.exit_code == 0 and "Bell, Jo" in table.output and "Amos" not in table.output
    assert "patients 1-1 of 1, page 1 of 1" in table.output
    history = _run(database_url, "followup", "alerts", "--status", "open")
    assert history.exit_code == 0, history.output
    rows = json.loads(history.output)["rows"]
    assert [(r["patient_id"], r["kind"], r["raised_by"]) for r in rows] == [
        (ids["Bell"], "suicide_risk", "Dr Cli (entered answers)")
    ]
    bad = _run(database_url, "followup", "worklist", "--alert-level", "purple")
    assert bad.exit_code == 2 and "alert level must be one of" in bad.output
    assert "Traceback" not in bad.output
