"""Estimators of the between-study variance tau² for the normal-normal model.

Model: ``y_i = x_i' beta + u_i + e_i`` with ``u_i ~ N(0, tau²)`` and ``e_i ~ N(0, v_i)``
(Viechtbauer 2005, J Educ Behav Stat 30(3):261-293; metafor documentation, ``rma.uni``,
section "Specifying the Model" and "Details"). Notation used in every docstring:

* ``W = diag(w_i)``, ``P = W - W X (X'WX)^{-1} X'W`` (``X`` is k x p; the intercept-only model
  has ``X = 1``); ``Q = y'Py`` is the generalised Q-statistic; with ``w_i = 1/v_i`` it is
  Cochran's Q.
* ``tr(P)``, ``tr(PP)`` traces; ``P_OLS = I - X(X'X)^{-1}X'``.

Estimates are truncated at 0. Standard errors are metafor's (``rma.uni`` source, which follows
the delta method for the moment estimators and the Fisher information for ML/REML).

Nothing here forms a k x k matrix: ``P`` is represented through the k x p matrix ``WX`` and the
p x p matrix ``(X'WX)^{-1}`` (:class:`Projection`), so an intercept-only fit costs O(k) per
iteration and a meta-regression O(k p²).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special  # chi² median without scipy.stats' import cost

from glabella.evidence._zeroin import R_UNIROOT_TOL, TIGHT_TOL, zeroin

__all__ = [
    "METHODS",
    "Projection",
    "Tau2Error",
    "Tau2Estimate",
    "estimate_tau2",
    "q_generalised",
]

FloatArray = npt.NDArray[np.float64]

#: Methods of :func:`estimate_tau2` (EE and FE fix tau² at 0).
METHODS: tuple[str, ...] = (
    "EE",
    "FE",
    "DL",
    "HE",
    "HS",
    "HSk",
    "SJ",
    "ML",
    "REML",
    "EB",
    "PM",
    "PMM",
)

#: Convergence threshold for Fisher scoring (metafor's ``threshold``; the reference used 1e-12).
THRESHOLD = 1e-12
MAXITER = 10_000


def _dot(a: FloatArray, b: FloatArray) -> float:
    """``sum(a * b)`` for vectors; einsum, not BLAS: on long vectors BLAS ``ddot`` spawns
    threads and was 10-20x slower on a busy 2-core machine (bench/results)."""
    if a.shape[0] < 4096:  # short vectors: @ has less call overhead
        return float(a @ b)
    return float(np.einsum("i,i->", a, b))


class Tau2Error(ValueError):
    """tau² cannot be estimated (non-positive variances, no convergence, too few studies)."""


class Projection:
    """``P = W - W X (X'WX)^{-1} X'W`` without the k x k matrix.

    With ``U = WX`` (k x p) and ``M = (X'WX)^{-1}`` (p x p), ``P = W - U M U'``. ``X = None`` is
    the intercept-only model, handled with sums only.
    """

    __slots__ = ("X", "_M", "_U", "_h", "_sw", "w")

    def __init__(self, w: FloatArray, X: FloatArray | None) -> None:
        self.w = w
        self.X = X
        if X is None:
            self._sw = float(w.sum())
            self._U: FloatArray | None = None
            self._M: FloatArray | None = None
            self._h: FloatArray | None = None  # w²/sum(w), computed when needed
        else:
            U = X * w[:, None]
            M = np.asarray(np.linalg.inv(X.T @ U), dtype=np.float64)
            self._U = U
            self._M = M
            self._sw = float(w.sum())
            self._h = np.einsum("ij,ij->i", U @ M, U)

    def beta(self, y: FloatArray) -> FloatArray:
        """Weighted least-squares coefficients ``(X'WX)^{-1} X'W y``."""
        if self.X is None:
            return np.array([_dot(self.w, y) / self._sw])
        assert self._U is not None and self._M is not None
        return np.asarray(self._M @ (self._U.T @ y), dtype=np.float64)

    def vb(self) -> FloatArray:
        """``(X'WX)^{-1}``."""
        if self.X is None:
            return np.array([[1.0 / self._sw]])
        assert self._M is not None
        return self._M

    def resid(self, y: FloatArray) -> FloatArray:
        """``y - X beta``."""
        b = self.beta(y)
        if self.X is None:
            return np.asarray(y - b[0], dtype=np.float64)
        return np.asarray(y - self.X @ b, dtype=np.float64)

    def quad(self, y: FloatArray) -> float:
        """``y'Py`` (the generalised Q-statistic / weighted residual sum of squares)."""
        r = self.resid(y)
        return _dot(self.w, r * r)

    def quad2(self, y: FloatArray) -> float:
        """``y'PPy = sum((w_i r_i)^2)`` since ``Py = W r``."""
        wr = self.w * self.resid(y)
        return _dot(wr, wr)

    def _hat(self) -> FloatArray:
        if self._h is None:
            self._h = self.w * self.w / self._sw
        return self._h

    def diag(self) -> FloatArray:
        """The diagonal of ``P``."""
        return np.asarray(self.w - self._hat(), dtype=np.float64)

    def trace(self) -> float:
        """``tr(P)``."""
        if self.X is None:
            return float(self._sw - _dot(self.w, self.w) / self._sw)
        return float(self._sw - self._hat().sum())

    def sumsq(self, a: FloatArray | None = None, b: FloatArray | None = None) -> float:
        """``sum_ij P_ij^2 a_i b_j`` (``a``, ``b`` default to ones).

        ``sum(P*P)`` is ``sumsq()``, ``tr(PVPV) = sumsq(v, v)`` and ``sum(PV * P) = sumsq(1, v)``.
        Expanding ``P = W - UMU'`` gives
        ``sum w² a b - 2 sum w a b h + tr(M U'BU M U'AU)`` with ``h = diag(UMU')``.
        """
        w = self.w
        if self.X is None and a is None and b is None:
            # sum P_ij² = sum w² - 2 sum w³/sw + (sum w²)²/sw²
            w2 = w * w
            sw2 = float(w2.sum())
            return sw2 - 2.0 * _dot(w2, w) / self._sw + sw2 * sw2 / self._sw**2
        h = self._hat()
        aa = np.ones_like(w) if a is None else a
        bb = np.ones_like(w) if b is None else b
        first = float(np.sum(w * w * aa * bb))
        second = 2.0 * float(np.sum(w * aa * bb * h))
        if self.X is None:
            w2 = w * w
            third = _dot(aa, w2) * _dot(bb, w2) / self._sw**2
        else:
            assert self._U is not None and self._M is not None
            U, M = self._U, self._M
            UA = U.T @ (U * aa[:, None])
            UB = U.T @ (U * bb[:, None])
            third = float(np.trace(M @ UB @ M @ UA))
        return first - second + third


def q_generalised(tau2: float, yi: FloatArray, vi: FloatArray, X: FloatArray | None) -> float:
    """``Q(tau²) = y'P(tau²)y`` with weights ``1/(v_i + tau²)`` (metafor's ``.QE.func``).

    Intercept-only: ``Q = sum w y² - (sum w y)²/sum w`` on ``y`` centred at its mean first
    (``Q`` is invariant to a shift, and centring avoids cancellation): four O(k) passes.
    """
    if X is None:
        yc = yi - float(yi.mean())
        w = np.reciprocal(vi + tau2)
        wy = w * yc
        sw = float(w.sum())
        swy = float(wy.sum())
        return max(0.0, _dot(wy, yc) - swy * swy / sw)
    return Projection(1.0 / (vi + tau2), X).quad(yi)


@dataclass(frozen=True)
class Tau2Estimate:
    """An estimate of tau² with its standard error (None where metafor gives none)."""

    tau2: float
    se: float | None
    method: str
    iterations: int = 0
    converged: bool = True


def _mad(y: FloatArray) -> float:
    med = float(np.median(y))
    return 1.4826 * float(np.median(np.abs(y - med)))


def _ols_projection(k: int, X: FloatArray | None) -> Projection:
    return Projection(np.ones(k), X)


def _he(yi: FloatArray, vi: FloatArray, X: FloatArray | None, p: int) -> tuple[float, Projection]:
    """Hedges (HE) estimator: ``(y'P_OLS y - tr(P_OLS V)) / (k - p)`` (Hedges 1983)."""
    k = yi.shape[0]
    P = _ols_projection(k, X)
    rss = P.quad(yi)
    trpv = _dot(P.diag(), vi)
    return (rss - trpv) / (k - p), P


def estimate_tau2(
    yi: FloatArray,
    vi: FloatArray,
    method: str = "REML",
    X: FloatArray | None = None,
    *,
    threshold: float = THRESHOLD,
    maxiter: int = MAXITER,
    uniroot_tol: float = TIGHT_TOL,
) -> Tau2Estimate:
    """Estimate tau² by ``method`` (names as in metafor's ``rma.uni``).

    * ``EE``/``FE``: tau² = 0 (equal/common-effect model).
    * ``DL`` DerSimonian & Laird (1986, Control Clin Trials 7:177-188), with ``w = 1/v``:
      ``tau² = (Q - (k - p)) / tr(P)``;
      ``SE² = (2(k-p) + 4 tau² tr(P) + 2 tau⁴ tr(PP)) / tr(P)²``.
    * ``HE`` Hedges (1983, Psychol Bull 93:388-395), the OLS moment estimator:
      ``tau² = (y'P_OLS y - tr(P_OLS V)) / (k - p)``;
      ``SE² = (2 tr(P_OLS V P_OLS V) + 4 tau² tr(P_OLS V) + 2 tau⁴ (k-p)) / (k-p)²``.
    * ``HS`` Hunter & Schmidt (2004), with ``w = 1/v``: ``tau² = (Q - k) / sum(w)``;
      ``SE² = (2(k-p) + 4 tau² tr(P) + 2 tau⁴ tr(PP)) / sum(w)²``.
      ``HSk`` (k-corrected, Brannick et al. 2019): ``tau² = (k/(k-p) Q - k) / sum(w)``, SE times
      ``k/(k-p)``.
    * ``SJ`` Sidik & Jonkman (2005, J Biopharm Stat 15:823-838): ``tau0² = mean((y - ybar)²)``,
      ``w = 1/(v + tau0²)``, ``tau² = tau0² Q(tau0²) / (k - p)``;
      ``SE² = tau0⁴ (2 tr(PVPV) + 4 tau² tr(PVP) + 2 tau⁴ tr(PP)) / (k-p)²``.
    * ``ML`` and ``REML`` (Viechtbauer 2005; Raudenbush 2009) by Fisher scoring from the HE
      estimate, with step halving at the 0 bound, until the change is below ``threshold``
      (or 16 ulps of tau², so that large-scale outcomes converge):
      ML step ``(y'PPy - sum w) / sum w²``, REML step ``(y'PPy - tr(P)) / tr(PP)`` with
      ``w = 1/(v + tau²)``. ``SE = sqrt(2 / sum w²)`` (ML), ``sqrt(2 / tr(PP))`` (REML), from the
      Fisher information. If the log-likelihood is larger at tau² = 0, tau² = 0 (metafor's
      ``ll0check``).
    * ``EB`` empirical Bayes (Morris 1983, JASA 78:47-55; Berkey et al. 1995) by the iteration
      ``tau² += (Q(tau²) k/(k-p) - k) / sum w``; it solves ``Q(tau²) = k - p`` like PM.
    * ``PM`` Paule & Mandel (1982, J Res Natl Bur Stand 87:377-385): the root of
      ``Q(tau²) = k - p``; ``PMM`` the median-unbiased version, root of
      ``Q(tau²) = qchisq(0.5, k - p)`` (metafor docs, ``rma.uni``). Both are found with
      R's ``uniroot()`` algorithm on ``[0, max(100, 10 mad(y)²)]``, by default to machine
      precision (metafor stops at ``uniroot``'s tolerance 1.2e-4; pass
      ``uniroot_tol=R_UNIROOT_TOL`` to stop there too). ``SE = sqrt(2 k² / (k-p)) / sum w`` for
      EB, PM and PMM.

    Args:
        yi, vi: effect sizes and sampling variances (no missing values).
        method: one of :data:`METHODS`.
        X: design matrix (k x p) or None for the intercept-only model.
    """
    meth = method.upper() if method.upper() != "HSK" else "HSk"
    if meth not in METHODS:
        raise Tau2Error(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    k = int(yi.shape[0])
    p = 1 if X is None else int(X.shape[1])
    if meth in ("EE", "FE"):
        return Tau2Estimate(0.0, None, meth)
    if k - p < 1:
        raise Tau2Error(f"cannot estimate tau² with k = {k} studies and {p} coefficient(s)")
    allvipos = bool((vi > 0).all())
    if not allvipos and meth in ("DL", "HS", "HSk", "PM", "PMM"):
        raise Tau2Error(f"{meth} needs positive sampling variances")
    problem = _Problem(yi, vi, X, k, p, meth, allvipos, threshold, maxiter, uniroot_tol)
    return ESTIMATORS[meth](problem)


@dataclass(frozen=True)
class _Problem:
    """The checked inputs of one tau² estimation (``k - p >= 1``)."""

    yi: FloatArray
    vi: FloatArray
    X: FloatArray | None
    k: int
    p: int
    method: str
    allvipos: bool
    threshold: float
    maxiter: int
    uniroot_tol: float


def _hunter_schmidt(q: _Problem) -> Tau2Estimate:
    """HS (Hunter & Schmidt 2004) and HSk (Brannick et al. 2019); see :func:`estimate_tau2`."""
    yi, vi, X, k, p = q.yi, q.vi, q.X, q.k, q.p
    P = Projection(1.0 / vi, X)
    rss = P.quad(yi)
    sw = float(np.sum(1.0 / vi))
    raw = (rss - k) / sw if q.method == "HS" else (k / (k - p) * rss - k) / sw
    t2 = max(0.0, raw)
    se = math.sqrt((2 * (k - p) + 4 * t2 * P.trace() + 2 * t2**2 * P.sumsq()) / sw**2)
    if q.method == "HSk":
        se *= k / (k - p)
    return Tau2Estimate(t2, se, q.method)


def _hedges(q: _Problem) -> Tau2Estimate:
    """HE (Hedges 1983), the OLS moment estimator; see :func:`estimate_tau2`."""
    k, p = q.k, q.p
    raw, P = _he(q.yi, q.vi, q.X, p)
    t2 = max(0.0, raw)
    trpv = _dot(P.diag(), q.vi)
    se = math.sqrt(
        (2 * P.sumsq(q.vi, q.vi) + 4 * t2 * trpv + 2 * t2**2 * (k - p)) / float(k - p) ** 2
    )
    return Tau2Estimate(t2, se, q.method)


def _dersimonian_laird(q: _Problem) -> Tau2Estimate:
    """DL (DerSimonian & Laird 1986); see :func:`estimate_tau2`."""
    k, p = q.k, q.p
    P = Projection(1.0 / q.vi, q.X)
    trp = P.trace()
    t2 = max(0.0, (P.quad(q.yi) - (k - p)) / trp)
    se = math.sqrt((2 * (k - p) + 4 * t2 * trp + 2 * t2**2 * P.sumsq()) / trp**2)
    return Tau2Estimate(t2, se, q.method)


def _sidik_jonkman(q: _Problem) -> Tau2Estimate:
    """SJ (Sidik & Jonkman 2005); see :func:`estimate_tau2`."""
    yi, vi, k, p = q.yi, q.vi, q.k, q.p
    yc = yi - yi.mean()
    t0 = _dot(yc, yc) / k
    P = Projection(1.0 / (vi + t0), q.X)
    t2 = max(0.0, t0 * P.quad(yi) / (k - p))
    se = math.sqrt(
        t0**2
        / float(k - p) ** 2
        * (2 * P.sumsq(vi, vi) + 4 * t2 * P.sumsq(None, vi) + 2 * t2**2 * P.sumsq())
    )
    return Tau2Estimate(t2, se, q.method)


def _paule_mandel(q: _Problem) -> Tau2Estimate:
    """PM (Paule & Mandel 1982) and its median-unbiased PMM; see :func:`estimate_tau2`."""
    yi, vi, X, k, p = q.yi, q.vi, q.X, q.k, q.p
    target = float(k - p) if q.method == "PM" else float(special.chdtri(k - p, 0.5))
    hi = max(100.0, 10.0 * _mad(yi) ** 2)

    def f(t: float) -> float:
        return q_generalised(t, yi, vi, X) - target

    f0 = f(0.0)
    if f0 < 0:
        t2 = 0.0
    else:
        fhi = f(hi)
        if fhi > 0:
            raise Tau2Error("tau² is above the search interval; use another method")
        t2 = zeroin(f, 0.0, hi, tol=q.uniroot_tol, maxiter=q.maxiter, f_lower=f0, f_upper=fhi)
        t2 = max(0.0, t2)
    sw = float(np.sum(1.0 / (vi + t2)))
    return Tau2Estimate(t2, math.sqrt(2 * k**2 / (k - p)) / sw, q.method)


def _fisher_scoring(q: _Problem) -> Tau2Estimate:
    """ML, REML (Viechtbauer 2005) and EB (Morris 1983) by Fisher scoring from the HE estimate."""
    yi, vi, X, k, p, meth = q.yi, q.vi, q.X, q.k, q.p, q.method
    threshold, maxiter = q.threshold, q.maxiter
    he, _ = _he(yi, vi, X, p)
    t2 = max(0.0, he)
    if X is None:
        t2, it = _fisher_intercept(yi, vi, t2, meth, threshold, maxiter)
        return _finish_fisher(yi, vi, X, meth, t2, it, threshold, q.allvipos)
    change = threshold + 1.0
    it = 0
    # the threshold is absolute (metafor's); a floor of a few ulps of tau² keeps it reachable on
    # large scales (e.g. mean differences in milliseconds, tau² ~ 1e4), where it is below 1 ulp
    ulps = 16.0 * float(np.finfo(np.float64).eps)
    while change > max(threshold, ulps * t2):
        it += 1
        old = t2
        w = 1.0 / (vi + t2)
        P = Projection(w, X)
        if meth == "ML":
            adj = (P.quad2(yi) - float(w.sum())) / _dot(w, w)
        elif meth == "REML":
            adj = (P.quad2(yi) - P.trace()) / P.sumsq()
        else:
            adj = (P.quad(yi) * k / (k - p) - k) / float(w.sum())
        if not math.isfinite(adj):
            adj = 0.0
        while t2 + adj < 0.0:
            adj /= 2.0
        t2 = t2 + adj
        change = abs(old - t2)
        if it > maxiter:
            raise Tau2Error(f"Fisher scoring for {meth} did not converge in {maxiter} iterations")
    return _finish_fisher(yi, vi, X, meth, t2, it, threshold, q.allvipos)


#: one function per tau² estimator (EE and FE fix tau² at 0 before any is called); a new
#: estimator is a function here, its name in :data:`METHODS` and a metafor reference case
ESTIMATORS: dict[str, Callable[[_Problem], Tau2Estimate]] = {
    "DL": _dersimonian_laird,
    "HE": _hedges,
    "HS": _hunter_schmidt,
    "HSk": _hunter_schmidt,
    "SJ": _sidik_jonkman,
    "ML": _fisher_scoring,
    "REML": _fisher_scoring,
    "EB": _fisher_scoring,
    "PM": _paule_mandel,
    "PMM": _paule_mandel,
}


def _fisher_intercept(
    yi: FloatArray, vi: FloatArray, t2: float, meth: str, threshold: float, maxiter: int
) -> tuple[float, int]:
    """Fisher scoring for the intercept-only model with sums only (same iterates as the
    general loop): with ``w = 1/(v + tau²)``, ``s_j = sum w^j``, ``r = y - sum(wy)/s_1``:
    ``y'PPy = sum (w r)²``, ``tr(P) = s_1 - s_2/s_1``, ``tr(PP) = s_2 - 2 s_3/s_1 + s_2²/s_1²``,
    ``Q = sum w r²``. About ten O(k) passes per iteration, no k x k matrix.
    """
    k = int(yi.shape[0])
    yc = yi - float(yi.mean())  # shift invariance; avoids cancellation in the sums
    ulps = 16.0 * float(np.finfo(np.float64).eps)
    change = threshold + 1.0
    it = 0
    buf = np.empty_like(vi)
    while change > max(threshold, ulps * t2):
        it += 1
        old = t2
        w = np.reciprocal(np.add(vi, t2, out=buf), out=buf)
        s1 = float(w.sum())
        wy = w * yc
        mu = float(wy.sum()) / s1
        r = yc - mu
        wr = w * r
        if meth == "REML":
            s2 = _dot(w, w)
            s3 = _dot(w * w, w)
            trp = s1 - s2 / s1
            trpp = s2 - 2.0 * s3 / s1 + s2 * s2 / (s1 * s1)
            adj = (_dot(wr, wr) - trp) / trpp
        elif meth == "ML":
            adj = (_dot(wr, wr) - s1) / _dot(w, w)
        else:  # EB
            adj = (_dot(wr, r) * k / (k - 1) - k) / s1
        if not math.isfinite(adj):
            adj = 0.0
        while t2 + adj < 0.0:
            adj /= 2.0
        t2 = t2 + adj
        change = abs(old - t2)
        if it > maxiter:
            raise Tau2Error(f"Fisher scoring for {meth} did not converge in {maxiter} iterations")
    return t2, it


def _finish_fisher(
    yi: FloatArray,
    vi: FloatArray,
    X: FloatArray | None,
    meth: str,
    t2: float,
    it: int,
    threshold: float,
    allvipos: bool,
) -> Tau2Estimate:
    """metafor's ``ll0check`` and the standard errors after Fisher scoring."""
    k = int(yi.shape[0])
    p = 1 if X is None else int(X.shape[1])
    if (
        meth in ("ML", "REML")
        and allvipos
        and t2 > threshold
        and _loglik(yi, vi, 0.0, X, meth) - _loglik(yi, vi, t2, X, meth) > R_UNIROOT_TOL
    ):
        t2 = 0.0
    t2 = max(0.0, t2)
    w = 1.0 / (vi + t2)
    if meth == "ML":
        se = math.sqrt(2.0 / _dot(w, w))
    elif meth == "REML":
        se = math.sqrt(2.0 / Projection(w, X).sumsq())
    else:
        se = math.sqrt(2 * k**2 / (k - p)) / float(w.sum())
    return Tau2Estimate(t2, se, meth, iterations=it)


def _loglik(yi: FloatArray, vi: FloatArray, tau2: float, X: FloatArray | None, meth: str) -> float:
    """ML or REML log-likelihood at ``tau2`` (metafor's ``ll.ML`` / ``ll.REML`` without REMLf)."""
    k = int(yi.shape[0])
    if X is None:
        rss = q_generalised(tau2, yi, vi, None)
        base = -0.5 * float(np.sum(np.log(vi + tau2))) - 0.5 * rss
        if meth == "ML":
            return -0.5 * k * math.log(2 * math.pi) + base
        sw = float(np.reciprocal(vi + tau2).sum())
        return -0.5 * (k - 1) * math.log(2 * math.pi) + base - 0.5 * math.log(sw)
    w = 1.0 / (vi + tau2)
    P = Projection(w, X)
    rss = P.quad(yi)
    base = -0.5 * float(np.sum(np.log(vi + tau2))) - 0.5 * rss
    if meth == "ML":
        return -0.5 * k * math.log(2 * math.pi) + base
    p = 1 if X is None else int(X.shape[1])
    _sign, logdet = np.linalg.slogdet(np.linalg.inv(P.vb()))
    return -0.5 * (k - p) * math.log(2 * math.pi) + base - 0.5 * float(logdet)
