"""Server-rendered SVG of the frown activity index per visit beside PHQ-9, with each treatment
as a vertical line (no JavaScript; same conventions as ``glabella.web.charts``).

Readability rules (tested in ``tests/web/test_frown_chart.py``):

* the time axis runs over whole days with a day of margin each side (at least a week), so a
  single visit or several visits on one day still have an axis;
* points of one series on the same day are spread sideways by ``SAME_DAY_STEP`` px around the
  day (in time order), so none hides another;
* treatment labels that would overlap move down a row;
* a visit whose index is missing ("measurement failed") is never drawn, and never at 0: the
  line skips it and the accessible summary names it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

WIDTH = 640
HEIGHT = 300
LEFT = 52
RIGHT = 52
TOP = 30
NARROW_WIDTH = 360
"""The phone variant's width: the page shows it below 600 px so the text stays legible."""
BOTTOM = 44
SAME_DAY_STEP = 9.0
LABEL_MIN_GAP = 78.0
LABEL_ROWS = 3
PHQ9_MAX = 27
FAI_COLOUR = "#1565c0"
PHQ_COLOUR = "#c62828"
MARK_COLOUR = "#6a1b9a"
TEXT = "#37474f"
FONT = 13


def _day(when: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return when.astimezone(tz).date()


def _fai_range(values: Sequence[float]) -> tuple[float, float, float]:
    """Axis (low, high, step): 0 always shown, steps of 10 (or 5 for a small range)."""
    lo = min([0.0, *values])
    hi = max([20.0, *values])
    step = 5.0 if hi - lo <= 30 else 10.0
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _spread(xs: list[tuple[dt.date, float]]) -> list[float]:
    """Sideways offsets for points sharing a day (centred on the day, in given order)."""
    counts: dict[dt.date, int] = {}
    for day, _ in xs:
        counts[day] = counts.get(day, 0) + 1
    seen: dict[dt.date, int] = {}
    out: list[float] = []
    for day, x in xs:
        i = seen.get(day, 0)
        seen[day] = i + 1
        out.append(x + (i - (counts[day] - 1) / 2.0) * SAME_DAY_STEP)
    return out


def frown_phq9_svg(
    fai: Sequence[tuple[dt.datetime, float | None]],
    phq9: Sequence[tuple[dt.datetime, int]],
    treatments: Sequence[tuple[dt.datetime, str]],
    tz: dt.tzinfo,
    *,
    width: int = WIDTH,
    chart_id: str = "frown-chart",
) -> str:
    """The chart: FAI on the left axis (blue circles), PHQ-9 on the right axis 0-27 (red
    squares, dashed), treatments as purple vertical lines with their labels. ``width`` is the
    viewBox width (``NARROW_WIDTH`` for phones: same font sizes, fewer date labels)."""
    plot_w = width - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    measured = [(t, v) for t, v in fai if v is not None]
    failed = [t for t, v in fai if v is None]
    lo, hi, step = _fai_range([v for _, v in measured])

    days = [_day(t, tz) for t, _ in fai] + [_day(t, tz) for t, _ in phq9]
    days += [_day(t, tz) for t, _ in treatments]
    first = min(days) if days else dt.datetime.now(tz).date()
    last = max(days) if days else first
    d0 = first - dt.timedelta(days=1)
    d1 = max(last + dt.timedelta(days=1), d0 + dt.timedelta(days=7))
    span = (d1 - d0).days

    def x_day(day: dt.date) -> float:
        return LEFT + (day - d0).days / span * plot_w

    def y_fai(value: float) -> float:
        return TOP + plot_h - (value - lo) / (hi - lo) * plot_h

    def y_phq(value: float) -> float:
        return TOP + plot_h - value / PHQ9_MAX * plot_h

    def summary() -> str:
        parts = [f"{_day(t, tz).isoformat()}: {v:.1f}" for t, v in measured]
        parts += [f"{_day(t, tz).isoformat()}: measurement failed" for t in failed]
        fai_text = ", ".join(parts) or "no measured visits"
        phq_text = ", ".join(f"{_day(t, tz).isoformat()}: {v}" for t, v in phq9) or "none"
        tx_text = ", ".join(_day(t, tz).isoformat() for t, _ in treatments) or "none"
        return (
            f"Frown activity index per visit: {fai_text}. PHQ-9 totals: {phq_text}. "
            f"Treatments: {tx_text}."
        )

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title" class="frown-chart" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(summary())}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#cfd8dc"/>',
    ]
    # left axis: FAI, grid lines at each step, the zero line darker
    tick = lo
    while tick <= hi + 1e-9:
        ty = y_fai(tick)
        stroke = "#90a4ae" if tick == 0 else "#eceff1"
        out.append(
            f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{LEFT + plot_w}" y2="{ty:.1f}" '
            f'stroke="{stroke}"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" font-size="{FONT}" text-anchor="end" '
            f'fill="{FAI_COLOUR}">{tick:.0f}</text>'
        )
        tick += step
    for value in (0, 5, 10, 15, 20, 27):
        out.append(
            f'<text x="{LEFT + plot_w + 6}" y="{y_phq(value) + 4:.1f}" font-size="{FONT}" '
            f'fill="{PHQ_COLOUR}">{value}</text>'
        )
    out.append(
        f'<text x="{LEFT - 6}" y="{TOP - 8}" font-size="{FONT - 1}" text-anchor="end" '
        f'fill="{FAI_COLOUR}">FAI</text>'
        f'<text x="{LEFT + plot_w + 6}" y="{TOP - 8}" font-size="{FONT - 1}" '
        f'fill="{PHQ_COLOUR}">PHQ-9</text>'
    )
    # date ticks: first and last day, and up to three between
    ticks = sorted({first, last} | {first + (last - first) * k // 4 for k in (1, 2, 3)})
    placed: list[float] = []
    for day in ticks:
        tx = x_day(day)
        if any(abs(tx - p) < 80 for p in placed):
            continue
        placed.append(tx)
        out.append(
            f'<line x1="{tx:.1f}" y1="{TOP + plot_h}" x2="{tx:.1f}" y2="{TOP + plot_h + 5}" '
            'stroke="#90a4ae"/>'
            f'<text x="{tx:.1f}" y="{HEIGHT - BOTTOM + 22}" font-size="{FONT - 1}" '
            f'text-anchor="middle" fill="{TEXT}">{day.isoformat()}</text>'
        )
    # treatments: vertical lines, labels staggered over LABEL_ROWS rows when they would touch
    rows_end = [-1e9] * LABEL_ROWS
    for when, label in sorted(treatments, key=lambda m: m[0]):
        mx = x_day(_day(when, tz))
        out.append(
            f'<line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" y2="{TOP + plot_h}" '
            f'stroke="{MARK_COLOUR}" stroke-width="1.5" stroke-dasharray="5 3" '
            f'class="treatment-line"><title>{escape(label)}</title></line>'
        )
        row = next((r for r in range(LABEL_ROWS) if mx - rows_end[r] >= LABEL_MIN_GAP), None)
        if row is None:
            continue  # the line stays; its label is in the line's title and the table
        rows_end[row] = mx
        right_room = LEFT + plot_w - mx
        anchor, lx = ("start", mx + 4) if right_room > 7.5 * len(label) else ("end", mx - 4)
        out.append(
            f'<text x="{lx:.1f}" y="{TOP + 14 + row * 14}" font-size="{FONT - 1}" '
            f'text-anchor="{anchor}" fill="{MARK_COLOUR}" class="treatment-label">'
            f"{escape(label)}</text>"
        )
    # PHQ-9: dashed red line with squares
    if phq9:
        ordered = sorted(phq9, key=lambda p: p[0])
        xs = _spread([(_day(t, tz), x_day(_day(t, tz))) for t, _ in ordered])
        pts = " ".join(f"{px:.1f},{y_phq(v):.1f}" for px, (_, v) in zip(xs, ordered, strict=True))
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{PHQ_COLOUR}" stroke-width="1.5" '
            'stroke-dasharray="6 4"/>'
        )
        for px, (when, value) in zip(xs, ordered, strict=True):
            py = y_phq(value)
            out.append(
                f'<rect x="{px - 4:.1f}" y="{py - 4:.1f}" width="8" height="8" '
                f'fill="{PHQ_COLOUR}" class="phq9-point"><title>PHQ-9 '
                f"{_day(when, tz).isoformat()}: {value}</title></rect>"
            )
    # FAI: solid blue line with circles (measured visits only)
    if measured:
        ordered_f = sorted(measured, key=lambda p: p[0])
        xs = _spread([(_day(t, tz), x_day(_day(t, tz))) for t, _ in ordered_f])
        pts = " ".join(f"{px:.1f},{y_fai(v):.1f}" for px, (_, v) in zip(xs, ordered_f, strict=True))
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{FAI_COLOUR}" stroke-width="2.5"/>'
        )
        for px, (when, index) in zip(xs, ordered_f, strict=True):
            out.append(
                f'<circle cx="{px:.1f}" cy="{y_fai(index):.1f}" r="5" fill="{FAI_COLOUR}" '
                f'stroke="#fff" stroke-width="1.5" class="fai-point"><title>Frown activity '
                f"index {_day(when, tz).isoformat()}: {index:.1f}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)
