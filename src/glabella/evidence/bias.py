"""Small-study effects, publication bias and sensitivity analyses (metafor parity).

Every function takes a fitted :class:`~glabella.evidence.meta.MetaResult` (from :func:`rma`,
:func:`rma_mh` or :func:`rma_peto`) and refits models with the same tau² estimator, test and
level, as metafor 3.8-1 does. Names follow metafor:

* :func:`regtest` Egger-type regression test (``regtest()``);
* :func:`ranktest` Begg & Mazumdar rank correlation test (``ranktest()``);
* :func:`trimfill` Duval & Tweedie trim-and-fill (``trimfill()``);
* :func:`leave1out`, :func:`cumulative` (``leave1out()``, ``cumul()``);
* :func:`influence` case-deletion diagnostics (``influence()``: ``rstudent``, ``dffits``,
  ``cooks.distance``, ``covratio``, ``hatvalues``, ``dfbetas``);
* :func:`fsn` Rosenthal's fail-safe N (``fsn()``).

Equal-effects results of ``rma_mh``/``rma_peto`` are refitted as inverse-variance
equal-effects models on their study estimates (``yi``, ``vi``); trim-and-fill, leave-one-out,
cumulative and influence analyses need a model from :func:`rma`. Models with moderators: the
regression test adds the predictor to the moderators (as metafor does); the other analyses use the
model without moderators (metafor refuses them for meta-regressions).

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from glabella.evidence.meta import MetaError, MetaResult, ModelFit, fit_model, rma
from glabella.evidence.tau2 import THRESHOLD

__all__ = [
    "CaseRow",
    "FailSafeN",
    "Influence",
    "RankTest",
    "RegTest",
    "TrimFill",
    "cumulative",
    "fsn",
    "influence",
    "leave1out",
    "ranktest",
    "regtest",
    "trimfill",
]

FloatArray = npt.NDArray[np.float64]

_EE_METHODS = ("EE", "FE", "MH", "PETO")


def _uni_method(res: MetaResult) -> str:
    """The ``rma.uni`` method for refits (MH and Peto pool as equal-effects models)."""
    return "EE" if res.method in ("MH", "PETO") else res.method


def _need_uni(res: MetaResult, what: str) -> None:
    if res.method in ("MH", "PETO"):
        raise MetaError(
            f"{what} needs a model fitted with rma() (inverse-variance); "
            f"it is not available for --method {res.method}"
        )


def _design(res: MetaResult) -> tuple[FloatArray | None, tuple[str, ...], bool]:
    """The meta-regression design of ``res`` (None for an intercept-only model)."""
    if res.mods is None:
        return None, ("intrcpt",), True
    k = res.yi.shape[0]
    names = tuple(c.name for c in res.coefficients)
    intercept = bool(names) and names[0] == "intrcpt"
    X = np.column_stack([np.ones(k), res.mods]) if intercept else np.asarray(res.mods)
    return X, names, intercept


def _fit(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray | None,
    res: MetaResult,
    *,
    names: Sequence[str] = ("intrcpt",),
    intercept: bool = True,
    test: str | None = None,
    level: float | None = None,
    threshold: float = THRESHOLD,
) -> ModelFit:
    return fit_model(
        y,
        v,
        X,
        method=_uni_method(res),
        test=res.test if test is None else test,
        level=res.level if level is None else level,
        names=names,
        has_intercept=intercept,
        threshold=threshold,
    )


# --- regression test ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegTest:
    """Egger-type regression test: the predictor's coefficient and the limit estimate."""

    model: str
    predictor: str
    zval: float | None
    tval: float | None
    df: int | None
    pval: float
    est: float | None
    ci_lb: float | None
    ci_ub: float | None

    def to_dict(self) -> dict[str, Any]:
        """The CLI ``egger`` object."""
        return {
            "zval": self.zval,
            "tval": self.tval,
            "df": self.df,
            "pval": self.pval,
            "limit_estimate": self.est,
            "limit_ci_lb": self.ci_lb,
            "limit_ci_ub": self.ci_ub,
        }

    def __str__(self) -> str:
        stat = (
            f"t = {self.tval:.4f}, df = {self.df}"
            if self.tval is not None
            else f"z = {self.zval:.4f}"
        )
        lines = [
            "Regression Test for Funnel Plot Asymmetry",
            f"Model: mixed-effects meta-regression model; predictor: {self.predictor}",
            f"Test for Funnel Plot Asymmetry: {stat}, p = {self.pval:.4f}",
        ]
        if self.est is not None:
            lines.append(
                f"Limit Estimate (as sei -> 0): b = {self.est:.4f} "
                f"(CI: {self.ci_lb:.4f}, {self.ci_ub:.4f})"
            )
        return "\n".join(lines)


def regtest(res: MetaResult, predictor: str = "sei") -> RegTest:
    """Regression test for funnel-plot asymmetry (metafor ``regtest()``, ``model="rma"``).

    Fits the model of ``res`` with the predictor added to its moderators,
    ``y_i = b0 + b1 sqrt(v_i) (+ moderators) + u_i + e_i`` (``predictor="sei"``; ``"vi"`` uses
    ``v_i``), with the same tau² estimator and test, and tests ``b1 = 0`` (z, or t on ``k - p``
    df with Knapp-Hartung). The intercept is the limit estimate as ``sqrt(v_i) -> 0`` (for an
    intercept-only model). Egger et al. (1997, BMJ 315:629-634) proposed the weighted-regression
    version; the mixed-effects version is metafor's default (Sterne & Egger 2005, in Rothstein
    et al., Publication Bias in Meta-Analysis, ch. 6; metafor documentation ``regtest``).
    """
    if predictor not in ("sei", "vi"):
        raise MetaError("predictor must be 'sei' or 'vi'")
    X0, names, intercept = _design(res)
    k = res.yi.shape[0]
    base = np.ones((k, 1)) if X0 is None else X0
    pred = np.sqrt(res.vi) if predictor == "sei" else res.vi
    X = np.column_stack([base, pred])
    p = base.shape[1]
    if k < p + 2:
        raise MetaError(f"the regression test needs at least {p + 2} studies (k = {k})")
    fit = _fit(res.yi, res.vi, X, res, names=(*names, predictor), intercept=intercept)
    c = fit.coefficients[p]
    limit = fit.coefficients[0] if (X0 is None) else None
    return RegTest(
        model="rma",
        predictor=predictor,
        zval=c.zval,
        tval=c.tval,
        df=fit.df,
        pval=c.pval,
        est=None if limit is None else limit.estimate,
        ci_lb=None if limit is None else limit.ci_lb,
        ci_ub=None if limit is None else limit.ci_ub,
    )


# --- rank correlation test ---------------------------------------------------------------------


@dataclass(frozen=True)
class RankTest:
    """Begg's rank correlation test: Kendall's tau and its p-value."""

    tau: float
    pval: float
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        """The CLI ``ranktest`` object."""
        return {"tau": self.tau, "pval": self.pval}

    def __str__(self) -> str:
        return (
            "Rank Correlation Test for Funnel Plot Asymmetry\n"
            f"Kendall's tau = {self.tau:.4f}, p = {self.pval:.4f}"
            + (" (exact)" if self.exact else " (normal approximation)")
        )


def ranktest(res: MetaResult) -> RankTest:
    """Rank correlation test (Begg & Mazumdar 1994, Biometrics 50:1088-1101; metafor ``ranktest``).

    With the equal-effects estimate ``theta = sum(y/v)/sum(1/v)`` and ``v* = v - 1/sum(1/v)``,
    the standardised effects ``y* = (y - theta)/sqrt(v*)`` are correlated with ``v`` by Kendall's
    tau (tau-b). The p-value is R's ``cor.test(..., method="kendall", exact=TRUE)``: exact
    (the permutation distribution of the number of concordant pairs) when there are no ties,
    otherwise the normal approximation ``z = S/sqrt(var S)`` with the tie-corrected variance
    (Kendall 1970, Rank Correlation Methods, ch. 4), without continuity correction.
    """
    y, v = res.yi, res.vi
    k = y.shape[0]
    if k < 3:
        raise MetaError(f"the rank correlation test needs at least 3 studies (k = {k})")
    if np.any(v <= 0):
        raise MetaError("the rank correlation test needs positive sampling variances")
    w = 1.0 / v
    theta = float(w @ y) / float(w.sum())
    vstar = v - 1.0 / float(w.sum())
    ystar = (y - theta) / np.sqrt(vstar)
    ties = min(np.unique(ystar).size, np.unique(v).size) < k
    method = "asymptotic" if ties else "exact"
    kt = stats.kendalltau(ystar, v, method=method)
    return RankTest(tau=float(kt.statistic), pval=min(1.0, float(kt.pvalue)), exact=not ties)


# --- trim and fill -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimFill:
    """Trim-and-fill: number of filled studies, side, and the model with them filled in."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    result: MetaResult
    filled: npt.NDArray[np.bool_]

    @property
    def estimate(self) -> float:
        """Pooled estimate with the filled studies."""
        return self.result.estimate

    def to_dict(self) -> dict[str, Any]:
        """The CLI ``trimfill`` object."""
        r = self.result
        return {
            "k0": self.k0,
            "side": self.side,
            "estimate": r.estimate,
            "se": r.se,
            "ci_lb": r.ci_lb,
            "ci_ub": r.ci_ub,
        }

    def __str__(self) -> str:
        return (
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {self.se_k0:.4f})\n\n{self.result}"
        )


#: metafor's default convergence threshold, used by its ``trimfill()`` refits (no ``control``).
METAFOR_THRESHOLD = 1e-5


def trimfill(
    res: MetaResult,
    side: str | None = None,
    estimator: str = "L0",
    *,
    threshold: float = METAFOR_THRESHOLD,
) -> TrimFill:
    """Trim-and-fill (Duval & Tweedie 2000, Biometrics 56:455-463; JASA 95:89-98).

    As metafor's ``trimfill.rma.uni`` (3.8-1):

    1. Side: unless given, fit ``y_i = b0 + b1 sqrt(v_i)`` with the model's tau² estimator;
       ``b1 < 0`` means studies are missing on the ``"right"``, else ``"left"``. For the right
       side the effects are mirrored (``y -> -y``) so the missing studies are on the left.
    2. Sort the effects; starting with ``k0 = 0`` repeat: fit the model to the ``k - k0``
       smallest effects (estimate ``b``), rank ``|y_i - b|`` over all ``k`` studies (ties in
       order), ``S_r`` = sum of the ranks of the positive deviations and
       ``L0 = (4 S_r - k(k+1)) / (2k - 1)`` (``R0 = k - r* - 1`` with ``r*`` the largest rank
       of a negative deviation; ``Q0 = k - 1/2 - sqrt(2k² - 4 S_r + 1/4)``),
       ``k0 = max(0, round(L0))``, until ``k0`` does not change.
       ``SE(L0) = 4 sqrt(var S_r)/(2k - 1)`` with
       ``var S_r = (k(k+1)(2k+1) + 10k0³ + 27k0² + 17k0 - 18k k0² - 18k k0 + 6k² k0)/24``.
    3. Fill in the mirror images ``2b - y_j`` (original scale) of the ``k0`` most extreme
       studies, with their variances, and refit. As metafor, the filled-in model uses the tau²
       estimator of ``res`` with the z-test at the 95% level (metafor does not pass ``test``,
       ``level`` or ``control`` on, so its refits stop Fisher scoring at its default
       ``threshold`` 1e-5; ``threshold`` here does the same by default, for identical numbers);
       with ``k0 = 0`` the result is ``res`` itself.
    """
    _need_uni(res, "trim-and-fill")
    est = estimator.upper()
    if est not in ("L0", "R0", "Q0"):
        raise MetaError("estimator must be L0, R0 or Q0")
    k = int(res.yi.shape[0])
    if k < 3:
        raise MetaError(f"trim-and-fill needs at least 3 studies (k = {k})")
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(res.vi)])
        fit = _fit(
            res.yi,
            res.vi,
            X,
            res,
            names=("intrcpt", "sei"),
            test="z",
            level=95.0,
            threshold=threshold,
        )
        side = "right" if fit.coefficients[1].estimate < 0 else "left"
    elif side not in ("left", "right"):
        raise MetaError("side must be 'left' or 'right'")
    sign = -1.0 if side == "right" else 1.0
    ys = sign * res.yi
    order = np.argsort(ys, kind="stable")
    y, v = ys[order], res.vi[order]
    k0 = 0
    k0_prev = -1
    se_k0 = 0.0
    beta = math.nan
    it = 0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > 100:
            raise MetaError("the trim-and-fill algorithm did not converge")
        fit = _fit(y[: k - k0], v[: k - k0], None, res, test="z", level=95.0, threshold=threshold)
        beta = fit.coefficients[0].estimate
        dev = y - beta
        ranks = stats.rankdata(np.abs(dev), method="ordinal")
        signed = np.sign(dev) * ranks
        if est == "R0":
            neg = -signed[signed < 0]
            r = float(neg.max()) if neg.size else 0.0
            raw = (k - r) - 1
            se = math.sqrt(2 * max(0.0, raw) + 2)
        else:
            Sr = float(signed[signed > 0].sum())
            if est == "L0":
                raw = (4 * Sr - k * (k + 1)) / (2 * k - 1)
            else:
                raw = k - 0.5 - math.sqrt(2 * k**2 - 4 * Sr + 0.25)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * raw**3
                + 27 * raw**2
                + 17 * raw
                - 18 * k * raw**2
                - 18 * k * raw
                + 6 * k**2 * raw
            ) / 24
            if est == "L0":
                se = 4 * math.sqrt(var_sr) / (2 * k - 1)
            else:
                se = 2 * math.sqrt(var_sr) / math.sqrt((k - 0.5) ** 2 - raw * (2 * k - raw - 1))
        k0 = max(0, int(np.round(raw)))  # R's round(): half to even, as numpy
        se_k0 = max(0.0, se)
    if k0 == 0:
        return TrimFill(0, se_k0, side, est, res, np.zeros(k, dtype=bool))
    fill_y = sign * (2 * beta - y[k - k0 :])
    fill_v = v[k - k0 :]
    yf = np.concatenate([res.yi, fill_y])
    vf = np.concatenate([res.vi, fill_v])
    filled_res = rma(
        yf,
        vf,
        method=_uni_method(res),
        measure=res.measure,
        threshold=threshold,
        notes=(f"{k0} stud{'y' if k0 == 1 else 'ies'} filled in on the {side} side",),
    )
    mask = np.concatenate([np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)])
    return TrimFill(k0, se_k0, side, est, filled_res, mask)


# --- leave-one-out and cumulative --------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    """One refit of the model (one study left out, or the first studies cumulated)."""

    study: str
    k: int
    estimate: float
    se: float
    zval: float | None
    tval: float | None
    pval: float
    ci_lb: float
    ci_ub: float
    Q: float
    Q_pval: float
    tau2: float | None
    I2: float | None
    H2: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the rows of the CLI ``leave1out`` list)."""
        return {
            "study": self.study,
            "k": self.k,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.zval,
            "tval": self.tval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "Q": self.Q,
            "Q_pval": self.Q_pval,
            "tau2": self.tau2,
            "I2": self.I2,
            "H2": self.H2,
        }


def _row(label: str, fit: ModelFit) -> CaseRow:
    c = fit.coefficients[0]
    return CaseRow(
        study=label,
        k=fit.k,
        estimate=c.estimate,
        se=c.se,
        zval=c.zval,
        tval=c.tval,
        pval=c.pval,
        ci_lb=c.ci_lb,
        ci_ub=c.ci_ub,
        Q=fit.Q,
        Q_pval=fit.Q_pval,
        tau2=fit.tau2,
        I2=fit.I2,
        H2=fit.H2,
    )


def _labels(res: MetaResult, labels: Sequence[str] | None) -> list[str]:
    k = res.yi.shape[0]
    if labels is None:
        return [f"Study {i + 1}" for i in range(k)]
    if len(labels) != k:
        raise MetaError(f"{len(labels)} labels for {k} studies")
    return [str(x) for x in labels]


def leave1out(res: MetaResult, labels: Sequence[str] | None = None) -> tuple[CaseRow, ...]:
    """Leave-one-out analysis (metafor ``leave1out.rma.uni``).

    Row ``i`` is the model (same tau² estimator, test and level) fitted without study ``i``;
    ``study`` names the study left out. Viechtbauer & Cheung (2010, Res Synth Methods
    1:112-125).
    """
    _need_uni(res, "leave-one-out analysis")
    names = _labels(res, labels)
    k = res.yi.shape[0]
    if k < 2:
        raise MetaError("leave-one-out needs at least 2 studies")
    rows = []
    for i in range(k):
        keep = np.arange(k) != i
        rows.append(_row(names[i], _fit(res.yi[keep], res.vi[keep], None, res)))
    return tuple(rows)


def cumulative(
    res: MetaResult,
    labels: Sequence[str] | None = None,
    order: npt.ArrayLike | None = None,
) -> tuple[CaseRow, ...]:
    """Cumulative meta-analysis (metafor ``cumul.rma.uni``; Lau et al. 1992, NEJM 327:248-254).

    The studies are taken in the given order (``order``: a sort key per study, e.g. the year;
    stable, ascending, as R's ``order()``); row ``i`` is the model fitted to the first ``i``
    studies, named after the study added. With one study the z-test is used (as metafor).
    """
    _need_uni(res, "cumulative meta-analysis")
    names = _labels(res, labels)
    k = res.yi.shape[0]
    idx = (
        np.arange(k)
        if order is None
        else np.argsort(np.asarray(order, dtype=np.float64), kind="stable")
    )
    y, v = res.yi[idx], res.vi[idx]
    return tuple(_row(names[idx[i]], _fit(y[: i + 1], v[: i + 1], None, res)) for i in range(k))


# --- influence diagnostics ---------------------------------------------------------------------


@dataclass(frozen=True)
class Influence:
    """Case-deletion diagnostics per study (metafor ``influence.rma.uni``)."""

    study: tuple[str, ...]
    rstudent: FloatArray
    dffits: FloatArray
    cooks_distance: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    QE_del: FloatArray
    hat: FloatArray
    weight: FloatArray
    dfbetas: FloatArray
    coef_names: tuple[str, ...]
    is_influential: npt.NDArray[np.bool_] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """One object per study."""
        out = []
        for i, s in enumerate(self.study):
            out.append(
                {
                    "study": s,
                    "rstudent": float(self.rstudent[i]),
                    "dffits": float(self.dffits[i]),
                    "cook_d": float(self.cooks_distance[i]),
                    "cov_r": float(self.cov_r[i]),
                    "tau2_del": float(self.tau2_del[i]),
                    "QE_del": float(self.QE_del[i]),
                    "hat": float(self.hat[i]),
                    "weight": float(self.weight[i]),
                    "dfbetas": {
                        n: float(self.dfbetas[i, j]) for j, n in enumerate(self.coef_names)
                    },
                    "influential": bool(self.is_influential[i]),
                }
            )
        return {"influence": out}

    def __str__(self) -> str:
        w = max(8, *(len(s) for s in self.study))
        head = (
            f"{'':<{w}} {'rstudent':>9} {'dffits':>8} {'cook.d':>8} {'cov.r':>7} "
            f"{'tau2.del':>9} {'QE.del':>9} {'hat':>6} {'weight':>7} inf"
        )
        lines = [head]
        for i, s in enumerate(self.study):
            lines.append(
                f"{s:<{w}} {self.rstudent[i]:>9.4f} {self.dffits[i]:>8.4f} "
                f"{self.cooks_distance[i]:>8.4f} {self.cov_r[i]:>7.4f} {self.tau2_del[i]:>9.4f} "
                f"{self.QE_del[i]:>9.4f} {self.hat[i]:>6.4f} {self.weight[i]:>7.4f} "
                f"{'*' if self.is_influential[i] else ''}"
            )
        return "\n".join(lines)


def influence(res: MetaResult, labels: Sequence[str] | None = None) -> Influence:
    """Outlier and influence diagnostics (Viechtbauer & Cheung 2010, Res Synth Methods 1:112-125;
    metafor ``influence.rma.uni``, ``rstudent``, ``cooks.distance``, ``hatvalues``).

    With the full model (``b``, ``Var(b)``, tau², weights ``w_i = 1/(v_i + tau²)``) and the model
    refitted without study ``i`` (``b_(-i)``, ``Var(b_(-i))``, ``tau²_(-i)``, Knapp-Hartung
    factor ``s²_(-i)``, 1 for the z-test):

    * hat ``h_i = diag(X (X'WX)^{-1} X'W)``; weight ``100 w_i / sum w``;
    * studentized deleted residual ``(y_i - x_i b_(-i)) /
      sqrt(s²_(-i)(v_i + tau²_(-i)) + x_i Var(b_(-i)) x_i')``;
    * DFFITS ``(x_i b - x_i b_(-i)) / sqrt(s²_(-i) h_i (tau²_(-i) + v_i))``;
    * Cook's distance ``(b - b_(-i))' Var(b)^{-1} (b - b_(-i))``;
    * COVRATIO ``det Var(b_(-i)) / det Var(b)``; ``tau2_del``, ``QE_del`` of the refit;
    * DFBETAS ``(b - b_(-i)) / sqrt(s²_(-i) diag((X'W_(-i)X)^{-1}))`` with
      ``W_(-i) = diag(1/(v + tau²_(-i)))`` over all ``k`` studies.

    A study is flagged influential (metafor's rule) if ``|DFFITS| > 3 sqrt(p/(k-p))``, or
    ``pchisq(D_i, p) > 0.5``, or ``h_i > 3p/k``, or any ``|DFBETAS| > 1``.
    """
    _need_uni(res, "influence diagnostics")
    names = _labels(res, labels)
    X0, cnames, intercept = _design(res)
    k = int(res.yi.shape[0])
    X = np.ones((k, 1)) if X0 is None else X0
    p = X.shape[1]
    if k <= p:
        raise MetaError(f"influence diagnostics need more than {p} studies (k = {k})")
    y, v = res.yi, res.vi
    full = _fit(y, v, X0, res, names=cnames, intercept=intercept)
    b = np.array([c.estimate for c in full.coefficients])
    vb_inv = np.linalg.inv(full.vb)
    tau2 = full.tau2 or 0.0
    w = 1.0 / (v + tau2)
    M = np.linalg.inv(X.T @ (X * w[:, None]))
    hat = np.einsum("ij,jk,ik->i", X, M, X) * w
    hat = np.where(hat > 1 - 10 * np.finfo(float).eps, 1.0, hat)
    pred_full = X @ b
    rst = np.full(k, np.nan)
    dff = np.full(k, np.nan)
    cook = np.full(k, np.nan)
    covr = np.full(k, np.nan)
    t2d = np.full(k, np.nan)
    qed = np.full(k, np.nan)
    dfbs = np.full((k, p), np.nan)
    det_full = float(np.linalg.det(full.vb))
    for i in range(k):
        keep = np.arange(k) != i
        try:
            fi = _fit(y[keep], v[keep], None if X0 is None else X0[keep], res, names=cnames,
                      intercept=intercept)  # fmt: skip
        except (MetaError, np.linalg.LinAlgError):
            continue
        bi = np.array([c.estimate for c in fi.coefficients])
        t2i = fi.tau2 or 0.0
        xi = X[i]
        delpred = float(xi @ bi)
        vdel = float(xi @ fi.vb @ xi)
        resid = float(y[i] - delpred)
        if abs(resid) < 100 * np.finfo(float).eps:
            resid = 0.0
        rst[i] = resid / math.sqrt(v[i] * fi.s2w + vdel + t2i * fi.s2w)
        dff[i] = (pred_full[i] - delpred) / math.sqrt(fi.s2w * hat[i] * (t2i + v[i]))
        wd = 1.0 / (v + t2i)
        vb_del = np.linalg.inv(X.T @ (X * wd[:, None]))
        dfb = b - bi
        dfbs[i] = dfb / np.sqrt(fi.s2w * np.diag(vb_del))
        cook[i] = float(dfb @ vb_inv @ dfb)
        covr[i] = float(np.linalg.det(fi.vb)) / det_full
        t2d[i] = t2i
        qed[i] = fi.Q
    with np.errstate(invalid="ignore"):
        infl = (
            (np.abs(dff) > 3 * math.sqrt(p / (k - p)))
            | (stats.chi2.cdf(cook, p) > 0.5)
            | (hat > 3 * p / k)
            | np.any(np.abs(dfbs) > 1, axis=1)
        )
    return Influence(
        study=tuple(names),
        rstudent=rst,
        dffits=dff,
        cooks_distance=cook,
        cov_r=covr,
        tau2_del=t2d,
        QE_del=qed,
        hat=hat,
        weight=100.0 * w / w.sum(),
        dfbetas=dfbs,
        coef_names=cnames,
        is_influential=np.asarray(infl, dtype=bool),
    )


# --- fail-safe N -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailSafeN:
    """Rosenthal's fail-safe N."""

    fsnum: int
    pval: float
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"fsnum": self.fsnum, "pval": self.pval, "alpha": self.alpha}

    def __str__(self) -> str:
        return (
            "Fail-safe N Calculation Using the Rosenthal Approach\n"
            f"Observed Significance Level: {self.pval:.4g}\n"
            f"Target Significance Level:   {self.alpha:g}\n"
            f"Fail-safe N: {self.fsnum}"
        )


def fsn(res: MetaResult, alpha: float = 0.05) -> FailSafeN:
    """Rosenthal's (1979, Psychol Bull 86:638-641) fail-safe N (metafor ``fsn``, Stouffer).

    With ``z_i = y_i / sqrt(v_i)`` and ``z = |sum z_i| / sqrt(k)``, the one-sided p-value is
    ``1 - Phi(z)`` and ``N = max(0, k (z / z_alpha)² - k)`` with ``z_alpha = Phi^{-1}(1 - alpha)``,
    rounded up to a whole number of studies. Shown for completeness: the method ignores effect
    sizes and heterogeneity and is not recommended for judging publication bias (Higgins et al.
    (eds), Cochrane Handbook 6.4, section 13.3.5.2).
    """
    if not 0 < alpha < 1:
        raise MetaError("alpha must be between 0 and 1")
    y, v = res.yi, res.vi
    if np.any(v <= 0):
        raise MetaError("the fail-safe N needs positive sampling variances")
    k = y.shape[0]
    z = abs(float(np.sum(y / np.sqrt(v)))) / math.sqrt(k)
    pval = float(stats.norm.sf(z))
    n = max(0.0, k * (z / float(stats.norm.isf(alpha))) ** 2 - k)
    num = math.ceil(n) if abs(n - round(n)) >= math.sqrt(np.finfo(float).eps) else round(n)
    return FailSafeN(fsnum=int(num), pval=pval, alpha=alpha)
