"""Server-rendered SVG line charts for the trial-planning page (power and assurance against n).

Pure string building, no JavaScript; colours are SVG presentation attributes (the CSP forbids
inline styles). Every chart has a <title> and a <desc>, and the page shows the numbers in a
table too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from glabella.formatting import fixed

__all__ = ["Series", "line_chart_svg"]

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 210, 16, 44


@dataclass(frozen=True)
class Series:
    """One line: a label for the legend, y values (0..1) at the chart's x values, its look."""

    label: str
    values: Sequence[float]
    colour: str
    dash: str | None = None


def _f(x: float) -> str:
    """An SVG coordinate: one decimal (a tenth of a pixel)."""
    return fixed(x, 1)


def _ticks(top: float) -> list[int]:
    raw = max(top / 5, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [int(step * i) for i in range(int(top // step) + 1)]


def line_chart_svg(
    ident: str,
    title: str,
    desc: str,
    xs: Sequence[int],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    reference: float | None = 0.8,
    marker: int | None = None,
) -> str:
    """A chart of probabilities (0 to 1) against n, with an optional dashed reference level and
    a vertical marker (the planned n)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    x_max = max(xs) if xs else 1
    x_min = 0

    def x(v: float) -> float:
        return LEFT + (v - x_min) / max(x_max - x_min, 1) * plot_w

    def y(p: float) -> float:
        return TOP + (1.0 - p) * plot_h

    sid = escape(ident)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{sid}-t {sid}-d" class="chart plan-chart" id="{sid}">',
        f'<title id="{sid}-t">{escape(title)}</title>',
        f'<desc id="{sid}-d">{escape(desc)}</desc>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" '
            'stroke="#e0e0e0"/>'
            f'<text x="{LEFT - 6}" y="{_f(y(tick) + 4)}" text-anchor="end" class="tick">'
            f"{tick:.0%}</text>"
        )
    for tick in _ticks(x_max):
        parts.append(
            f'<text x="{_f(x(tick))}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'class="tick">{tick}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle" class="axis">'
        f"{escape(x_label)}</text>"
        f'<text x="14" y="{TOP + plot_h / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2})">{escape(y_label)}</text>'
    )
    if reference is not None:
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_f(y(reference))}" '
            f'y2="{_f(y(reference))}" stroke="#555" stroke-dasharray="2 3" class="reference"/>'
        )
    if marker is not None and 0 < marker <= x_max:
        parts.append(
            f'<line x1="{_f(x(marker))}" x2="{_f(x(marker))}" y1="{TOP}" y2="{TOP + plot_h}" '
            f'stroke="#888" stroke-dasharray="5 4" class="marker"/>'
            f'<text x="{_f(x(marker) + 4)}" y="{TOP + 12}" class="tick">n = {marker}</text>'
        )
    for i, s in enumerate(series):
        coords = " L".join(f"{_f(x(n))},{_f(y(p))}" for n, p in zip(xs, s.values, strict=True))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(
            f'<path d="M{coords}" fill="none" stroke="{s.colour}" stroke-width="2"{dash} '
            f'class="series series-{i}"/>'
        )
        ly = TOP + 14 + 20 * i
        lx = LEFT + plot_w + 12
        parts.append(
            f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" stroke="{s.colour}" '
            f'stroke-width="2"{dash}/>'
            f'<text x="{lx + 28}" y="{ly}" class="legend">{escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
