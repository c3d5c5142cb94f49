"""Icon arrays: 100 people in a 10 x 10 grid, as inline SVG with a text alternative.

Patients read frequencies ("52 out of 100 people") better than percentages or relative
risks (Gigerenzer & Edwards 2003, BMJ 327:741; Galesic, Garcia-Retamero & Gigerenzer 2009,
Health Psychol 28:210). Each array is filled row by row in the order the groups are given.
An uncertain group (the span of a confidence interval) is drawn pale with a dashed outline,
so a wide interval is seen, not hidden behind a point estimate.

Pure: returns markup strings. The caller passes the translated title and alternative text;
the SVG carries ``role="img"``, ``<title>`` and ``aria-label`` so screen readers and PDF
tagging get the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["STYLES", "IconGroup", "counts_of_100", "icon_array_svg"]

#: Fill, stroke and dash per group style (colour-blind safe: dark blue, orange, grey outline).
#: "uncertain" is a pale orange with a dashed outline: clearly neither "yes" nor "no".
STYLES: dict[str, tuple[str, str, str | None]] = {
    "solid": ("#1f4e79", "#1f4e79", None),
    "extra": ("#d9822b", "#a85f17", None),
    "uncertain": ("#fbe3c9", "#a85f17", "1.2 0.8"),
    "empty": ("#ffffff", "#8a8a8a", None),
}


@dataclass(frozen=True)
class IconGroup:
    """``count`` people drawn in ``style`` (a key of :data:`STYLES`)."""

    count: int
    style: str


def counts_of_100(*risks: float) -> list[int]:
    """Cumulative risks (0-1, non-decreasing) as whole people out of 100, rounded half up.

    ``counts_of_100(0.10, 0.525)`` -> ``[10, 43]``: 10 people, then 43 more up to 53.
    """
    out: list[int] = []
    done = 0
    for r in risks:
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"risk {r!r} is not between 0 and 1")
        upto = int(r * 100 + 0.5)
        if upto < done:
            raise ValueError("risks must be non-decreasing")
        out.append(upto - done)
        done = upto
    return out


def _person_path(x: float, y: float) -> str:
    """Head (an octagon) and body (a shouldered block) of one person at (x, y), as path data.

    Straight segments only: arcs and curves cost WeasyPrint much more time to draw.
    """
    return (
        f"M{x + 4.8:g} {y + 0.4:g}h2.4l1.7 1.7v2.4l-1.7 1.7h-2.4l-1.7-1.7v-2.4Z"
        f"M{x + 1.5:g} {y + 15.5:g}v-6.2l1.6-1.9h5.8l1.6 1.9v6.2Z"
    )


def icon_array_svg(groups: Sequence[IconGroup], *, title: str, alt: str, ident: str) -> str:
    """A 10 x 10 icon array; groups fill it row by row in order, the rest drawn empty.

    One path per style keeps the SVG small (fast to lay out in the PDF). ``ident`` makes the
    element ids unique on a page with several arrays.
    """
    total = sum(g.count for g in groups)
    if total > 100 or any(g.count < 0 for g in groups):
        raise ValueError("an icon array holds 100 people; counts must be 0..100 in total")
    styles = [g.style for g in groups for _ in range(g.count)]
    styles += ["empty"] * (100 - total)
    paths: dict[str, list[str]] = {}
    for i, style in enumerate(styles):
        row, col = divmod(i, 10)
        paths.setdefault(style, []).append(_person_path(2 + col * 14, 2 + row * 18))
    shapes = []
    for style, parts in paths.items():
        fill, stroke, dash = STYLES[style]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        shapes.append(
            f'<path class="ia-{style}" d="{"".join(parts)}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="0.8"{dashed}/>'
        )
    tid = f"{ident}-title"
    did = f"{ident}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="icon-array" viewBox="0 0 142 182" '
        f'width="142" height="182" role="img" aria-labelledby="{tid} {did}" '
        f'aria-label="{escape(alt)}">'
        f'<title id="{tid}">{escape(title)}</title><desc id="{did}">{escape(alt)}</desc>'
        + "".join(shapes)
        + "</svg>"
    )
