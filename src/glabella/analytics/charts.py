"""Server-rendered SVG charts of the analytics: the injectors' funnel plot and the monthly series.

Pure string building (no JavaScript, no I/O); every chart carries a <title> and a <desc> and
the page shows the same numbers in a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from glabella.analytics.compute import PHQ9_MAX, FunnelPoint, MonthPoint, WeekMean
from glabella.analytics.stats import Z95, Z998
from glabella.formatting import fixed

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 250, 16, 40


def _fmt(x: float) -> str:
    """An SVG coordinate: one decimal (a tenth of a pixel)."""
    return fixed(x, 1)


def _nice_ticks(top: float) -> list[int]:
    """Four or five round tick values from 0 up to ``top``."""
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(max(raw, 1)))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [int(step * i) for i in range(int(top // step) + 1)]


STANDALONE_STYLE = (
    "<style>.plot-bg{fill:#fafafa;stroke:#ccc}.grid{stroke:#e0e0e0}"
    ".target{stroke:#1565c0;stroke-width:1.5}.limit95{stroke:#888;stroke-dasharray:5 4}"
    ".limit998{stroke:#555;stroke-dasharray:2 3}.point{fill:#1565c0;stroke:#fff}"
    ".point.outside{fill:#c62828}.tick,.legend,.axis{font:11px sans-serif;fill:#333}</style>"
)
"""Styles for an SVG file opened on its own (the web page styles it from style.css: CSP)."""


def funnel_svg(points: Sequence[FunnelPoint], p0: float | None, *, standalone: bool = False) -> str:
    """Response rate (y) against patients assessed (x) with 95 % and 99.8 % control limits."""
    if p0 is None or not points:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 60" role="img" '
            'class="chart"><title>Funnel plot</title><text x="8" y="30">No week-6 results '
            "yet.</text></svg>"
        )
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n_max = max(p.n for p in points) * 1.1
    n_min = 1.0

    def x(n: float) -> float:
        return LEFT + (n - n_min) / max(n_max - n_min, 1.0) * plot_w

    def y(p: float) -> float:
        return TOP + (1 - p) * plot_h

    steps = [max(1.0, n_min + (n_max - n_min) * (i / 80) ** 2) for i in range(81)]

    def path(z: float, sign: int) -> str:
        coords = []
        for n in steps:
            limit = min(1.0, max(0.0, p0 + sign * z * math.sqrt(p0 * (1 - p0) / n)))
            coords.append(f"{_fmt(x(n))},{_fmt(y(limit))}")
        return "M" + " L".join(coords)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="funnel-t funnel-d" class="chart funnel">',
        '<title id="funnel-t">Funnel plot of week-6 response by injector</title>',
        STANDALONE_STYLE if standalone else "",
        f'<desc id="funnel-d">Clinic response rate {100 * p0:.1f} %; dashed lines are 95 % '
        "limits, dotted lines 99.8 % limits (Spiegelhalter 2005).</desc>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot-bg"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(y(tick))}" y2="{_fmt(y(tick))}" '
            'class="grid"/>'
            f'<text x="{LEFT - 6}" y="{_fmt(y(tick) + 4)}" text-anchor="end" '
            f'class="tick">{int(tick * 100)} %</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(y(p0))}" y2="{_fmt(y(p0))}" '
        'class="target"/>'
    )
    for z, cls in ((Z95, "limit95"), (Z998, "limit998")):
        for sign in (-1, 1):
            parts.append(f'<path d="{path(z, sign)}" class="{cls}" fill="none"/>')
    for tick in _nice_ticks(n_max)[1:]:
        parts.append(
            f'<text x="{_fmt(x(tick))}" y="{TOP + plot_h + 14}" text-anchor="middle" '
            f'class="tick">{tick}</text>'
        )
    for i, p in enumerate(sorted(points, key=lambda q: q.label)):
        cx, cy = x(p.n), y(p.events / p.n)
        outside = p.position != "within"
        parts.append(
            f'<circle cx="{_fmt(cx)}" cy="{_fmt(cy)}" r="5" '
            f'class="point{" outside" if outside else ""}">'
            f"<title>{escape(p.label)}: {p.events}/{p.n}</title></circle>"
        )
        parts.append(
            f'<text x="{WIDTH - RIGHT + 8}" y="{TOP + 14 + 16 * i}" class="legend">'
            f"{i + 1}. {escape(p.label)} {100 * p.events / p.n:.0f} % (n={p.n})</text>"
        )
        parts.append(f'<text x="{_fmt(cx + 7)}" y="{_fmt(cy - 6)}" class="tick">{i + 1}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle" class="axis">'
        "patients assessed at week 6</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def months_svg(months: Sequence[MonthPoint], treatments: Sequence[tuple[str, int]]) -> str:
    """Bars: treatments per month; dots: week-6 response rate of the month's new patients."""
    if not treatments:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 60" role="img" '
            'class="chart"><title>Treatments per month</title><text x="8" y="30">No '
            "treatments yet.</text></svg>"
        )
    plot_w, plot_h = WIDTH - LEFT - 56, HEIGHT - TOP - BOTTOM
    top = max(n for _, n in treatments) or 1
    slot = plot_w / len(treatments)
    rate = {m.month: m.response6 for m in months}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="months-t" class="chart months">',
        '<title id="months-t">Treatments per month and week-6 response of new patients</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot-bg"/>',
    ]
    for i, (month, n) in enumerate(treatments):
        h = n / top * plot_h
        bx = LEFT + i * slot + slot * 0.15
        parts.append(
            f'<rect x="{_fmt(bx)}" y="{_fmt(TOP + plot_h - h)}" width="{_fmt(slot * 0.7)}" '
            f'height="{_fmt(h)}" class="bar"><title>{month}: {n} treatments</title></rect>'
        )
        if i % max(1, len(treatments) // 12) == 0:
            parts.append(
                f'<text x="{_fmt(bx + slot * 0.35)}" y="{HEIGHT - 22}" text-anchor="middle" '
                f'class="tick">{month}</text>'
            )
        r = rate.get(month)
        if r is not None and r.estimate is not None:
            cy = TOP + (1 - r.estimate) * plot_h
            parts.append(
                f'<circle cx="{_fmt(bx + slot * 0.35)}" cy="{_fmt(cy)}" r="4" class="point">'
                f"<title>{month}: week-6 response {r.text()}</title></circle>"
            )
    parts.append(
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" class="tick">{top}</text>'
        f'<text x="{LEFT + plot_w + 4}" y="{TOP + 10}" class="tick">100 %</text>'
        f'<text x="{LEFT + plot_w + 4}" y="{TOP + plot_h}" class="tick">0 %</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def trajectory_svg(weeks: Sequence[WeekMean]) -> str:
    """Line: mean PHQ-9 (y, 0-27) by week since the first treatment (x), n in each tooltip."""
    if not weeks:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 60" role="img" '
            'class="chart"><title>Mean PHQ-9 by week</title><text x="8" y="30">No PHQ-9 '
            "results around first treatments yet.</text></svg>"
        )
    plot_w, plot_h = WIDTH - LEFT - 56, HEIGHT - TOP - BOTTOM
    last = max(max(w.week for w in weeks), 1)

    def x(week: int) -> float:
        return LEFT + week / last * plot_w

    def y(score: float) -> float:
        return TOP + (1 - score / PHQ9_MAX) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="traj-t" class="chart trajectory">',
        '<title id="traj-t">Mean PHQ-9 by week since the first treatment</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot-bg"/>',
    ]
    for tick in (0, 5, 10, 15, 20, 27):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(y(tick))}" y2="{_fmt(y(tick))}" '
            f'class="grid"/><text x="{LEFT - 6}" y="{_fmt(y(tick) + 4)}" text-anchor="end" '
            f'class="tick">{tick}</text>'
        )
    line = " ".join(f"{_fmt(x(w.week))},{_fmt(y(w.mean))}" for w in weeks)
    parts.append(f'<polyline points="{line}" fill="none" class="target"/>')
    for w in weeks:
        label = "baseline" if w.week == 0 else f"week {w.week}"
        parts.append(
            f'<circle cx="{_fmt(x(w.week))}" cy="{_fmt(y(w.mean))}" r="4" class="point">'
            f"<title>{escape(label)}: mean {w.mean:.1f} (n = {w.n})</title></circle>"
        )
        parts.append(
            f'<text x="{_fmt(x(w.week))}" y="{HEIGHT - 22}" text-anchor="middle" '
            f'class="tick">{w.week}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle" class="axis">'
        "weeks since the first treatment (0 = baseline)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
