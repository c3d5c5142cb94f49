"""Effect sizes from reported statistics (glabella.evidence.convert).

Expected numbers are worked out by hand in the comments (the arithmetic is written out) or come
from published worked examples; quantiles are computed independently of SciPy, with
``statistics.NormalDist`` and the Cornish-Fisher expansion of the t quantile (Abramowitz &
Stegun 1964, 26.7.5), which at df ≥ 28 agrees with tables to 1e-6 or better.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from glabella.evidence import convert as cv
from glabella.evidence.convert import ConversionError, Effect


def t_quantile(prob: float, nu: float) -> float:
    """t quantile by the Cornish-Fisher expansion in 1/nu (A&S 26.7.5), from the normal z."""
    z = NormalDist().inv_cdf(prob)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / nu + g2 / nu**2 + g3 / nu**3 + g4 / nu**4


def test_t_quantile_helper_matches_printed_tables() -> None:
    # Printed t tables: t(0.975; 98) = 1.9845, t(0.975; 28) = 2.0484, t(0.999; 28) = 3.408.
    assert t_quantile(0.975, 98) == pytest.approx(1.98447, abs=1e-5)
    assert t_quantile(0.975, 28) == pytest.approx(2.0484, abs=1e-4)
    assert t_quantile(0.999, 28) == pytest.approx(3.408, abs=1e-3)


# --------------------------------------------------------------------------- Wollmer 2012


def test_wollmer_2012_f_gives_the_reported_d() -> None:
    # Abstract: "F(1,28) = 12.30, p = 0.002, η2 = 0.31, d = 1.28", 15 vs 15 randomised.
    # d = sqrt(F)·sqrt(1/15 + 1/15) = sqrt(12.30·30/225) = sqrt(1.64) = 1.280625
    # J = 1 - 3/(4·28 - 1) = 1 - 3/111 = 0.972973; g = 0.972973·1.280625 = 1.246014
    # V_d = 30/225 + 1.64/(2·30) = 0.133333 + 0.027333 = 0.160667; V_g = J²·V_d = 0.152099
    e = cv.from_f(12.30, 15, 15, df2=28, direction=+1)
    assert e.d == pytest.approx(1.280625, abs=1e-6)
    assert round(e.d, 2) == 1.28  # the paper's d
    assert cv.small_sample_j(28) == pytest.approx(0.972973, abs=1e-6)
    assert e.g == pytest.approx(1.246014, abs=1e-6)
    assert e.var_d == pytest.approx(0.160667, abs=1e-6)
    assert e.var_g == pytest.approx(0.152099, abs=1e-6)
    assert (e.method, e.bound, e.approximate) == ("F", False, False)
    assert "sqrt(F)" in e.formula and "Lipsey" in e.citation
    assert cv.from_f(12.30, 15, 15, direction=-1).d == pytest.approx(-1.280625, abs=1e-6)


def test_wollmer_2012_eta2() -> None:
    # The unrounded η² of F(1,28) = 12.30 is F/(F + 28) = 12.30/40.30 = 0.305211; it must give
    # the same d as the F.
    e = cv.from_eta2(12.30 / 40.30, 15, 15, direction=+1)
    assert e.d == pytest.approx(cv.from_f(12.30, 15, 15, direction=+1).d, rel=1e-12)
    # The printed η² = 0.31: t² = 28·0.31/0.69 = 12.579710, t = 3.546789,
    # d = 3.546789·sqrt(2/15) = 3.546789·0.365148 = 1.295104.
    e31 = cv.from_eta2(0.31, 15, 15, direction=+1)
    assert e31.d == pytest.approx(1.295104, abs=1e-6)
    # The "about 1.34": Cohen's population relation d = 2f, f = sqrt(0.31/0.69) = 0.670280,
    # 2f = 1.340560; it exceeds the sample d by sqrt(N/(N-2)) = sqrt(30/28) = 1.035098.
    pop = cv.d_from_r_population(math.sqrt(0.31), 15, 15)
    assert pop == pytest.approx(1.340560, abs=1e-6)
    assert pop / e31.d == pytest.approx(math.sqrt(30 / 28), rel=1e-12)
    assert cv.from_eta2(0.31, 15, 15, direction=+1, partial=True).approximate


def test_wollmer_2012_rounded_p() -> None:
    # p = 0.002 (rounded): t(0.999; 28) = 3.408152 (Cornish-Fisher), d = 3.408152·0.365148
    # = 1.244480: the rounding of p moves d from 1.2806 to 1.2445.
    t = t_quantile(1 - 0.002 / 2, 28)
    e = cv.from_p("p = 0.002", 15, 15, direction=+1)
    assert e.d == pytest.approx(t * math.sqrt(2 / 15), abs=1e-5)
    assert e.d == pytest.approx(1.24448, abs=1e-5)


# --------------------------------------------------------------------------- Borenstein 2009


def test_borenstein_chapter_4_example() -> None:
    # Borenstein et al. 2009 ch. 4: means 103 vs 100, SD 5.5 and 4.5, n 50/50.
    # S_within = sqrt((49·5.5² + 49·4.5²)/98) = sqrt((1482.25 + 992.25)/98) = sqrt(25.25)
    #          = 5.024938
    # d = 3/5.024938 = 0.597022; V_d = 100/2500 + 0.597022²/200 = 0.04 + 0.001782 = 0.041782
    # J = 1 - 3/(4·98 - 1) = 1 - 3/391 = 0.992327; g = 0.592442; V_g = 0.992327²·V_d = 0.041143
    # Book (4 decimals): d = 0.5970, V_d = 0.0418, J = 0.9923, g = 0.5924, V_g = 0.0411.
    s_within = math.sqrt(25.25)
    e = cv.from_d(3 / s_within, 50, 50)
    assert round(e.d, 4) == 0.5970
    assert round(e.var_d, 4) == 0.0418
    assert round(cv.small_sample_j(98), 4) == 0.9923
    assert round(e.g, 4) == 0.5924
    assert round(e.var_g, 4) == 0.0411
    assert e.var_d == pytest.approx(0.041782, abs=1e-6)
    assert e.var_g == pytest.approx(0.041143, abs=1e-6)
    # The same study from its mean difference and the SE of it: SE = 5.024938·sqrt(2/50)
    # = 1.004988; SD implied = 1.004988/0.2 = 5.024938.
    md = cv.from_mean_difference(3.0, 50, 50, se=s_within * math.sqrt(2 / 50))
    assert md.d == pytest.approx(e.d, rel=1e-12)
    assert md.sd_implied == pytest.approx(5.024938, abs=1e-6)
    assert md.method == "md_se"
    # ... and from its 95 % CI: MD ± t(0.975; 98)·SE = 3 ± 1.984467·1.004988.
    half = t_quantile(0.975, 98) * s_within * math.sqrt(2 / 50)
    ci = cv.from_mean_difference(3.0, 50, 50, ci=(3 - half, 3 + half))
    assert ci.d == pytest.approx(e.d, rel=1e-8)
    assert ci.sd_implied == pytest.approx(5.024938, abs=1e-6)
    assert (ci.method, ci.approximate) == ("md_ci", False)
    # ... and from t = 3/1.004988 = 2.985111: d = 2.985111·0.2 = 0.597022.
    assert cv.from_t(3 / (s_within * 0.2), 50, 50).d == pytest.approx(0.597022, abs=1e-6)


def test_borenstein_chapter_7_log_odds_ratio_example() -> None:
    # ch. 7: ln OR = 0.9069, V = 0.0676 -> d = 0.9069·1.732051/3.141593 = 0.500000,
    # V_d = 0.0676·3/9.869604 = 0.020548 (book: 0.5000, 0.0205).
    d, v = cv.d_from_log_or(0.9069, 0.0676)
    assert d == pytest.approx(0.500000, abs=1e-5)
    assert v == pytest.approx(0.020548, abs=1e-6)
    lor, vlor = cv.log_or_from_d(d, v)
    assert lor == pytest.approx(0.9069, rel=1e-12)
    assert vlor == pytest.approx(0.0676, rel=1e-12)
    e = cv.from_log_or(0.9069, 0.0676, 50, 50)
    assert (e.method, e.approximate) == ("log_or", True)
    assert e.var_d == pytest.approx(0.020548, abs=1e-6)
    assert e.g == pytest.approx(0.992327 * 0.5, abs=1e-5)


def test_borenstein_chapter_7_r_to_d() -> None:
    # eq. 7.8 (equal groups, a = 4): r = 0.5 -> d = 2·0.5/sqrt(0.75) = 1.154701 (book 1.1547).
    assert cv.d_from_r_population(0.5, 50, 50) == pytest.approx(1.154701, abs=1e-6)
    # Unequal groups, a = N²/(n1 n2) = 100²/(30·70) = 4.761905: d = sqrt(a)·r/sqrt(1 - r²)
    # = 2.182179·0.5/0.866025 = 1.259882.
    assert cv.d_from_r_population(0.5, 30, 70) == pytest.approx(1.259882, abs=1e-6)
    # The sample version multiplies by sqrt((N-2)/N) = sqrt(98/100) = 0.989949: 1.143095.
    assert cv.from_r(0.5, 50, 50).d == pytest.approx(1.143095, abs=1e-6)
    # ... and equals the t route: t = 0.5·sqrt(98/0.75) = 5.715476, d = t·0.2 = 1.143095.
    assert cv.from_t(0.5 * math.sqrt(98 / 0.75), 50, 50).d == pytest.approx(1.143095, abs=1e-6)


# --------------------------------------------------------------------------- mean differences


def test_mean_difference_from_p() -> None:
    # MD = -3.7, p = 0.053 (two-sided), n 65/59, df = 122.
    # t(1 - 0.0265; 122): z = Φ⁻¹(0.9735) = 1.934921, Cornish-Fisher -> t = 1.953912.
    # SE = 3.7/1.953912 = 1.893637; sqrt(1/65 + 1/59) = sqrt(0.0153846 + 0.0169492) = 0.179816
    # SD implied = 1.893637/0.179816 = 10.530975; d = -3.7/10.530975 = -0.351344.
    t = t_quantile(1 - 0.053 / 2, 122)
    assert t == pytest.approx(1.953912, abs=1e-6)
    se = 3.7 / t
    sd = se / math.sqrt(1 / 65 + 1 / 59)
    assert sd == pytest.approx(10.530975, abs=1e-5)
    e = cv.from_mean_difference(-3.7, 65, 59, p=0.053)
    assert e.sd_implied == pytest.approx(sd, rel=1e-8)
    assert e.d == pytest.approx(-3.7 / sd, rel=1e-8)
    assert e.d == pytest.approx(-0.351344, abs=1e-6)
    assert (e.method, e.approximate) == ("md_p", False)
    assert "df = 122" in e.formula and "6.5.2.3" in e.citation
    # The same as the p route with the direction of MD.
    assert e.d == pytest.approx(cv.from_p(0.053, 65, 59, direction=-1).d, rel=1e-12)


def test_mean_difference_from_ci_normal_quantile_and_other_df() -> None:
    # A large-sample 95 % CI from z: width = 3.92·SE (Cochrane 6.5.2.3). MD 2, SE 1 ->
    # CI 2 ± 1.959964; n 200/200: SD = 1/sqrt(2/200) = 10, d = 0.2.
    z = NormalDist().inv_cdf(0.975)
    e = cv.from_mean_difference(2.0, 200, 200, ci=(2 - z, 2 + z), df=math.inf)
    assert e.sd_implied == pytest.approx(10.0, rel=1e-9)
    assert e.d == pytest.approx(0.2, rel=1e-9)
    assert e.approximate  # df other than n1 + n2 - 2
    # A 90 % CI: half-width t(0.95; 398)·SE.
    half = t_quantile(0.95, 398)
    e90 = cv.from_mean_difference(2.0, 200, 200, ci=(2 - half, 2 + half), level=0.90)
    assert e90.d == pytest.approx(0.2, rel=1e-8)
    assert not e90.approximate


# --------------------------------------------------------------------------- p-values and bounds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.002", (0.002, False)),
        ("p = 0.053", (0.053, False)),
        ("P=.004", (0.004, False)),
        ("<0.0005", (0.0005, True)),
        ("p < .001", (0.001, True)),
        ("p ≤ 0.01", (0.01, True)),
        ("p-value <= 1e-4", (1e-4, True)),
    ],
)
def test_parse_p(text: str, expected: tuple[float, bool]) -> None:
    assert cv.parse_p(text) == expected


def test_bound_is_conservative_and_flagged() -> None:
    # Finzi 2014: Mann-Whitney p < 0.0005. Taken at p = 0.0005 with df 28:
    # t(0.99975; 28) by Cornish-Fisher, d = t·sqrt(2/15).
    b = cv.from_p_bound(0.0005, 15, 15, direction=+1)
    assert b.bound and b.method == "p_bound"
    assert b.d == pytest.approx(t_quantile(1 - 0.00025, 28) * math.sqrt(2 / 15), rel=1e-4)
    assert b.d == pytest.approx(cv.from_p(0.0005, 15, 15, direction=+1).d, rel=1e-12)
    # Any p below the bound gives a larger |d|: the bound is a floor on |d|.
    assert cv.from_p(0.0001, 15, 15, direction=+1).d > b.d
    assert not cv.from_p(0.0005, 15, 15, direction=+1).bound


def test_one_sided_p() -> None:
    # One-sided p = 0.025 is two-sided p = 0.05.
    one = cv.from_p(0.025, 20, 20, direction=-1, two_sided=False)
    two = cv.from_p(0.05, 20, 20, direction=-1)
    assert one.d == pytest.approx(two.d, rel=1e-12)
    assert one.d < 0


# --------------------------------------------------------------------------- binary outcomes


def test_log_or_from_table() -> None:
    # a, b, c, d = 10, 20, 5, 25: OR = (10·25)/(20·5) = 2.5, ln = 0.916291;
    # V = 1/10 + 1/20 + 1/5 + 1/25 = 0.1 + 0.05 + 0.2 + 0.04 = 0.39.
    lor, v = cv.log_or_from_table(10, 20, 5, 25)
    assert lor == pytest.approx(0.916291, abs=1e-6)
    assert v == pytest.approx(0.39, rel=1e-12)
    # A zero cell: 0.5 added to every cell -> 0.5, 10.5, 5.5, 5.5: OR = 0.5·5.5/(10.5·5.5)
    # = 0.047619, ln = -3.044522; V = 2 + 0.095238 + 0.181818 + 0.181818 = 2.458874.
    lor0, v0 = cv.log_or_from_table(0, 10, 5, 5)
    assert lor0 == pytest.approx(-3.044522, abs=1e-6)
    assert v0 == pytest.approx(2.458874, abs=1e-6)


def test_chi2_is_an_approximation() -> None:
    # χ² = 4, N = 100 (50/50): φ = sqrt(0.04) = 0.2; t = 0.2·sqrt(98/0.96) = 2.020726;
    # d = 2.020726·sqrt(2/50) = 0.404145 (population form 2·0.2/sqrt(0.96) = 0.408248).
    e = cv.log_or_from_chi2(4.0, 50, 50, direction=+1)
    assert e.d == pytest.approx(0.404145, abs=1e-6)
    assert e.approximate and e.method == "chi2"
    assert cv.log_or_from_chi2(4.0, 50, 50, direction=-1).d == pytest.approx(-e.d)
    assert cv.log_or_from_chi2(0.0, 50, 50, direction=+1).d == 0.0


# --------------------------------------------------------------------------- medians (Wan, Luo)


def test_median_iqr_wan_luo() -> None:
    # n = 100, q1 = 10, m = 15, q3 = 22.
    # Wan eq. 16: (0.75·100 - 0.125)/(100 + 0.25) = 74.875/100.25 = 0.746883,
    # Φ⁻¹(0.746883) = 0.664712, SD = 12/(2·0.664712) = 9.026459.
    # Luo: w = 0.7 + 0.39/100 = 0.7039; mean = 0.7039·16 + 0.2961·15 = 11.2624 + 4.4415
    # = 15.7039.
    z = NormalDist().inv_cdf(74.875 / 100.25)
    assert z == pytest.approx(0.664712, abs=1e-6)
    mean, sd = cv.mean_sd_from_median_iqr(10, 15, 22, 100)
    assert sd == pytest.approx(12 / (2 * z), rel=1e-9)
    assert sd == pytest.approx(9.026459, abs=1e-6)
    assert mean == pytest.approx(15.7039, abs=1e-9)
    # Large n: the SD tends to IQR/(2·0.6745) = IQR/1.35 (the Cochrane rule of thumb).
    _, sd_big = cv.mean_sd_from_median_iqr(10, 15, 22, 10**7)
    assert sd_big == pytest.approx(12 / (2 * NormalDist().inv_cdf(0.75)), rel=1e-6)


def test_median_range_wan_luo() -> None:
    # n = 100, min = 2, m = 15, max = 40.
    # Wan eq. 7: (100 - 0.375)/(100.25) = 0.993766, Φ⁻¹ = 2.498591, SD = 38/4.997181 = 7.604287.
    # Luo: w = 4/(4 + 100^0.75) = 4/(4 + 31.622777) = 0.112288;
    # mean = 0.112288·21 + 0.887712·15 = 2.358048 + 13.315678 = 15.673726.
    z = NormalDist().inv_cdf(99.625 / 100.25)
    mean, sd = cv.mean_sd_from_median_range(2, 15, 40, 100)
    assert sd == pytest.approx(38 / (2 * z), rel=1e-9)
    assert sd == pytest.approx(7.604287, abs=1e-6)
    assert mean == pytest.approx(15.673726, abs=1e-6)


# --------------------------------------------------------------------------- round trips

n_st = st.integers(min_value=2, max_value=300)
d_st = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False)


@given(d=d_st, n1=n_st, n2=n_st)
def test_d_t_d(d: float, n1: int, n2: int) -> None:
    t = d / math.sqrt(1 / n1 + 1 / n2)
    assert cv.from_t(t, n1, n2).d == pytest.approx(d, rel=1e-12, abs=1e-12)


@given(d=d_st, v=st.floats(min_value=1e-4, max_value=5.0))
def test_d_log_or_d(d: float, v: float) -> None:
    lor, vlor = cv.log_or_from_d(d, v)
    back, vback = cv.d_from_log_or(lor, vlor)
    assert back == pytest.approx(d, rel=1e-12, abs=1e-12)
    assert vback == pytest.approx(v, rel=1e-12)


@given(
    d=st.floats(min_value=1e-3, max_value=3.0),
    sign=st.sampled_from([1, -1]),
    n1=n_st,
    n2=n_st,
)
def test_d_p_d(d: float, sign: int, n1: int, n2: int) -> None:
    t = d / math.sqrt(1 / n1 + 1 / n2)
    p = 2 * float(stats.t.sf(t, n1 + n2 - 2))
    e = cv.from_p(p, n1, n2, direction=sign)
    assert e.d == pytest.approx(sign * d, rel=1e-6)


@given(eta2=st.floats(min_value=0.0, max_value=0.99), n=n_st, sign=st.sampled_from([1, -1]))
def test_eta2_d_eta2_equal_groups(eta2: float, n: int, sign: int) -> None:
    e = cv.from_eta2(eta2, n, n, direction=sign)
    assert math.copysign(1.0, e.d) == sign or e.d == 0.0
    assert cv.eta2_from_d(e.d, n, n) == pytest.approx(eta2, rel=1e-9, abs=1e-12)


@given(r=st.floats(min_value=-0.99, max_value=0.99), n1=n_st, n2=n_st)
def test_r_agrees_with_t(r: float, n1: int, n2: int) -> None:
    t = r * math.sqrt((n1 + n2 - 2) / (1 - r * r))
    assert cv.from_r(r, n1, n2).d == pytest.approx(cv.from_t(t, n1, n2).d, rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- the Effect record


def test_effect_to_dict_is_json_ready() -> None:
    e = cv.from_mean_difference(-3.7, 65, 59, p=0.053)
    data = e.to_dict()
    assert set(data) == {
        "d",
        "var_d",
        "g",
        "var_g",
        "n1",
        "n2",
        "method",
        "formula",
        "citation",
        "bound",
        "approximate",
        "sd_implied",
    }
    assert json.loads(json.dumps(data))["method"] == "md_p"
    assert isinstance(e, Effect)
    with pytest.raises(AttributeError):
        e.d = 0.0  # type: ignore[misc]


def test_f_with_adjusted_df_is_approximate() -> None:
    # An ANCOVA F(1, 26) with 15/15 (two covariates): same |t| = sqrt(F), flagged approximate.
    e = cv.from_f(12.30, 15, 15, df2=26, direction=+1)
    assert e.d == pytest.approx(1.280625, abs=1e-6)
    assert e.approximate and "df2 = 26" in e.formula


# --------------------------------------------------------------------------- refused inputs

nan = float("nan")

BAD: list[tuple[str, Callable[[], Any], str]] = [
    ("df2 = 0", lambda: cv.from_f(12.3, 15, 15, df2=0, direction=1), "df2"),
    ("df2 < 0", lambda: cv.from_f(12.3, 15, 15, df2=-3, direction=1), "df2"),
    ("df2 > N-2 (within-subject F)", lambda: cv.from_f(9.1, 15, 15, df2=370, direction=1), "df2"),
    ("df1 = 2", lambda: cv.from_f(12.3, 15, 15, df1=2, direction=1), "df1"),
    ("negative F", lambda: cv.from_f(-1.0, 15, 15, direction=1), "f"),
    ("F direction 0", lambda: cv.from_f(12.3, 15, 15, direction=0), "direction"),
    ("p = 0", lambda: cv.from_p(0.0, 15, 15, direction=1), "p"),
    ("p = 1", lambda: cv.from_p(1.0, 15, 15, direction=1), "p"),
    ("p = 1.2", lambda: cv.from_p(1.2, 15, 15, direction=1), "p"),
    ("p NaN", lambda: cv.from_p(nan, 15, 15, direction=1), "p"),
    ("bound text to from_p", lambda: cv.from_p("p < .001", 15, 15, direction=1), "p"),
    ("p > text", lambda: cv.parse_p("p > 0.05"), "p"),
    ("not a p", lambda: cv.parse_p("n.s."), "p"),
    ("parse p = 0", lambda: cv.parse_p("p = 0"), "p"),
    ("p_upper = 1", lambda: cv.from_p_bound(1.0, 15, 15, direction=1), "p_upper"),
    ("n1 = 1", lambda: cv.from_t(2.0, 1, 15), "n1"),
    ("n2 = 1", lambda: cv.from_d(0.5, 15, 1), "n2"),
    ("n1 bool", lambda: cv.from_t(2.0, True, 15), "n1"),
    ("n2 fractional", lambda: cv.from_t(2.0, 15, 14.5), "n2"),  # type: ignore[arg-type]
    ("direction 0", lambda: cv.from_p(0.05, 15, 15, direction=0), "direction"),
    ("direction 2", lambda: cv.from_eta2(0.1, 15, 15, direction=2), "direction"),
    ("direction bool", lambda: cv.from_p(0.05, 15, 15, direction=True), "direction"),
    ("t NaN", lambda: cv.from_t(nan, 15, 15), "t"),
    ("d inf", lambda: cv.from_d(math.inf, 15, 15), "d"),
    ("md NaN", lambda: cv.from_mean_difference(nan, 15, 15, se=1.0), "md"),
    ("eta2 = 1", lambda: cv.from_eta2(1.0, 15, 15, direction=1), "eta2"),
    ("eta2 < 0", lambda: cv.from_eta2(-0.1, 15, 15, direction=1), "eta2"),
    ("|r| = 1", lambda: cv.from_r(1.0, 15, 15), "r"),
    ("se = 0", lambda: cv.from_mean_difference(1.0, 15, 15, se=0.0), "se"),
    ("ci reversed", lambda: cv.from_mean_difference(1.0, 15, 15, ci=(2.0, 0.0)), "ci"),
    ("md outside ci", lambda: cv.from_mean_difference(3.0, 15, 15, ci=(0.0, 2.0)), "ci"),
    ("none of se/ci/p", lambda: cv.from_mean_difference(1.0, 15, 15), "se"),
    ("se and p", lambda: cv.from_mean_difference(1.0, 15, 15, se=1.0, p=0.05), "p"),
    ("md 0 with p", lambda: cv.from_mean_difference(0.0, 15, 15, p=0.05), "md"),
    ("level 1", lambda: cv.from_mean_difference(1.0, 15, 15, ci=(0, 2), level=1.0), "level"),
    ("chi2 < 0", lambda: cv.log_or_from_chi2(-1.0, 50, 50, direction=1), "chi2"),
    ("chi2 >= N", lambda: cv.log_or_from_chi2(100.0, 50, 50, direction=1), "chi2"),
    ("negative cell", lambda: cv.log_or_from_table(-1, 2, 3, 4), "a"),
    ("no events", lambda: cv.log_or_from_table(0, 10, 0, 10), "a"),
    ("var_log_or = 0", lambda: cv.d_from_log_or(0.5, 0.0), "var_log_or"),
    ("q1 > median", lambda: cv.mean_sd_from_median_iqr(16, 15, 22, 100), "q1"),
    ("median > q3", lambda: cv.mean_sd_from_median_iqr(10, 23, 22, 100), "q3"),
    ("q1 = q3", lambda: cv.mean_sd_from_median_iqr(15, 15, 15, 100), "q3"),
    ("IQR n = 1", lambda: cv.mean_sd_from_median_iqr(10, 15, 22, 1), "n"),
    ("range min > median", lambda: cv.mean_sd_from_median_range(16, 15, 40, 50), "minimum"),
    ("range NaN", lambda: cv.mean_sd_from_median_range(2, nan, 40, 50), "median"),
    ("J df = 1", lambda: cv.small_sample_j(1.0), "df"),
]


@pytest.mark.parametrize(("label", "call", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_refused_with_field_named(
    label: str, call: Callable[[], Any], field: str
) -> None:
    with pytest.raises(ConversionError) as info:
        call()
    assert info.value.field == field
    assert field in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bound_text_message_points_to_from_p_bound() -> None:
    with pytest.raises(ConversionError, match="from_p_bound") as info:
        cv.from_p("<0.0005", 15, 15, direction=1)
    assert "sensitivity" in str(info.value)


def test_n_message_format() -> None:
    with pytest.raises(ConversionError) as info:
        cv.from_t(2.0, 1, 15)
    assert str(info.value) == "n1 must be a whole number ≥ 2, got 1"
