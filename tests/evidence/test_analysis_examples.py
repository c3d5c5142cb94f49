"""Published worked examples, one test per publication, named as metafor names its own
(``tests/testthat/test_analysis_example_<publication>.r``; https://www.metafor-project.org/
doku.php/analyses): each docstring gives the publication and the page or table reproduced.

The expected numbers are the published ones (4 decimals where the publication prints them so,
as metafor's example tests quote them); where the publication rounds more coarsely, or where
metafor's test notes a printed value that differs, the comment says so. ``_is`` checks a value
to one unit of its last printed decimal (the quoted values are rounded or truncated; metafor's
own tests allow 1 %).

Data: ``tests/data/metafor`` (metafor's example data sets, metadat) and
``tests/data/metafor_bias/mh`` (the 2x2 tables), read with the CLI's CSV reader.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
from metafor_cases import DATA, read_rows

from glabella.evidence import escalc, rma, rma_peto
from glabella.evidence.meta import MetaResult

ZERO_CELL = DATA.parent / "metafor_bias" / "mh"


def _is(got: float | None, printed: float, decimals: int = 4) -> bool:
    """``got`` is the printed value to one unit of its last decimal."""
    assert got is not None
    return abs(got - printed) <= 10.0**-decimals + 1e-12


def _columns(path: Path, *names: str) -> list[npt.NDArray[np.float64]]:
    """The named columns; a study with a missing value (NA) is left out, as metafor does."""
    rows = [r for r in read_rows(path) if all(r[n] not in ("NA", "") for n in names)]
    return [np.array([float(r[n]) for r in rows]) for n in names]


def _coefs(res: MetaResult) -> dict[str, tuple[float, float | None]]:
    return {c.name: (c.estimate, c.zval) for c in res.coefficients}


def test_analysis_example_raudenbush1985() -> None:
    """Raudenbush & Bryk (1985), Empirical Bayes meta-analysis, J Educ Stat 10(2):75-98;
    dat.raudenbush1985 (teacher expectancy, 19 studies), metafor's analyses:raudenbush1985.

    Random-effects model (REML), pages 83, 85 and 86 (in text): tau² = 0.0188, mu = 0.0837,
    Q = 35.8295 (35.85 in the paper), z = 1.6208. Mixed-effects model with weeks of prior
    contact recoded 0, 1, 2, 3 (> 3 -> 3), pages 90 and 92: tau² = 0, coefficients 0.4072 and
    -0.1572 with z = 4.6782 and -4.3884, QE = 16.5708 (16.58 in the paper).
    """
    yi, vi, weeks = _columns(DATA / "raudenbush1985.csv", "yi", "vi", "weeks")
    res = rma(yi, vi, method="REML")
    assert _is(res.tau2, 0.0188) and _is(res.estimate, 0.0837)
    assert _is(res.Q, 35.8295) and _is(res.zval, 1.6208)
    weeks_c = np.minimum(weeks, 3.0)
    me = rma(yi, vi, method="REML", mods=weeks_c[:, None], mod_names=["weeks.c"])
    assert _is(me.tau2_residual, 0.0)
    (b0, z0), (b1, z1) = _coefs(me)["intrcpt"], _coefs(me)["weeks.c"]
    assert _is(b0, 0.4072) and _is(b1, -0.1572)
    assert _is(z0, 4.6782) and _is(z1, -4.3884)
    assert _is(me.QE, 16.5708)


def test_analysis_example_raudenbush2009() -> None:
    """Raudenbush (2009), Analyzing effect sizes: random-effects models, in Cooper, Hedges &
    Valentine (eds.), The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., 295-315;
    dat.raudenbush1985, metafor's analyses:raudenbush2009.

    Page 301 (Table 16.2) and page 302: equal effects mu = 0.0604, z = 1.6553 (1.65 in the
    chapter), Q = 35.8295; random effects (REML) mu = 0.0837 (0.083), z = 1.6208,
    tau² = 0.0188. Page 309 (Table 16.3), the conventional estimators, columns tau², mu, se, z,
    CI: EE, ML, REML, DL, HE.
    """
    yi, vi = _columns(DATA / "raudenbush1985.csv", "yi", "vi")
    ee = rma(yi, vi, method="EE")
    assert _is(ee.estimate, 0.0604) and _is(ee.zval, 1.6553) and _is(ee.Q, 35.8295)
    table_16_3 = {
        "EE": (0.0, 0.0604, 0.0365, 1.6553, -0.0111, 0.1318),
        "ML": (0.0126, 0.0777, 0.0475, 1.6368, -0.0153, 0.1708),
        "REML": (0.0188, 0.0837, 0.0516, 1.6208, -0.0175, 0.1849),
        "DL": (0.0259, 0.0893, 0.0558, 1.6009, -0.0200, 0.1987),
        "HE": (0.0804, 0.1143, 0.0792, 1.4432, -0.0409, 0.2696),
    }
    for method, (tau2, mu, se, z, lb, ub) in table_16_3.items():
        res = rma(yi, vi, method=method)
        got = (res.tau2 or 0.0, res.estimate, res.se, res.zval, res.ci_lb, res.ci_ub)
        assert all(_is(g, w) for g, w in zip(got, (tau2, mu, se, z, lb, ub), strict=True)), (
            method,
            got,
        )


def test_analysis_example_normand1999() -> None:
    """Normand (1999), Meta-analysis: formulating, evaluating, combining, and reporting,
    Stat Med 18(3):321-359, second example (dat.normand1999, stroke units: length of stay in
    days); metafor's analyses:normand1999.

    Mean differences with the pooled SD of each trial, page 351 (Table VIII): yi = -20, -2,
    -55, -71, -4, 1, 11, -10, 7. Page 352 (Table IX): equal effects -3.4939 (CI -5.0265 to
    -1.9613); DerSimonian-Laird -14.0972 (-24.4454 to -3.7490), tau² = 218.7216; REML
    -15.1217 (-32.6716 to 2.4282), tau² = 685.1965.
    """
    m1, sd1, n1, m2, sd2, n2 = _columns(
        DATA / "normand1999.csv", "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"
    )
    # pooled SD: sqrt(((n1 - 1) sd1² + (n2 - 1) sd2²) / (n1 + n2 - 2))
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    es = escalc("MD", m1i=m1, sd1i=sdp, n1i=n1, m2i=m2, sd2i=sdp, n2i=n2)
    assert list(es.yi) == [-20, -2, -55, -71, -4, 1, 11, -10, 7]
    for method, (mu, lb, ub, tau2) in {
        "EE": (-3.4939, -5.0265, -1.9613, None),
        "DL": (-14.0972, -24.4454, -3.7490, 218.7216),
        "REML": (-15.1217, -32.6716, 2.4282, 685.1965),
    }.items():
        res = rma(es.yi, es.vi, method=method)
        assert _is(res.estimate, mu) and _is(res.ci_lb, lb) and _is(res.ci_ub, ub), method
        assert tau2 is None or _is(res.tau2, tau2), (method, res.tau2)


def test_analysis_example_vanhouwelingen2002() -> None:
    """van Houwelingen, Arends & Stijnen (2002), Advanced methods in meta-analysis:
    multivariate approach and meta-regression, Stat Med 21(4):589-624; dat.colditz1994 (the 13
    BCG trials of dat.bcg), log odds ratios; metafor's analyses:vanhouwelingen2002.

    Page 596 (in text), equal effects: OR 0.6465 (0.5951 to 0.7024; .703 in the paper).
    Page 597 (in text), random effects by maximum likelihood: OR 0.4762 (0.3360 to 0.6749),
    tau² = 0.3025.
    """
    ai, bi, ci, di = _columns(DATA / "bcg.csv", "ai", "bi", "ci", "di")
    es = escalc("OR", ai=ai, bi=bi, ci=ci, di=di)
    ee = rma(es.yi, es.vi, method="EE")
    assert _is(math.exp(ee.estimate), 0.6465)
    assert _is(math.exp(ee.ci_lb), 0.5951) and _is(math.exp(ee.ci_ub), 0.7024)
    ml = rma(es.yi, es.vi, method="ML")
    assert _is(math.exp(ml.estimate), 0.4762)
    assert _is(math.exp(ml.ci_lb), 0.3360) and _is(math.exp(ml.ci_ub), 0.6749)
    assert _is(ml.tau2, 0.3025)


def test_analysis_example_yusuf1985() -> None:
    """Yusuf, Peto, Lewis, Collins & Sleight (1985), Beta blockade during and after myocardial
    infarction: an overview of the randomized trials, Prog Cardiovasc Dis 27(5):335-371;
    dat.yusuf1985, table 6 (the 21 long-term trials); metafor's analyses:yusuf1985.

    Peto's method: pooled odds ratio 0.9332 (0.7385 to 1.1792), the value metafor's example
    test compares "with results on page 107". The table's zero-cell handling is checked against
    metafor in ``test_meta_reference.py::test_zero_cells_yusuf1985``.
    """
    ai, n1i, ci, n2i = _columns(ZERO_CELL / "yusuf1985_tab6.csv", "ai", "n1i", "ci", "n2i")
    res = rma_peto(ai, ci=ci, n1i=n1i, n2i=n2i)
    assert _is(math.exp(res.estimate), 0.9332)
    assert _is(math.exp(res.ci_lb), 0.7385) and _is(math.exp(res.ci_ub), 1.1792)


def test_analysis_example_stijnen2010() -> None:
    """Stijnen, Hamza & Özdemir (2010), Random effects meta-analysis of event outcome in the
    framework of the generalized linear mixed model with applications in sparse data, Stat Med
    29(29):3046-3067; dat.nielweise2007 (catheter-related bloodstream infections);
    metafor's analyses:stijnen2010.

    Page 3050 (Table II), the approximate normal-normal model of the logit proportions (REML):
    control arms -3.3018 (SE 0.2378), tau² = 0.6629, proportion 0.0355 (0.0226 to 0.0554;
    0.035 and 0.056 in the paper); treated arms -4.2604 (SE 0.2589), tau² = 0.3928, proportion
    0.0139 (0.0084 to 0.0229).
    """
    ai, n1i, ci, n2i = _columns(ZERO_CELL / "nielweise2007.csv", "ai", "n1i", "ci", "n2i")
    for events, n, (mu, se, tau2, p, p_lb, p_ub) in (
        (ci, n2i, (-3.3018, 0.2378, 0.6629, 0.0355, 0.0226, 0.0554)),
        (ai, n1i, (-4.2604, 0.2589, 0.3928, 0.0139, 0.0084, 0.0229)),
    ):
        es = escalc("PLO", xi=events, ni=n)
        res = rma(es.yi, es.vi, method="REML")
        assert _is(res.estimate, mu) and _is(res.se, se) and _is(res.tau2, tau2)

        def ilogit(x: float) -> float:
            return 1 / (1 + math.exp(-x))

        assert _is(ilogit(res.estimate), p) and _is(ilogit(res.ci_lb), p_lb)
        assert _is(ilogit(res.ci_ub), p_ub)
