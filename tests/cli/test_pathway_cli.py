"""Clinical-pathway CLI commands (pure ones run without a database)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from builders import safe_screening
from glabella.cli import app

runner = CliRunner()

ANSWERS = safe_screening(pregnant="yes", phq9_item9=0)


def test_reconstitute_hand_calculation() -> None:
    # 100 U / 2.5 mL = 40 U/mL = 4 U per 0.1 mL; 29 U / 40 U/mL = 0.725 mL
    result = runner.invoke(
        app,
        [
            "protocols",
            "reconstitute",
            "--vial-units",
            "100",
            "--saline-ml",
            "2.5",
            "--dose",
            "29",
            "--dose",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["units_per_0_1_ml"] == "4"
    assert out["volumes_ml"] == {"29": "0.725", "5": "0.125"}


def test_reconstitute_bad_input_is_a_clean_error() -> None:
    result = runner.invoke(
        app, ["protocols", "reconstitute", "--vial-units", "0", "--saline-ml", "2.5"]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_eligibility_check_from_file(tmp_path: Path) -> None:
    file = tmp_path / "screen.json"
    file.write_text(
        json.dumps(
            {
                "product": "onabotulinumtoxinA",
                "date_of_birth": "1980-01-01",
                "sex": "female",
                "answers": ANSWERS,
                "date": "2026-11-25",
            }
        )
    )
    result = runner.invoke(app, ["eligibility", "check", str(file)])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["outcome"] == "not_eligible_now"
    assert any(r["severity"] == "contraindication" for r in decision["reasons"])


def test_eligibility_check_names_missing_answer(tmp_path: Path) -> None:
    file = tmp_path / "screen.json"
    answers = {k: v for k, v in ANSWERS.items() if k != "pregnant"}
    file.write_text(
        json.dumps({"date_of_birth": "1980-01-01", "sex": "female", "answers": answers})
    )
    result = runner.invoke(app, ["eligibility", "check", str(file)])
    assert result.exit_code == 2
    assert "pregnant" in result.output


def test_products_and_protocols_listing() -> None:
    products = runner.invoke(app, ["products", "list"])
    assert products.exit_code == 0 and "Speywood" in products.output
    missing = runner.invoke(app, ["protocols", "show", "nope"])
    assert missing.exit_code == 2 and "unknown protocol" in missing.output


def test_treatments_record_refuses_a_boolean_dose_naming_the_site(tmp_path: Path) -> None:
    body = {
        "product": "onabotulinumtoxinA",
        "lot_number": "L1",
        "lot_expiry": "2030-01-01",
        "vial_units": "100",
        "saline_ml": "2.5",
        "sites": {"procerus": True},
        "consent_id": 1,
    }
    file = tmp_path / "treatment.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    result = runner.invoke(app, ["treatments", "record", "1", str(file)])
    assert result.exit_code == 2
    assert "sites.procerus" in result.output
    assert "Traceback" not in result.output
