"""Mantel-Haenszel and Peto pooling of 2x2 tables: metafor's ``rma.mh`` and ``rma.peto``.

Both are equal-effects methods computed from the tables themselves (no zero-cell correction is
needed for the pooled estimate). Heterogeneity is tested as metafor does. The study estimates
``y_i``, ``v_i`` (reported, and used for forest plots) are those of ``escalc()`` with
``add=1/2, to="only0"`` and ``drop00=TRUE``: tables with no events, or only events, in both arms
give no ``y_i``; ``k_y`` tables give one. Q has ``k_y - 1`` df, ``I² = 100 max(0, (Q - df)/Q)``
and ``H² = Q/df`` (with fewer than two usable tables: Q = 0, p = 1, I² = 0, H² = 1).

* MH (metafor ``rma.mh``): Cochran's ``Q = sum w_i (y_i - theta)^2`` with those ``y_i`` and
  ``w_i = 1/v_i``, so zero-cell tables enter with the 1/2 correction.
* Peto (metafor ``rma.peto``; Yusuf et al. 1985): Q from the uncorrected tables,
  ``Q = sum (O_i - E_i)^2/V_i - (sum (O_i - E_i))^2 / sum V_i`` over the tables with ``V_i > 0``
  (``O_i = a``, ``E_i``, ``V_i`` as below), which is ``sum V_i (y_i - theta)^2`` with Peto's own
  ``y_i = (O_i - E_i)/V_i``; a table with a zero cell enters as it is, without the correction
  its printed ``y_i`` carries (metafor's ``add``/``to`` second elements default to ``0``/
  ``"none"``).

Notation per table: ``a, b`` events and non-events in group 1, ``c, d`` in group 2,
``n1 = a+b``, ``n2 = c+d``, ``N = n1+n2``.

* OR (Mantel & Haenszel 1959): ``OR = R/S``, ``R = sum a d/N``, ``S = sum b c/N``; variance of
  log OR by Robins, Breslow & Greenland (1986, Biometrics 42:311-323):
  ``1/2 [sum P R_i / R² + sum (P S_i + Q R_i)/(R S) + sum Q S_i / S²]`` with
  ``P = (a+d)/N``, ``Q = (b+c)/N``.
* RR: ``RR = sum(a n2/N) / sum(c n1/N)``; variance of log RR by Greenland & Robins (1985,
  Biometrics 41:55-68): ``sum(n1 n2 (a+c)/N² - a c/N) / (R S)``.
* RD: ``RD = sum(a n2/N - c n1/N) / sum(n1 n2/N)`` with the variance of Sato, Greenland &
  Robins (1989, Biometrics 45:1323-1324).
* Peto (Yusuf et al. 1985, Prog Cardiovasc Dis 27:335-371): ``log OR = sum(a - E)/sum V`` with
  ``E = (a+c) n1/N``, ``V = (a+c)(b+d) n1 n2/(N²(N-1))``, ``SE = 1/sqrt(sum V)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import special  # normal and chi² functions without scipy.stats' import cost

from glabella.evidence.effects import escalc
from glabella.evidence.meta import MetaError, MetaResult

__all__ = ["rma_mh", "rma_peto"]

FloatArray = npt.NDArray[np.float64]


def _tables(
    ai: npt.ArrayLike,
    bi: npt.ArrayLike | None,
    ci: npt.ArrayLike,
    di: npt.ArrayLike | None,
    n1i: npt.ArrayLike | None,
    n2i: npt.ArrayLike | None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    a = np.asarray(ai, dtype=np.float64).reshape(-1)
    c = np.asarray(ci, dtype=np.float64).reshape(-1)
    if bi is not None:
        b = np.asarray(bi, dtype=np.float64).reshape(-1)
    elif n1i is not None:
        b = np.asarray(n1i, dtype=np.float64).reshape(-1) - a
    else:
        raise MetaError("give bi or n1i")
    if di is not None:
        d = np.asarray(di, dtype=np.float64).reshape(-1)
    elif n2i is not None:
        d = np.asarray(n2i, dtype=np.float64).reshape(-1) - c
    else:
        raise MetaError("give di or n2i")
    if not (a.shape == b.shape == c.shape == d.shape):
        raise MetaError("ai, bi, ci, di differ in length")
    keep = ~(np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d))
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    if a.shape[0] == 0:
        raise MetaError("no complete 2x2 tables (k = 0)")
    if np.any(np.concatenate([a, b, c, d]) < 0):
        raise MetaError("counts must not be negative")
    return a, b, c, d


def _study_estimates(
    measure: str, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The ``escalc()`` estimates metafor reports (``add=1/2, to="only0", drop00=TRUE``)."""
    both0 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    es = escalc(measure, ai=a, bi=b, ci=c, di=d)
    yi, vi = es.yi.copy(), es.vi.copy()
    yi[both0] = np.nan
    vi[both0] = np.nan
    ok = ~np.isnan(yi)
    return yi[ok], vi[ok]


def _q_summary(Q: float, ky: int, testable: bool) -> tuple[float, int, float, float, float]:
    """Q, its df ``k_y - 1``, p, I² and H² as metafor reports them."""
    if not testable:
        return 0.0, max(ky - 1, 0), 1.0, 0.0, 1.0
    df = ky - 1
    Qp = float(special.chdtrc(df, Q))
    I2 = max(0.0, 100.0 * (Q - df) / Q) if Q > 0 else 0.0
    return Q, df, Qp, I2, Q / df


def _heterogeneity(
    measure: str, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, theta: float
) -> tuple[FloatArray, FloatArray, float, int, float, float, float]:
    """Cochran's Q of the ``escalc()`` estimates about ``theta`` (metafor ``rma.mh``)."""
    y, v = _study_estimates(measure, a, b, c, d)
    ky = int(y.shape[0])
    Q = max(0.0, float(np.sum((y - theta) ** 2 / v))) if ky > 1 else 0.0
    return (y, v, *_q_summary(Q, ky, ky > 1))


def _peto_heterogeneity(
    a: FloatArray,
    b: FloatArray,
    c: FloatArray,
    d: FloatArray,
    E: FloatArray,
    V: FloatArray,
    theta: float,
) -> tuple[FloatArray, FloatArray, float, int, float, float, float]:
    """Peto's Q from the uncorrected tables (Yusuf et al. 1985; metafor ``rma.peto``).

    ``Q = sum (O_i - E_i)^2/V_i - (sum (O_i - E_i))^2 / sum V_i`` over the tables with
    ``V_i > 0``, computed as the equal ``sum (O_i - E_i - theta V_i)^2 / V_i`` with
    ``theta = sum (O_i - E_i) / sum V_i`` (a table with ``V_i = 0`` has ``O_i = E_i``). Tested,
    as metafor does, when more than one table has ``V_i > 0``, on ``k_y - 1`` df where ``k_y``
    counts the tables with an ``escalc()`` estimate (the reported ``y_i``, ``v_i``, which carry
    the 1/2 correction; Q does not).
    """
    y, v = _study_estimates("PETO", a, b, c, d)
    pos = V > 0
    dev = a[pos] - E[pos] - theta * V[pos]
    Q = max(0.0, float(np.sum(dev**2 / V[pos])))
    return (y, v, *_q_summary(Q, int(y.shape[0]), int(pos.sum()) > 1))


def _result(
    *,
    method: str,
    measure: str,
    k: int,
    beta: float,
    se: float,
    level: float,
    weights: FloatArray,
    het: tuple[FloatArray, FloatArray, float, int, float, float, float],
    notes: Sequence[str],
) -> MetaResult:
    y, v, Q, Qdf, Qp, I2, H2 = het
    alpha = (100.0 - level) / 100.0 if level > 1 else 1.0 - level
    crit = float(-special.ndtri(alpha / 2))
    z = beta / se if se > 0 else math.nan
    return MetaResult(
        k=k,
        method=method,
        test="z",
        level=level,
        estimate=beta,
        se=se,
        zval=z,
        tval=None,
        df=None,
        pval=float(2 * special.ndtr(-abs(z))),
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        tau2=None,
        se_tau2=None,
        tau2_ci_lb=None,
        tau2_ci_ub=None,
        I2=I2,
        I2_ci_lb=None,
        I2_ci_ub=None,
        H2=H2,
        H2_ci_lb=None,
        H2_ci_ub=None,
        Q=Q,
        Q_df=Qdf,
        Q_pval=Qp,
        pi_lb=None,
        pi_ub=None,
        weights=weights,
        yi=y,
        vi=v,
        measure=measure,
        notes=tuple(notes),
    )


def rma_mh(
    ai: npt.ArrayLike,
    bi: npt.ArrayLike | None = None,
    ci: npt.ArrayLike | None = None,
    di: npt.ArrayLike | None = None,
    *,
    n1i: npt.ArrayLike | None = None,
    n2i: npt.ArrayLike | None = None,
    measure: str = "OR",
    level: float = 95.0,
) -> MetaResult:
    """Mantel-Haenszel equal-effects meta-analysis of 2x2 tables (see the module docstring).

    Returns a :class:`MetaResult` with ``method="MH"`` on the model scale (log OR, log RR or
    RD); tau², its CI and the prediction interval are None.
    """
    m = measure.upper()
    if m not in ("OR", "RR", "RD"):
        raise MetaError("the Mantel-Haenszel method takes measure OR, RR or RD")
    if ci is None:
        raise MetaError("give ci")
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i)
    n1, n2 = a + b, c + d
    N = n1 + n2
    if m == "OR":
        P = a / N + d / N
        Qi = b / N + c / N
        Ri = (a / N) * d
        Si = (b / N) * c
        R, S = float(Ri.sum()), float(Si.sum())
        if R == 0 or S == 0:
            raise MetaError("the Mantel-Haenszel odds ratio is 0 or infinite (no events)")
        beta = math.log(R / S)
        se = math.sqrt(
            0.5
            * (
                float(np.sum(P * Ri)) / R**2
                + float(np.sum(P * Si + Qi * Ri)) / (R * S)
                + float(np.sum(Qi * Si)) / S**2
            )
        )
        weights = b * c / N
    elif m == "RR":
        R = float(np.sum(a * (n2 / N)))
        S = float(np.sum(c * (n1 / N)))
        if a.sum() == 0 or c.sum() == 0:
            raise MetaError("the Mantel-Haenszel risk ratio is 0 or infinite (no events)")
        beta = math.log(R / S)
        se = math.sqrt(float(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c)) / (R * S))
        weights = c * n1 / N
    else:
        sw = float(np.sum(n1 * (n2 / N)))
        beta = float(np.sum(a * (n2 / N) - c * (n1 / N))) / sw
        se = math.sqrt(
            (
                beta
                * float(
                    np.sum(
                        c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + (n1 / N) * (n2 / N) * (n2 - n1) / 2
                    )
                )
                + float(np.sum(a * (n2 - c) / N + c * (n1 - a) / N)) / 2
            )
            / sw**2
        )
        weights = n1 * n2 / N
    het = _heterogeneity(m, a, b, c, d, beta)
    notes = []
    if het[0].shape[0] < a.shape[0]:
        notes.append(
            f"{a.shape[0] - het[0].shape[0]} table(s) with no events (or only events) in both "
            "arms left out of the heterogeneity test (metafor drop00=TRUE)"
        )
    return _result(
        method="MH",
        measure=m,
        k=int(a.shape[0]),
        beta=beta,
        se=se,
        level=level,
        weights=weights,
        het=het,
        notes=notes,
    )


def rma_peto(
    ai: npt.ArrayLike,
    bi: npt.ArrayLike | None = None,
    ci: npt.ArrayLike | None = None,
    di: npt.ArrayLike | None = None,
    *,
    n1i: npt.ArrayLike | None = None,
    n2i: npt.ArrayLike | None = None,
    level: float = 95.0,
) -> MetaResult:
    """Peto's one-step log odds ratio (metafor ``rma.peto``; see the module docstring).

    Estimate and SE from the tables as they are (Yusuf et al. 1985); heterogeneity by Peto's Q,
    also from the uncorrected tables (:func:`_peto_heterogeneity`), as metafor's ``rma.peto``
    with its defaults (``add=c(1/2, 0)``, ``to=c("only0", "none")``, ``drop00=c(TRUE, FALSE)``:
    the 1/2 correction is only for the reported study estimates). Tables with no counts are
    left out (``k`` counts the rest); tables with no events, or only events, in both arms are
    kept in ``k`` but add nothing to the estimate, Q or its df.
    """
    if ci is None:
        raise MetaError("give ci")
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i)
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    with np.errstate(invalid="ignore", divide="ignore"):
        V = xt * yt * (n1 / N) * (n2 / N) / (N - 1.0)
    V = np.where(np.isfinite(V), V, 0.0)
    sV = float(V.sum())
    if sV <= 0:
        raise MetaError("Peto's method needs at least one table with events and non-events")
    beta = float(np.sum(a - E)) / sV
    se = math.sqrt(1.0 / sV)
    het = _peto_heterogeneity(a, b, c, d, E, V, beta)
    notes = []
    if het[0].shape[0] < a.shape[0]:
        notes.append(
            f"{a.shape[0] - het[0].shape[0]} table(s) with no events (or only events) in both "
            "arms give no study estimate and no heterogeneity df (metafor drop00=TRUE)"
        )
    return _result(
        method="PETO",
        measure="OR",
        k=int(a.shape[0]),
        beta=beta,
        se=se,
        level=level,
        weights=V,
        het=het,
        notes=notes,
    )
