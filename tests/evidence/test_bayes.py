"""Bayesian random-effects meta-analysis (glabella.evidence.bayes) against the worked example of
Röver 2020 (J Stat Softw 93(6), section 3), brute-force two-dimensional quadrature, scipy's
adaptive quadrature, exact limiting cases and an independent MCMC sampler (emcee)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special, stats

from glabella.evidence import bayes
from glabella.evidence.bayes import TauPrior, bayes_meta, parse_tau_prior
from glabella.evidence.effects import escalc
from glabella.evidence.meta import MetaError, rma

# Crins et al. 2014 (Pediatr Transplant 18:839), acute rejection with IL-2RA vs control, in the
# row order of bayesmeta's data file (data/CrinsEtAl2014.R): Spada 2006, Ganschow 2005,
# Gibelli 2004, Heffron 2003, Schuller 2005, Gras 2008. Events / totals per arm; log OR by escalc
# (Röver 2020, section 3.2-3.3; no zero-cell correction needed except for Gras, 0/50 vs 3/34).
CRINS = {
    "ai": [4, 9, 16, 14, 3, 0],
    "n1i": [36, 54, 28, 61, 18, 50],
    "ci": [11, 29, 19, 15, 8, 3],
    "n2i": [36, 54, 28, 20, 12, 34],
}
HEFFRON, GIBELLI, SPADA = 3, 2, 0


def crins() -> tuple[np.ndarray, np.ndarray]:
    cols: dict[str, Any] = {k: np.asarray(v, float) for k, v in CRINS.items()}
    es = escalc("OR", **cols)
    return np.asarray(es.yi), np.asarray(es.vi)


def ma01(level: float = 95.0) -> bayes.BayesResult:
    """Röver 2020's ``ma01``: normal(0, 4) prior on mu, half-normal(0.5) prior on tau."""
    y, v = crins()
    return bayes_meta(
        y, v, tau_prior=TauPrior("halfnormal", 0.5), mu_prior_mean=0.0, mu_prior_sd=4.0, level=level
    )


def test_crins_data_as_printed_in_rover_2020() -> None:
    y, v = crins()
    # Röver 2020 Table 3 (log OR and its standard error, two decimals), in the data's row order
    assert np.round(y, 2).tolist() == [-1.26, -1.76, -0.46, -2.31, -2.30, -2.42]
    assert np.round(np.sqrt(v), 2).tolist() == [0.64, 0.46, 0.56, 0.60, 0.88, 1.53]


def test_tau_posterior_equals_rover_2020_printout() -> None:
    """bayesmeta computes the marginal posterior of tau by R's integrate() and uniroot()
    (Röver 2020, section 2.11), accurate to about 1e-7; so must we be."""
    res = ma01()
    # section 3.3, "R> ma01$summary" (p. 23): tau median 0.3445023, mean 0.3810562,
    # sd 0.2593672, shortest 95% interval [0.0000000, 0.8607193]
    assert res.tau_median == pytest.approx(0.3445023, abs=1e-6)
    assert res.tau_mean == pytest.approx(0.3810562, abs=1e-6)
    assert res.tau_sd == pytest.approx(0.2593672, abs=1e-6)
    assert res.tau_shortest_lb == 0.0
    assert res.tau_shortest_ub == pytest.approx(0.8607193, abs=1e-6)
    # p. 26-27: "ma01$post.interval(tau.level = 0.99)" -> [0.000000, 1.109186] (shortest),
    # "method = 'central'" / "qposterior(tau.p = c(0.005, 0.995))" -> [0.003547657, 1.205400562]
    r99 = ma01(99.0)
    assert r99.tau_shortest_lb == 0.0
    assert r99.tau_shortest_ub == pytest.approx(1.109186, abs=1e-6)
    assert r99.tau_ci_lb == pytest.approx(0.003547657, abs=1e-8)
    assert r99.tau_ci_ub == pytest.approx(1.205400562, abs=1e-8)
    # p. 25: "ma01$qposterior(tau.p = 0.99)" -> 1.109186: the upper end of the central 98% interval
    assert ma01(98.0).tau_ci_ub == pytest.approx(1.109186, abs=1e-6)


def test_mu_prediction_and_shrinkage_agree_with_rover_2020_to_its_mixture_accuracy() -> None:
    """bayesmeta approximates the normal mixtures of mu, of a new trial and of the shrinkage
    estimates by a few components (the "direct" algorithm with a Kullback-Leibler tolerance of
    1%; Röver 2020, section 2.11 and appendix D): its two printouts of the same fit (pp. 22 and
    23) differ by up to 1.1e-4, and its predictive sd (0.5671855) is inconsistent by 6e-4 with
    its own, exactly integrated, tau moments (see below). The numbers here are therefore
    compared to bayesmeta's accuracy (2e-3); brute-force quadrature (next test) agrees with ours
    to 1e-6."""
    res = ma01()
    # p. 23 "ma01$summary": mu median -1.5734819, mean -1.5764365, sd 0.3295301, shortest 95%
    # [-2.2311251, -0.9263075]; theta (new trial) median -1.5701653, mean -1.5764365,
    # sd 0.5671855, shortest 95% [-2.7661319, -0.4072970]
    for got, want in (
        (res.mu_median, -1.5734819),
        (res.mu_mean, -1.5764365),
        (res.mu_sd, 0.3295301),
        (res.mu_shortest_lb, -2.2311251),
        (res.mu_shortest_ub, -0.9263075),
        (res.pred_median, -1.5701653),
        (res.pred_mean, -1.5764365),
        (res.pred_sd, 0.5671855),
        (res.pred_shortest_lb, -2.7661319),
        (res.pred_shortest_ub, -0.4072970),
    ):
        assert got == pytest.approx(want, abs=2e-3)
    # the identity Var(theta_new) = Var(mu) + E[tau²] (section 2.7), with E[tau²] from the
    # published tau mean and sd (exact in bayesmeta): holds for ours to 1e-6
    e_tau2 = 0.3810562**2 + 0.2593672**2
    assert res.pred_sd**2 - res.mu_sd**2 == pytest.approx(e_tau2, abs=1e-6)
    # p. 25: "1 - ma01$pposterior(mu = 0)" -> 6.187343e-05 (a far tail of the approximated
    # mixture: within 5% here; brute-force quadrature below gives ours to 1e-9)
    assert res.p_mu_above_zero == pytest.approx(6.187343e-05, rel=0.05)
    assert res.p_mu_below_zero + res.p_mu_above_zero == pytest.approx(1.0, abs=1e-12)
    # p. 27-28 "ma01$theta[, 1:2]": shrinkage of Heffron (2003) and Gibelli (2004)
    published = {
        HEFFRON: (-2.3097026, 0.5994763, -1.7411356, -1.7778965, 0.4229425, -2.6561049, -0.9920023),
        GIBELLI: (-0.4595323, 0.5563956, -1.2821722, -1.2339736, 0.4488759, -2.0455088, -0.3089461),
    }  # fmt: skip
    for i, (yi, se, median, mean, sd, lb, ub) in published.items():
        s = res.shrinkage[i]
        assert (s.y, s.se) == pytest.approx((yi, se), abs=1e-7)
        for got, want in ((s.median, median), (s.mean, mean), (s.sd, sd)):
            assert got == pytest.approx(want, abs=2e-3)
        assert (s.shortest_lb, s.shortest_ub) == pytest.approx((lb, ub), abs=2e-3)


def test_two_randomised_studies_of_rover_2020() -> None:
    # section 3.6, "ma05": Heffron and Spada only; "ma05$pposterior(mu = 0)" -> 0.9974968
    y, v = crins()
    idx = [HEFFRON, SPADA]
    res = bayes_meta(y[idx], v[idx], mu_prior_mean=0.0, mu_prior_sd=4.0)
    assert res.p_mu_below_zero == pytest.approx(0.9974968, abs=1e-4)
    # Figure 6 (forest plot): mean -1.78 [-2.86, -0.69], prediction [-3.25, -0.28] (shortest)
    assert round(res.mu_median, 2) == -1.78
    assert (round(res.mu_shortest_lb, 2), round(res.mu_shortest_ub, 2)) == (-2.86, -0.69)
    assert (round(res.pred_shortest_lb, 2), round(res.pred_shortest_ub, 2)) == (-3.25, -0.28)


def _grid_posterior(
    y: np.ndarray,
    v: np.ndarray,
    mu0: float | None,
    sd0: float | None,
    scale: float,
    mu_range: tuple[float, float] = (-7.0, 3.0),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The joint posterior density times quadrature weights on a 600 x 600 Gauss-Legendre grid
    over (mu, tau) in ``mu_range`` x [0, 4] (unnormalised): brute force from the likelihood
    (Röver 2020, eq. 9) and the priors, with no conjugacy and no change of variable."""
    x, w = np.polynomial.legendre.leggauss(600)
    half = (mu_range[1] - mu_range[0]) / 2.0
    mu = mu_range[0] + (x + 1) * half
    wm = w * half
    tau = (x + 1) * 2.0
    wt = w * 2.0
    s2 = v[None, None, :] + tau[None, :, None] ** 2
    loglik = -0.5 * np.sum(np.log(2 * np.pi * s2) + (y - mu[:, None, None]) ** 2 / s2, axis=2)
    logp = loglik + np.log(2.0 * stats.norm.pdf(tau, 0.0, scale))[None, :]
    if sd0 is not None:
        logp = logp + stats.norm.logpdf(mu, mu0, sd0)[:, None]
    return mu, tau, np.exp(logp) * wm[:, None] * wt[None, :]


@pytest.mark.parametrize("mu_prior", [(0.0, 4.0), (None, None)])
def test_agrees_with_brute_force_two_dimensional_quadrature(
    mu_prior: tuple[float | None, float | None],
) -> None:
    y, v = crins()
    mu0, sd0 = mu_prior
    mu, tau, p = _grid_posterior(y, v, mu0, sd0, 0.5)
    z = p.sum()
    pm, pt = p.sum(axis=1) / z, p.sum(axis=0) / z
    mu_mean = float(pm @ mu)
    mu_sd = math.sqrt(float(pm @ mu**2) - mu_mean**2)
    tau_mean = float(pt @ tau)
    tau_sd = math.sqrt(float(pt @ tau**2) - tau_mean**2)
    res = bayes_meta(y, v, mu_prior_mean=mu0, mu_prior_sd=sd0)
    assert res.mu_mean == pytest.approx(mu_mean, abs=1e-7)
    assert res.mu_sd == pytest.approx(mu_sd, abs=1e-7)
    assert res.tau_mean == pytest.approx(tau_mean, abs=1e-7)
    assert res.tau_sd == pytest.approx(tau_sd, abs=1e-7)
    # P(mu > 0): the same integrand on a grid over mu in [0, 3] only (no step function)
    _, _, p_pos = _grid_posterior(y, v, mu0, sd0, 0.5, mu_range=(0.0, 3.0))
    assert res.p_mu_above_zero == pytest.approx(float(p_pos.sum() / z), rel=1e-6)
    # shrinkage means: E[theta_i | mu, tau, y] = b y_i + (1 - b) mu, b = tau²/(v_i + tau²)
    # (Gelman et al., BDA section 5.5), averaged over the joint grid
    for i, s in enumerate(res.shrinkage):
        b = tau[None, :] ** 2 / (v[i] + tau[None, :] ** 2)
        cond_mean = b * y[i] + (1 - b) * mu[:, None]
        assert s.mean == pytest.approx(float(np.sum(p * cond_mean) / z), abs=1e-7)
    if mu0 is not None:  # the Crins example: our numbers where bayesmeta's mixture is coarse
        assert res.p_mu_above_zero == pytest.approx(6.0127e-05, rel=1e-4)
        assert res.mu_sd == pytest.approx(0.329368, abs=1e-6)


def _reference_cdfs(y: np.ndarray, v: np.ndarray, prior: TauPrior) -> tuple[object, object, object]:
    """Posterior CDFs of tau, mu and a new trial by scipy.integrate.quad over tau (QUADPACK),
    written from Röver 2020, eq. 13 and 16-18, independently of the module's grid."""

    def log_post(t: float) -> float:
        w = 1 / (v + t * t)
        m = float(w @ y / w.sum())
        ll = 0.5 * np.log(w).sum() - 0.5 * math.log(w.sum()) - 0.5 * float(w @ (y - m) ** 2)
        if prior.kind == "halfnormal":
            return float(ll - 0.5 * (t / prior.scale) ** 2)
        return ll if t <= prior.scale else -math.inf

    upper = prior.scale if prior.kind == "uniform" else 12 * prior.scale + 10
    grid = np.geomspace(1e-8, upper, 4001)
    lp = [log_post(t) for t in grid]
    top, mode = max(lp), float(grid[int(np.argmax(lp))])
    pts = [mode * f for f in (0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10) if mode * f < upper]

    def quad(f: object, b: float = upper) -> float:
        return float(
            integrate.quad(f, 0, b, points=[p for p in pts if p < b] or None, limit=400,
                           epsabs=0, epsrel=1e-12)[0]
        )  # fmt: skip

    def dens(t: float) -> float:
        return math.exp(log_post(t) - top)

    def cond(t: float) -> tuple[float, float]:
        w = 1 / (v + t * t)
        return float(w @ y / w.sum()), 1 / float(w.sum())

    z = quad(dens)

    def tau_cdf(x: float) -> float:
        return quad(dens, x) / z

    def mu_cdf(x: float) -> float:
        return quad(lambda t: dens(t) * special.ndtr((x - cond(t)[0]) / math.sqrt(cond(t)[1]))) / z

    def pred_cdf(x: float) -> float:
        return (
            quad(lambda t: dens(t) * special.ndtr((x - cond(t)[0]) / math.sqrt(cond(t)[1] + t * t)))
            / z
        )

    return tau_cdf, mu_cdf, pred_cdf


def _hard_case(kind: str) -> tuple[np.ndarray, np.ndarray, TauPrior]:
    rng = np.random.default_rng(1)
    if kind == "conflict":  # 20 trials with tau about 1.5 against a half-normal(0.5) prior
        v = rng.uniform(0.02, 0.08, 20)
        return rng.normal(-0.5, np.sqrt(1.5**2 + v)), v, TauPrior("halfnormal", 0.5)
    v = rng.uniform(0.001, 0.003, 60)  # 60 precise trials, tau about 0.05, prior uniform(0, 100)
    return rng.normal(0.3, np.sqrt(0.05**2 + v)), v, TauPrior("uniform", 100.0)


@pytest.mark.parametrize("case", ["conflict", "wide"])
def test_hard_cases_agree_with_scipy_adaptive_quadrature(case: str) -> None:
    """Posterior mass far out in the prior's tail (prior-data conflict) or in a sliver of a
    wide prior. An earlier version, integrating over the prior's probability scale, was off here
    by 4e-4 in probability (tau's 97.5% quantile 1.9313, not 1.9298) and by 0.07 (0.495, not
    0.0536); our quantiles must be the reference CDF's to 1e-8."""
    y, v, prior = _hard_case(case)
    res = bayes_meta(y, v, tau_prior=prior)
    tau_cdf, mu_cdf, pred_cdf = _reference_cdfs(y, v, prior)
    for cdf, x, p in (
        (tau_cdf, res.tau_ci_lb, 0.025),
        (tau_cdf, res.tau_median, 0.5),
        (tau_cdf, res.tau_ci_ub, 0.975),
        (mu_cdf, res.mu_ci_lb, 0.025),
        (mu_cdf, res.mu_ci_ub, 0.975),
        (pred_cdf, res.pred_ub, 0.975),
    ):
        assert cdf(x) == pytest.approx(p, abs=1e-8)  # type: ignore[operator]


def test_one_study_with_a_half_cauchy_prior_is_exact() -> None:
    """With one study and a uniform prior on mu, p(y | tau) is constant (Röver 2020, eq. 11 with
    k = 1): the posterior of tau is its half-Cauchy prior, whose mean does not exist."""
    res = bayes_meta([0.3], [0.04], tau_prior=TauPrior("halfcauchy", 1.0))
    assert res.tau_median == pytest.approx(1.0, rel=1e-9)  # tan(pi/4)
    assert res.tau_ci_lb == pytest.approx(math.tan(0.025 * math.pi / 2), rel=1e-9)
    assert res.tau_ci_ub == pytest.approx(math.tan(0.975 * math.pi / 2), rel=1e-9)
    assert res.tau_mean == math.inf and res.tau_sd == math.inf
    assert math.isnan(res.mu_mean) and res.mu_sd == math.inf and res.pred_sd == math.inf
    assert res.mu_median == pytest.approx(0.3, abs=1e-9)

    # mu | tau ~ N(0.3, 0.04 + tau²) mixed over the prior, tau = tan(pi u / 2) with u ~ U(0, 1)
    def p_below(x: float) -> float:
        def f(u: float) -> float:
            return float(special.ndtr((x - 0.3) / math.hypot(0.2, math.tan(math.pi * u / 2))))

        return float(integrate.quad(f, 0, 1, limit=400, epsabs=1e-13)[0])

    assert p_below(res.mu_ci_lb) == pytest.approx(0.025, abs=1e-9)
    assert "undefined" in res.summary()
    # two studies: the posterior tail is tau^-3, so E[tau] exists and E[tau²] does not
    two = bayes_meta([0.3, -0.4], [0.04, 0.09], tau_prior=TauPrior("halfcauchy", 0.5))
    assert math.isfinite(two.tau_mean) and two.tau_sd == math.inf


def test_agrees_with_an_independent_mcmc_sampler() -> None:
    import emcee  # a dev dependency (pyproject [dev])

    # the five week-6 depression comparisons (Hedges' g, variances) of the evidence base
    y = np.array([-0.3492, -0.8438, -2.0548, -1.2460, -1.1587])
    v = np.array([0.03243, 0.05837, 0.68686, 0.15210, 0.15863])

    def log_post(theta: np.ndarray) -> np.ndarray:
        # vectorised over walkers: normal likelihood of each y_i with variance v_i + tau², a
        # uniform prior on mu and a half-normal(0.5) prior on tau, written out by hand
        mu, tau = theta[:, 0:1], theta[:, 1:2]
        s2 = v[None, :] + tau**2
        lp = -0.5 * np.sum(np.log(s2) + (y[None, :] - mu) ** 2 / s2, axis=1)
        lp = lp - 0.5 * (tau[:, 0] / 0.5) ** 2
        return np.where(tau[:, 0] < 0, -np.inf, lp)

    rng = np.random.default_rng(20261203)
    walkers, steps, burn = 32, 4000, 500
    start = np.column_stack([rng.normal(-0.9, 0.1, walkers), rng.uniform(0.05, 0.5, walkers)])
    sampler = emcee.EnsembleSampler(walkers, 2, log_post, vectorize=True)
    sampler.random_state = np.random.RandomState(7).get_state()
    sampler.run_mcmc(start, steps, progress=False)
    chain = sampler.get_chain(discard=burn)  # steps x walkers x 2
    draws = chain.reshape(-1, 2)
    res = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 0.5))

    def mcse_of_mean(series: np.ndarray) -> float:
        """sd / sqrt(effective size), the effective size from emcee's autocorrelation time."""
        t_int = float(emcee.autocorr.integrated_time(series[:, :, None], quiet=True)[0])
        return float(np.std(series)) / math.sqrt(series.size / t_int)

    # means and sds: within 4 Monte Carlo standard errors (sd: 5%)
    for j, (mean, sd) in enumerate(((res.mu_mean, res.mu_sd), (res.tau_mean, res.tau_sd))):
        assert abs(float(draws[:, j].mean()) - mean) < 4 * mcse_of_mean(chain[:, :, j])
        assert float(draws[:, j].std()) == pytest.approx(sd, rel=0.05)
    # quantiles, checked on the probability scale: the fraction of draws below our quantile q_p
    # is p within 4 MC standard errors of that fraction (of the indicator series)
    for j, q, p in (
        (0, res.mu_ci_lb, 0.025),
        (0, res.mu_median, 0.5),
        (0, res.mu_ci_ub, 0.975),
        (1, res.tau_median, 0.5),
        (1, res.tau_ci_ub, 0.975),
    ):
        below = (chain[:, :, j] <= q).astype(float)
        assert abs(float(below.mean()) - p) < 4 * mcse_of_mean(below), (j, p)
    # and on the parameter scale, generously: a 2.5%/97.5% quantile of ~10^4 effective draws
    assert float(np.quantile(draws[:, 0], 0.025)) == pytest.approx(res.mu_ci_lb, abs=0.03)
    assert float(np.quantile(draws[:, 0], 0.975)) == pytest.approx(res.mu_ci_ub, abs=0.03)
    assert float(np.median(draws[:, 1])) == pytest.approx(res.tau_median, abs=0.03)


def test_a_prior_fixing_tau_at_zero_gives_the_common_effect_model() -> None:
    y, v = crins()
    res = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 1e-6))
    # hand check: inverse-variance mean and SE, and metafor's equal-effects model
    w = 1 / v
    est, se = float(np.sum(w * y) / np.sum(w)), 1 / math.sqrt(float(np.sum(w)))
    fe = rma(y, v, method="FE")
    assert fe.estimate == pytest.approx(est, rel=1e-12) and fe.se == pytest.approx(se, rel=1e-12)
    assert res.mu_mean == pytest.approx(est, abs=1e-9)
    assert res.mu_median == pytest.approx(est, abs=1e-9)
    assert res.mu_sd == pytest.approx(se, rel=1e-9)
    assert res.mu_ci_lb == pytest.approx(est - stats.norm.ppf(0.975) * se, abs=1e-8)
    assert res.mu_ci_ub == pytest.approx(est + stats.norm.ppf(0.975) * se, abs=1e-8)
    assert res.p_mu_below_zero == pytest.approx(stats.norm.cdf(-est / se), rel=1e-6)
    assert res.tau_median == pytest.approx(1e-6 * stats.halfnorm.ppf(0.5), rel=1e-6)
    # a new trial is then the common effect, and every study shrinks onto it
    assert res.pred_ub == pytest.approx(res.mu_ci_ub, abs=1e-8)
    assert all(s.mean == pytest.approx(est, abs=1e-9) for s in res.shrinkage)


def test_tau_priors_and_their_text() -> None:
    assert parse_tau_prior("halfnormal:0.5") == TauPrior("halfnormal", 0.5)
    assert parse_tau_prior(" HalfCauchy:1 ") == TauPrior("halfcauchy", 1.0)
    assert parse_tau_prior("uniform:2") == TauPrior("uniform", 2.0)
    assert TauPrior("halfnormal", 0.5).describe() == "half-normal(0.5) prior on tau"
    assert TauPrior("halfcauchy", 1).describe() == "half-Cauchy(1) prior on tau"
    assert parse_tau_prior("uniform:2").describe() == "uniform(0, 2) prior on tau"
    y, v = crins()
    assert bayes_meta(y, v).tau_prior == TauPrior("halfnormal", 0.5)  # the default
    for prior in (TauPrior("halfcauchy", 0.5), TauPrior("uniform", 3.0)):
        res = bayes_meta(y, v, tau_prior=prior)
        assert res.mu_ci_lb < res.mu_median < res.mu_ci_ub
        assert 0 <= res.tau_ci_lb < res.tau_median < res.tau_ci_ub
        assert res.pred_lb < res.mu_ci_lb and res.pred_ub > res.mu_ci_ub
        assert res.mu_shortest_ub - res.mu_shortest_lb <= res.mu_ci_ub - res.mu_ci_lb
    assert bayes_meta(y, v, tau_prior=TauPrior("uniform", 3.0)).tau_ci_ub < 3.0
    # a heavier-tailed prior widens the interval of a new trial
    hn = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 0.5))
    hc = bayes_meta(y, v, tau_prior=TauPrior("halfcauchy", 0.5))
    assert hc.pred_ub - hc.pred_lb > hn.pred_ub - hn.pred_lb


def test_level_and_result_dict() -> None:
    y, v = crins()
    a, b = bayes_meta(y, v, level=95), bayes_meta(y, v, level=0.95)  # a fraction, as rma
    assert (a.mu_ci_lb, a.level) == (b.mu_ci_lb, b.level) == (a.mu_ci_lb, 95.0)
    r90 = bayes_meta(y, v, level=90, measure="OR")
    assert a.mu_ci_lb < r90.mu_ci_lb < r90.mu_ci_ub < a.mu_ci_ub
    d = r90.to_dict()
    assert d["measure"] == "OR" and d["level"] == 90.0 and d["k"] == 6
    assert d["tau_prior"] == {
        "kind": "halfnormal",
        "scale": 0.5,
        "text": "half-normal(0.5) prior on tau",
    }
    assert d["mu_prior"] == "uniform (improper) prior on mu"
    assert isinstance(d["shrinkage"], list) and len(d["shrinkage"]) == 6
    text = r90.summary()
    assert text.splitlines()[0].startswith("Bayesian random effects (k = 6; half-normal(0.5)")
    assert "90% CrI" in text and "P(mu < 0)" in text


@pytest.mark.parametrize(
    "text",
    ["halfnormal:-1", "halfnormal:0", "foo:1", "halfnormal", "halfnormal:nan", "uniform:x",
     "halfcauchy:inf", ""],
)  # fmt: skip
def test_bad_tau_prior_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(ValueError, match="--tau-prior") as info:
        parse_tau_prior(text)
    assert "halfnormal:SCALE, halfcauchy:SCALE or uniform:UPPER" in str(info.value)


def test_bad_tau_prior_object_is_refused() -> None:
    with pytest.raises(ValueError, match="one of halfnormal, halfcauchy, uniform"):
        TauPrior("gamma", 1.0)
    with pytest.raises(ValueError, match="greater than 0"):
        TauPrior("halfnormal", -0.5)
    with pytest.raises(ValueError, match="greater than 0"):
        TauPrior("uniform", float("nan"))


def test_bad_data_is_refused() -> None:
    with pytest.raises(MetaError, match="vi must be greater than 0"):
        bayes_meta([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(MetaError, match="vi must be greater than 0"):
        bayes_meta([0.1, 0.2], [0.1, -0.3])
    with pytest.raises(MetaError, match="differ in length"):
        bayes_meta([0.1, 0.2], [0.1])
    with pytest.raises(MetaError, match="finite"):
        bayes_meta([0.1, float("nan")], [0.1, 0.1])
    with pytest.raises(MetaError, match="finite"):
        bayes_meta([0.1, 0.2], [0.1, float("inf")])
    with pytest.raises(MetaError, match="at least one study"):
        bayes_meta([], [])
    with pytest.raises(MetaError, match="numbers"):
        bayes_meta(["a"], [0.1])
    with pytest.raises(MetaError, match="both mu_prior_mean and mu_prior_sd"):
        bayes_meta([0.1], [0.1], mu_prior_mean=0.0)
    with pytest.raises(MetaError, match="mu_prior_sd"):
        bayes_meta([0.1], [0.1], mu_prior_mean=0.0, mu_prior_sd=0.0)
    with pytest.raises(MetaError, match="level"):
        bayes_meta([0.1], [0.1], level=100)
    # one study with a uniform prior on mu: proper posterior, tau from its prior alone
    one = bayes_meta([0.3], [0.04])
    assert one.tau_median == pytest.approx(0.5 * stats.halfnorm.ppf(0.5), rel=1e-9)


def test_gauss_kronrod_rule() -> None:
    """The 15-point Kronrod rule integrates polynomials to degree 22 exactly, its embedded
    7-point Gauss rule to degree 13 (the QUADPACK qk15 constants)."""
    gx, _ = np.polynomial.legendre.leggauss(7)
    np.testing.assert_allclose(bayes._XK[1::2], gx, atol=1e-15)
    for d in range(23):
        exact = 0.0 if d % 2 else 2.0 / (d + 1)
        assert float(bayes._WK @ bayes._XK**d) == pytest.approx(exact, abs=1e-14)
        if d <= 13:
            assert float(bayes._WG @ bayes._XK**d) == pytest.approx(exact, abs=1e-14)


@pytest.mark.parametrize("c", [1e-5, 1e5])
def test_scale_equivariance(c: float) -> None:
    """y -> c y, v -> c² v and the prior's scale -> c s multiply mu and tau by c exactly: the
    integration range follows the data and prior at any scale."""
    y, v = crins()
    fields = ("mu_median", "mu_ci_lb", "mu_ci_ub", "tau_median", "tau_ci_ub", "pred_lb")
    for prior in (TauPrior("halfnormal", 0.5), TauPrior("uniform", 3.0)):
        base = bayes_meta(y, v, tau_prior=prior)
        scaled = bayes_meta(c * y, c * c * v, tau_prior=TauPrior(prior.kind, c * prior.scale))
        for f in fields:
            assert getattr(scaled, f) / c == pytest.approx(getattr(base, f), abs=1e-10), f
        assert scaled.p_mu_below_zero == pytest.approx(base.p_mu_below_zero, abs=1e-12)
