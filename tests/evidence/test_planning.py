"""Trial planning formulas (glabella.evidence.planning) against independent sources.

Sources: statsmodels.stats.power (TTestIndPower, NormalIndPower with proportion_effectsize),
Cohen (1988) Table 2.4.1, hand calculations written out with the formulas of Chow, Shao & Wang
(2008) and Fleiss (1981), Borm et al. (2007), O'Hagan, Stevens & Campbell (2005), and Monte
Carlo estimates whose error is stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from glabella.evidence import planning as pl
from glabella.evidence.planning import PlanningError

Z975 = stats.norm.ppf(0.975)  # 1.959964
Z95 = stats.norm.ppf(0.95)  # 1.644854
Z80 = stats.norm.ppf(0.80)  # 0.841621


# --------------------------------------------------------------------------- two means


def test_cohen_1988_table_2_4_1_d_half_power_80_gives_64_per_group() -> None:
    # Cohen (1988) Table 2.4.1: d = 0.50, power 0.80, two-sided alpha 0.05 -> n = 64 per group.
    res = pl.n_two_means(0.5, power=0.8, alpha=0.05)
    assert (res.n1, res.n2, res.n_total) == (64, 64, 128)
    assert res.power >= 0.8
    assert pl.power_two_means(0.5, 63) < 0.8  # 63 is not enough


@pytest.mark.parametrize(
    ("d", "n1", "ratio", "alternative"),
    [
        (0.5, 64, 1.0, "two-sided"),
        (0.2, 300, 1.0, "two-sided"),
        (0.8, 15, 1.0, "two-sided"),
        (0.4, 50, 2.0, "two-sided"),
        (0.9, 11, 19 / 11, "two-sided"),
        (0.4, 50, 1.0, "larger"),
        (1.2, 5, 0.6, "larger"),
    ],
)
def test_power_two_means_matches_statsmodels(
    d: float, n1: int, ratio: float, alternative: str
) -> None:
    n2 = round(ratio * n1)
    sides = 2 if alternative == "two-sided" else 1
    expected = TTestIndPower().power(d, n1, 0.05, ratio=n2 / n1, alternative=alternative)
    assert pl.power_two_means(d, n1, n2, alpha=0.05, sides=sides) == pytest.approx(
        expected, rel=1e-9
    )


@pytest.mark.parametrize(
    ("d", "power", "alpha", "ratio"),
    [(0.5, 0.8, 0.05, 1.0), (0.3, 0.9, 0.05, 1.0), (0.9, 0.8, 0.01, 1.0), (0.5, 0.8, 0.05, 2.0)],
)
def test_n_two_means_is_statsmodels_solution_rounded_up(
    d: float, power: float, alpha: float, ratio: float
) -> None:
    exact = TTestIndPower().solve_power(d, power=power, alpha=alpha, ratio=ratio)
    res = pl.n_two_means(d, power=power, alpha=alpha, ratio=ratio)
    assert res.n1 == math.ceil(exact)
    assert res.n2 == math.ceil(ratio * res.n1)


def test_raw_difference_and_sd_is_the_smd() -> None:
    # 4 points on the MADRS with SD 8 is d = 0.5: Cohen's 64 per group again.
    assert pl.n_two_means_raw(4.0, 8.0).n1 == 64


def test_non_inferiority_margin_shifts_the_noncentrality() -> None:
    # H0: delta <= -margin; with a true delta of 0 and margin 0.3 SD the one-sided test has the
    # power of a superiority test at d = 0.3 (statsmodels, alternative "larger").
    expected = TTestIndPower().power(0.3, 100, 0.025, alternative="larger")
    assert pl.power_two_means(0.0, 100, alpha=0.025, sides=1, margin=0.3) == pytest.approx(
        expected, rel=1e-9
    )
    n = TTestIndPower().solve_power(0.3, power=0.9, alpha=0.025, alternative="larger")
    assert pl.n_two_means(0.0, power=0.9, alpha=0.025, sides=1, margin=0.3).n1 == math.ceil(n)


def test_dropout_inflation_rounds_up() -> None:
    # 64 evaluable per group, 20 % drop-out: 64 / 0.8 = 80 to enrol; 15 %: 64 / 0.85 = 75.3 -> 76.
    assert pl.n_two_means(0.5, dropout=0.2).n1 == 80
    res = pl.n_two_means(0.5, dropout=0.15)
    assert (res.n1, res.n1_evaluable) == (76, 64)


def test_ancova_deflates_by_one_minus_rho_squared() -> None:
    # Borm, Fransen & Lemmens (2007): n_ANCOVA = n_t-test x (1 - rho^2); 64 x 0.75 = 48.
    res = pl.n_two_means(0.5, baseline_correlation=0.5)
    assert res.n1 == 48
    # rho = 0.7: 64 x 0.51 = 32.64 -> 33.
    assert pl.n_two_means(0.5, baseline_correlation=0.7).n1 == 33


def test_minimum_detectable_effect_matches_statsmodels() -> None:
    # Brin 2020's 30 U comparison: 65 vs 59 patients.
    expected = TTestIndPower().solve_power(None, nobs1=65, alpha=0.05, power=0.8, ratio=59 / 65)
    mde = pl.minimum_detectable_effect(65, 59)
    assert mde == pytest.approx(expected, rel=1e-6)
    assert pl.power_two_means(mde, 65, 59) == pytest.approx(0.8, abs=1e-9)


def test_retrospective_is_power_at_a_given_effect() -> None:
    expected = TTestIndPower().power(0.35, 65, 0.05, ratio=59 / 65)
    assert pl.retrospective(65, 59, 0.35) == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------- crossover


def test_crossover_equals_parallel_t_with_root_two_effect() -> None:
    # AB/BA crossover, m per sequence (n = 2m): Var = 2 sigma_w^2 / n, ncp = d_w sqrt(m), df 2m-2
    # (Julious 2010). A parallel t test with m per group has ncp = d sqrt(m/2), df 2m-2: the two
    # coincide for d = d_w sqrt(2) (statsmodels).
    for d_w, m in ((0.5, 33), (0.3, 40), (1.0, 6)):
        expected = TTestIndPower().power(d_w * math.sqrt(2.0), m, 0.05)
        assert pl.power_crossover(d_w, 2 * m) == pytest.approx(expected, rel=1e-9)


def test_crossover_sample_size_near_julious_normal_formula() -> None:
    # Julious (2010): n = 2 (z_{0.975} + z_{0.8})^2 / d_w^2 = 2 x 7.8489 / 0.25 = 62.8 total;
    # the t distribution adds a few: the exact even n is 66 (power just above 0.8 at 66, not 64).
    normal = 2 * (Z975 + Z80) ** 2 / 0.5**2
    assert normal == pytest.approx(62.79, abs=0.01)
    res = pl.n_crossover(0.5)
    assert res.n_total == 66 and res.n_per_sequence == 33
    assert pl.power_crossover(0.5, 64) < 0.8 <= pl.power_crossover(0.5, 66)


# --------------------------------------------------------------------------- proportions


def test_proportions_chow_unpooled_hand_calculation() -> None:
    # Chow, Shao & Wang (2008) section 4.2 formula, written out (the published table value of
    # Machin et al. could not be verified here, so this is a hand calculation):
    # n = (z_{0.975} + z_{0.80})^2 (p1 q1 + p2 q2) / (p1 - p2)^2
    #   = (1.959964 + 0.841621)^2 x (0.65 x 0.35 + 0.85 x 0.15) / 0.20^2
    #   = 7.848879 x 0.355 / 0.04 = 69.66 -> 70 per group.
    hand = (Z975 + Z80) ** 2 * (0.65 * 0.35 + 0.85 * 0.15) / 0.2**2
    assert hand == pytest.approx(69.66, abs=0.01)
    assert pl.n_two_proportions(0.65, 0.85).n1 == math.ceil(hand) == 70


def test_proportions_fleiss_pooled_hand_calculation() -> None:
    # Fleiss (1981) without continuity correction, pbar = (0.65 + 0.85) / 2 = 0.75:
    # n = [z_{0.975} sqrt(2 x 0.75 x 0.25) + z_{0.80} sqrt(0.65 x 0.35 + 0.85 x 0.15)]^2 / 0.2^2
    #   = [1.959964 x 0.612372 + 0.841621 x 0.595819]^2 / 0.04
    #   = [1.200226 + 0.501454]^2 / 0.04 = 2.895716 / 0.04 = 72.39 -> 73 per group.
    hand = (Z975 * math.sqrt(2 * 0.75 * 0.25) + Z80 * math.sqrt(0.355)) ** 2 / 0.04
    assert hand == pytest.approx(72.39, abs=0.01)
    assert pl.n_two_proportions(0.65, 0.85, pooled=True).n1 == 73


def test_proportions_non_inferiority_hand_calculation() -> None:
    # Chow, Shao & Wang (2008) section 4.2.2, both rates 0.80, margin 0.10, one-sided 5 %:
    # n = (1.644854 + 0.841621)^2 x (0.16 + 0.16) / 0.10^2 = 6.182557 x 32 = 197.84 -> 198.
    hand = (Z95 + Z80) ** 2 * 0.32 / 0.01
    assert hand == pytest.approx(197.84, abs=0.01)
    assert pl.n_two_proportions(0.8, 0.8, sides=1, margin=0.1).n1 == 198


@pytest.mark.parametrize(("p1", "p2", "n1", "ratio"), [(0.5, 0.3, 90, 1.0), (0.4, 0.1, 30, 2.0)])
def test_arcsine_power_matches_statsmodels_normal_ind_power(
    p1: float, p2: float, n1: int, ratio: float
) -> None:
    h = proportion_effectsize(p1, p2)
    expected = NormalIndPower().power(h, n1, 0.05, ratio=ratio)
    n2 = round(ratio * n1)
    assert pl.power_two_proportions_arcsine(p1, p2, n1, n2) == pytest.approx(expected, rel=1e-9)
    solved = NormalIndPower().solve_power(h, power=0.8, alpha=0.05, ratio=ratio)
    assert pl.n_two_proportions_arcsine(p1, p2, ratio=ratio).n1 == math.ceil(solved)


# --------------------------------------------------------------------------- assurance


def test_assurance_with_no_uncertainty_is_directional_power() -> None:
    # se = tau = 0: the prior is a point mass; assurance is the power in the favoured direction.
    # two-sided alpha 0.05 but success only in the favourable direction: one tail at 0.025
    expected = TTestIndPower().power(0.5, 64, 0.025, alternative="larger")
    assert pl.assurance(0.5, 0.0, 64) == pytest.approx(expected, rel=1e-9)


def test_assurance_matches_the_ohagan_normal_closed_form() -> None:
    # O'Hagan, Stevens & Campbell (2005), known-variance z test with estimate SD s_e = sqrt(2/n):
    # assurance = Phi((m - z_{0.975} s_e) / sqrt(s_e^2 + v)). m = 0.5, v = 0.2^2, n = 200:
    # s_e = 0.1, (0.5 - 0.196) / sqrt(0.01 + 0.04) = 1.3597 -> 0.913. The t test differs by
    # less than 0.002 at n = 200.
    s_e = math.sqrt(2 / 200)
    closed = stats.norm.cdf((0.5 - Z975 * s_e) / math.sqrt(s_e**2 + 0.04))
    assert closed == pytest.approx(0.913, abs=0.001)
    assert pl.assurance(0.5, 0.2, 200) == pytest.approx(closed, abs=0.002)


def test_assurance_tends_to_the_probability_of_benefit_and_tau_adds_to_se() -> None:
    # As n grows assurance -> P(delta > 0) = Phi(m / sqrt(se^2 + tau^2)) = Phi(0.5/0.5) = 0.841;
    # at 5e7 per group z x s_e = 1.96 x 0.0002 = 0.0004 moves it by under 1e-3.
    assert pl.assurance(0.5, 0.3, 50_000_000, tau=0.4) == pytest.approx(
        stats.norm.cdf(1.0), abs=1e-3
    )
    assert pl.assurance(0.5, 0.3, 80, tau=0.4) == pytest.approx(pl.assurance(0.5, 0.5, 80))


def test_assurance_equals_monte_carlo_over_draws() -> None:
    # Independent route: draw delta ~ N(0.6, 0.3^2), average statsmodels' one-tailed power.
    rng = np.random.default_rng(7)
    draws = rng.normal(0.6, 0.3, 4000)
    mc = pl.assurance_from_draws(draws, 40)
    quad = pl.assurance(0.6, 0.3, 40)
    assert abs(mc.assurance - quad) < 4 * mc.mc_se
    tt = TTestIndPower()
    direct = np.mean([tt.power(d, 40, 0.025, alternative="larger") for d in draws[:400]])
    sub = pl.assurance_from_draws(draws[:400], 40)
    assert sub.assurance == pytest.approx(direct, rel=1e-9)


def test_assurance_mixture_with_one_component_is_assurance() -> None:
    assert pl.assurance_mixture([1.0], [0.6], [0.3], 40) == pytest.approx(
        pl.assurance(0.6, 0.3, 40), rel=1e-12
    )
    # two equal components at 0.3 and 0.9 average their assurances
    a = 0.5 * (pl.assurance(0.3, 0.2, 40) + pl.assurance(0.9, 0.2, 40))
    assert pl.assurance_mixture([1, 1], [0.3, 0.9], [0.2, 0.2], 40) == pytest.approx(a)


def test_n_for_assurance_reaches_the_target_and_refuses_above_the_plateau() -> None:
    res = pl.n_for_assurance(0.5, 0.2, target=0.7)
    assert res.assurance >= 0.7 > pl.assurance(0.5, 0.2, res.n1 - 1)
    # plateau Phi(0.5 / 0.2) = 0.9938
    with pytest.raises(PlanningError, match=r"target assurance 0.995 .* plateaus at 0.9938"):
        pl.n_for_assurance(0.5, 0.2, target=0.995)


# --------------------------------------------------------------------------- simulation


def test_simulation_agrees_with_the_t_test_within_monte_carlo_error() -> None:
    # No drop-out: the change from baseline to week 12 has SD sd sqrt(2(1 - rho)) = 1 for
    # sd = 1, rho = 0.5, so the analytic power is the t test at d = diff = 0.5 with 40 per group
    # (statsmodels: 0.5981). 4000 simulated trials: MC SE = sqrt(p(1-p)/4000) = 0.0078; the test
    # allows 4 MC SE (a false failure about 1 in 16,000 runs; the seed makes it deterministic).
    analytic = TTestIndPower().power(0.5, 40, 0.05)
    sim = pl.simulate_power(0.5, 40, rho=0.5, sims=4000, seed=20261204)
    assert sim.visits == (0.0, 3.0, 6.0, 9.0, 12.0)
    assert abs(sim.power - analytic) < 4 * math.sqrt(analytic * (1 - analytic) / 4000)
    assert sim.mean_completers == 1.0


def test_simulation_with_dropout_loses_power_and_completers_as_expected() -> None:
    # Drop-out 10 % before each of 4 follow-up visits: completers (0.9)^4 = 0.6561; LOCF carries
    # earlier, smaller changes forward, so power falls below the no-drop-out answer.
    full = pl.simulate_power(0.5, 40, rho=0.5, sims=3000, seed=3)
    drop = pl.simulate_power(0.5, 40, rho=0.5, sims=3000, seed=3, dropout_per_visit=0.1)
    # completers: 80 patients x 3000 trials; SE of the mean fraction ~ sqrt(0.656 x 0.344/240000)
    assert drop.mean_completers == pytest.approx(0.9**4, abs=0.005)
    assert drop.power < full.power - 3 * full.mc_se


def test_simulation_is_reproducible_and_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    a = pl.simulate_power(0.4, 30, sims=500, seed=11, progress=lambda d, t: seen.append((d, t)))
    b = pl.simulate_power(0.4, 30, sims=500, seed=11)
    assert a.power == b.power
    assert seen and seen[-1] == (500, 500)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: pl.n_two_means(0.5, power=1.0), "power"),
        (lambda: pl.n_two_means(0.5, power=0.0), "power"),
        (lambda: pl.n_two_means(0.5, power=1.2), "power"),
        (lambda: pl.n_two_means(0.5, alpha=0.5), "alpha"),
        (lambda: pl.n_two_means(0.5, alpha=0.0), "alpha"),
        (lambda: pl.n_two_means_raw(4.0, -8.0), "sd"),
        (lambda: pl.n_two_means_raw(4.0, 0.0), "sd"),
        (lambda: pl.n_two_means(0.5, dropout=1.0), "dropout"),
        (lambda: pl.n_two_means(0.5, ratio=0.0), "ratio"),
        (lambda: pl.n_two_means(0.5, baseline_correlation=1.0), "baseline_correlation"),
        (lambda: pl.n_two_means(float("nan")), "d"),
        (lambda: pl.n_two_means(0.0), "d"),
        (lambda: pl.n_two_means(0.5, sides=3), "sides"),
        (lambda: pl.n_two_means(0.5, margin=0.2), "margin"),
        (lambda: pl.n_two_proportions(1.0, 0.5), "p1"),
        (lambda: pl.n_two_proportions(0.5, 0.5), "p1 and p2"),
        (lambda: pl.power_two_means(0.5, 1), "n1"),
        (lambda: pl.power_two_means(0.5, 10.5), "n1"),  # type: ignore[arg-type]
        (lambda: pl.assurance(0.5, -0.1, 40), "se_effect"),
        (lambda: pl.simulate_power(0.5, 40, sd=-1.0), "sd"),
        (lambda: pl.simulate_power(0.5, 40, rho=1.0), "rho"),
        (lambda: pl.simulate_power(0.5, 40, visits=(0, 6, 3)), "visits"),
        (lambda: pl.unblinding_scenario(0.5, 1.0), "shrink"),
    ],
)
def test_bad_input_is_refused_naming_the_field(call: object, field: str) -> None:
    with pytest.raises(PlanningError) as info:
        call()  # type: ignore[operator]
    assert str(info.value).startswith(field)


def test_simulated_ancova_reaches_the_power_borm_promises() -> None:
    # Borm, Fransen & Lemmens (2007): with baseline correlation 0.6 the t-test's 64 per group
    # (d = 0.5) becomes 64 x (1 - 0.36) = 40.96 -> 41 per group for 80 % power. Simulating that
    # trial (compound symmetry, rho 0.6 between every pair of visits, so baseline and week 12
    # correlate 0.6) and analysing it by ANCOVA must give 80 % power within Monte Carlo error:
    # 4000 trials, MC SE = sqrt(0.8 x 0.2 / 4000) = 0.0063, allowed 4 MC SE (+-0.025).
    n = pl.n_two_means(0.5, baseline_correlation=0.6).n1
    assert n == 41
    sim = pl.simulate_power(0.5, n, rho=0.6, sims=4000, seed=20261205, analysis="ancova")
    assert abs(sim.power - 0.8) < 4 * math.sqrt(0.8 * 0.2 / 4000)
    # the change-score analysis of the same trial is weaker: its SD is sqrt(2 x 0.4) = 0.894
    change = pl.simulate_power(0.5, n, rho=0.6, sims=4000, seed=20261205)
    analytic = TTestIndPower().power(0.5 / math.sqrt(0.8), n, 0.05)
    assert abs(change.power - analytic) < 4 * math.sqrt(analytic * (1 - analytic) / 4000)
    assert change.power < sim.power
