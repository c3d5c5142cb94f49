"""The funnel plot SVG: one point per injector, outliers marked, no inline style on the page."""

from __future__ import annotations

from glabella.analytics.charts import funnel_svg, months_svg, trajectory_svg
from glabella.analytics.compute import FunnelPoint, WeekMean


def test_funnel_points_outliers_and_styles() -> None:
    points = [
        FunnelPoint("Dr <A>", 30, 30, "above998"),
        FunnelPoint("Dr B", 15, 30, "within"),
    ]
    svg = funnel_svg(points, 0.5)
    assert svg.count("<circle") == 2
    assert svg.count('class="point outside"') == 1
    assert "Dr &lt;A&gt;" in svg and "Dr <A>" not in svg  # names are escaped
    assert "<style>" not in svg  # the page's CSP allows no inline styles
    assert "<style>" in funnel_svg(points, 0.5, standalone=True)
    assert "No week-6 results" in funnel_svg([], None)


def test_month_bars() -> None:
    svg = months_svg([], [("2026-01", 4), ("2026-02", 8)])
    assert svg.count('class="bar"') == 2
    assert "2026-02: 8 treatments" in svg


def test_trajectory_line_and_points() -> None:
    weeks = [WeekMean(0, 2, 16.0), WeekMean(2, 2, 11.0), WeekMean(6, 2, 7.5)]
    svg = trajectory_svg(weeks)
    assert svg.count('class="point"') == 3
    assert "week 6: mean 7.5 (n = 2)" in svg and "baseline: mean 16.0 (n = 2)" in svg
    # y = TOP + (1 - 16/27) * plot_h, plot_h = 300 - 16 - 40 = 244: 16 + 0.407407 * 244 = 115.4
    # x of week 6 = LEFT + plot_w = 56 + (720 - 56 - 56) = 664.0
    assert "56.0,115.4" in svg and "664.0," in svg
    assert "No PHQ-9 results" in trajectory_svg([])
