"""`glabella plan`: JSON out, numbers from independent sources, bad input named (exit 2)."""

from __future__ import annotations

import json

import pytest
from statsmodels.stats.power import TTestIndPower
from typer.testing import CliRunner

from glabella.cli import app
from glabella.evidence import synthesis as sy

runner = CliRunner()


def _json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(app, ["plan", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_means_cohen_64_per_group_and_percent_input() -> None:
    # Cohen (1988) Table 2.4.1: d = 0.5, power 0.80, two-sided 0.05 -> 64 per group.
    assert _json(["means", "--d", "0.5"])["n1"] == 64
    # "80%" is read as 0.8; 20 % drop-out: 64 / 0.8 = 80 to enrol.
    data = _json(["means", "--diff", "4", "--sd", "8", "--power", "80%", "--dropout", "20%"])
    assert (data["n1"], data["n1_evaluable"]) == (80, 64)


def test_means_power_mode_matches_statsmodels() -> None:
    data = _json(["means", "--d", "0.35", "--n1", "65", "--n2", "59"])
    assert data["power"] == pytest.approx(TTestIndPower().power(0.35, 65, 0.05, ratio=59 / 65))


def test_proportions_hand_calculation() -> None:
    # (1.959964 + 0.841621)^2 (0.65 x 0.35 + 0.85 x 0.15) / 0.2^2 = 69.66 -> 70 (Chow et al.)
    assert _json(["proportions", "--p1", "65%", "--p2", "0.85"])["n1"] == 70


def test_evidence_plan_uses_the_headline() -> None:
    g = sy.headline("mdd").lead.primary.estimate  # type: ignore[union-attr]
    data = _json(["evidence", "--disorder", "MDD", "--unblinding", "30%"])
    assert data["planning_effect"] == pytest.approx(-g)
    assert data["active_placebo"]["n1"] > data["inert_placebo"]["n1"]  # type: ignore[index]


def test_retrospective_lists_brin_2020() -> None:
    rows = _json(["retrospective"])["rows"]
    assert isinstance(rows, list)
    assert any(r["study_id"] == "brin-2020" and (r["n1"], r["n2"]) == (65, 59) for r in rows)


def test_simulate_is_seeded() -> None:
    args = ["simulate", "--diff", "0.5", "--n1", "30", "--sims", "300", "--seed", "4"]
    assert _json(args)["power"] == _json(args)["power"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["means", "--d", "0.5", "--power", "1.2"], "power"),
        (["means", "--d", "0.5", "--power", "0"], "power"),
        (["means", "--d", "0.5", "--alpha", "0.5"], "alpha"),
        (["means", "--diff", "4", "--sd", "-8"], "sd"),
        (["means", "--d", "0.5", "--power", "lots"], "--power"),
        (["proportions", "--p1", "120%", "--p2", "0.5"], "p1"),
        (["evidence", "--basis", "pi_bound"], "basis"),
        (["evidence", "--disorder", "flu"], "--disorder"),
        (["simulate", "--diff", "0.5", "--n1", "30", "--rho", "1.5"], "rho"),
    ],
)
def test_bad_input_exit_2_naming_the_field(args: list[str], field: str) -> None:
    result = runner.invoke(app, ["plan", *args])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"error: {field}" in result.stderr
    assert "Traceback" not in result.output
