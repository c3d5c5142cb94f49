"""Wilson intervals and funnel limits against hand calculations written out here."""

from __future__ import annotations

import pytest

from glabella.analytics.stats import funnel_limits, funnel_position, wilson

Z2 = 1.959964**2  # 3.841459


def test_wilson_17_of_33_by_hand() -> None:
    # p = 17/33 = 0.515152; z²/n = 3.841459/33 = 0.116408; denominator 1.116408
    # centre = (0.515152 + 0.058204) / 1.116408 = 0.513573
    # p(1-p)/n = 0.249770/33 = 0.0075688; z²/(4n²) = 3.841459/4356 = 0.00088188
    # half = 1.959964/1.116408 * sqrt(0.0084507) = 1.755594 * 0.091928 = 0.161388
    # interval 0.513573 -/+ 0.161388 = 0.352185 to 0.674961
    p = wilson(17, 33)
    assert p.estimate == pytest.approx(0.515152, abs=1e-6)
    assert p.ci_lb == pytest.approx(0.352185, abs=1e-5)
    assert p.ci_ub == pytest.approx(0.674961, abs=1e-5)
    assert p.text() == "17/33 = 51.5 % (95 % CI 35.2 to 67.5)"


def test_wilson_zero_and_all_events_by_hand() -> None:
    # 0/10: centre = (z²/20)/(1 + z²/10) = 0.192073/1.384146 = 0.138766
    # half = (1.959964/1.384146) * sqrt(z²/400) = 1.416004 * 0.097998 = 0.138766
    # -> 0 to 0.277532; 10/10 is the mirror image: 0.722468 to 1
    none = wilson(0, 10)
    assert none.ci_lb == pytest.approx(0.0, abs=1e-9)
    assert none.ci_ub == pytest.approx(0.277532, abs=1e-5)
    every = wilson(10, 10)
    assert every.ci_lb == pytest.approx(0.722468, abs=1e-5)
    assert every.ci_ub == pytest.approx(1.0, abs=1e-9)


def test_wilson_no_data_and_bad_input() -> None:
    empty = wilson(0, 0)
    assert (empty.estimate, empty.ci_lb, empty.ci_ub) == (None, None, None)
    assert empty.text() == "no data"
    with pytest.raises(ValueError, match="events <= n"):
        wilson(5, 4)


def test_funnel_limits_by_hand() -> None:
    # p0 = 0.5, n = 100: se = sqrt(0.25/100) = 0.05
    # 95 %: 0.5 -/+ 1.959964*0.05 = 0.402002 .. 0.597998
    # 99.8 %: 0.5 -/+ 3.090232*0.05 = 0.345488 .. 0.654512
    lim = funnel_limits(0.5, 100)
    assert lim.lower95 == pytest.approx(0.402002, abs=1e-6)
    assert lim.upper95 == pytest.approx(0.597998, abs=1e-6)
    assert lim.lower998 == pytest.approx(0.345488, abs=1e-6)
    assert lim.upper998 == pytest.approx(0.654512, abs=1e-6)
    assert funnel_position(50, 100, 0.5) == "within"
    assert funnel_position(62, 100, 0.5) == "above95"  # 0.62 between 0.598 and 0.655
    assert funnel_position(30, 100, 0.5) == "below998"  # 0.30 < 0.345
