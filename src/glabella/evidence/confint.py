"""Q-profile confidence intervals for tau², I² and H² (metafor ``confint.rma.uni``, type "QP").

The Q-profile method (Viechtbauer 2007, Stat Med 26:37-52) inverts the generalised
Q-statistic ``Q(tau²) = y'P(tau²)y``, which under the model follows a chi-square distribution
with ``k - p`` degrees of freedom and decreases in tau². The bounds solve

    ``Q(tau²_lb) = chi²_{k-p; 1-alpha/2}`` and ``Q(tau²_ub) = chi²_{k-p; alpha/2}``,

searched on ``[0, max(100, 10 tau²)]`` with R's ``uniroot()`` algorithm (as metafor does), to
machine precision. A bound below 0 is set to 0; when even
``Q(0)`` is below the lower critical value the interval is the null set, reported as [0, 0].
I² and H² bounds follow from the tau² bounds through ``I² = 100 tau²/(tau² + v~)`` and
``H² = 1 + tau²/v~`` with the "typical" sampling variance ``v~ = (k - p)/tr(P_FE)``
(Higgins & Thompson 2002, Stat Med 21:1539-1558).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special  # chi² quantiles without scipy.stats' import cost

from glabella.evidence._zeroin import TIGHT_TOL, zeroin
from glabella.evidence.tau2 import Projection, q_generalised

__all__ = ["HeterogeneityCI", "qprofile_ci", "typical_variance"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HeterogeneityCI:
    """Confidence bounds for tau², I² (percent) and H²; ``null_set`` when the CI is empty."""

    tau2_lb: float
    tau2_ub: float
    I2_lb: float
    I2_ub: float
    H2_lb: float
    H2_ub: float
    level: float
    null_set: bool = False


def typical_variance(vi: FloatArray, X: FloatArray | None) -> float:
    """``v~ = (k - p) / tr(P)`` with ``w = 1/v`` (metafor ``i2def = "1"``)."""
    k = int(vi.shape[0])
    p = 1 if X is None else int(X.shape[1])
    return (k - p) / Projection(1.0 / vi, X).trace()


def qprofile_ci(
    yi: FloatArray,
    vi: FloatArray,
    tau2: float,
    X: FloatArray | None = None,
    *,
    level: float = 95.0,
    tol: float = TIGHT_TOL,
    maxiter: int = 1000,
) -> HeterogeneityCI:
    """Q-profile CI for tau² and the implied I² and H² bounds (see the module docstring).

    Args:
        yi, vi: effect sizes and sampling variances (positive).
        tau2: the model's tau² estimate (sets the search interval as metafor does).
        X: design matrix, None for the intercept-only model.
        level: confidence level in percent.
    """
    if np.any(vi <= 0):
        raise ValueError("the Q-profile CI needs positive sampling variances")
    k = yi.shape[0]
    p = 1 if X is None else X.shape[1]
    df = k - p
    alpha = (100.0 - level) / 100.0 if level > 1 else 1.0 - level
    crit_u = float(special.chdtri(df, alpha / 2))  # chi2.isf
    crit_l = float(special.chdtri(df, 1.0 - alpha / 2))  # chi2.ppf
    lo = min(0.0, tau2)
    hi = max(100.0, tau2 * 10.0, lo * 10.0)

    if X is None:
        # intercept only: Q(t) = sum w yc² - (sum w yc)²/sum w with y centred once, so each
        # of the ~20 evaluations of the root search costs five O(k) passes and one buffer
        yc = yi - float(yi.mean())
        yc2 = yc * yc
        buf = np.empty_like(vi)

        def q(t: float) -> float:
            w = np.reciprocal(np.add(vi, t, out=buf), out=buf)
            sw = float(w.sum())
            swy = float(np.einsum("i,i->", w, yc))
            return max(0.0, float(np.einsum("i,i->", w, yc2)) - swy * swy / sw)

    else:

        def q(t: float) -> float:
            return q_generalised(t, yi, vi, X)

    q_lo, q_hi = q(lo), q(hi)
    null_set = False
    # upper bound
    if q_lo < crit_l:
        lb = ub = lo
        null_set = lo <= 0
    else:
        if q_hi > crit_l:
            ub = hi
        else:
            ub = zeroin(
                lambda t: q(t) - crit_l,
                lo,
                hi,
                tol=tol,
                maxiter=maxiter,
                f_lower=q_lo - crit_l,
                f_upper=q_hi - crit_l,
            )
        # lower bound
        if q_hi > crit_u:
            lb = ub = hi
        elif q_lo < crit_u:
            lb = lo
        else:
            lb = zeroin(
                lambda t: q(t) - crit_u,
                lo,
                hi,
                tol=tol,
                maxiter=maxiter,
                f_lower=q_lo - crit_u,
                f_upper=q_hi - crit_u,
            )
    lb, ub = max(lb, 0.0), max(ub, 0.0)
    vt = typical_variance(vi, X)
    return HeterogeneityCI(
        tau2_lb=lb,
        tau2_ub=ub,
        I2_lb=100.0 * lb / (vt + lb),
        I2_ub=100.0 * ub / (vt + ub),
        H2_lb=1.0 + lb / vt,
        H2_ub=1.0 + ub / vt,
        level=level,
        null_set=null_set,
    )
