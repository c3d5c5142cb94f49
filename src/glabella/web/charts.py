"""Server-rendered SVG charts: score history over severity bands (no JavaScript needed).

Two variants of each chart, both in the page, one shown per viewport by CSS (as the frown
chart does, ``glabella.web.frown_chart``): the wide one (640 px viewBox, band names in a column
on the right) and, below 600 px, the narrow one (``NARROW``: a 360 px viewBox, 14 px text, band
names inside their bands), so its labels stay at least 11 px on a 390 px phone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from glabella.clinic.instruments import Instrument

BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#fbe9e7", "#ffebee", "#fce4ec")

WIDTH = 640
HEIGHT = 260
LEFT = 48
RIGHT = 190
TOP = 16
BOTTOM = 36


PAD = 28
"""Inner horizontal margin: the first and last days sit this far inside the axis, so their
points, their same-day neighbours and their date labels are never cut by the plot edge."""

SPREAD = 14
"""Pixels between results (and treatment markers) that share a day: at 4 px radius they
neither overlap nor read as one point."""

SINGLE_DAY_SPREAD = 40
"""When every result is on one day there are no neighbouring days to collide with: spread
them wider so a same-day baseline and follow-up read as a change, not a blot."""

LABEL_GAP = 72
"""Minimum pixels between two date labels (a 10-character date at 11 px is about 62 px)."""


@dataclass(frozen=True)
class Geometry:
    """One variant of the chart: viewBox width, margins, text size (viewBox units)."""

    width: int
    left: int
    right: int
    font: int
    marker_font: int
    label_gap: int
    pad: int
    """Inner horizontal margin (``PAD``): at least half a date label, so it stays inside."""
    bands_inside: bool
    """Band names drawn inside their bands (left-aligned) instead of in a right column."""
    suffix: str
    """Appended to the SVG's id (``chart-phq9`` + suffix) and class (``chart`` + suffix)."""


WIDE = Geometry(WIDTH, LEFT, RIGHT, 11, 10, LABEL_GAP, PAD, False, "")
NARROW = Geometry(360, 36, 10, 14, 14, 92, 44, True, "-narrow")
"""The phone variant: a 360 px viewBox shown in a 390 px phone's card (about 318 px wide:
scale 0.88) draws 14 px text at about 12.4 px (the wide chart's 11 px text there is under
6 px). A 10-character date at 14 px is about 80 px wide, hence the 92 px label gap and
the 44 px inner margin."""


CHAR_WIDTH = 0.6
"""Average advance of a DejaVu Sans character, in ems (generous for lower-case text)."""


def fit_label(label: str, room: float, font: int) -> str:
    """``label`` cut to whole words that fit in ``room`` viewBox units at ``font``, with "…".

    A treatment marker reads "25 U onabotulinumtoxinA (Botox)": the dose comes first, so
    cutting from the end keeps the number (the full label stays in the ``<title>``). The
    first word is always kept, so the dose is never dropped, even where it does not fit.
    """
    per_char = CHAR_WIDTH * font
    if len(label) * per_char <= room:
        return label
    words = label.split()
    shown = words[0]
    for word in words[1:]:
        candidate = f"{shown} {word}"
        if (len(candidate) + 1) * per_char > room:
            break
        shown = candidate
    return shown + "…" if shown != label else shown


def _layout(
    points: Sequence[tuple[dt.datetime, int]],
    markers: Sequence[tuple[dt.datetime, str]],
    geometry: Geometry = WIDE,
) -> tuple[list[float], list[float], dict[dt.date, float]]:
    """x of every point and marker, and of every day: days are placed proportionally between
    the padded edges, and events sharing a day are spread ``SPREAD`` px apart around their
    day in time order (``SINGLE_DAY_SPREAD`` when there is only one day), so a same-day
    baseline, treatment and follow-up read left to right."""
    left = geometry.left
    plot_w = geometry.width - left - geometry.right
    events = sorted(
        [(t, 0, i) for i, (t, _) in enumerate(points)]
        + [(t, 1, j) for j, (t, _) in enumerate(markers)]
    )
    days = sorted({t.date() for t, _, _ in events})
    if not days:
        return [], [], {}
    first, last = days[0], days[-1]
    span = (last - first).days
    inner_w = plot_w - 2 * geometry.pad

    def day_x(day: dt.date) -> float:
        if span == 0:
            return left + plot_w / 2
        return left + geometry.pad + (day - first).days / span * inner_w

    day_xs = {d: day_x(d) for d in days}
    point_x = [0.0] * len(points)
    marker_x = [0.0] * len(markers)
    step = SINGLE_DAY_SPREAD if span == 0 else SPREAD
    for day in days:
        same = [(kind, index) for t, kind, index in events if t.date() == day]
        for k, (kind, index) in enumerate(same):
            at = day_xs[day] + (k - (len(same) - 1) / 2) * step
            at = min(max(at, left + 6.0), left + plot_w - 6.0)
            if kind == 0:
                point_x[index] = at
            else:
                marker_x[index] = at
    return point_x, marker_x, day_xs


def score_history_svg(
    instrument: Instrument,
    points: Sequence[tuple[dt.datetime, int]],
    *,
    markers: Sequence[tuple[dt.datetime, str]] = (),
    geometry: Geometry = WIDE,
) -> str:
    """An accessible SVG line chart of totals over time, drawn over the instrument's bands.

    Results sharing a day are spread apart (:func:`_layout`) and the value axis always
    includes every point, even one outside the instrument's range. ``geometry``: ``WIDE``
    (default) or ``NARROW`` (phones; see the module docstring)."""
    g = geometry
    width, left = g.width, g.left
    plot_w = width - left - g.right
    plot_h = HEIGHT - TOP - BOTTOM
    values = [v for _, v in points]
    lo = min([instrument.min_total, *values])
    hi = max([instrument.max_total, *values])
    span = max(hi - lo, 1)

    def y(value: float) -> float:
        return float(TOP + plot_h - (value - lo) / span * plot_h)

    point_x, marker_x, day_xs = _layout(points, markers, g)
    shared = {d for d in day_xs if sum(1 for t, _ in points if t.date() == d) > 1}

    def when_text(when: dt.datetime) -> str:
        if when.date() in shared:
            return when.strftime("%Y-%m-%d %H:%M")
        return when.date().isoformat()

    name = escape(instrument.short_name)
    summary = ", ".join(f"{when_text(t)}: {v}" for t, v in points) or "no results"
    chart_id = f"chart-{instrument.id}{g.suffix}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title" id="{chart_id}" '
        f'class="chart{" chart-narrow" if g.suffix else " chart-wide"}">',
        f'<title id="{chart_id}-title">{name} totals over time: {escape(summary)}</title>',
    ]
    for index, band in enumerate(instrument.bands):
        top = y(band.max + 0.5 if band.max < hi else hi)
        bottom = y(band.min - 0.5 if band.min > lo else lo)
        colour = BAND_COLOURS[index % len(BAND_COLOURS)]
        parts.append(
            f'<rect x="{left}" y="{top:.1f}" width="{plot_w}" height="{bottom - top:.1f}" '
            f'fill="{colour}" class="band"/>'
        )
        band_text = f"{escape(band.label)} ({band.min}–{band.max})"
        if g.bands_inside:  # top-left corner of the band, under the points and line
            parts.append(
                f'<text x="{left + 4}" y="{top + g.font:.1f}" font-size="{g.font}" '
                f'fill="#546e7a" class="band-label">{band_text}</text>'
            )
        else:
            parts.append(
                f'<text x="{left + plot_w + 6}" y="{(top + bottom) / 2 + 4:.1f}" '
                f'font-size="{g.font}" fill="#37474f" class="band-label">{band_text}</text>'
            )
    for tick in sorted({lo, hi, *(b.min for b in instrument.bands)}):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="{g.font}" '
            f'text-anchor="end" fill="#37474f" class="value">{tick}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{TOP + plot_h}" x2="{left + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#90a4ae"/>'
    )
    for (_, label), mx in zip(markers, marker_x, strict=True):
        parts.append(
            f'<line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" y2="{TOP + plot_h}" stroke="#6a1b9a" '
            'stroke-dasharray="4 3" class="marker"/>'
        )
        # narrow: the label sits just above the axis (the band names are at the top of their
        # bands) and, in the right half, runs leftwards from the line to stay in the chart
        anchor = ' text-anchor="end"' if g.bands_inside and mx > left + plot_w / 2 else ""
        tx = mx - 3 if anchor else mx + 3
        ty = TOP + plot_h - 5 if g.bands_inside else TOP + g.marker_font
        room = tx - left if anchor else left + plot_w - tx
        shown = fit_label(label, room, g.marker_font)
        parts.append(
            f"<g><title>{escape(label)}</title>"
            f'<text x="{tx:.1f}" y="{ty}" font-size="{g.marker_font}"{anchor} '
            f'fill="#6a1b9a" class="marker-label">{escape(shown)}</text></g>'
        )
    if points:
        order = sorted(range(len(points)), key=lambda i: (points[i][0], i))
        path = " ".join(f"{point_x[i]:.1f},{y(points[i][1]):.1f}" for i in order)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>')
        for i in order:
            when, value = points[i]
            parts.append(
                f'<circle cx="{point_x[i]:.1f}" cy="{y(value):.1f}" r="4" fill="#1565c0" '
                'class="point">'
                f"<title>{when_text(when)}: {value}</title></circle>"
            )
        point_days = sorted({t.date() for t, _ in points})
        labels: list[dt.date] = []
        for day in point_days:
            if labels and day_xs[day] - day_xs[labels[-1]] < g.label_gap:
                if day != point_days[-1]:
                    continue
                if len(labels) > 1:
                    labels.pop()  # the last day is always labelled
                else:
                    continue
            labels.append(day)
        for day in labels:
            parts.append(
                f'<text x="{day_xs[day]:.1f}" y="{HEIGHT - 12}" font-size="{g.font}" '
                f'text-anchor="middle" fill="#37474f" class="day">{day.isoformat()}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def score_history_charts(
    instrument: Instrument,
    points: Sequence[tuple[dt.datetime, int]],
    *,
    markers: Sequence[tuple[dt.datetime, str]] = (),
) -> str:
    """Both variants of the chart, wide then narrow; ``.chart-wide`` / ``.chart-narrow`` in
    the style sheet show one per viewport (narrow below 600 px)."""
    return score_history_svg(instrument, points, markers=markers) + score_history_svg(
        instrument, points, markers=markers, geometry=NARROW
    )
