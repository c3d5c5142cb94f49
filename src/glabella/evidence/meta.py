"""Equal-, fixed- and random-effects models and meta-regression: metafor's ``rma.uni``.

Given tau² (module :mod:`glabella.evidence.tau2`), the coefficients are the weighted
least-squares estimates with ``w_i = 1/(v_i + tau²)``:
``beta = (X'WX)^{-1} X'Wy``, ``Var(beta) = (X'WX)^{-1}`` (Viechtbauer 2010, J Stat Softw 36(3),
section 2; metafor ``rma.uni`` "Details").

* Tests: ``test="z"`` Wald z-tests and CIs with the normal distribution; ``test="knha"``
  (Knapp & Hartung 2003, Stat Med 22:2693-2710; Hartung & Knapp 2001) multiplies ``Var(beta)``
  by ``s² = y'Py / (k - p)`` (not truncated at 1, as metafor) and uses t with ``k - p`` df; the
  omnibus test of the moderators is then ``F = QM/m`` with ``(m, k - p)`` df.
* Heterogeneity: ``Q = y'P_FE y`` with ``w = 1/v`` (Cochran 1954) on ``k - p`` df;
  ``I² = 100 tau² / (tau² + v~)``, ``H² = 1 + tau²/v~``, ``v~ = (k-p)/tr(P_FE)``
  (Higgins & Thompson 2002); for the equal-effects model ``I² = 100 max(0, (Q - df)/Q)`` and
  ``H² = Q/df``.
* Prediction interval (metafor ``predict.rma``): ``mu ± crit sqrt(SE² + tau²)``, ``crit`` from
  the normal distribution or, with Knapp-Hartung, from t with ``k - p`` df (Riley et al. 2011).
* Meta-regression: ``QM = b' Var(b)^{-1} b`` over the non-intercept coefficients (chi-square on
  m df), ``QE`` the residual heterogeneity test, and pseudo-R² ``= 100 max(0, (tau²_RE -
  tau²_ME) / tau²_RE)`` (Raudenbush 2009) with tau²_RE from the intercept-only model.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special  # the distribution functions behind scipy.stats, without its overhead

from glabella.evidence.confint import HeterogeneityCI, qprofile_ci
from glabella.evidence.tau2 import METHODS, THRESHOLD, Projection, Tau2Error, estimate_tau2
from glabella.formatting import fixed_or_na, p_value_metafor

__all__ = [
    "Coefficient",
    "MetaError",
    "MetaResult",
    "ModelFit",
    "fit_model",
    "rma",
]

FloatArray = npt.NDArray[np.float64]

TESTS: tuple[str, ...] = ("z", "knha")


class MetaError(ValueError):
    """The model cannot be fitted (bad inputs, too few studies, unknown method or test)."""


@dataclass(frozen=True)
class Coefficient:
    """One row of a meta-regression coefficient table."""

    name: str
    estimate: float
    se: float
    zval: float | None
    tval: float | None
    pval: float
    ci_lb: float
    ci_ub: float

    def to_dict(self) -> dict[str, Any]:
        """The CLI JSON object for this coefficient."""
        return {
            "name": self.name,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.zval,
            "tval": self.tval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
        }


@dataclass(frozen=True)
class ModelFit:
    """One fitted ``rma.uni`` model (intercept-only or with moderators)."""

    k: int
    p: int
    method: str
    test: str
    level: float
    coefficients: tuple[Coefficient, ...]
    vb: FloatArray
    tau2: float | None
    se_tau2: float | None
    Q: float
    Q_df: int
    Q_pval: float
    I2: float | None
    H2: float | None
    vt: float
    QM: float | None
    QM_df: tuple[int, int | None] | None
    QM_pval: float | None
    df: int | None
    weights: FloatArray
    s2w: float = 1.0
    iterations: int = 0


def _alpha(level: float) -> float:
    if not 0 < level < 100:
        raise MetaError(f"level must be between 0 and 100 (got {level})")
    return (100.0 - level) / 100.0 if level > 1 else 1.0 - level


@functools.lru_cache(maxsize=256)
def _crit(level: float, df: int | None) -> float:
    a = _alpha(level)
    if df is None:
        return float(-special.ndtri(a / 2))
    return float(-special.stdtrit(df, a / 2))


def _check_inputs(yi: npt.ArrayLike, vi: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(yi, dtype=np.float64).reshape(-1)
    v = np.asarray(vi, dtype=np.float64).reshape(-1)
    if y.shape != v.shape:
        raise MetaError(f"yi and vi differ in length ({y.shape[0]} vs {v.shape[0]})")
    if y.shape[0] == 0:
        raise MetaError("no studies to pool (k = 0)")
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        raise MetaError("yi and vi must be finite; drop studies with missing values first")
    if (v < 0).any():
        raise MetaError("sampling variances must not be negative")
    return y, v


def _coef_table(
    beta: FloatArray, vb: FloatArray, names: Sequence[str], df: int | None, crit: float
) -> tuple[Coefficient, ...]:
    """Coefficient rows: Wald z (or t with ``df``) tests and CIs."""
    p = beta.shape[0]
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    if df is None:
        pvals = 2 * special.ndtr(-np.abs(stat))
    else:
        pvals = 2 * special.stdtr(df, -np.abs(stat)) if df > 0 else np.full(p, np.nan)
    return tuple(
        Coefficient(
            name=names[j],
            estimate=float(beta[j]),
            se=float(se[j]),
            zval=float(stat[j]) if df is None else None,
            tval=float(stat[j]) if df is not None else None,
            pval=float(pvals[j]),
            ci_lb=float(beta[j] - crit * se[j]),
            ci_ub=float(beta[j] + crit * se[j]),
        )
        for j in range(p)
    )


def fit_model(
    yi: FloatArray,
    vi: FloatArray,
    X: FloatArray | None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    names: Sequence[str] = ("intrcpt",),
    has_intercept: bool = True,
    threshold: float = THRESHOLD,
) -> ModelFit:
    """Fit one ``rma.uni`` model with design ``X`` (None = intercept only). See module doc."""
    meth = "HSk" if method.upper() == "HSK" else method.upper()
    if meth not in METHODS:
        raise MetaError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise MetaError(f"unknown test {test!r}; choose z or knha")
    k = int(yi.shape[0])
    p = 1 if X is None else int(X.shape[1])
    if k == 1 and test == "knha":
        test = "z"  # metafor: 'Setting argument test="z" since k=1.'
    if k < p:
        raise MetaError(f"too few studies (k = {k}) for {p} coefficient(s)")
    if X is not None and np.linalg.matrix_rank(X) < p:
        raise MetaError("the design matrix is not of full rank (a moderator is redundant)")
    if k == 1:
        est_tau2 = 0.0
        se_tau2: float | None = None
        iterations = 0
    else:
        try:
            te = estimate_tau2(yi, vi, meth, X, threshold=threshold)
        except Tau2Error as exc:
            raise MetaError(str(exc)) from exc
        est_tau2, se_tau2, iterations = te.tau2, te.se, te.iterations
    fe = meth in ("EE", "FE")
    w = 1.0 / (vi + est_tau2)
    if not np.isfinite(w).all():
        raise MetaError("division by zero in the weights (a sampling variance is 0 and tau² = 0)")
    P = Projection(w, X)
    beta = P.beta(yi)
    vb = P.vb().copy()
    s2w = 1.0
    df: int | None = None
    if test == "knha":
        df = k - p
        rss = P.quad(yi)
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        vb = vb * s2w
    crit = _crit(level, df) if (df is None or df > 0) else math.nan
    if X is None:  # intercept only: plain floats (the common case, and the fast one)
        b0, se0 = float(beta[0]), math.sqrt(float(vb[0, 0]))
        z0 = b0 / se0 if se0 > 0 else math.nan
        if df is None:
            pv0 = math.erfc(abs(z0) / math.sqrt(2.0))  # = 2 (1 - Phi(|z|))
        else:
            pv0 = float(2 * special.stdtr(df, -abs(z0))) if df > 0 else math.nan
        coefs: tuple[Coefficient, ...] = (
            Coefficient(
                name=names[0],
                estimate=b0,
                se=se0,
                zval=z0 if df is None else None,
                tval=z0 if df is not None else None,
                pval=pv0,
                ci_lb=b0 - crit * se0,
                ci_ub=b0 + crit * se0,
            ),
        )
    else:
        coefs = _coef_table(beta, vb, names, df, crit)
    # heterogeneity (always with w = 1/v)
    if k > p and (vi > 0).all():
        Pfe = Projection(1.0 / vi, X)
        Q = max(0.0, Pfe.quad(yi))
        Q_pval = float(special.chdtrc(k - p, Q))
        vt = (k - p) / Pfe.trace()
        if fe:
            I2: float | None = max(0.0, 100.0 * (Q - (k - p)) / Q) if Q > 0 else 0.0
            H2: float | None = Q / (k - p)
        else:
            I2 = 100.0 * est_tau2 / (vt + est_tau2)
            H2 = est_tau2 / vt + 1.0
    else:
        Q, Q_pval, vt = 0.0, 1.0, 0.0
        I2, H2 = 0.0, 1.0
    # omnibus test of moderators
    QM = QM_pval = None
    QM_df: tuple[int, int | None] | None = None
    btt = [j for j in range(p) if not (has_intercept and j == 0)]
    if X is not None and btt:
        m = len(btt)
        b = beta[btt]
        sub = vb[np.ix_(btt, btt)]
        QM = float(b @ np.linalg.solve(sub, b))
        if df is None:
            QM_df = (m, None)
            QM_pval = float(special.chdtrc(m, QM))
        else:
            QM = QM / m
            QM_df = (m, df)
            QM_pval = float(special.fdtrc(m, df, QM)) if df > 0 else math.nan
    return ModelFit(
        k=k,
        p=p,
        method=meth,
        test=test,
        level=level,
        coefficients=coefs,
        vb=vb,
        tau2=None if fe else est_tau2,
        se_tau2=None if fe else se_tau2,
        Q=Q,
        Q_df=k - p,
        Q_pval=Q_pval,
        I2=I2,
        H2=H2,
        vt=vt,
        QM=QM,
        QM_df=QM_df,
        QM_pval=QM_pval,
        df=df,
        weights=w,
        s2w=s2w,
        iterations=iterations,
    )


def _fmt(x: float | None) -> str:
    """A number of the printed summary as metafor prints it (four decimals, ``NA``)."""
    return fixed_or_na(x, 4)


_MODEL_NAMES = {
    "EE": "Equal-Effects Model",
    "FE": "Fixed-Effects Model",
    "MH": "Equal-Effects Model (Mantel-Haenszel method)",
    "PETO": "Equal-Effects Model (Peto's method)",
}


@dataclass(frozen=True)
class MetaResult:
    """A fitted meta-analysis, with the CLI contract's names (model scale, e.g. log RR).

    The top-level fields describe the model without moderators. With moderators,
    :attr:`coefficients`, ``QM``, ``QE``, ``R2`` and :attr:`tau2_residual` describe the
    meta-regression (``tau2_residual`` is its residual tau²).
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    zval: float | None
    tval: float | None
    df: int | None
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float | None
    se_tau2: float | None
    tau2_ci_lb: float | None
    tau2_ci_ub: float | None
    I2: float | None
    I2_ci_lb: float | None
    I2_ci_ub: float | None
    H2: float | None
    H2_ci_lb: float | None
    H2_ci_ub: float | None
    Q: float
    Q_df: int
    Q_pval: float
    pi_lb: float | None
    pi_ub: float | None
    weights: FloatArray
    yi: FloatArray
    vi: FloatArray
    measure: str | None = None
    coefficients: tuple[Coefficient, ...] = ()
    QM: float | None = None
    QM_df: tuple[int, int | None] | None = None
    QM_pval: float | None = None
    QE: float | None = None
    QE_df: int | None = None
    QE_pval: float | None = None
    R2: float | None = None
    tau2_residual: float | None = None
    se_tau2_residual: float | None = None
    I2_residual: float | None = None
    H2_residual: float | None = None
    mods: FloatArray | None = None
    mod_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def random(self) -> bool:
        """True for a random-effects model (tau² estimated)."""
        return self.tau2 is not None

    @property
    def weights_percent(self) -> FloatArray:
        """Study weights as percentages of the total."""
        return np.asarray(100.0 * self.weights / self.weights.sum(), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """The CLI JSON object (keys that do not apply are None)."""
        d: dict[str, Any] = {
            "k": self.k,
            "measure": self.measure,
            "method": self.method,
            "test": self.test,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.zval,
            "tval": self.tval,
            "df": self.df,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "tau2": self.tau2,
            "se_tau2": self.se_tau2,
            "tau2_ci_lb": self.tau2_ci_lb,
            "tau2_ci_ub": self.tau2_ci_ub,
            "I2": self.I2,
            "H2": self.H2,
            "Q": self.Q,
            "Q_df": self.Q_df,
            "Q_pval": self.Q_pval,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
            "coefficients": [c.to_dict() for c in self.coefficients] if self.coefficients else None,
            "QM": self.QM,
            "QM_pval": self.QM_pval,
            "QE": self.QE,
            "QE_pval": self.QE_pval,
            "R2": self.R2,
            "tau2_residual": self.tau2_residual,
        }
        return d

    def __str__(self) -> str:
        lines: list[str] = []
        name = _MODEL_NAMES.get(self.method, "Random-Effects Model")
        extra = "" if not self.random else f"; tau^2 estimator: {self.method}"
        lines.append(f"{name} (k = {self.k}{extra})")
        if self.measure:
            lines.append(f"Measure: {self.measure}")
        lines.append("")
        if self.random and self.tau2 is not None:
            se_t = f" (SE = {_fmt(self.se_tau2)})" if self.se_tau2 is not None else ""
            lines.append(
                f"tau^2 (estimated amount of total heterogeneity): {_fmt(self.tau2)}{se_t}"
            )
            lines.append(f"tau (square root of estimated tau^2 value):      {_fmt(self.tau2**0.5)}")
        if self.I2 is not None:
            lines.append(f"I^2 (total heterogeneity / total variability):   {self.I2:.2f}%")
        if self.H2 is not None:
            lines.append(f"H^2 (total variability / sampling variability):  {self.H2:.2f}")
        if self.tau2_ci_lb is not None and self.tau2_ci_ub is not None:
            lines.append(
                f"tau^2 {self.level:g}% CI (Q-profile): "
                f"[{_fmt(self.tau2_ci_lb)}, {_fmt(self.tau2_ci_ub)}]"
            )
        lines += [
            "",
            "Test for Heterogeneity:",
            f"Q(df = {self.Q_df}) = {_fmt(self.Q)}, p-val {_pv(self.Q_pval)}",
            "",
            "Model Results:",
            "",
        ]
        stat_name = "tval" if self.tval is not None else "zval"
        stat = self.tval if self.tval is not None else self.zval
        lines.append(
            f"{'estimate':>9} {'se':>8} {stat_name:>8} {'pval':>8} {'ci.lb':>9} {'ci.ub':>9}"
        )
        lines.append(
            f"{_fmt(self.estimate):>9} {_fmt(self.se):>8} {_fmt(stat):>8} "
            f"{p_value_metafor(self.pval):>8} {_fmt(self.ci_lb):>9} {_fmt(self.ci_ub):>9}"
        )
        if self.pi_lb is not None and self.pi_ub is not None:
            lines.append(
                f"{self.level:g}% prediction interval: [{_fmt(self.pi_lb)}, {_fmt(self.pi_ub)}]"
            )
        if self.coefficients:
            lines += ["", "Meta-regression:"]
            if self.tau2_residual is not None:
                lines.append(f"tau^2 (residual heterogeneity): {_fmt(self.tau2_residual)}")
            if self.R2 is not None:
                lines.append(f"R^2 (amount of heterogeneity accounted for): {self.R2:.2f}%")
            if self.QE is not None:
                lines.append(
                    f"Test for Residual Heterogeneity: QE(df = {self.QE_df}) = {_fmt(self.QE)}, "
                    f"p-val {_pv(self.QE_pval)}"
                )
            if self.QM is not None and self.QM_df is not None:
                if self.QM_df[1] is None:
                    lines.append(
                        f"Test of Moderators: QM(df = {self.QM_df[0]}) = {_fmt(self.QM)}, "
                        f"p-val {_pv(self.QM_pval)}"
                    )
                else:
                    lines.append(
                        f"Test of Moderators: F(df1 = {self.QM_df[0]}, df2 = {self.QM_df[1]}) = "
                        f"{_fmt(self.QM)}, p-val {_pv(self.QM_pval)}"
                    )
            lines.append("")
            width = max(9, *(len(c.name) for c in self.coefficients))
            lines.append(
                f"{'':<{width}} {'estimate':>9} {'se':>8} {stat_name:>8} {'pval':>8} "
                f"{'ci.lb':>9} {'ci.ub':>9}"
            )
            for c in self.coefficients:
                s = c.tval if c.tval is not None else c.zval
                lines.append(
                    f"{c.name:<{width}} {_fmt(c.estimate):>9} {_fmt(c.se):>8} {_fmt(s):>8} "
                    f"{p_value_metafor(c.pval):>8} {_fmt(c.ci_lb):>9} {_fmt(c.ci_ub):>9}"
                )
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)


def _pv(p: float | None) -> str:
    s = p_value_metafor(p)
    return "< .0001" if s.startswith("<") else f"= {s}"


def _as_mods(
    mods: npt.ArrayLike | None, mod_names: Sequence[str] | None, k: int
) -> tuple[FloatArray | None, tuple[str, ...]]:
    if mods is None:
        return None, ()
    M = np.asarray(mods, dtype=np.float64)
    if M.ndim == 1:
        M = M[:, None]
    if M.shape[0] != k:
        raise MetaError(f"mods has {M.shape[0]} rows but there are {k} studies")
    if not np.all(np.isfinite(M)):
        raise MetaError("moderators must be finite; drop studies with missing values first")
    names = (
        tuple(mod_names)
        if mod_names is not None
        else tuple(f"mod{j + 1}" for j in range(M.shape[1]))
    )
    if len(names) != M.shape[1]:
        raise MetaError("mod_names must name every moderator column")
    return M, names


def intercept_only(
    yi: FloatArray,
    vi: FloatArray,
    *,
    method: str,
    test: str,
    level: float,
    threshold: float = THRESHOLD,
    tau2_ci: bool = True,
) -> tuple[ModelFit, HeterogeneityCI | None, float | None, float | None]:
    """Fit the intercept-only model, its Q-profile CI and its prediction interval."""
    fit = fit_model(yi, vi, None, method=method, test=test, level=level, threshold=threshold)
    ci: HeterogeneityCI | None = None
    pi_lb = pi_ub = None
    if fit.tau2 is not None:
        if tau2_ci and fit.k > 1 and (vi > 0).all():
            ci = qprofile_ci(yi, vi, fit.tau2, None, level=level)
        c = fit.coefficients[0]
        crit = _crit(level, fit.df) if (fit.df is None or fit.df > 0) else math.nan
        half = crit * math.sqrt(c.se**2 + fit.tau2)
        pi_lb, pi_ub = c.estimate - half, c.estimate + half
    return fit, ci, pi_lb, pi_ub


def rma(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    mods: npt.ArrayLike | None = None,
    mod_names: Sequence[str] | None = None,
    intercept: bool = True,
    measure: str | None = None,
    notes: Sequence[str] = (),
    threshold: float = THRESHOLD,
    tau2_ci: bool = True,
) -> MetaResult:
    """Random-, fixed- or equal-effects meta-analysis / meta-regression (metafor ``rma.uni``).

    Args:
        yi, vi: effect sizes and sampling variances (model scale).
        method: tau² estimator, one of EE, FE, DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM
            (see :func:`glabella.evidence.tau2.estimate_tau2`).
        test: "z" or "knha" (Knapp-Hartung).
        level: confidence level in percent.
        mods: moderator matrix (k x m, already numeric: dummies for categories); see
            :func:`glabella.evidence.regression.design_matrix` to build one from columns.
        mod_names: names of the moderator columns (coefficient names).
        intercept: include an intercept in the meta-regression.
        measure: the effect-size measure (for printing and JSON).
        notes: remarks carried into the result (e.g. zero-cell corrections, dropped studies).
        threshold: convergence threshold of the Fisher scoring for ML/REML/EB (metafor's
            ``control=list(threshold=...)``; metafor's default is 1e-5, ours 1e-12).
        tau2_ci: compute the Q-profile CI of tau², I² and H² (metafor's ``confint()``); with
            False those fields are None (what ``rma()`` alone gives in metafor).
    """
    y, v = _check_inputs(yi, vi)
    k = y.shape[0]
    M, names = _as_mods(mods, mod_names, k)
    fit, ci, pi_lb, pi_ub = intercept_only(
        y, v, method=method, test=test, level=level, threshold=threshold, tau2_ci=tau2_ci
    )
    c0 = fit.coefficients[0]
    base: dict[str, Any] = dict(
        k=k,
        method=fit.method,
        test=fit.test,
        level=level,
        estimate=c0.estimate,
        se=c0.se,
        zval=c0.zval,
        tval=c0.tval,
        df=fit.df,
        pval=c0.pval,
        ci_lb=c0.ci_lb,
        ci_ub=c0.ci_ub,
        tau2=fit.tau2,
        se_tau2=fit.se_tau2,
        tau2_ci_lb=ci.tau2_lb if ci else None,
        tau2_ci_ub=ci.tau2_ub if ci else None,
        I2=fit.I2,
        I2_ci_lb=ci.I2_lb if ci else None,
        I2_ci_ub=ci.I2_ub if ci else None,
        H2=fit.H2,
        H2_ci_lb=ci.H2_lb if ci else None,
        H2_ci_ub=ci.H2_ub if ci else None,
        Q=fit.Q,
        Q_df=fit.Q_df,
        Q_pval=fit.Q_pval,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        weights=fit.weights,
        yi=y,
        vi=v,
        measure=measure,
        notes=tuple(notes),
    )
    if M is None:
        return MetaResult(**base)
    X = np.column_stack([np.ones(k), M]) if intercept else M
    xnames = ("intrcpt", *names) if intercept else names
    reg = fit_model(
        y,
        v,
        X,
        method=method,
        test=test,
        level=level,
        names=xnames,
        has_intercept=intercept,
        threshold=threshold,
    )
    R2: float | None = None
    if intercept:
        if reg.tau2 is None:
            R2 = _r2_fixed(y, v, X)
        elif fit.tau2 is not None:
            R2 = 0.0 if fit.tau2 == 0 else max(0.0, 100.0 * (fit.tau2 - reg.tau2) / fit.tau2)
    base.update(
        coefficients=reg.coefficients,
        QM=reg.QM,
        QM_df=reg.QM_df,
        QM_pval=reg.QM_pval,
        QE=reg.Q,
        QE_df=reg.Q_df,
        QE_pval=reg.Q_pval,
        R2=R2,
        tau2_residual=reg.tau2,
        se_tau2_residual=reg.se_tau2,
        I2_residual=reg.I2,
        H2_residual=reg.H2,
        mods=M,
        mod_names=names,
    )
    return MetaResult(**base)


def _r2_fixed(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    """metafor's R² for equal-effects meta-regression: adjusted R² of the weighted regression.

    ``R²_adj = 1 - (1 - R²)(k - 1)/(k - p)`` with ``R² = 1 - RSS_w / TSS_w`` (R ``summary.lm``
    with weights ``1/v``), floored at 0 and given in percent.
    """
    k, p = int(X.shape[0]), int(X.shape[1])
    w = 1.0 / v
    if np.var(y) == 0:
        return 0.0
    rss = Projection(w, X).quad(y)
    tss = Projection(w, None).quad(y)
    if k - p <= 0 or tss == 0:
        return 0.0
    r2 = 1.0 - rss / tss
    adj = 1.0 - (1.0 - r2) * (k - 1) / (k - p)
    return max(0.0, 100.0 * adj)
