"""`glabella meta --bayes`: the Bayesian model from the CLI, equal to the Python API."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from glabella.cli import app
from glabella.evidence.bayes import TauPrior, bayes_meta
from glabella.evidence.effects import escalc

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
SCALARS = (
    "k", "level", "mu_mean", "mu_sd", "mu_median", "mu_ci_lb", "mu_ci_ub", "mu_shortest_lb",
    "mu_shortest_ub", "tau_mean", "tau_sd", "tau_median", "tau_ci_lb", "tau_ci_ub",
    "tau_shortest_lb", "tau_shortest_ub", "pred_mean", "pred_sd", "pred_median", "pred_lb",
    "pred_ub", "pred_shortest_lb", "pred_shortest_ub", "p_mu_below_zero", "p_mu_above_zero",
)  # fmt: skip


@pytest.fixture()
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "crins.csv"
    path.write_text(
        "study,yi,vi\n" + "".join(f"{s},{y},{v}\n" for s, y, v in ROWS), encoding="utf-8"
    )
    return path


def _arrays() -> tuple[np.ndarray, np.ndarray]:
    return np.array([r[1] for r in ROWS]), np.array([r[2] for r in ROWS])


def test_bayes_json_equals_the_python_api(csv_file: Path) -> None:
    result = runner.invoke(
        app, ["meta", str(csv_file), "--measure", "GEN", "--bayes", "--tau-prior", "halfnormal:1",
              "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    got = out["bayes"]
    y, v = _arrays()
    want = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 1.0), measure="GEN")
    for key in SCALARS:
        assert got[key] == pytest.approx(getattr(want, key), rel=1e-12, abs=1e-15), key
    assert got["measure"] == "GEN"
    assert got["tau_prior"] == {
        "kind": "halfnormal",
        "scale": 1.0,
        "text": "half-normal(1) prior on tau",
    }
    assert got["mu_prior"] == "uniform (improper) prior on mu"
    assert [s["mean"] for s in got["shrinkage"]] == pytest.approx(
        [s.mean for s in want.shrinkage], rel=1e-12
    )
    # the frequentist model is unchanged beside it
    plain = runner.invoke(app, ["meta", str(csv_file), "--measure", "GEN", "--json"])
    assert plain.exit_code == 0, plain.output
    plain_out = json.loads(plain.stdout)
    assert plain_out["bayes"] is None
    assert plain_out["estimate"] == out["estimate"] and plain_out["tau2"] == out["tau2"]


def test_bayes_on_a_2x2_table_csv_uses_the_prepared_effects(tmp_path: Path) -> None:
    # the CLI computes log OR from the counts (escalc, as prepare does) before the Bayesian fit
    counts = {
        "ai": [4, 9, 16, 14, 3, 0],
        "n1i": [36, 54, 28, 61, 18, 50],
        "ci": [11, 29, 19, 15, 8, 3],
        "n2i": [36, 54, 28, 20, 12, 34],
    }
    path = tmp_path / "counts.csv"
    path.write_text(
        "ai,n1i,ci,n2i\n"
        + "".join(",".join(map(str, r)) + "\n" for r in zip(*counts.values(), strict=True)),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["meta", str(path), "--measure", "OR", "--bayes", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["bayes"]
    cols: dict[str, Any] = {k: np.asarray(c, float) for k, c in counts.items()}
    es = escalc("OR", **cols)
    want = bayes_meta(np.asarray(es.yi), np.asarray(es.vi), measure="OR")
    assert got["measure"] == "OR"
    for key in ("mu_median", "mu_ci_lb", "mu_ci_ub", "tau_median", "p_mu_below_zero"):
        assert got[key] == pytest.approx(getattr(want, key), rel=1e-12), key


def test_bayes_text_summary(csv_file: Path) -> None:
    result = runner.invoke(app, ["meta", str(csv_file), "--measure", "GEN", "--bayes"])
    assert result.exit_code == 0, result.output
    y, v = _arrays()
    want = bayes_meta(y, v)
    text = result.stdout
    assert "Bayesian random effects (k = 6; half-normal(0.5) prior on tau" in text
    assert f"mu:  median {want.mu_median:.4f}, 95% CrI [{want.mu_ci_lb:.4f}, " in text
    assert f"tau: median {want.tau_median:.4f}, 95% CrI [{want.tau_ci_lb:.4f}, " in text
    assert f"new trial: 95% interval [{want.pred_lb:.4f}, {want.pred_ub:.4f}]" in text
    assert f"P(mu < 0) = {want.p_mu_below_zero:.4g}" in text
    plain = runner.invoke(app, ["meta", str(csv_file), "--measure", "GEN"])
    assert "Bayesian" not in plain.stdout


def test_bayes_with_a_heavy_tailed_prior_gives_null_for_missing_moments(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("yi,vi\n0.3,0.04\n-0.4,0.09\n", encoding="utf-8")
    result = runner.invoke(
        app, ["meta", str(path), "--measure", "GEN", "--bayes", "--tau-prior", "halfcauchy:0.5",
              "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["bayes"]  # strict JSON: E[tau²] is infinite -> null
    assert got["tau_sd"] is None and got["pred_sd"] is None and got["mu_sd"] is None
    assert math.isfinite(got["tau_median"]) and math.isfinite(got["pred_ub"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bayes", "--tau-prior", "halfnormal:-1"], "--tau-prior 'halfnormal:-1'"),
        (["--bayes", "--tau-prior", "gamma:2"], "halfnormal:SCALE, halfcauchy:SCALE or uniform"),
        (["--bayes", "--tau-prior", "halfnormal"], "--tau-prior"),
        (["--bayes", "--method", "PETO"], "cannot be combined with --method PETO"),
        (["--bayes", "--method", "MH"], "cannot be combined with --method MH"),
        (["--bayes", "--by", "study"], "without --mods or --by"),
        (["--bayes", "--mods", "vi"], "without --mods or --by"),
        (["--tau-prior", "halfcauchy:1"], "add --bayes"),
    ],
)
def test_bayes_refusals_are_clear(csv_file: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["meta", str(csv_file), "--measure", "GEN", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
