"""Server-rendered SVG charts: score history over severity bands (no JavaScript needed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from glabella.clinic.instruments import Instrument

BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#fbe9e7", "#ffebee", "#fce4ec")

WIDTH = 640
HEIGHT = 260
LEFT = 48
RIGHT = 190
TOP = 16
BOTTOM = 36


def score_history_svg(
    instrument: Instrument,
    points: Sequence[tuple[dt.datetime, int]],
    *,
    markers: Sequence[tuple[dt.datetime, str]] = (),
) -> str:
    """An accessible SVG line chart of totals over time, drawn over the instrument's bands."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    lo, hi = instrument.min_total, instrument.max_total
    span = max(hi - lo, 1)

    def y(value: float) -> float:
        return float(TOP + plot_h - (value - lo) / span * plot_h)

    times = [t for t, _ in points] + [t for t, _ in markers]
    t0 = min(times) if times else dt.datetime.now(dt.UTC)
    t1 = max(times) if times else t0
    seconds = max((t1 - t0).total_seconds(), 1.0)

    def x(when: dt.datetime) -> float:
        if len(points) <= 1 and not markers:
            return LEFT + plot_w / 2
        return LEFT + (when - t0).total_seconds() / seconds * plot_w

    name = escape(instrument.short_name)
    summary = ", ".join(f"{t.date().isoformat()}: {v}" for t, v in points) or "no results"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-{instrument.id}-title" class="chart">',
        f'<title id="chart-{instrument.id}-title">'
        f"{name} totals over time: {escape(summary)}</title>",
    ]
    for index, band in enumerate(instrument.bands):
        top = y(band.max + 0.5 if band.max < hi else hi)
        bottom = y(band.min - 0.5 if band.min > lo else lo)
        colour = BAND_COLOURS[index % len(BAND_COLOURS)]
        parts.append(
            f'<rect x="{LEFT}" y="{top:.1f}" width="{plot_w}" height="{bottom - top:.1f}" '
            f'fill="{colour}" class="band"/>'
        )
        parts.append(
            f'<text x="{LEFT + plot_w + 6}" y="{(top + bottom) / 2 + 4:.1f}" font-size="11" '
            f'fill="#37474f">{escape(band.label)} ({band.min}–{band.max})</text>'
        )
    for tick in sorted({lo, hi, *(b.min for b in instrument.bands)}):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#37474f">{tick}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#90a4ae"/>'
    )
    for when, label in markers:
        mx = x(when)
        parts.append(
            f'<line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" y2="{TOP + plot_h}" stroke="#6a1b9a" '
            'stroke-dasharray="4 3" class="marker"/>'
        )
        parts.append(
            f'<text x="{mx + 3:.1f}" y="{TOP + 10}" font-size="10" fill="#6a1b9a">'
            f"{escape(label)}</text>"
        )
    if points:
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>')
        for when, value in points:
            parts.append(
                f'<circle cx="{x(when):.1f}" cy="{y(value):.1f}" r="4" fill="#1565c0" '
                'class="point">'
                f"<title>{when.date().isoformat()}: {value}</title></circle>"
            )
        first, last = points[0][0], points[-1][0]
        parts.append(
            f'<text x="{x(first):.1f}" y="{HEIGHT - 12}" font-size="11" text-anchor="middle" '
            f'fill="#37474f">{first.date().isoformat()}</text>'
        )
        if last != first:
            parts.append(
                f'<text x="{x(last):.1f}" y="{HEIGHT - 12}" font-size="11" text-anchor="middle" '
                f'fill="#37474f">{last.date().isoformat()}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
