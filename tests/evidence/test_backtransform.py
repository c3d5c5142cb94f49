"""Ratio measures are also printed on the ratio scale, as metafor's ``predict(res, transf=exp)``.

Expected values: R 4.2.2, metafor 3.8-1, run on this machine on ``tests/data/metafor/bcg.csv``::

    dat <- escalc(measure="RR", ai=ai, bi=bi, ci=ci, di=di, data=d)
    predict(rma(yi, vi, data=dat, method="REML"), transf=exp)
    #   pred 0.48942094  ci.lb 0.34407429  ci.ub 0.69616608  pi.lb 0.15463429  pi.ub 1.54902802
    predict(rma.mh(ai=ai, bi=bi, ci=ci, di=di, data=d, measure="OR"), transf=exp)
    #   pred 0.62287402  ci.lb 0.57477032  ci.ub 0.67500362
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glabella.cli import app
from glabella.evidence.backtransform import back_transform

BCG = Path(__file__).resolve().parents[1] / "data" / "metafor" / "bcg.csv"


def _meta(*args: str) -> dict[str, object]:
    r = CliRunner().invoke(app, ["meta", str(BCG), *args, "--json"])
    assert r.exit_code == 0, r.output
    out: dict[str, object] = json.loads(r.output)
    return out


def test_rr_reml_matches_metafor_predict_transf_exp() -> None:
    bt = _meta("--measure", "RR")["back_transformed"]
    assert isinstance(bt, dict) and bt["scale"] == "risk ratio"
    for key, want in (
        ("estimate", 0.48942094),
        ("ci_lb", 0.34407429),
        ("ci_ub", 0.69616608),
        ("pi_lb", 0.15463429),
        ("pi_ub", 1.54902802),
    ):
        assert bt[key] == pytest.approx(want, rel=1e-6), key


def test_or_mantel_haenszel_matches_metafor() -> None:
    bt = _meta("--measure", "OR", "--method", "MH")["back_transformed"]
    assert isinstance(bt, dict) and bt["scale"] == "odds ratio"
    assert bt["estimate"] == pytest.approx(0.62287402, rel=1e-6)
    assert bt["ci_lb"] == pytest.approx(0.57477032, rel=1e-6)
    assert bt["ci_ub"] == pytest.approx(0.67500362, rel=1e-6)
    assert bt["pi_lb"] is None


def test_the_text_summary_prints_the_ratio_beside_the_log_scale() -> None:
    r = CliRunner().invoke(app, ["meta", str(BCG), "--measure", "RR"])
    assert r.exit_code == 0, r.output
    assert "-0.7145" in r.output  # log scale, as metafor prints it
    assert "risk ratio" in r.output and "0.4894 (95% CI 0.3441 to 0.6962)" in r.output


def test_subgroups_carry_their_ratio_and_a_meta_regression_none() -> None:
    out = _meta("--measure", "RR", "--by", "alloc")
    sub = out["subgroups"]
    assert isinstance(sub, dict)
    for r in sub.values():
        assert r["back_transformed"]["estimate"] == pytest.approx(math.exp(r["estimate"]))
    assert _meta("--measure", "RR", "--mods", "ablat")["back_transformed"] is None


def test_measures_read_as_they_are_are_not_transformed() -> None:
    assert back_transform("SMD", 0.5, 0.1, 0.9) is None
    assert back_transform("MD", -3.0, -5.0, -1.0) is None
    zc = back_transform("ZCOR", 0.5, 0.2, 0.8)
    assert zc is not None and zc.estimate == pytest.approx(math.tanh(0.5))
    pas = back_transform("PAS", 2.0, 0.1, 0.3)  # past pi/2: clipped as transf.iarcsin does
    assert pas is not None and pas.estimate == pytest.approx(1.0)
    huge = back_transform("OR", 800.0, 700.0, 900.0)  # exp overflows: infinity, not a crash
    assert huge is not None and huge.estimate == math.inf
