"""Frown biomarker beside mood (pure): correlation with Fisher-z CIs, OLS slope, Kaplan-Meier
medians, and the course definitions, each against numbers worked out by hand below."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from glabella.analytics.frown import (
    FrownCourse,
    analyse_frown,
    correlate,
    kaplan_meier_median,
)

Z = 1.959963984540054  # standard normal 97.5 % quantile
T3 = 3.182446305284263  # Student t 97.5 % quantile, 3 degrees of freedom (tables: 3.182)
T0 = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)


def _at(days: float) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def test_pearson_spearman_and_slope_by_hand() -> None:
    # x = 1..5, y = 2,1,4,3,5. Means 3 and 3; dx = -2,-1,0,1,2; dy = -1,-2,1,0,2.
    # Sxy = 2+2+0+0+4 = 8; Sxx = 10; Syy = 1+4+1+0+4 = 10; r = 8/10 = 0.8.
    # Fisher: z = atanh(0.8) = 0.5 ln 9 = 1.0986; SE = 1/sqrt(5-3); CI = tanh(z -/+ 1.96 SE)
    #   = tanh(-0.2873), tanh(2.4845) = -0.2796, (e^4.969 - 1)/(e^4.969 + 1) = 0.9862.
    # y are already ranks, so rho = 0.8; SE = sqrt(1.06/2) = 0.7280; CI tanh(1.0986 -/+ 1.4269).
    # OLS: b = Sxy/Sxx = 0.8, a = 3 - 0.8*3 = 0.6; fitted 1.4,2.2,3.0,3.8,4.6;
    # residuals 0.6,-1.2,1.0,-0.8,0.4; SSE = 0.36+1.44+1+0.64+0.16 = 3.6;
    # SE(b) = sqrt(3.6/3/10) = 0.34641; CI = 0.8 -/+ 3.1824*0.34641 = -0.30244, 1.90244.
    c = correlate([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert c.n == 5
    assert c.pearson_r == pytest.approx(0.8)
    z = 0.5 * math.log(9)
    assert c.pearson_ci == pytest.approx(
        (math.tanh(z - Z / math.sqrt(2)), math.tanh(z + Z / math.sqrt(2)))
    )
    assert c.pearson_ci == pytest.approx((-0.2796, 0.9862), abs=1e-4)
    assert c.spearman_rho == pytest.approx(0.8)
    se_s = math.sqrt(1.06 / 2)
    assert c.spearman_ci == pytest.approx((math.tanh(z - Z * se_s), math.tanh(z + Z * se_s)))
    assert c.slope == pytest.approx(0.8) and c.intercept == pytest.approx(0.6)
    half = T3 * math.sqrt(3.6 / 3 / 10)
    assert c.slope_ci == pytest.approx((0.8 - half, 0.8 + half))
    assert c.slope_ci == pytest.approx((-0.30244, 1.90244), abs=1e-5)


def test_spearman_differs_from_pearson_with_an_outlier() -> None:
    # y = 2,1,4,3,50: mean 12; dy = -10,-11,-8,-9,38; Sxy = 20+11+0-9+76 = 98;
    # Syy = 100+121+64+81+1444 = 1810; r = 98/sqrt(10*1810) = 0.72842. Ranks of y: 2,1,4,3,5,
    # so rho = 0.8 (as above): the outlier moves r but not rho.
    c = correlate([1, 2, 3, 4, 5], [2, 1, 4, 3, 50])
    assert c.pearson_r == pytest.approx(98 / math.sqrt(18100))
    assert c.pearson_r == pytest.approx(0.72842, abs=1e-5)
    assert c.spearman_rho == pytest.approx(0.8)


def test_tied_ranks_take_the_mean_rank() -> None:
    # x = 1,2,2,3 -> ranks 1, 2.5, 2.5, 4; y = 1,2,3,4 -> ranks 1..4.
    # mean rank 2.5: dx = -1.5,0,0,1.5; dy = -1.5,-0.5,0.5,1.5; S = 2.25+0+0+2.25 = 4.5;
    # Sxx = 4.5, Syy = 2.25+0.25+0.25+2.25 = 5; rho = 4.5/sqrt(22.5) = 0.94868
    c = correlate([1, 2, 2, 3], [1, 2, 3, 4])
    assert c.spearman_rho == pytest.approx(4.5 / math.sqrt(22.5))


def test_too_few_or_constant_values_give_no_estimate() -> None:
    assert correlate([1, 2, 3], [3, 2, 1]).pearson_r is None  # n < 4: no Fisher interval
    assert correlate([1, 1, 1, 1], [1, 2, 3, 4]).pearson_r is None
    perfect = correlate([1, 2, 3, 4], [2, 4, 6, 8])  # r = 1: atanh(1) is infinite, no interval
    assert perfect.pearson_r == pytest.approx(1.0) and perfect.pearson_ci is None
    assert perfect.slope == pytest.approx(2.0) and perfect.slope_ci == pytest.approx((2.0, 2.0))
    with pytest.raises(ValueError, match="pair up"):
        correlate([1, 2], [1])


def test_kaplan_meier_median_by_hand() -> None:
    # 30 event: S = 4/5 = 0.8; 45 censored (3 at risk after); 60 event: S = 0.8*2/3 = 0.533;
    # 90 event: S = 0.533*1/2 = 0.267 <= 0.5 -> median 90; 120 censored.
    d = kaplan_meier_median([(30, True), (45, False), (60, True), (90, True), (120, False)])
    assert (d.n, d.events, d.censored, d.median_days) == (5, 3, 2, 90)
    # 10 event: S = 2/3 > 0.5, the rest censored: median not reached -> unknown
    assert kaplan_meier_median([(10, True), (20, False), (30, False)]).median_days is None
    assert kaplan_meier_median([]).median_days is None
    # tie: two events at 5 of 4 at risk: S = 2/4 = 0.5 -> median 5
    assert kaplan_meier_median([(5, True), (5, True), (8, False), (9, True)]).median_days == 5


def _course(
    frown: list[tuple[float, float]], phq9: list[tuple[float, int]], horizon: float = 365
) -> FrownCourse:
    return FrownCourse(
        treated_at=T0,
        horizon=_at(horizon),
        frown=[(_at(d), v) for d, v in frown],
        phq9=[(_at(d), v) for d, v in phq9],
    )


def test_week2_frown_reduction_against_week6_phq9_change() -> None:
    # baseline FAI 20 (day -1) and week-2 FAI 20 - x (day 14): x = 1..5;
    # baseline PHQ-9 20 and week-6 PHQ-9 20 + y (day 42): y = -(2,1,4,3,5).
    # As in the first test with y negated: r = -0.8, b = -0.8, a = -3 - (-0.8)(3) = -0.6.
    courses = [
        _course([(-1, 20.0), (14, 20.0 - x)], [(-1, 20), (42, 20 + y)])
        for x, y in zip([1, 2, 3, 4, 5], [-2, -1, -4, -3, -5], strict=True)
    ]
    courses.append(_course([(-1, 20.0), (14, 10.0)], [(-1, 8), (42, 2)]))  # PHQ-9 below 10
    courses.append(_course([(-1, 20.0), (14, 10.0)], [(-1, 20), (42, 9)], horizon=10))
    result = analyse_frown(courses)
    c = result.correlation
    assert c.n == 5
    assert c.pearson_r == pytest.approx(-0.8) and c.spearman_rho == pytest.approx(-0.8)
    assert c.slope == pytest.approx(-0.8) and c.intercept == pytest.approx(-0.6)
    assert result.excluded["no_baseline_phq9_of_min"] == 1
    # re-treated on day 10: the day-14 pair and day-42 PHQ-9 belong to the next course
    assert result.excluded["no_week2_frown_or_week6_phq9"] == 1
    assert result.courses == 7
    assert "Observational" in result.to_dict()["week2_frown_vs_week6_phq9"]["caveat"]  # type: ignore[index]


def test_frown_return_against_mood_benefit_by_hand() -> None:
    # return line = 0.8 x baseline FAI; response = PHQ-9 <= baseline / 2
    a = _course(  # FAI 20 (line 16): 5 at 14 (reduced), 10 at 60, 17 at 90 -> returned day 90
        [(-1, 20.0), (14, 5.0), (60, 10.0), (90, 17.0)],
        [(-1, 20), (42, 8), (90, 9), (120, 14)],  # response until day 120 (14 > 10): ends 120
    )
    b = _course(  # FAI 30 (line 24): 10 at 14, 25 at 100 -> returned day 100
        [(-2, 30.0), (14, 10.0), (100, 25.0)],
        [(-2, 16), (42, 6), (70, 12)],  # response (6 <= 8) lost at day 70 (12 > 8)
    )
    c = _course(  # FAI 10 (line 8): 9 and 10 never below 8 -> "frown never fell"
        [(-1, 10.0), (14, 9.0), (60, 10.0)],
        [(-1, 12), (42, 11)],  # 11 > 6: never responded
    )
    d = _course(  # FAI 20: 4 at 14, 6 at 120 -> still reduced: censored at 120
        [(-1, 20.0), (14, 4.0), (120, 6.0)],
        [(-1, 20), (42, 10), (150, 9)],  # 10 <= 10 response, still at 150: censored at 150
    )
    result = analyse_frown([a, b, c, d])
    # frown returns 90 (seen), 100 (seen), 120 (censored): S(90) = 2/3, S(100) = 1/3 -> 100
    fr = result.frown_return
    assert (fr.n, fr.events, fr.censored, fr.median_days) == (3, 2, 1, 100)
    # mood ends 70 (seen), 120 (seen), 150 (censored): S(70) = 2/3, S(120) = 1/3 -> 120
    mb = result.mood_benefit
    assert (mb.n, mb.events, mb.censored, mb.median_days) == (3, 2, 1, 120)
    # both seen: a (frown 90, mood 120: outlasted), b (frown 100, mood 70: not)
    assert result.both_seen == 2
    assert (result.mood_outlasted_frown.events, result.mood_outlasted_frown.n) == (1, 2)
    assert result.median_difference_days == 0  # median of +30 and -30
    assert result.excluded["frown_never_fell"] == 1 and result.excluded["never_responded"] == 1


def test_no_data_is_unknown_not_zero() -> None:
    result = analyse_frown([])
    assert result.correlation.pearson_r is None
    assert result.frown_return.median_days is None and result.mood_benefit.median_days is None
    assert result.median_difference_days is None
    assert "unknown" in result.frown_return.text()
    with pytest.raises(ValueError, match="return_fraction"):
        analyse_frown([], return_fraction=1.5)
