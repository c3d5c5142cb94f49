"""Bayesian random-effects meta-analysis against a published example, brute-force quadrature and
an independent MCMC sampler (emcee)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from glabella.evidence.bayes import TauPrior, bayes_meta, parse_tau_prior
from glabella.evidence.effects import escalc
from glabella.evidence.meta import MetaError, rma

# Crins et al. 2014 (Pediatr Transplant 18:839), acute rejection with IL-2RA vs control, as in
# Röver 2020 (J Stat Softw 93(6)) Table 3: events / totals per arm, log OR by escalc.
CRINS = {
    "ai": [4, 9, 16, 14, 3, 0],
    "n1i": [36, 54, 28, 61, 18, 50],
    "ci": [11, 29, 19, 15, 8, 3],
    "n2i": [36, 54, 28, 20, 12, 34],
}


def crins() -> tuple[np.ndarray, np.ndarray]:
    es = escalc("OR", **{k: np.asarray(v, float) for k, v in CRINS.items()})
    return np.asarray(es.yi), np.asarray(es.vi)


def test_crins_example_of_rover_2020() -> None:
    y, v = crins()
    # Table 3 of Röver 2020 prints the log ORs to two decimals (here in the data's row order)
    assert np.round(y, 2).tolist() == [-1.26, -1.76, -0.46, -2.31, -2.30, -2.42]
    res = bayes_meta(
        y, v, tau_prior=TauPrior("halfnormal", 0.5), mu_prior_mean=0.0, mu_prior_sd=4.0
    )
    # Röver 2020, section 3.3, "ma01$summary" (bayesmeta 2.x): tau median 0.3445023, mean
    # 0.3810562, sd 0.2593672, shortest 95% interval [0, 0.8607193].
    assert res.tau_median == pytest.approx(0.3445023, abs=2e-6)
    assert res.tau_mean == pytest.approx(0.3810562, abs=2e-6)
    assert res.tau_sd == pytest.approx(0.2593672, abs=2e-6)
    assert res.tau_shortest_lb == 0.0
    assert res.tau_shortest_ub == pytest.approx(0.8607193, abs=5e-6)
    # mu: median -1.5734819, mean -1.5764365, sd 0.3295301, shortest [-2.2311251, -0.9263075].
    # bayesmeta approximates the mu mixture (its two printouts differ by 1e-4); the brute-force
    # quadrature below agrees with ours to 1e-7, so the tolerance here is bayesmeta's accuracy.
    assert res.mu_median == pytest.approx(-1.5734819, abs=5e-5)
    assert res.mu_mean == pytest.approx(-1.5764365, abs=5e-5)
    assert res.mu_sd == pytest.approx(0.3295301, abs=5e-4)
    assert res.mu_shortest_lb == pytest.approx(-2.2311251, abs=1e-3)
    assert res.mu_shortest_ub == pytest.approx(-0.9263075, abs=1e-3)
    # a new study: mean -1.5764365, sd 0.5671855
    assert res.pred_mean == pytest.approx(-1.5764365, abs=5e-5)
    assert res.pred_sd == pytest.approx(0.5671855, abs=1e-3)


def _grid_posterior(
    y: np.ndarray, v: np.ndarray, mu0: float | None, sd0: float | None, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The joint posterior on a 600 x 600 Gauss-Legendre grid over (mu, tau): brute force, no
    conjugacy and no change of variable (unlike the module under test)."""
    x, w = np.polynomial.legendre.leggauss(600)
    mu = -7.0 + (x + 1) * 5.0  # [-7, 3]
    wm = w * 5.0
    tau = (x + 1) * 2.0  # [0, 4]
    wt = w * 2.0
    s2 = v[None, None, :] + tau[None, :, None] ** 2
    loglik = -0.5 * np.sum(np.log(2 * np.pi * s2) + (y - mu[:, None, None]) ** 2 / s2, axis=2)
    logp = loglik + np.log(2.0 * stats.norm.pdf(tau, 0.0, scale))[None, :]
    if sd0 is not None:
        logp = logp + stats.norm.logpdf(mu, mu0, sd0)[:, None]
    dens = np.exp(logp - logp.max()) * wm[:, None] * wt[None, :]
    return mu, tau, dens / dens.sum()


@pytest.mark.parametrize("mu_prior", [(0.0, 4.0), (None, None)])
def test_agrees_with_brute_force_two_dimensional_quadrature(
    mu_prior: tuple[float | None, float | None],
) -> None:
    y, v = crins()
    mu0, sd0 = mu_prior
    mu, tau, p = _grid_posterior(y, v, mu0, sd0, 0.5)
    mu_mean = float(np.sum(p.sum(axis=1) * mu))
    mu_sd = math.sqrt(float(np.sum(p.sum(axis=1) * mu**2)) - mu_mean**2)
    tau_mean = float(np.sum(p.sum(axis=0) * tau))
    p_neg = float(np.sum(p.sum(axis=1)[mu < 0]))
    res = bayes_meta(y, v, mu_prior_mean=mu0, mu_prior_sd=sd0)
    assert res.mu_mean == pytest.approx(mu_mean, abs=1e-6)
    assert res.mu_sd == pytest.approx(mu_sd, abs=1e-6)
    assert res.tau_mean == pytest.approx(tau_mean, abs=1e-6)
    assert res.p_mu_below_zero == pytest.approx(p_neg, abs=1e-4)  # a step function on the grid


def test_agrees_with_an_independent_mcmc_sampler() -> None:
    import emcee  # a dev dependency (pyproject [dev]); make test installs it

    # the five week-6 depression comparisons (Hedges' g, variances) of the evidence base
    y = np.array([-0.3492, -0.8438, -2.0548, -1.2460, -1.1587])
    v = np.array([0.03243, 0.05837, 0.68686, 0.15210, 0.15863])

    def log_post(theta: np.ndarray) -> np.ndarray:
        # vectorised over walkers: normal likelihood of each y_i with variance v_i + tau²,
        # a uniform prior on mu and a half-normal(0.5) prior on tau (written out by hand)
        mu, tau = theta[:, 0:1], theta[:, 1:2]
        s2 = v[None, :] + tau**2
        lp = -0.5 * np.sum(np.log(s2) + (y[None, :] - mu) ** 2 / s2, axis=1)
        lp = lp - 0.5 * (tau[:, 0] / 0.5) ** 2
        return np.where(tau[:, 0] < 0, -np.inf, lp)

    rng = np.random.default_rng(20261203)
    walkers = 32
    start = np.column_stack([rng.normal(-0.9, 0.1, walkers), rng.uniform(0.05, 0.5, walkers)])
    sampler = emcee.EnsembleSampler(walkers, 2, log_post, vectorize=True)
    sampler.random_state = np.random.RandomState(7).get_state()
    sampler.run_mcmc(start, 4000, progress=False)
    chain = sampler.get_chain(discard=500, thin=5, flat=True)
    res = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 0.5))
    # Monte Carlo standard error of a mean: sd / sqrt(effective sample size); emcee's
    # autocorrelation time gives the effective size. Agreement within 4 MC standard errors.
    tau_ac = float(np.max(sampler.get_autocorr_time(discard=500, quiet=True)))
    n_eff = walkers * (4000 - 500) / tau_ac
    for draws, mean, sd in (
        (chain[:, 0], res.mu_mean, res.mu_sd),
        (chain[:, 1], res.tau_mean, res.tau_sd),
    ):
        mcse = sd / math.sqrt(n_eff)
        assert abs(float(np.mean(draws)) - mean) < 4 * mcse + 1e-4
        assert float(np.std(draws)) == pytest.approx(sd, rel=0.05)
    # quantiles: within 0.03 (a quantile's MC error is larger than a mean's)
    assert float(np.quantile(chain[:, 0], 0.025)) == pytest.approx(res.mu_ci_lb, abs=0.03)
    assert float(np.quantile(chain[:, 0], 0.975)) == pytest.approx(res.mu_ci_ub, abs=0.03)
    assert float(np.median(chain[:, 1])) == pytest.approx(res.tau_median, abs=0.03)


def test_a_prior_fixing_tau_at_zero_gives_the_common_effect_model() -> None:
    y, v = crins()
    res = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 1e-7))
    fe = rma(y, v, method="FE")
    # hand check: inverse-variance mean and SE
    w = 1 / v
    assert fe.estimate == pytest.approx(float(np.sum(w * y) / np.sum(w)), rel=1e-12)
    assert res.mu_mean == pytest.approx(fe.estimate, abs=1e-6)
    assert res.mu_sd == pytest.approx(fe.se, rel=1e-5)
    assert res.mu_ci_lb == pytest.approx(fe.estimate - 1.959964 * fe.se, abs=1e-5)


def test_tau_priors_and_their_text() -> None:
    assert parse_tau_prior("halfnormal:0.5") == TauPrior("halfnormal", 0.5)
    assert parse_tau_prior(" HalfCauchy:1 ") == TauPrior("halfcauchy", 1.0)
    assert parse_tau_prior("uniform:2").describe() == "uniform(0, 2) prior on tau"
    y, v = crins()
    for prior in (TauPrior("halfcauchy", 0.5), TauPrior("uniform", 3.0)):
        res = bayes_meta(y, v, tau_prior=prior)
        assert res.mu_ci_lb < res.mu_median < res.mu_ci_ub
        assert 0 <= res.tau_ci_lb < res.tau_median < res.tau_ci_ub
        assert res.pred_lb < res.mu_ci_lb and res.pred_ub > res.mu_ci_ub
    # a heavier-tailed prior widens the interval of a new trial
    hn = bayes_meta(y, v, tau_prior=TauPrior("halfnormal", 0.5))
    hc = bayes_meta(y, v, tau_prior=TauPrior("halfcauchy", 0.5))
    assert hc.pred_ub - hc.pred_lb > hn.pred_ub - hn.pred_lb


@pytest.mark.parametrize(
    "text", ["halfnormal:-1", "halfnormal:0", "foo:1", "halfnormal", "halfnormal:nan", "uniform:x"]
)
def test_bad_tau_prior_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(ValueError, match="--tau-prior"):
        parse_tau_prior(text)


def test_bad_data_is_refused() -> None:
    with pytest.raises(MetaError, match="vi must be greater than 0"):
        bayes_meta([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(MetaError, match="differ in length"):
        bayes_meta([0.1, 0.2], [0.1])
    with pytest.raises(MetaError, match="finite"):
        bayes_meta([0.1, float("nan")], [0.1, 0.1])
    with pytest.raises(MetaError, match="both mu_prior_mean and mu_prior_sd"):
        bayes_meta([0.1], [0.1], mu_prior_mean=0.0)
    # one study with a uniform prior on mu: proper posterior, tau from its prior alone
    one = bayes_meta([0.3], [0.04])
    assert one.tau_median == pytest.approx(0.5 * stats.halfnorm.ppf(0.5), rel=1e-4)
