"""Server-rendered SVG forest plot of one pooled synthesis (no JavaScript, no image files).

Each comparison is drawn as a square (area proportional to its random-effects weight) with its
95% Wald interval ``yi ± 1.96·sqrt(vi)``; the pooled estimate is a diamond spanning its
(Knapp-Hartung) confidence interval and the prediction interval a line beneath it. Risk ratios
are drawn on a log axis. Intervals that leave the drawn axis end in an arrow; the numbers in the
right-hand columns are always the exact ones. The ``<title>`` and ``<desc>`` elements carry a
text version of the whole plot for screen readers.
"""

from __future__ import annotations

import math
from html import escape

from glabella.evidence.synthesis import Comparison, PooledEstimate, Synthesis
from glabella.formatting import readable_or_unknown as fmt_number

__all__ = ["fmt_number", "forest_svg"]

Z95 = 1.959963984540054
WIDTH = 960
ROW = 24
TOP = 52
LABEL_W = 250
COUNTS_W = 150
PLOT_X = LABEL_W + COUNTS_W + 10
PLOT_W = 300
TEXT_X = PLOT_X + PLOT_W + 20
WEIGHT_X = WIDTH - 10

#: Axis limits on the model scale (log RR, RD, SMD); intervals beyond are clipped with arrows.
AXIS_LIMITS = {"RR": (math.log(0.01), math.log(100.0)), "RD": (-1.0, 1.0), "SMD": (-4.0, 4.0)}
_NULL = {"RR": 0.0, "RD": 0.0, "SMD": 0.0}
_MEASURE_NAME = {
    "RR": "risk ratio",
    "RD": "risk difference",
    "SMD": "standardised mean difference",
}


def _natural(measure: str, y: float) -> float:
    return math.exp(y) if measure == "RR" else y


def _model(measure: str, x: float) -> float:
    return math.log(x) if measure == "RR" else x


def _counts(c: Comparison) -> tuple[str, str]:
    if c.ai is not None and c.ci is not None:
        return f"{c.ai}/{c.n1i}", f"{c.ci}/{c.n2i}"
    return f"n={c.n1i}", f"n={c.n2i}"


def _favours(syn: Synthesis, measure: str) -> tuple[str, str]:
    """Labels under the left and right half of the axis."""
    if measure == "SMD":
        return "favours toxin", "favours control"
    good = syn.outcome in ("response", "remission")
    return ("favours control", "favours toxin") if good else ("favours toxin", "favours control")


def forest_svg(syn: Synthesis, measure: str | None = None, *, ident: str | None = None) -> str:
    """An accessible SVG forest plot of ``syn`` (pooled syntheses only) for ``measure``.

    ``measure`` defaults to the synthesis' primary measure (RR for binary outcomes, SMD for
    change scores). Raises ``ValueError`` when the synthesis was not pooled.
    """
    est: PooledEstimate | None = syn.primary if measure is None else syn.estimate(measure)
    if not syn.pooled or est is None:
        raise ValueError(f"{syn.disorder}/{syn.outcome} was not pooled: no forest plot")
    m = est.measure
    ident = ident or f"forest-{syn.disorder}-{syn.outcome}-{m}".lower()
    comps = syn.comparisons
    lo_lim, hi_lim = AXIS_LIMITS[m]
    study_ci = [
        (y - Z95 * math.sqrt(v), y + Z95 * math.sqrt(v))
        for y, v in zip(est.yi, est.vi, strict=True)
    ]
    pooled_model = (_model(m, est.estimate), _model(m, est.ci_lb), _model(m, est.ci_ub))
    span = [x for pair in study_ci for x in pair] + list(pooled_model[1:]) + [_NULL[m]]
    lo = max(min(span), lo_lim)
    hi = min(max(span), hi_lim)
    pad = (hi - lo) * 0.05 or 0.5
    lo, hi = max(lo - pad, lo_lim), min(hi + pad, hi_lim)

    def px(y: float) -> float:
        return PLOT_X + (min(max(y, lo), hi) - lo) / (hi - lo) * PLOT_W

    n_rows = len(comps) + 2 + (1 if est.pi_lb is not None else 0)
    height = TOP + n_rows * ROW + 60
    name = _MEASURE_NAME[m]
    desc_parts = [
        f"{c.label}: {m} {fmt_number(_natural(m, y))} "
        f"(95% CI {fmt_number(_natural(m, a))} to {fmt_number(_natural(m, b))}), "
        f"weight {w:.1f}%"
        for c, y, (a, b), w in zip(comps, est.yi, study_ci, est.weights, strict=True)
    ]
    desc_parts.append(
        f"Pooled {m} {fmt_number(est.estimate)} (95% CI {fmt_number(est.ci_lb)} to "
        f"{fmt_number(est.ci_ub)})"
    )
    if est.pi_lb is not None and est.pi_ub is not None:
        desc_parts.append(f"prediction interval {fmt_number(est.pi_lb)} to {fmt_number(est.pi_ub)}")
    title = f"Forest plot: {name} for {syn.outcome.replace('_', ' ')} ({len(comps)} comparisons)"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'class="forest" id="{ident}" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape("; ".join(desc_parts))}.</desc>',
        '<g font-size="12" fill="#263238">',
        f'<text x="6" y="{TOP - 16}" font-weight="bold">Study</text>',
        f'<text x="{LABEL_W + 10}" y="{TOP - 16}" font-weight="bold">Toxin</text>',
        f'<text x="{LABEL_W + 80}" y="{TOP - 16}" font-weight="bold">Control</text>',
        f'<text x="{TEXT_X}" y="{TOP - 16}" font-weight="bold">{m} [95% CI]</text>',
        f'<text x="{WEIGHT_X}" y="{TOP - 16}" font-weight="bold" text-anchor="end">Weight</text>',
    ]
    wmax = max(est.weights) if est.weights else 1.0
    for i, (c, y, (a, b), w) in enumerate(zip(comps, est.yi, study_ci, est.weights, strict=True)):
        cy = TOP + i * ROW + ROW / 2
        t, k = _counts(c)
        out.append(f'<text x="6" y="{cy + 4:.1f}">{escape(c.label)}</text>')
        out.append(f'<text x="{LABEL_W + 10}" y="{cy + 4:.1f}">{escape(t)}</text>')
        out.append(f'<text x="{LABEL_W + 80}" y="{cy + 4:.1f}">{escape(k)}</text>')
        x1, x2 = px(a), px(b)
        out.append(
            f'<line x1="{x1:.1f}" y1="{cy:.1f}" x2="{x2:.1f}" y2="{cy:.1f}" stroke="#37474f"/>'
        )
        if a < lo:
            out.append(_arrow(x1, cy, left=True))
        if b > hi:
            out.append(_arrow(x2, cy, left=False))
        side = 4 + 8 * math.sqrt(max(w, 0.0) / wmax)
        out.append(
            f'<rect class="study" x="{px(y) - side / 2:.1f}" y="{cy - side / 2:.1f}" '
            f'width="{side:.1f}" height="{side:.1f}" fill="#1565c0"/>'
        )
        out.append(
            f'<text x="{TEXT_X}" y="{cy + 4:.1f}">{fmt_number(_natural(m, y))} '
            f"[{fmt_number(_natural(m, a))}, {fmt_number(_natural(m, b))}]</text>"
        )
        out.append(f'<text x="{WEIGHT_X}" y="{cy + 4:.1f}" text-anchor="end">{w:.1f}%</text>')
    row = len(comps)
    cy = TOP + row * ROW + ROW / 2 + 6
    y0, ylb, yub = pooled_model
    out.append(
        f'<line x1="6" y1="{cy - ROW / 2:.1f}" x2="{WEIGHT_X}" y2="{cy - ROW / 2:.1f}" '
        'stroke="#cfd8dc"/>'
    )
    out.append(
        f'<text x="6" y="{cy + 4:.1f}" font-weight="bold">Pooled (random effects, REML, '
        "Knapp-Hartung)</text>"
    )
    out.append(
        f'<polygon class="pooled" points="{px(ylb):.1f},{cy:.1f} {px(y0):.1f},{cy - 7:.1f} '
        f'{px(yub):.1f},{cy:.1f} {px(y0):.1f},{cy + 7:.1f}" fill="#6a1b9a"/>'
    )
    if ylb < lo:
        out.append(_arrow(px(ylb), cy, left=True, colour="#6a1b9a"))
    if yub > hi:
        out.append(_arrow(px(yub), cy, left=False, colour="#6a1b9a"))
    out.append(
        f'<text x="{TEXT_X}" y="{cy + 4:.1f}" font-weight="bold">{fmt_number(est.estimate)} '
        f"[{fmt_number(est.ci_lb)}, {fmt_number(est.ci_ub)}]</text>"
    )
    out.append(f'<text x="{WEIGHT_X}" y="{cy + 4:.1f}" text-anchor="end">100%</text>')
    if est.pi_lb is not None and est.pi_ub is not None:
        row += 1
        cy = TOP + row * ROW + ROW / 2 + 6
        plb, pub = _model(m, est.pi_lb), _model(m, est.pi_ub)
        out.append(f'<text x="6" y="{cy + 4:.1f}">Prediction interval</text>')
        out.append(
            f'<line class="prediction" x1="{px(plb):.1f}" y1="{cy:.1f}" x2="{px(pub):.1f}" '
            f'y2="{cy:.1f}" stroke="#6a1b9a" stroke-width="3"/>'
        )
        if plb < lo:
            out.append(_arrow(px(plb), cy, left=True, colour="#6a1b9a"))
        if pub > hi:
            out.append(_arrow(px(pub), cy, left=False, colour="#6a1b9a"))
        out.append(
            f'<text x="{TEXT_X}" y="{cy + 4:.1f}">[{fmt_number(est.pi_lb)}, '
            f"{fmt_number(est.pi_ub)}]</text>"
        )
    row += 1
    axis_y = TOP + row * ROW + 14
    out.append(_axis(m, lo, hi, px, axis_y, TOP - 6))
    left, right = _favours(syn, m)
    out.append(
        f'<text x="{px(_NULL[m]) - 6:.1f}" y="{axis_y + 36}" text-anchor="end" '
        f'font-style="italic">← {left}</text>'
    )
    out.append(
        f'<text x="{px(_NULL[m]) + 6:.1f}" y="{axis_y + 36}" font-style="italic">{right} →</text>'
    )
    out.append("</g></svg>")
    return "".join(out)


def _arrow(x: float, y: float, *, left: bool, colour: str = "#37474f") -> str:
    d = -6 if left else 6
    return (
        f'<polygon class="clipped" points="{x + d:.1f},{y:.1f} {x:.1f},{y - 4:.1f} '
        f'{x:.1f},{y + 4:.1f}" fill="{colour}"/>'
    )


def _ticks(measure: str, lo: float, hi: float) -> list[float]:
    if measure == "RR":
        cands = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
        if math.log(100) - math.log(0.01) >= hi - lo > math.log(1000):
            cands = [0.01, 0.1, 1, 10, 100]
        return [math.log(t) for t in cands if lo <= math.log(t) <= hi]
    step = 0.1 if hi - lo <= 1 else 0.25 if hi - lo <= 2.5 else 0.5 if hi - lo <= 5 else 1.0
    first = math.ceil(lo / step) * step
    n = int((hi - first) / step + 1e-9) + 1
    return [round(first + i * step, 10) for i in range(n)]


def _axis(measure: str, lo: float, hi: float, px: object, y: float, top: float) -> str:
    assert callable(px)
    parts = [
        f'<line x1="{PLOT_X}" y1="{y}" x2="{PLOT_X + PLOT_W}" y2="{y}" stroke="#37474f"/>',
        f'<line class="null" x1="{px(_NULL[measure]):.1f}" y1="{top}" '
        f'x2="{px(_NULL[measure]):.1f}" y2="{y}" stroke="#90a4ae" stroke-dasharray="4 3"/>',
    ]
    for t in sorted(set(_ticks(measure, lo, hi))):
        x = px(t)
        label = f"{math.exp(t):g}" if measure == "RR" else f"{t:g}"
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#37474f"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle" font-size="11">{label}</text>'
        )
    return "".join(parts)
