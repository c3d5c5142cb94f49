"""Bayesian random-effects meta-analysis for few trials, by numerical integration (no MCMC).

The approach of R's bayesmeta (Röver 2020, "Bayesian random-effects meta-analysis using the
bayesmeta R package", J Stat Softw 93(6); section and equation numbers below are that paper's).

Model (section 2.1): the normal-normal hierarchical model ``y_i | θ_i ~ N(θ_i, σ_i²)``,
``θ_i | μ, τ ~ N(μ, τ²)`` (eq. 1), i.e. ``y_i | μ, τ ~ N(μ, σ_i² + τ²)`` (eq. 2), with
``σ_i² = v_i``. Priors (section 2.2), independent: ``μ`` improper uniform or normal
``N(μ_p, σ_p²)``; ``τ`` half-normal(s), half-Cauchy(s) or uniform(0, s).

* Conditional on τ, μ is conjugate (section 2.5): ``μ | τ, y ~ N(μ̂(τ), σ̂²(τ))`` with
  ``w_i = 1/(σ_i² + τ²)``, ``μ̂ = Σ w_i y_i / Σ w_i`` and ``σ̂² = 1 / Σ w_i`` (uniform prior,
  eq. 12), or ``μ̂ = (μ_p/σ_p² + Σ w_i y_i) / (1/σ_p² + Σ w_i)``, ``σ̂² = 1/(1/σ_p² + Σ w_i)``
  (normal prior, eq. 14).
* Marginal likelihood of τ (section 2.4, μ integrated out, eq. 10):
  ``log p(y | τ) = -½ [Σ log(σ_i²+τ²) + Σ (y_i-μ̂)²/(σ_i²+τ²) + log Σ w_i] + const`` (uniform,
  eq. 11/13) and, for the normal prior, the same plus ``(μ_p-μ̂)²/σ_p²`` inside the bracket and
  ``log(1/σ_p² + Σ w_i)`` in place of ``log Σ w_i`` (eq. 15).
* Marginal posterior ``p(τ | y) ∝ p(y | τ) p(τ)`` (section 2.6, eq. 16). Its normalising
  constant, CDF and quantiles are computed by one-dimensional quadrature, as bayesmeta does with
  R's ``integrate()`` and ``uniroot()`` (section 2.11). Here the integral is taken in
  ``t = log τ`` (density ``p(τ | y) τ``, whose tails decay at least exponentially for these
  priors), over the range where the log density is within 45 of its maximum (the mass outside is
  < 1e-19), by adaptive Gauss-Kronrod (7/15-point) quadrature to a relative error estimate of
  1e-10.
* The joint posterior ``p(μ, τ | y) = p(μ | τ, y) p(τ | y)`` (eq. 17) makes ``p(μ | y)`` a
  mixture of the normal conditionals over ``p(τ | y)``; it is approximated by the discrete
  mixture on the quadrature nodes (eq. 18; bayesmeta chooses its nodes with the "direct"
  algorithm of Röver & Friede 2017, J Comput Graph Stat 26:217-222, section 2.11 and
  appendix D). Its CDF is ``Σ_j w_j Φ((x - μ̂(τ_j))/σ̂(τ_j))``; quantiles by root-finding.
* A new trial's effect (section 2.7): ``θ_{k+1} | τ, y ~ N(μ̂(τ), σ̂²(τ) + τ²)``, mixed likewise.
* Shrinkage estimates of the study effects (section 2.8; Gelman et al., Bayesian Data
  Analysis, section 5.5): ``θ_i | τ, y`` is normal with mean ``b_i y_i + (1-b_i) μ̂(τ)`` and
  variance ``b_i σ_i² + (1-b_i)² σ̂²(τ)``, ``b_i = τ²/(σ_i² + τ²)``, mixed likewise.
* Credible intervals (section 2.9): equal-tailed (central) and shortest; bayesmeta prints the
  shortest ones.

Moments that do not exist are reported as ``inf`` (the mean of a positive quantity, or a
standard deviation) or ``nan`` (the mean of μ or of a new trial): with a half-Cauchy prior the
posterior of τ has the tail ``τ^-(k+1)`` (uniform μ prior) or ``τ^-(k+2)`` (normal prior), so for
example with one or two studies and a uniform μ prior ``E[τ²]`` is infinite.

Default prior: the weakly informative half-normal(0.5) on τ for log odds/risk ratios and SMDs
(Röver, Bender, Dias, Schmid, Schmidli, Sturtz, Weber & Friede 2021, Res Synth Methods
12:448-474; Friede, Röver, Wandel & Neuenschwander 2017, Biom J 59:658-671). Pure: NumPy/SciPy
only, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from glabella.evidence.meta import MetaError

__all__ = [
    "TAU_PRIOR_KINDS",
    "BayesResult",
    "StudyShrinkage",
    "TauPrior",
    "bayes_meta",
    "parse_tau_prior",
]

FloatArray = npt.NDArray[np.float64]

TAU_PRIOR_KINDS: tuple[str, ...] = ("halfnormal", "halfcauchy", "uniform")

# Gauss-Kronrod 7/15 rule on [-1, 1] (QUADPACK qk15; Piessens et al. 1983): Kronrod nodes and
# weights, and the weights of the embedded 7-point Gauss rule (on the odd-numbered nodes).
_XK_HALF = np.array(
    [0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
     0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
     0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
     0.207784955007898467600689403773245, 0.0]
)  # fmt: skip
_WK_HALF = np.array(
    [0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
     0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
     0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
     0.204432940075298892414161999234649, 0.209482141084727828012999174891714]
)  # fmt: skip
_WG_HALF = np.array(
    [0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
     0.381830050505118944950369775488975, 0.417959183673469387755102040816327]
)  # fmt: skip
_XK = np.concatenate((-_XK_HALF[:-1], _XK_HALF[::-1]))  # ascending, 15 nodes
_WK = np.concatenate((_WK_HALF[:-1], _WK_HALF[::-1]))
_WG = np.zeros(15)
_WG[1::2] = np.concatenate((_WG_HALF[:-1], _WG_HALF[::-1]))  # Gauss nodes are _XK[1::2]

_LOG_DROP = 45.0  # integrate where log p(t | y) > max - 45
_REL_TOL = 1e-10
_MAX_PANELS = 4000


@dataclass(frozen=True)
class TauPrior:
    """A proper prior on the between-trial SD τ: its ``kind`` and scale (uniform: upper bound).

    Densities on ``τ > 0`` (Röver 2020, section 2.2): half-normal
    ``2/(s√(2π)) exp(-τ²/(2s²))``, half-Cauchy ``2/(πs(1 + τ²/s²))``, uniform ``1/s`` on
    ``[0, s]``.
    """

    kind: str
    scale: float

    def __post_init__(self) -> None:
        if self.kind not in TAU_PRIOR_KINDS:
            raise ValueError(f"tau prior must be one of {', '.join(TAU_PRIOR_KINDS)}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int | float):
            raise ValueError("the tau prior's scale must be a number")
        if not math.isfinite(self.scale) or self.scale <= 0:
            raise ValueError("the tau prior's scale must be a finite number greater than 0")

    def describe(self) -> str:
        """Plain text, e.g. ``half-normal(0.5) prior on tau``."""
        name = {"halfnormal": "half-normal", "halfcauchy": "half-Cauchy", "uniform": "uniform"}
        arg = f"0, {self.scale:g}" if self.kind == "uniform" else f"{self.scale:g}"
        return f"{name[self.kind]}({arg}) prior on tau"

    def log_density(self, tau: FloatArray) -> FloatArray:
        """``log p(τ)`` up to a constant, for ``τ ≥ 0`` (``-inf`` outside a uniform prior)."""
        z = tau / self.scale
        if self.kind == "halfnormal":
            return np.asarray(-0.5 * z**2, dtype=np.float64)
        if self.kind == "halfcauchy":
            return np.asarray(-np.log1p(z**2), dtype=np.float64)
        # the integration range ends at log(s); exp(log(s)) may round just above s
        return np.where(tau <= self.scale * (1.0 + 1e-12), 0.0, -np.inf)


_DEFAULT_PRIOR = TauPrior("halfnormal", 0.5)


def parse_tau_prior(text: str) -> TauPrior:
    """``halfnormal:0.5``, ``halfcauchy:1`` or ``uniform:2`` -> :class:`TauPrior`.

    Raises ``ValueError`` naming the option (``--tau-prior``) and the accepted forms.
    """
    forms = "halfnormal:SCALE, halfcauchy:SCALE or uniform:UPPER (a number > 0)"
    kind, sep, value = str(text).strip().lower().partition(":")
    if not sep or kind.strip() not in TAU_PRIOR_KINDS:
        raise ValueError(f"--tau-prior {text!r} is not understood; use {forms}")
    try:
        scale = float(value)
    except ValueError:
        raise ValueError(f"--tau-prior {text!r}: {value!r} is not a number; use {forms}") from None
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"--tau-prior {text!r}: the scale must be a number > 0; use {forms}")
    return TauPrior(kind.strip(), scale)


@dataclass(frozen=True)
class StudyShrinkage:
    """Posterior of one study's true effect θ_i (Röver 2020, section 2.8)."""

    index: int
    y: float
    se: float
    mean: float
    sd: float
    median: float
    ci_lb: float
    ci_ub: float
    shortest_lb: float
    shortest_ub: float

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class BayesResult:
    """Marginal posterior summaries of μ, τ and a new trial's effect (model scale).

    ``*_ci_*`` are equal-tailed intervals at ``level`` percent, ``*_shortest_*`` the shortest
    intervals of the same mass (what bayesmeta prints). ``pred_*`` describe a new trial's
    effect θ_{k+1}. ``shrinkage`` has one entry per study, in input order.
    """

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
    pred_median: float
    pred_lb: float
    pred_ub: float
    pred_shortest_lb: float
    pred_shortest_ub: float
    p_mu_below_zero: float
    p_mu_above_zero: float
    shrinkage: tuple[StudyShrinkage, ...] = ()
    measure: str | None = None
    #: A new trial's effect as the discrete normal mixture of eq. 18 (section 2.7): weights,
    #: means μ̂(τ_j) and SDs √(σ̂²(τ_j) + τ_j²) on the quadrature nodes (for assurance).
    predictive: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] = field(
        default=((), (), ()), repr=False, compare=False
    )

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (the prior as its kind, scale and text)."""
        out: dict[str, object] = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("tau_prior", "shrinkage", "predictive")
        }
        out["tau_prior"] = {
            "kind": self.tau_prior.kind,
            "scale": self.tau_prior.scale,
            "text": self.tau_prior.describe(),
        }
        out["shrinkage"] = [s.to_dict() for s in self.shrinkage]
        out["method"] = (
            "Bayesian random effects; marginal posterior of tau by numerical integration "
            "(Röver 2020, J Stat Softw 93(6)); equal-tailed intervals (shortest also given)"
        )
        return out

    def summary(self) -> str:
        """A few lines of plain text."""
        lv = f"{self.level:g}%"

        def num(x: float) -> str:
            return f"{x:.4f}" if math.isfinite(x) else "undefined"

        return "\n".join(
            (
                f"Bayesian random effects (k = {self.k}; {self.tau_prior.describe()}; "
                f"{self.mu_prior})",
                f"mu:  median {self.mu_median:.4f}, {lv} CrI [{self.mu_ci_lb:.4f}, "
                f"{self.mu_ci_ub:.4f}], mean {num(self.mu_mean)} (sd {num(self.mu_sd)})",
                f"tau: median {self.tau_median:.4f}, {lv} CrI [{self.tau_ci_lb:.4f}, "
                f"{self.tau_ci_ub:.4f}]",
                f"new trial: {lv} interval [{self.pred_lb:.4f}, {self.pred_ub:.4f}]",
                f"P(mu < 0) = {self.p_mu_below_zero:.4g}, P(mu > 0) = {self.p_mu_above_zero:.4g}",
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


def _brent(f: Callable[[float], float], lo: float, hi: float) -> float:
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))


@dataclass(frozen=True)
class _Mixture:
    """A discrete mixture of normals ``Σ_j w_j N(mean_j, sd_j²)`` (Röver 2020, eq. 18)."""

    w: FloatArray
    mean: FloatArray
    sd: FloatArray

    def cdf(self, x: float) -> float:
        return float(np.sum(self.w * special.ndtr((x - self.mean) / self.sd)))

    def sf(self, x: float) -> float:
        return float(np.sum(self.w * special.ndtr((self.mean - x) / self.sd)))

    def pdf(self, x: float) -> float:
        z = (x - self.mean) / self.sd
        return float(np.sum(self.w * np.exp(-0.5 * z**2) / self.sd)) / math.sqrt(2.0 * math.pi)

    def moments(self) -> tuple[float, float]:
        m = float(np.sum(self.w * self.mean))
        var = float(np.sum(self.w * (self.sd**2 + self.mean**2))) - m**2
        return m, math.sqrt(max(var, 0.0))

    def quantile(self, p: float) -> float:
        """The ``p`` quantile (0 < p < 1): Newton's method on ``F(x) = p`` from the normal
        approximation, safeguarded by a bracket ``F(lo) < p < F(hi)`` (bisection, or doubling
        steps while one side of the bracket is still open)."""
        m, s = self.moments()
        s = max(s, 1e-300)
        x = m + s * float(special.ndtri(p))
        lo, hi = -math.inf, math.inf
        grow = s
        for _ in range(500):
            r = self.cdf(x) - p
            if r == 0.0:
                return x
            if r < 0:
                lo = x
            else:
                hi = x
            dens = self.pdf(x)
            step = r / dens if dens > 0 else math.inf
            tol = 1e-13 * s + 4.0 * np.finfo(float).eps * abs(x)
            if abs(step) <= tol:
                return x - step
            new = x - step
            if not lo < new < hi:
                if math.isfinite(lo) and math.isfinite(hi):
                    new = 0.5 * (lo + hi)
                    if hi - lo <= tol:
                        return new
                else:
                    grow *= 2.0
                    new = lo + grow if math.isfinite(lo) else hi - grow
            x = new
        return x  # pragma: no cover - converges in a handful of steps

    def shortest(self, mass: float) -> tuple[float, float]:
        """Shortest interval of probability ``mass`` (Röver 2020, section 2.9): for a unimodal
        density its ends have equal density, ``f(q(p)) = f(q(p + mass))``, solved for ``p``."""
        eps = 1e-12

        def gap(p: float) -> float:
            return self.pdf(self.quantile(p)) - self.pdf(self.quantile(p + mass))

        lo, hi = eps, 1.0 - mass - eps
        if gap(lo) >= 0 or gap(hi) <= 0:  # not unimodal enough to bracket: minimise the width
            return _shortest(self.quantile, mass)
        p = float(optimize.brentq(gap, lo, hi, xtol=1e-13))
        return self.quantile(p), self.quantile(p + mass)


def _shortest(
    quantile: Callable[[float], float], mass: float, lower_bound: float | None = None
) -> tuple[float, float]:
    """Shortest interval of probability ``mass`` of a unimodal distribution, by minimising
    ``q(p + mass) - q(p)`` over ``p`` (Röver 2020, section 2.9); with ``lower_bound`` (τ: 0) the
    one-sided interval ``[lower_bound, q(mass)]`` is a candidate too."""
    eps = 1e-9
    res = optimize.minimize_scalar(
        lambda p: quantile(p + mass) - quantile(p),
        bounds=(eps, 1.0 - mass - eps),
        method="bounded",
        options={"xatol": 1e-9},
    )
    p = float(res.x)
    lo, hi = quantile(p), quantile(p + mass)
    if lower_bound is not None:
        one_sided = quantile(mass)
        if one_sided - lower_bound <= hi - lo:
            return lower_bound, one_sided
    return lo, hi


def _moment_exists(order: int, prior: TauPrior, k: int, normal_mu: bool) -> bool:
    """Whether ``E[τ^order | y]`` is finite: the half-Cauchy posterior tail is ``τ^-a`` with
    ``a = 2 + (k - 1)`` (uniform μ prior: ``p(y | τ) ~ τ^-(k-1)``, eq. 11) or ``a = 2 + k``
    (normal μ prior, eq. 15); other priors have all moments."""
    if prior.kind != "halfcauchy":
        return True
    a = 2 + (k if normal_mu else k - 1)
    return order < a - 1


def bayes_meta(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    *,
    tau_prior: TauPrior = _DEFAULT_PRIOR,
    mu_prior_mean: float | None = None,
    mu_prior_sd: float | None = None,
    level: float = 95.0,
    measure: str | None = None,
) -> BayesResult:
    """Bayesian random-effects meta-analysis (see the module docstring for the formulas).

    Args:
        yi, vi: effect sizes and sampling variances ``σ_i²`` (model scale, e.g. log OR, SMD).
        tau_prior: prior on τ; default half-normal(0.5).
        mu_prior_mean, mu_prior_sd: a normal prior on μ (both or neither; default improper
            uniform).
        level: credible level in percent (as :func:`glabella.evidence.meta.rma`, a value ≤ 1 is
            taken as a fraction).
        measure: the effect measure's name, carried into the result.

    Raises:
        MetaError: on bad data (lengths, non-finite values, ``vi ≤ 0``) or bad arguments.
    """
    y, v = _check(yi, vi)
    if not isinstance(tau_prior, TauPrior):
        raise MetaError("tau_prior must be a TauPrior (see parse_tau_prior)")
    prior = tau_prior
    if (mu_prior_mean is None) != (mu_prior_sd is None):
        raise MetaError("give both mu_prior_mean and mu_prior_sd, or neither")
    if mu_prior_sd is not None and not (math.isfinite(mu_prior_sd) and mu_prior_sd > 0):
        raise MetaError("mu_prior_sd must be a number greater than 0")
    if mu_prior_mean is not None and not math.isfinite(mu_prior_mean):
        raise MetaError("mu_prior_mean must be a finite number")
    if not (math.isfinite(level) and 0 < level < 100):
        raise MetaError(f"level must be between 0 and 100 (got {level:g})")
    mass = level / 100.0 if level > 1 else level
    alpha = (1.0 - mass) / 2.0
    k = int(y.shape[0])
    w0 = None if mu_prior_sd is None else 1.0 / mu_prior_sd**2
    m0 = 0.0 if mu_prior_mean is None else float(mu_prior_mean)
    mu_text = (
        "uniform (improper) prior on mu"
        if mu_prior_sd is None
        else f"normal({mu_prior_mean:g}, {mu_prior_sd:g}) prior on mu"
    )

    def conditional(tau: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``log p(y | τ)`` up to a constant (eq. 13 or 15), ``μ̂(τ)`` and ``σ̂²(τ)`` (eq. 12/14)."""
        w = 1.0 / (v[None, :] + tau[:, None] ** 2)  # nodes x studies
        sw = w.sum(axis=1)
        swy = (w * y[None, :]).sum(axis=1)
        if w0 is None:
            sw_all, m = sw, swy / sw
        else:
            sw_all = sw + w0
            m = (swy + w0 * m0) / sw_all
        resid = (w * (y[None, :] - m[:, None]) ** 2).sum(axis=1)
        if w0 is not None:
            resid = resid + w0 * (m0 - m) ** 2
        loglik = 0.5 * np.log(w).sum(axis=1) - 0.5 * np.log(sw_all) - 0.5 * resid
        return loglik, m, 1.0 / sw_all

    def log_g(t: FloatArray) -> FloatArray:
        """Log posterior density of ``t = log τ`` (eq. 16 times the Jacobian ``τ``)."""
        tau = np.exp(t)
        out = conditional(tau)[0] + prior.log_density(tau) + t
        return np.where(np.isnan(out), -np.inf, out)

    # --- the range of t that holds the posterior mass -------------------------------------
    t_max = math.log(prior.scale) if prior.kind == "uniform" else 300.0
    t_min = -700.0
    scales = [prior.scale, math.sqrt(float(v.min())), math.sqrt(float(v.max()))]
    spread = float(np.ptp(y))
    if spread > 0:
        scales.append(spread)
    lo = max(math.log(min(scales)) - 6.0, t_min)
    hi = min(math.log(max(scales)) + 6.0, t_max)
    step = 0.125
    while True:
        grid = np.linspace(lo, hi, max(math.ceil((hi - lo) / step), 8) + 1)
        lg = log_g(grid)
        top = float(lg.max())
        if not math.isfinite(top):  # cannot happen for a proper prior and finite data
            raise MetaError("the posterior of tau could not be evaluated")
        grow_lo = lg[0] > top - _LOG_DROP and lo > t_min
        grow_hi = lg[-1] > top - _LOG_DROP and hi < t_max
        if not (grow_lo or grow_hi):
            break
        if grow_lo:
            lo = max(lo - 10.0, t_min)
        if grow_hi:
            hi = min(hi + 10.0, t_max)
    inside = np.flatnonzero(lg > top - _LOG_DROP)
    i0, i1 = max(int(inside[0]) - 1, 0), min(int(inside[-1]) + 1, grid.size - 1)
    a_t, b_t = float(grid[i0]), float(grid[i1])
    j = int(np.argmax(lg))
    mode = float(
        optimize.minimize_scalar(
            lambda t: -float(log_g(np.array([t]))[0]),
            bounds=(float(grid[max(j - 1, 0)]), float(grid[min(j + 1, grid.size - 1)])),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
    )
    top = max(top, float(log_g(np.array([mode]))[0]))

    # --- adaptive Gauss-Kronrod (7/15) quadrature over [a_t, b_t] in t --------------------
    def g(t: FloatArray) -> FloatArray:
        return np.asarray(np.exp(log_g(t) - top), dtype=np.float64)

    def panels_rule(left: FloatArray, right: FloatArray) -> tuple[FloatArray, FloatArray]:
        half = (right - left) / 2.0
        nodes = (left + right)[:, None] / 2.0 + half[:, None] * _XK[None, :]
        f = g(nodes.ravel()).reshape(nodes.shape)
        return half * (f @ _WK), half * (f @ _WG)

    edges = np.linspace(a_t, b_t, 33)
    if a_t < mode < b_t:
        edges = np.unique(np.concatenate((edges, [mode])))
    left, right = edges[:-1], edges[1:]
    kron, gauss = panels_rule(left, right)
    while True:
        err = np.abs(kron - gauss)
        total = float(kron.sum())
        if float(err.sum()) <= _REL_TOL * total or left.size >= _MAX_PANELS:
            break
        split = err > _REL_TOL * total / left.size
        mid = (left[split] + right[split]) / 2.0
        new_left = np.concatenate((left[~split], left[split], mid))
        new_right = np.concatenate((right[~split], mid, right[split]))
        order = np.argsort(new_left)
        left, right = new_left[order], new_right[order]
        kron, gauss = panels_rule(left, right)
    total = float(kron.sum())
    cum = np.concatenate(([0.0], np.cumsum(kron) / total))

    half = (right - left) / 2.0
    t_nodes = ((left + right)[:, None] / 2.0 + half[:, None] * _XK[None, :]).ravel()
    tau = np.exp(t_nodes)
    post = (half[:, None] * _WK[None, :]).ravel() * g(t_nodes) / total  # mixture weights
    post = np.clip(post, 0.0, None)  # K15 weights are positive; guard rounding only
    _, m, s2 = conditional(tau)

    def t_cdf(x: float) -> float:
        """Posterior CDF of t: whole panels plus the K15 rule on part of one panel."""
        i = int(np.clip(np.searchsorted(left, x, side="right") - 1, 0, left.size - 1))
        x = min(max(x, float(left[i])), float(right[i]))
        h = (x - float(left[i])) / 2.0
        nodes = float(left[i]) + h + h * _XK
        return float(cum[i]) + h * float(g(nodes) @ _WK) / total

    def tau_q(p: float) -> float:
        if p <= 0.0:
            return 0.0
        if p >= 1.0:
            return math.exp(b_t)
        i = int(np.clip(np.searchsorted(cum, p, side="left") - 1, 0, left.size - 1))
        a, b = float(left[i]), float(right[i])
        if t_cdf(b) <= p:  # p at a panel edge (rounding of the cumulative sum)
            return math.exp(b)
        return math.exp(_brent(lambda x: t_cdf(x) - p, a, b))

    normal_mu = w0 is not None
    finite_mean = _moment_exists(1, prior, k, normal_mu)
    finite_var = _moment_exists(2, prior, k, normal_mu)
    tau_mean = float(np.sum(post * tau)) if finite_mean else math.inf
    tau_sd = (
        math.sqrt(max(float(np.sum(post * tau**2)) - tau_mean**2, 0.0)) if finite_var else math.inf
    )

    mu_mix = _Mixture(post, m, np.sqrt(s2))
    pred_mix = _Mixture(post, m, np.sqrt(s2 + tau**2))
    mu_mean, mu_sd = mu_mix.moments()
    pred_mean, pred_sd = pred_mix.moments()
    if not normal_mu:  # σ̂²(τ) grows like τ²/k: μ's moments are those of τ
        mu_mean = mu_mean if finite_mean else math.nan
        mu_sd = mu_sd if finite_var else math.inf
    pred_mean = pred_mean if finite_mean else math.nan
    pred_sd = pred_sd if finite_var else math.inf

    shrink = []
    for i in range(k):
        b = tau**2 / (v[i] + tau**2)
        mix = _Mixture(post, b * y[i] + (1.0 - b) * m, np.sqrt(b * v[i] + (1.0 - b) ** 2 * s2))
        s_mean, s_sd = mix.moments()
        s_short = mix.shortest(mass)
        shrink.append(
            StudyShrinkage(
                index=i,
                y=float(y[i]),
                se=math.sqrt(float(v[i])),
                mean=s_mean,
                sd=s_sd,
                median=mix.quantile(0.5),
                ci_lb=mix.quantile(alpha),
                ci_ub=mix.quantile(1.0 - alpha),
                shortest_lb=s_short[0],
                shortest_ub=s_short[1],
            )
        )

    mu_short = mu_mix.shortest(mass)
    pred_short = pred_mix.shortest(mass)
    tau_short = _shortest(tau_q, mass, lower_bound=0.0)
    return BayesResult(
        k=k,
        tau_prior=prior,
        mu_prior=mu_text,
        level=100.0 * mass,
        mu_mean=mu_mean,
        mu_sd=mu_sd,
        mu_median=mu_mix.quantile(0.5),
        mu_ci_lb=mu_mix.quantile(alpha),
        mu_ci_ub=mu_mix.quantile(1.0 - alpha),
        mu_shortest_lb=mu_short[0],
        mu_shortest_ub=mu_short[1],
        tau_mean=tau_mean,
        tau_sd=tau_sd,
        tau_median=tau_q(0.5),
        tau_ci_lb=tau_q(alpha),
        tau_ci_ub=tau_q(1.0 - alpha),
        tau_shortest_lb=tau_short[0],
        tau_shortest_ub=tau_short[1],
        pred_mean=pred_mean,
        pred_sd=pred_sd,
        pred_median=pred_mix.quantile(0.5),
        pred_lb=pred_mix.quantile(alpha),
        pred_ub=pred_mix.quantile(1.0 - alpha),
        pred_shortest_lb=pred_short[0],
        pred_shortest_ub=pred_short[1],
        p_mu_below_zero=mu_mix.cdf(0.0),
        p_mu_above_zero=mu_mix.sf(0.0),
        shrinkage=tuple(shrink),
        measure=measure,
        predictive=(
            tuple(float(x) for x in post),
            tuple(float(x) for x in m),
            tuple(float(x) for x in np.sqrt(s2 + tau**2)),
        ),
    )
