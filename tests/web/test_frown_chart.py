"""The frown activity index chart beside PHQ-9: readable when visits share a day, treatments
as vertical lines, a failed measurement never drawn (and never at 0)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from glabella.web.frown_chart import SAME_DAY_STEP, frown_phq9_svg
from glabella.web.frown_views import MEASURE_FAILED, fmt_measure

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=UTC)


def _circles(svg: str) -> list[tuple[float, float]]:
    return [
        (float(x), float(y))
        for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*class="fai-point"', svg)
    ]


def test_points_on_the_same_day_are_spread_and_all_visible() -> None:
    svg = frown_phq9_svg([(_at(2, 9), 20.0), (_at(2, 11), 8.0), (_at(2, 15), 9.0)], [], [], LONDON)
    xs = [x for x, _ in _circles(svg)]
    assert len(xs) == 3
    # centred on the day: offsets -1, 0, +1 steps, in time order
    assert xs[1] - xs[0] == SAME_DAY_STEP and xs[2] - xs[1] == SAME_DAY_STEP
    # a single day still has a week-wide axis: 9 days on it at most, the day in the middle
    assert "2026-03-02" in svg


def test_treatments_are_vertical_lines_and_close_labels_move_down_a_row() -> None:
    svg = frown_phq9_svg(
        [(_at(1), 12.0), (_at(20), 3.0)],
        [(_at(1), 18), (_at(20), 9)],
        [(_at(2), "20 U"), (_at(3), "10 U")],
        LONDON,
    )
    lines = re.findall(
        r'<line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"[^>]*class="treatment-line"', svg
    )
    assert len(lines) == 2 and all(a == b for a, b in lines)  # vertical
    labels = re.findall(r'<text x="[\d.]+" y="([\d.]+)"[^>]*class="treatment-label">', svg)
    assert len(labels) == 2 and labels[0] != labels[1]  # one day apart: stacked, not overlaid
    assert svg.count('class="phq9-point"') == 2


def test_a_failed_measurement_is_not_drawn_and_not_at_zero() -> None:
    svg = frown_phq9_svg([(_at(1), 12.0), (_at(8), None), (_at(15), 4.0)], [], [], LONDON)
    points = _circles(svg)
    assert len(points) == 2  # the failed visit has no point
    zero_y = float(re.findall(r'<line x1="52" y1="([\d.]+)"[^>]*stroke="#90a4ae"', svg)[0])
    assert all(abs(y - zero_y) > 1 for _, y in points)
    assert "2026-03-08: measurement failed" in svg  # the accessible summary says so
    polyline = re.search(r'<polyline points="([^"]+)"', svg)
    assert polyline is not None and len(polyline.group(1).split()) == 2


def test_a_missing_measure_reads_measurement_failed_never_zero() -> None:
    assert fmt_measure(None) == MEASURE_FAILED == "measurement failed"
    assert fmt_measure(0.0) == "0.0"  # a real zero stays a number
    assert fmt_measure(8.123, 2) == "8.12"
