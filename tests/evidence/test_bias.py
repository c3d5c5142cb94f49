"""Bias and sensitivity analyses against metafor 3.8-1, plus hand calculations.

Reference values: ``tests/data/metafor/bcg__rr_reml_bias.json`` (the project's shared metafor
reference) and ``tests/data/metafor_bias/*.json``, written by ``make_reference.R`` in that folder
with R 4.2.2 and metafor 3.8-1 (``regtest``, ``ranktest``, ``trimfill``, ``leave1out``,
``cumul``, ``influence``, ``fsn`` on metafor's own example data sets; Fisher scoring to 1e-12).
Agreement: relative 1e-6, absolute 1e-8 near zero.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from metafor_cases import DATA, cases
from typer.testing import CliRunner

from glabella.cli import app
from glabella.evidence import bias, rma, rma_mh
from glabella.evidence.meta import MetaError, MetaResult
from glabella.evidence.regression import design_matrix
from glabella.interop.csvinput import parse_csv, prepare

BIAS_DATA = DATA.parent / "metafor_bias"
REL, ABS = 1e-6, 1e-8


def _close(got: float | None, exp: float | None) -> bool:
    if exp is None:
        return got is None or math.isnan(got)
    return got is not None and abs(got - exp) <= max(ABS, REL * abs(exp))


def _assert_all(name: str, got: Any, exp: list[float | None]) -> None:
    got = [None if g is None else float(g) for g in got]
    assert len(got) == len(exp), name
    bad = [(i, g, e) for i, (g, e) in enumerate(zip(got, exp, strict=True)) if not _close(g, e)]
    assert not bad, f"{name}: {bad}"


def _cases() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(BIAS_DATA.glob("*.json"))]


def _model(case: dict[str, Any], mods: list[str] | None = None) -> MetaResult:
    data = prepare(parse_csv((DATA / case["csv"]).read_text()), case["measure"], mods=mods or [])
    kwargs: dict[str, Any] = {"method": case["method"], "test": case["test"]}
    if mods:
        M, names = design_matrix(data.moderators, mods)
        kwargs.update(mods=M, mod_names=names)
    return rma(data.effects.yi, data.effects.vi, measure=case["measure"], **kwargs)


CASES = _cases()
IDS = [c["name"] for c in CASES]


def test_reference_files_present() -> None:
    assert len(CASES) == 5
    assert {c["test"] for c in CASES} == {"z", "knha"}
    assert {c["trimfill"]["side"] for c in CASES} == {"left", "right"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_regtest(case: dict[str, Any]) -> None:
    res = _model(case)
    rt = bias.regtest(res)
    exp = case["regtest"]
    stat = rt.tval if case["test"] == "knha" else rt.zval
    _assert_all("regtest", [stat, rt.pval, rt.est, rt.ci_lb, rt.ci_ub],
                [exp["stat"], exp["pval"], exp["est"], exp["ci_lb"], exp["ci_ub"]])  # fmt: skip
    assert rt.df == exp["df"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ranktest(case: dict[str, Any]) -> None:
    rk = bias.ranktest(_model(case))
    _assert_all("ranktest", [rk.tau, rk.pval], [case["ranktest"]["tau"], case["ranktest"]["pval"]])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_trimfill(case: dict[str, Any]) -> None:
    res = _model(case)
    tf = bias.trimfill(res)
    exp = case["trimfill"]
    assert (tf.k0, tf.side) == (exp["k0"], exp["side"])
    r = tf.result
    _assert_all(
        "trimfill",
        [tf.se_k0, r.estimate, r.se, r.ci_lb, r.ci_ub, r.tau2 or 0.0, r.k],
        [exp["se_k0"], exp["estimate"], exp["se"], exp["ci_lb"], exp["ci_ub"], exp["tau2"],
         exp["k"]],
    )  # fmt: skip
    _assert_all("filled yi", r.yi, exp["yi"])
    _assert_all("filled vi", r.vi, exp["vi"])
    assert int(tf.filled.sum()) == tf.k0


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("which", ["leave1out", "cumulative"])
def test_leave1out_and_cumulative(case: dict[str, Any], which: str) -> None:
    res = _model(case)
    rows = bias.leave1out(res) if which == "leave1out" else bias.cumulative(res)
    exp = case[which]
    for key, attr in [("estimate", "estimate"), ("se", "se"), ("pval", "pval"),
                      ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"), ("Q", "Q"), ("Qp", "Q_pval"),
                      ("I2", "I2"), ("H2", "H2")]:  # fmt: skip
        _assert_all(f"{which}.{key}", [getattr(r, attr) for r in rows], exp[key])
    _assert_all(f"{which}.stat", [r.tval if r.tval is not None else r.zval for r in rows],
                exp["stat"])  # fmt: skip
    if case["method"] in ("FE", "EE"):
        assert all(r.tau2 is None for r in rows)
    else:
        _assert_all(f"{which}.tau2", [r.tau2 for r in rows], exp["tau2"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_influence(case: dict[str, Any]) -> None:
    inf = bias.influence(_model(case))
    exp = case["influence"]
    for key, arr in [("rstudent", inf.rstudent), ("dffits", inf.dffits),
                     ("cook_d", inf.cooks_distance), ("cov_r", inf.cov_r),
                     ("tau2_del", inf.tau2_del), ("QE_del", inf.QE_del), ("hat", inf.hat),
                     ("weight", inf.weight), ("dfbetas", inf.dfbetas[:, 0])]:  # fmt: skip
        _assert_all(f"influence.{key}", arr, exp[key])
    assert list(inf.is_influential) == exp["is_infl"]


@pytest.mark.parametrize("case", [c for c in CASES if "influence_mods" in c],
                         ids=lambda c: c["name"])  # fmt: skip
def test_influence_and_regtest_with_moderators(case: dict[str, Any]) -> None:
    exp = case["influence_mods"]
    mods = [exp["mods"]] if isinstance(exp["mods"], str) else exp["mods"]
    res = _model(case, mods)
    inf = bias.influence(res)
    for key, arr in [("rstudent", inf.rstudent), ("dffits", inf.dffits),
                     ("cook_d", inf.cooks_distance), ("cov_r", inf.cov_r), ("hat", inf.hat),
                     ("tau2_del", inf.tau2_del)]:  # fmt: skip
        _assert_all(f"influence_mods.{key}", arr, exp[key])
    rt = bias.regtest(res)
    _assert_all("regtest_mods", [rt.zval, rt.pval],
                [case["regtest_mods"]["stat"], case["regtest_mods"]["pval"]])  # fmt: skip
    assert rt.est is None  # no limit estimate with moderators (as metafor)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fsn(case: dict[str, Any]) -> None:
    fs = bias.fsn(_model(case))
    assert fs.fsnum == case["fsn"]["fsnum"]
    _assert_all("fsn.pval", [fs.pval], [case["fsn"]["pval"]])


def test_regtest_and_ranktest_on_a_mantel_haenszel_model() -> None:
    """metafor refits the MH model's study estimates as an equal-effects model."""
    exp = json.loads((BIAS_DATA / "mh" / "bcg__or_mh.json").read_text())
    data = prepare(parse_csv((DATA / "bcg.csv").read_text()), "OR")
    inputs: dict[str, Any] = dict(data.inputs)
    res = rma_mh(**inputs, measure="OR")
    rt, rk = bias.regtest(res), bias.ranktest(res)
    _assert_all("mh regtest", [rt.zval, rt.pval], [exp["regtest"]["stat"], exp["regtest"]["pval"]])
    _assert_all("mh ranktest", [rk.tau, rk.pval], [exp["ranktest"]["tau"], exp["ranktest"]["pval"]])
    with pytest.raises(MetaError, match="trim-and-fill"):
        bias.trimfill(res)


# --- the shared reference case, through the CLI contract --------------------------------------


def test_cli_bias_keys_match_metafor() -> None:
    case = next(c for c in cases() if c.name == "bcg__rr_reml_bias")
    result = CliRunner().invoke(app, ["meta", str(case.csv), *case.args, "--leave1out", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    exp = case.expected
    assert set(got["egger"]) >= {"zval", "pval"} and got["egger"]["tval"] is None
    _assert_all("egger", [got["egger"]["zval"], got["egger"]["pval"]],
                [exp["egger"]["zval"], exp["egger"]["pval"]])  # fmt: skip
    assert set(got["ranktest"]) == {"tau", "pval"}
    _assert_all("ranktest", [got["ranktest"]["tau"], got["ranktest"]["pval"]],
                [exp["ranktest"]["tau"], exp["ranktest"]["pval"]])  # fmt: skip
    tf, etf = got["trimfill"], exp["trimfill"]
    assert set(tf) == {"k0", "side", "estimate", "se", "ci_lb", "ci_ub"}
    assert (tf["k0"], tf["side"]) == (etf["k0"], etf["side"])
    _assert_all("trimfill", [tf[k] for k in ("estimate", "se", "ci_lb", "ci_ub")],
                [etf[k] for k in ("estimate", "se", "ci_lb", "ci_ub")])  # fmt: skip
    rows = got["leave1out"]
    assert [r["study"] for r in rows][:2] == ["Aronson 1948", "Ferguson & Simes 1949"]
    ref = json.loads((BIAS_DATA / "bcg__rr_reml.json").read_text())["leave1out"]
    _assert_all("cli leave1out", [r["estimate"] for r in rows], ref["estimate"])


def test_cli_knha_egger_gives_tval() -> None:
    case = next(c for c in CASES if c["test"] == "knha")
    args = ["--measure", case["measure"], "--method", case["method"], "--test", "knha"]
    result = CliRunner().invoke(app, ["meta", str(DATA / case["csv"]), *args, "--egger", "--json"])
    assert result.exit_code == 0, result.output
    eg = json.loads(result.stdout)["egger"]
    assert eg["zval"] is None and eg["df"] == case["regtest"]["df"]
    _assert_all("egger knha", [eg["tval"], eg["pval"]],
                [case["regtest"]["stat"], case["regtest"]["pval"]])  # fmt: skip


def test_cli_trimfill_with_mh_is_a_clear_error() -> None:
    args = ["--measure", "RR", "--method", "MH", "--trimfill", "--json"]
    result = CliRunner().invoke(app, ["meta", str(DATA / "bcg.csv"), *args])
    assert result.exit_code == 2
    assert "trim-and-fill" in result.stderr and "MH" in result.stderr


# --- hand calculations -------------------------------------------------------------------------


def test_ranktest_exact_p_by_enumerating_permutations() -> None:
    """Begg's test on 6 studies: the exact two-sided p-value counts all 720 orderings."""
    y = np.array([0.10, 0.35, -0.20, 0.50, 0.05, 0.80])
    v = np.array([0.01, 0.04, 0.02, 0.09, 0.03, 0.16])
    rk = bias.ranktest(rma(y, v, method="DL"))
    w = 1 / v
    theta = (w @ y) / w.sum()
    ystar = (y - theta) / np.sqrt(v - 1 / w.sum())

    def s_stat(a: np.ndarray, b: np.ndarray) -> int:
        return sum(
            int(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]))
            for i, j in itertools.combinations(range(len(a)), 2)
        )

    s_obs = s_stat(ystar, v)
    assert rk.tau == pytest.approx(s_obs / 15, abs=1e-12)  # 15 pairs, no ties: tau = S / 15
    rank_v = np.argsort(np.argsort(v))
    perms = [s_stat(np.array(p, dtype=float), rank_v) for p in itertools.permutations(range(6))]
    p_exact = sum(abs(s) >= abs(s_obs) for s in perms) / len(perms)
    assert rk.exact and rk.pval == pytest.approx(p_exact, abs=1e-12)


def test_fsn_by_hand() -> None:
    """Rosenthal: N = (sum z)² / 1.645² - k, rounded up (three studies written out)."""
    y = np.array([0.4, 0.3, 0.5])
    v = np.array([0.04, 0.01, 0.0625])  # z = 2, 3, 2
    fs = bias.fsn(rma(y, v, method="FE"))
    z_alpha = 1.6448536269514722  # qnorm(0.95)
    assert fs.fsnum == math.ceil(7.0**2 / z_alpha**2 - 3)  # 49/2.7055 - 3 = 15.11 -> 16
    assert fs.fsnum == 16
    assert fs.pval == pytest.approx(0.5 * math.erfc(7 / math.sqrt(3) / math.sqrt(2)), rel=1e-12)


def test_trimfill_l0_by_hand() -> None:
    """Six studies, equal variances, equal-effects model, so the estimate is the mean -0.04/6.

    Left side: deviations -0.613, -0.303, -0.103, 0.107, 0.307, 0.607; ranks of |dev| are
    1 (-0.103), 2 (0.107), 3 (-0.303), 4 (0.307), 5 (0.607), 6 (-0.613); S_r = 2 + 4 + 5 = 11 and
    L0 = (4*11 - 6*7)/(2*6 - 1) = 2/11, which rounds to 0. Right side (effects mirrored): the
    positive deviations have ranks 1, 3, 6, S_r = 10, L0 = -2/11 -> 0. SE(L0) = 4 sqrt(var)/11
    with var = (k(k+1)(2k+1) + 10r³ + 27r² + 17r - 18kr² - 18kr + 6k²r)/24 at the unrounded r.
    """
    y = np.array([-0.62, -0.31, -0.11, 0.10, 0.30, 0.60])
    res = rma(y, np.full(6, 0.04), method="FE")
    k = 6
    for side, r in (("left", 2 / 11), ("right", -2 / 11)):
        tf = bias.trimfill(res, side=side)
        assert tf.k0 == 0 and tf.result is res
        var = (
            k * (k + 1) * (2 * k + 1) + 10 * r**3 + 27 * r**2 + 17 * r - 18 * k * r**2
            - 18 * k * r + 6 * k**2 * r
        ) / 24  # fmt: skip
        assert tf.se_k0 == pytest.approx(4 * math.sqrt(var) / 11, rel=1e-12)


def test_leave1out_labels_and_errors(tmp_path: Path) -> None:
    res = rma([0.1, 0.2, 0.4], [0.01, 0.02, 0.03], method="DL")
    rows = bias.leave1out(res, ["A", "B", "C"])
    assert [r.study for r in rows] == ["A", "B", "C"] and all(r.k == 2 for r in rows)
    with pytest.raises(MetaError, match="labels"):
        bias.leave1out(res, ["A"])
    order = bias.cumulative(res, ["A", "B", "C"], order=[3, 1, 2])
    assert [r.study for r in order] == ["B", "C", "A"]
    assert "Rank Correlation" in str(bias.ranktest(res))
