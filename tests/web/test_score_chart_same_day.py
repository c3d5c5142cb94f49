"""Score charts stay readable when results share a day (issue 16, item 5)."""

from __future__ import annotations

import datetime as dt
import re

from glabella.clinic import instruments
from glabella.web.charts import (
    HEIGHT,
    LEFT,
    NARROW,
    RIGHT,
    TOP,
    WIDTH,
    fit_label,
    score_history_charts,
    score_history_svg,
)

PHQ9 = instruments.get("phq9")
PLOT_W = WIDTH - LEFT - RIGHT  # 640 - 48 - 190 = 402
CENTRE = LEFT + PLOT_W / 2  # 48 + 201 = 249


def _circles(svg: str) -> list[tuple[float, float]]:
    return [
        (float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    ]


def test_same_day_baseline_and_follow_up_are_spread_inside_the_axis() -> None:
    day = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    points = [(day, 20), (day + dt.timedelta(hours=6), 12)]
    svg = score_history_svg(PHQ9, points, markers=[(day + dt.timedelta(hours=1), "29 U")])
    # One day: centred at 249; three events (baseline 09:00, treatment 10:00, follow-up
    # 15:00) 40 px apart in time order (one day only: SINGLE_DAY_SPREAD): 209, 249, 289.
    assert [x for x, _ in _circles(svg)] == [209.0, 289.0]
    assert 'x1="249.0"' in svg  # the treatment marker between them
    for x, y in _circles(svg):
        assert LEFT < x < LEFT + PLOT_W and TOP <= y <= HEIGHT
    # One date label for the shared day; the point titles carry the time.
    assert svg.count('class="day"') == 1
    assert "2026-11-02 09:00: 20" in svg and "2026-11-02 15:00: 12" in svg


def test_first_day_is_inside_the_axis_not_on_its_edge() -> None:
    day = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    points = [(day, 20), (day + dt.timedelta(minutes=5), 18), (day + dt.timedelta(days=42), 8)]
    xs = [x for x, _ in _circles(score_history_svg(PHQ9, points))]
    # Days span 48 + 28 = 76 to 48 + 402 - 28 = 422; the first day's two results sit at
    # 76 - 7 = 69 and 76 + 7 = 83, the follow-up at 422.
    assert xs == [69.0, 83.0, 422.0]


def test_value_axis_includes_a_point_outside_the_instrument_range() -> None:
    day = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    svg = score_history_svg(PHQ9, [(day, 30), (day + dt.timedelta(days=7), 0)])
    ys = [y for _, y in _circles(svg)]
    # The axis runs 0-30 (not 0-27): 30 is drawn at the top, TOP = 16, 0 at the bottom, 224.
    assert ys == [16.0, float(HEIGHT - 36)]


def test_both_variants_are_drawn_and_the_narrow_one_has_large_text() -> None:
    day = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    points = [(day, 16), (day + dt.timedelta(days=42), 8)]
    html = score_history_charts(PHQ9, points, markers=[(day + dt.timedelta(hours=1), "29 U")])
    wide, narrow = html.split("</svg>")[:2]
    assert 'id="chart-phq9"' in wide and 'class="chart chart-wide"' in wide
    assert 'id="chart-phq9-narrow"' in narrow and 'viewBox="0 0 360 260"' in narrow
    # 14 viewBox px at 360 -> about 12.4 px in a 318 px phone card (the e2e test measures it)
    assert set(re.findall(r'font-size="(\d+)"', narrow)) == {"14"}
    # the days sit 36 + 44 = 80 and 360 - 10 - 44 = 306 px across: half an 80 px date inside
    assert re.findall(r'<text x="([\d.]+)"[^>]*class="day"', narrow) == ["80.0", "306.0"]


def test_a_long_treatment_label_is_cut_to_whole_words_and_keeps_the_dose() -> None:
    # the phone chart: 360 wide, plot from x=36 to x=350 (right margin 10); a label at 14 px
    # takes about 0.6 x 14 = 8.4 units per character, so the 31-character product label
    # (about 260 units) does not fit left of a marker in the middle of the plot
    label = "25 U onabotulinumtoxinA (Botox)"
    assert fit_label(label, 400, 14) == label  # room enough: unchanged
    # "25 U onabotulinumtoxinA" is 23 characters, with "…" 24: 24 x 8.4 = 201.6 units
    assert fit_label(label, 210, 14) == "25 U onabotulinumtoxinA…"  # 201.6 <= 210 < 260.4
    assert fit_label(label, 200, 14) == "25 U…"  # 201.6 > 200: the product word goes too
    assert fit_label(label, 60, 14) == "25 U…"  # (4 + 1) x 8.4 = 42 <= 60
    assert fit_label(label, 10, 14) == "25…"  # the first word always stays
    day = dt.datetime(2026, 12, 4, 10, tzinfo=dt.UTC)
    svg = score_history_svg(PHQ9, [(day, 16)], markers=[(day, label)], geometry=NARROW)
    shown = re.search(r'<title>([^<]*)</title><text [^>]*class="marker-label">([^<]*)</text>', svg)
    assert shown is not None
    assert shown.group(1) == label  # the full label on hover / for screen readers
    assert shown.group(2).startswith("25 U")
    tag = re.search(r'<text x="([\d.]+)"[^>]*class="marker-label"', svg)
    assert tag is not None
    x = float(tag.group(1))
    # anchored at its end it runs left from x, else right: it must stay inside 36..350
    room = x - 36 if 'text-anchor="end"' in tag.group(0) else 350 - x
    assert len(shown.group(2)) * 0.6 * 14 <= room
