"""The funnel plot SVG: one point per injector, outliers marked, no inline style on the page."""

from __future__ import annotations

from glabella.analytics.charts import funnel_svg, months_svg
from glabella.analytics.compute import FunnelPoint


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
