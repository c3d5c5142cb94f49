"""`glabella meta --bayes`: the Bayesian model from the CLI, equal to the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from glabella.cli import app
from glabella.evidence.bayes import TauPrior, bayes_meta

runner = CliRunner()

# Crins et al. 2014 as effect sizes (log OR and variance, as escalc gives them; test_bayes.py)
ROWS = [
    ("Spada 2006", -1.2613, 0.4101),
    ("Ganschow 2005", -1.7597, 0.2140),
    ("Gibelli 2004", -0.4568, 0.3136),
    ("Heffron 2003", -2.3081, 0.3628),
    ("Schuller 2005", -2.3026, 0.7708),
    ("Gras 2008", -2.4201, 2.3438),
]


@pytest.fixture()
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "crins.csv"
    path.write_text(
        "study,yi,vi\n" + "".join(f"{s},{y},{v}\n" for s, y, v in ROWS), encoding="utf-8"
    )
    return path


def test_bayes_json_equals_the_python_api(csv_file: Path) -> None:
    result = runner.invoke(
        app, ["meta", str(csv_file), "--measure", "GEN", "--bayes", "--tau-prior", "halfnormal:1",
              "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["bayes"]
    y = np.array([r[1] for r in ROWS])
    v = np.array([r[2] for r in ROWS])
    want = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 1.0))
    for key in ("mu_median", "mu_ci_lb", "mu_ci_ub", "tau_median", "pred_lb", "pred_ub"):
        assert got[key] == pytest.approx(getattr(want, key), rel=1e-12), key
    assert got["tau_prior"]["text"] == "half-normal(1) prior on tau"
    plain = runner.invoke(app, ["meta", str(csv_file), "--measure", "GEN", "--json"])
    assert json.loads(plain.stdout)["bayes"] is None


def test_bayes_text_summary(csv_file: Path) -> None:
    result = runner.invoke(app, ["meta", str(csv_file), "--measure", "GEN", "--bayes"])
    assert result.exit_code == 0, result.output
    assert "Bayesian random effects (k = 6; half-normal(0.5) prior on tau" in result.stdout
    assert "P(mu < 0)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tau-prior", "halfnormal:-1"], "--tau-prior"),
        (["--tau-prior", "gamma:2"], "--tau-prior"),
        (["--method", "PETO"], "cannot be combined with --method PETO"),
        (["--by", "study"], "without --mods or --by"),
    ],
)
def test_bayes_refusals_are_clear(csv_file: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["meta", str(csv_file), "--measure", "GEN", "--bayes", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
