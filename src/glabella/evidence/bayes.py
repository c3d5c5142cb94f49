"""Bayesian random-effects meta-analysis for few trials, by numerical integration (no MCMC).

The normal-normal hierarchical model ``y_i ~ N(θ_i, σ_i²)``, ``θ_i ~ N(μ, τ²)``, so that
``y_i | μ, τ ~ N(μ, σ_i² + τ²)`` (Röver 2020, J Stat Softw 93(6), section 2.1, eq. 1-2), with a
normal or improper uniform prior on ``μ`` and a proper prior on ``τ`` (half-normal, half-Cauchy
or uniform; section 2.2). The approach is that of R's bayesmeta (Röver 2020, section 2.5):

* Conditional on τ the effect is conjugate: with ``w_i = 1/(σ_i² + τ²)`` (and, for a normal
  prior ``N(μ_p, σ_p²)``, an extra "study" ``y_0 = μ_p`` of weight ``w_0 = 1/σ_p²``),
  ``μ | τ, y ~ N(m(τ), 1/W(τ))`` with ``W = Σ w_i`` and ``m = Σ w_i y_i / W`` (eq. 11-12).
* The marginal likelihood of τ integrates μ out (eq. 9 with the normal or uniform μ prior):
  ``p(y | τ) ∝ Π w_i^{1/2} · W^{-1/2} · exp(-½ Σ w_i (y_i - m)²)`` (the ``w_0`` term included
  for a normal prior), and ``p(τ | y) ∝ p(τ) p(y | τ)``.
* Here the integral over τ is taken in the prior's probability scale ``u = F(τ)``, where
  ``p(τ) dτ = du``: ``p(u | y) ∝ p(y | τ(u))`` on ``[0, 1]`` is bounded and smooth, and is
  integrated by Gauss-Legendre quadrature on many panels. Posterior quantities of μ and of a new
  trial's effect ``θ_new | τ, y ~ N(m(τ), 1/W(τ) + τ²)`` are the resulting mixtures of normals
  (section 2.5, "direct" computation of the mixture), evaluated on the quadrature nodes.

Intervals are equal-tailed and shortest (the latter is what bayesmeta prints). Priors on τ:
weakly informative half-normal with scale 0.5 for log odds/risk ratios and SMDs (Röver, Bender,
Dias, Schmid, Schmidli, Sturtz, Weber & Friede 2021, Res Synth Methods 12:448-474, section 3;
Friede, Röver, Wandel & Neuenschwander 2017, Biom J 59:658-671). Pure: NumPy/SciPy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from glabella.evidence.meta import MetaError

__all__ = ["TAU_PRIOR_KINDS", "BayesResult", "TauPrior", "bayes_meta", "parse_tau_prior"]

FloatArray = npt.NDArray[np.float64]

TAU_PRIOR_KINDS: tuple[str, ...] = ("halfnormal", "halfcauchy", "uniform")
_PANELS = 200
_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)


@dataclass(frozen=True)
class TauPrior:
    """A proper prior on the between-trial SD τ: its ``kind`` and scale (uniform: upper bound)."""

    kind: str
    scale: float

    def __post_init__(self) -> None:
        if self.kind not in TAU_PRIOR_KINDS:
            raise ValueError(f"tau prior must be one of {', '.join(TAU_PRIOR_KINDS)}")
        if not (isinstance(self.scale, int | float) and math.isfinite(self.scale)):
            raise ValueError("the tau prior's scale must be a finite number")
        if self.scale <= 0:
            raise ValueError("the tau prior's scale must be greater than 0")

    def describe(self) -> str:
        """Plain text, e.g. ``half-normal(0.5) prior on tau``."""
        name = {"halfnormal": "half-normal", "halfcauchy": "half-Cauchy", "uniform": "uniform"}
        arg = f"0, {self.scale:g}" if self.kind == "uniform" else f"{self.scale:g}"
        return f"{name[self.kind]}({arg}) prior on tau"

    def quantile(self, u: FloatArray) -> FloatArray:
        """The prior's quantile function ``τ = F^{-1}(u)`` for ``u`` in [0, 1)."""
        s = self.scale
        if self.kind == "halfnormal":  # F(τ) = 2Φ(τ/s) - 1
            return np.asarray(s * special.ndtri((1.0 + u) / 2.0), dtype=np.float64)
        if self.kind == "halfcauchy":  # F(τ) = (2/π) atan(τ/s)
            return np.asarray(s * np.tan(np.pi * u / 2.0), dtype=np.float64)
        return np.asarray(s * u, dtype=np.float64)


def parse_tau_prior(text: str) -> TauPrior:
    """``halfnormal:0.5``, ``halfcauchy:1`` or ``uniform:2`` -> :class:`TauPrior`.

    Raises ``ValueError`` naming the option and the accepted forms.
    """
    forms = "halfnormal:SCALE, halfcauchy:SCALE or uniform:UPPER (a number > 0)"
    kind, sep, value = str(text).strip().lower().partition(":")
    if not sep or kind not in TAU_PRIOR_KINDS:
        raise ValueError(f"--tau-prior {text!r} is not understood; use {forms}")
    try:
        scale = float(value)
    except ValueError:
        raise ValueError(f"--tau-prior {text!r}: {value!r} is not a number; use {forms}") from None
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"--tau-prior {text!r}: the scale must be a number > 0; use {forms}")
    return TauPrior(kind, scale)


@dataclass(frozen=True)
class BayesResult:
    """Marginal posterior summaries of μ, τ and a new trial's effect (model scale)."""

    k: int
    tau_prior: TauPrior
    mu_prior: str
    level: float
    mu_mean: float
    mu_sd: float
    mu_median: float
    mu_ci_lb: float
    mu_ci_ub: float
    mu_shortest_lb: float
    mu_shortest_ub: float
    tau_mean: float
    tau_sd: float
    tau_median: float
    tau_ci_lb: float
    tau_ci_ub: float
    tau_shortest_lb: float
    tau_shortest_ub: float
    pred_mean: float
    pred_sd: float
    pred_lb: float
    pred_ub: float
    p_mu_below_zero: float
    measure: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (the prior as its text and its parts)."""
        out: dict[str, object] = {k: v for k, v in self.__dict__.items() if k not in ("tau_prior",)}
        out["tau_prior"] = {
            "kind": self.tau_prior.kind,
            "scale": self.tau_prior.scale,
            "text": self.tau_prior.describe(),
        }
        out["method"] = (
            "Bayesian random effects; marginal posterior of tau by numerical integration "
            "(Röver 2020, J Stat Softw 93(6)); equal-tailed intervals (shortest also given)"
        )
        return out

    def summary(self) -> str:
        """A few lines of plain text."""
        lv = f"{self.level:g}%"
        return "\n".join(
            (
                f"Bayesian random effects (k = {self.k}; {self.tau_prior.describe()}; "
                f"{self.mu_prior})",
                f"mu:  median {self.mu_median:.4f}, {lv} CrI [{self.mu_ci_lb:.4f}, "
                f"{self.mu_ci_ub:.4f}], mean {self.mu_mean:.4f} (sd {self.mu_sd:.4f})",
                f"tau: median {self.tau_median:.4f}, {lv} CrI [{self.tau_ci_lb:.4f}, "
                f"{self.tau_ci_ub:.4f}]",
                f"new trial: {lv} interval [{self.pred_lb:.4f}, {self.pred_ub:.4f}]",
                f"P(mu < 0) = {self.p_mu_below_zero:.4f}",
            )
        )


def _check(yi: npt.ArrayLike, vi: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    try:
        y = np.asarray(yi, dtype=np.float64).ravel()
        v = np.asarray(vi, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise MetaError("yi and vi must be numbers") from None
    if y.shape != v.shape:
        raise MetaError(f"yi and vi differ in length ({y.shape[0]} vs {v.shape[0]})")
    if y.shape[0] < 1:
        raise MetaError("at least one study is needed")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))):
        raise MetaError("yi and vi must be finite numbers")
    if np.any(v <= 0):
        raise MetaError("every sampling variance vi must be greater than 0")
    return y, v


def _nodes() -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes and weights on [0, 1], ``_PANELS`` panels of 16 points each."""
    edges = np.linspace(0.0, 1.0, _PANELS + 1)
    half = np.diff(edges) / 2.0
    mid = (edges[:-1] + edges[1:]) / 2.0
    u = (mid[:, None] + half[:, None] * _NODES[None, :]).ravel()
    w = (half[:, None] * _GL_WEIGHTS[None, :]).ravel()
    return u, w


def _mixture_quantile(cdf: Callable[[float], float], q: float, lo: float, hi: float) -> float:
    while cdf(lo) > q:
        lo -= hi - lo
    while cdf(hi) < q:
        hi += hi - lo
    return float(optimize.brentq(lambda x: cdf(x) - q, lo, hi, xtol=1e-12, rtol=1e-12))


def _shortest(quantile: Callable[[float], float], mass: float) -> tuple[float, float]:
    """Shortest interval of probability ``mass`` of a unimodal distribution (by its quantiles)."""
    res = optimize.minimize_scalar(
        lambda p: quantile(p + mass) - quantile(p),
        bounds=(1e-12, 1.0 - mass - 1e-12),
        method="bounded",
        options={"xatol": 1e-10},
    )
    p = float(res.x)
    width_at_zero = quantile(mass) - quantile(0.0)
    if width_at_zero <= quantile(p + mass) - quantile(p):
        return quantile(0.0), quantile(mass)
    return quantile(p), quantile(p + mass)


def bayes_meta(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    *,
    tau_prior: TauPrior | None = None,
    mu_prior_mean: float | None = None,
    mu_prior_sd: float | None = None,
    level: float = 95.0,
    measure: str | None = None,
) -> BayesResult:
    """Bayesian random-effects meta-analysis (see the module docstring for the formulas).

    Args:
        yi, vi: effect sizes and sampling variances (model scale, e.g. log OR, SMD).
        tau_prior: prior on τ; default half-normal(0.5).
        mu_prior_mean, mu_prior_sd: a normal prior on μ (both or neither; default improper
            uniform).
        level: credible level in percent.
    """
    y, v = _check(yi, vi)
    prior = tau_prior if tau_prior is not None else TauPrior("halfnormal", 0.5)
    if (mu_prior_mean is None) != (mu_prior_sd is None):
        raise MetaError("give both mu_prior_mean and mu_prior_sd, or neither")
    if mu_prior_sd is not None and not (math.isfinite(mu_prior_sd) and mu_prior_sd > 0):
        raise MetaError("mu_prior_sd must be a number greater than 0")
    if mu_prior_mean is not None and not math.isfinite(mu_prior_mean):
        raise MetaError("mu_prior_mean must be a finite number")
    if not 0 < level < 100:
        raise MetaError(f"level must be between 0 and 100 (got {level:g})")
    w0 = None if mu_prior_sd is None else 1.0 / mu_prior_sd**2
    m0 = 0.0 if mu_prior_mean is None else mu_prior_mean
    mu_text = (
        "uniform (improper) prior on mu"
        if w0 is None
        else f"normal({mu_prior_mean:g}, {mu_prior_sd:g}) prior on mu"
    )

    def conditional(tau: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """log p(y | τ) (up to a constant), m(τ) and 1/W(τ) at each τ (Röver 2020, eq. 9-12)."""
        w = 1.0 / (v[None, :] + tau[:, None] ** 2)  # nodes x studies
        sw = w.sum(axis=1)
        swy = (w * y[None, :]).sum(axis=1)
        sw_all = sw if w0 is None else sw + w0
        m = (swy if w0 is None else swy + w0 * m0) / sw_all
        resid = (w * (y[None, :] - m[:, None]) ** 2).sum(axis=1)
        if w0 is not None:
            resid = resid + w0 * (m0 - m) ** 2
        return 0.5 * np.log(w).sum(axis=1) - 0.5 * np.log(sw_all) - 0.5 * resid, m, 1.0 / sw_all

    u, qw = _nodes()
    tau = prior.quantile(u)
    keep = np.isfinite(tau)
    u, qw, tau = u[keep], qw[keep], tau[keep]
    loglik, m, s2 = conditional(tau)
    top = float(loglik.max())
    dens = qw * np.exp(loglik - top)
    total = float(dens.sum())
    post = dens / total
    alpha = (1.0 - level / 100.0) / 2.0

    # tau: the CDF in u is exact Gauss-Legendre on whole panels plus one partial panel
    panel = np.repeat(np.arange(_PANELS), _NODES.shape[0])[keep]
    per_panel = np.bincount(panel, weights=post, minlength=_PANELS)
    cum_panels = np.concatenate(([0.0], np.cumsum(per_panel)))

    def u_cdf(x: float) -> float:
        j = min(int(x * _PANELS), _PANELS - 1)
        a = j / _PANELS
        if x <= a:
            return float(cum_panels[j])
        half = (x - a) / 2.0
        nodes = a + half + half * _NODES
        t = prior.quantile(nodes)
        ok = np.isfinite(t)
        ll = conditional(t[ok])[0]
        part = float(np.sum(half * _GL_WEIGHTS[ok] * np.exp(ll - top))) / total
        return float(cum_panels[j]) + part

    def tau_q(p: float) -> float:
        if p <= 0.0:
            return 0.0
        if p >= 1.0:
            return float(prior.quantile(np.array([1.0 - 1e-15]))[0])
        uq = float(optimize.brentq(lambda x: u_cdf(x) - p, 0.0, 1.0, xtol=1e-13, rtol=1e-12))
        return float(prior.quantile(np.array([uq]))[0])

    mu_mean = float(np.sum(post * m))
    mu_sd = math.sqrt(max(float(np.sum(post * (s2 + m**2))) - mu_mean**2, 0.0))
    sd_m = np.sqrt(s2)

    def mu_cdf(x: float) -> float:
        return float(np.sum(post * special.ndtr((x - m) / sd_m)))

    sd_pred = np.sqrt(s2 + tau**2)

    def pred_cdf(x: float) -> float:
        return float(np.sum(post * special.ndtr((x - m) / sd_pred)))

    span = 10.0 * max(mu_sd, 1e-8)

    def mu_q(p: float) -> float:
        return _mixture_quantile(mu_cdf, p, mu_mean - span, mu_mean + span)

    pred_var = float(np.sum(post * (s2 + tau**2 + m**2))) - mu_mean**2
    pred_sd = math.sqrt(max(pred_var, 0.0))
    pspan = 10.0 * max(pred_sd, 1e-8)
    mass = level / 100.0
    mu_short = _shortest(mu_q, mass)
    tau_short = _shortest(tau_q, mass)
    tau_mean = float(np.sum(post * tau))
    tau_sd = math.sqrt(max(float(np.sum(post * tau**2)) - tau_mean**2, 0.0))
    return BayesResult(
        k=int(y.shape[0]),
        tau_prior=prior,
        mu_prior=mu_text,
        level=level,
        mu_mean=mu_mean,
        mu_sd=mu_sd,
        mu_median=mu_q(0.5),
        mu_ci_lb=mu_q(alpha),
        mu_ci_ub=mu_q(1.0 - alpha),
        mu_shortest_lb=mu_short[0],
        mu_shortest_ub=mu_short[1],
        tau_mean=tau_mean,
        tau_sd=tau_sd,
        tau_median=tau_q(0.5),
        tau_ci_lb=tau_q(alpha),
        tau_ci_ub=tau_q(1.0 - alpha),
        tau_shortest_lb=tau_short[0],
        tau_shortest_ub=tau_short[1],
        pred_mean=mu_mean,
        pred_sd=pred_sd,
        pred_lb=_mixture_quantile(pred_cdf, alpha, mu_mean - pspan, mu_mean + pspan),
        pred_ub=_mixture_quantile(pred_cdf, 1.0 - alpha, mu_mean - pspan, mu_mean + pspan),
        p_mu_below_zero=mu_cdf(0.0),
        measure=measure,
    )
