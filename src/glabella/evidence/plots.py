"""Forest and contour-enhanced funnel plots (matplotlib, Agg canvas; no pyplot state).

* :func:`forest_plot`: one row per study (square sized by weight, CI line, clipped CIs end in an
  arrow), the pooled estimate as a diamond, the prediction interval as its own row, optional
  subgroup blocks with their own diamonds and the test for subgroup differences, a column with
  the weights and one with the estimate and CI. Ratio measures (RR, OR, PETO, ROM) are drawn on
  the log scale with back-transformed tick labels and text (as metafor's ``forest(...,
  atransf=exp)``; Lewis & Clarke 2001, BMJ 322:1479-1480 for the layout). Given 2x2 counts,
  two columns with events/total per arm (``ai/n1i``, ``ci/n2i``; totals on the subgroup and
  pooled rows, as RevMan's forest plots), and ``favours`` labels under the axis on either side
  of the null line (Cochrane Handbook 6.3, section 10.2: "Favours experimental" / "Favours
  control").
* :func:`funnel_plot`: effect against standard error (reversed axis), with the pseudo-confidence
  region around the pooled estimate and the contour-enhanced significance regions around the
  null (p < .10, .05, .01; Peters et al. 2008, J Clin Epidemiol 61:991-996; metafor
  ``funnel(..., level=c(90, 95, 99), refline=0)``); filled-in studies of a trim-and-fill
  analysis are drawn as open circles.

Both return the :class:`matplotlib.figure.Figure` and, given a path, write a PNG (``dpi``,
200 by default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from scipy import stats

from glabella.evidence.meta import MetaError, MetaResult
from glabella.formatting import fixed, p_value, readable, typographic_minus

__all__ = ["RATIO_MEASURES", "arm_counts", "forest_plot", "funnel_plot"]

FloatArray = npt.NDArray[np.float64]

#: Measures analysed on the log scale and shown back-transformed.
RATIO_MEASURES = frozenset({"RR", "OR", "PETO", "ROM"})

_NAMES = {
    "RR": "Risk Ratio",
    "OR": "Odds Ratio",
    "PETO": "Odds Ratio (Peto)",
    "ROM": "Ratio of Means",
    "RD": "Risk Difference",
    "AS": "Arcsine Risk Difference",
    "SMD": "Standardised Mean Difference",
    "SMDH": "Standardised Mean Difference",
    "MD": "Mean Difference",
    "ZCOR": "Fisher's z",
    "COR": "Correlation",
    "PLO": "Log Odds",
    "PR": "Proportion",
    "PAS": "Arcsine Proportion",
    "GEN": "Effect Size",
}

_INK = "#1a1a1a"
_STUDY = "#2f4b7c"
_POOLED = "#a4343a"
_SUBGROUP = "#4a6fa5"
_GRID = "#d9d9d9"
_DPI = 200
_NICE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _is_ratio(measure: str | None) -> bool:
    return (measure or "").upper() in RATIO_MEASURES


def _fmt_num(x: float, ratio: bool) -> str:
    """A ratio back-transformed and :func:`readable` (74,794; 0.00037); a difference with −."""
    if ratio:
        return readable(math.exp(x))
    return typographic_minus(fixed(x, 2))


def arm_counts(
    inputs: Mapping[str, npt.ArrayLike],
) -> list[tuple[float, float, float, float]] | None:
    """Per-study ``(ai, n1i, ci, n2i)`` from 2x2 input columns, or None if the data are not 2x2.

    Accepts metafor's two spellings: ``ai, bi, ci, di`` (``n1i = ai + bi``, ``n2i = ci + di``)
    or ``ai, n1i, ci, n2i``.
    """
    if "ai" not in inputs or "ci" not in inputs:
        return None
    ai = np.asarray(inputs["ai"], dtype=np.float64)
    ci = np.asarray(inputs["ci"], dtype=np.float64)
    if "n1i" in inputs and "n2i" in inputs:
        n1 = np.asarray(inputs["n1i"], dtype=np.float64)
        n2 = np.asarray(inputs["n2i"], dtype=np.float64)
    elif "bi" in inputs and "di" in inputs:
        n1 = ai + np.asarray(inputs["bi"], dtype=np.float64)
        n2 = ci + np.asarray(inputs["di"], dtype=np.float64)
    else:
        return None
    return [
        (float(a), float(b), float(c), float(d)) for a, b, c, d in zip(ai, n1, ci, n2, strict=True)
    ]


def _count(events: float, total: float) -> str:
    def num(x: float) -> str:
        return f"{x:.0f}" if float(x).is_integer() else f"{x:g}"

    return f"{num(events)}/{num(total)}"


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    """Log positions of nice back-transformed values in ``[lo, hi]`` (model scale)."""
    if hi - lo > math.log(1000):  # more than three decades: powers of ten only, or they collide
        first, last = math.ceil(lo / math.log(10)), math.floor(hi / math.log(10))
        step = max(1, math.ceil((last - first + 1) / 7))  # at most about 7 labels
        decades = [k for k in range(first, last + 1) if k % step == 0]
        return [k * math.log(10) for k in decades]
    vals = [v for v in _NICE if lo <= math.log(v) <= hi]
    if len(vals) > 7:
        vals = [v for v in vals if v not in (0.02, 0.2, 2.0, 20.0)]
    if len(vals) < 3:
        loc = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
        vals = [float(v) for v in loc.tick_values(math.exp(lo), math.exp(hi)) if v > 0]
        vals = [v for v in vals if lo <= math.log(v) <= hi]
    return [math.log(v) for v in vals]


def _ratio_label(x: float) -> str:
    """Back-transformed tick label: 0.5, 1, 20; far-out powers of ten as 10^k."""
    k = x / math.log(10)
    if abs(k) >= 3 and abs(k - round(k)) < 1e-9:
        return f"$10^{{{round(k)}}}$"
    return f"{math.exp(x):g}"


def _set_axis(ax: object, lo: float, hi: float, ratio: bool) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    ax.set_xlim(lo, hi)
    if ratio:
        ticks = _ratio_ticks(lo, hi)
        if ticks:
            ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _ratio_label(x)))


def _save(fig: Figure, path: str | Path | None, dpi: int) -> None:
    FigureCanvasAgg(fig)
    if path is not None:
        fig.savefig(str(path), dpi=dpi, format="png", facecolor="white")


def _axis_label(res: MetaResult, xlabel: str | None) -> str:
    if xlabel:
        return xlabel
    name = _NAMES.get((res.measure or "GEN").upper(), "Effect Size")
    if _is_ratio(res.measure):
        return f"{name} (log scale)"
    return name


def _summary_label(res: MetaResult) -> str:
    if res.method in ("MH", "PETO", "EE", "FE"):
        named = {"MH": "Mantel-Haenszel", "PETO": "Peto", "EE": "equal effects", "FE": "fixed"}
        return f"Common-effect model ({named[res.method]})"
    return f"Random-effects model ({res.method})"


def _het_text(res: MetaResult) -> str:
    parts = []
    if res.tau2 is not None:
        parts.append(f"τ² = {res.tau2:.3f}")
    if res.I2 is not None:
        parts.append(f"I² = {res.I2:.0f}%")
    parts.append(f"Q = {res.Q:.2f}, df = {res.Q_df} ({p_value(res.Q_pval)})")
    return "Heterogeneity: " + "; ".join(parts)


def _overall_text(res: MetaResult) -> str:
    if res.tval is not None:
        stat = f"t({res.df}) = {res.tval:.2f}"
    else:
        stat = f"z = {res.zval:.2f}" if res.zval is not None else "z = NA"
    return f"Test for overall effect: {stat} ({p_value(res.pval)})"


def forest_plot(
    res: MetaResult,
    labels: Sequence[str],
    path: str | Path | None = None,
    *,
    subgroups: Mapping[str, MetaResult] | None = None,
    groups: Sequence[str] | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    dpi: int = _DPI,
    counts: Sequence[tuple[float, float, float, float]] | None = None,
    arms: tuple[str, str] = ("Treatment", "Control"),
    favours: tuple[str, str] | None = None,
) -> Figure:
    """Forest plot of ``res`` (see module doc); ``groups`` gives each study's subgroup level.

    ``counts``: per study ``(ai, n1i, ci, n2i)`` (see :func:`arm_counts`), drawn as events/total
    under the ``arms`` headings. ``favours``: (left, right) labels, drawn as "Favours <left>"
    left of the null line and "Favours <right>" right of it.

    Study rows carry ``gid="study"``, diamonds ``gid="pooled"``/``"subgroup"`` and the
    prediction interval ``gid="pi"``, so the figure can be inspected.
    """
    k = int(res.yi.shape[0])
    if len(labels) != k:
        raise MetaError(f"{len(labels)} labels for {k} studies")
    if counts is not None and len(counts) != k:
        raise MetaError(f"{len(counts)} rows of arm counts for {k} studies")
    if favours is not None and (len(favours) != 2 or not all(str(f).strip() for f in favours)):
        raise MetaError("favours needs two non-empty labels (left, right)")
    ratio = _is_ratio(res.measure)
    level = res.level
    y, v = res.yi, res.vi
    se = np.sqrt(v)
    crit = float(stats.norm.isf((1 - level / 100) / 2))
    lb, ub = y - crit * se, y + crit * se
    wp = res.weights_percent

    blocks: list[tuple[str | None, list[int]]]
    if subgroups and groups is not None:
        if len(groups) != k:
            raise MetaError("groups and studies differ in length")
        blocks = [(lv, [i for i in range(k) if str(groups[i]) == lv]) for lv in subgroups]
    else:
        blocks = [(None, list(range(k)))]

    # rows, top to bottom: (kind, payload)
    rows: list[tuple[str, object]] = []
    for lv, idx in blocks:
        if lv is not None:
            rows.append(("header", lv))
        rows.extend(("study", i) for i in idx)
        if lv is not None and subgroups is not None:
            rows.append(("subgroup", lv))
            rows.append(("blank", None))
    rows.append(("pooled", None))
    if res.pi_lb is not None and res.pi_ub is not None:
        rows.append(("pi", None))
    n = len(rows)

    # x range: all CIs and the summary, clipped to a sensible window around the estimates
    spread = float(np.ptp(y)) if k > 1 else float(2 * crit * se[0])
    spread = max(spread, 1e-9)
    core_lo = min(float(y.min()), res.ci_lb)
    core_hi = max(float(y.max()), res.ci_ub)
    lo = max(float(lb.min()), core_lo - 0.75 * spread)
    hi = min(float(ub.max()), core_hi + 0.75 * spread)
    if res.pi_lb is not None and res.pi_ub is not None:
        lo, hi = min(lo, res.pi_lb), max(hi, res.pi_ub)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.04 * (hi - lo)
    lo, hi = lo - pad, hi + pad

    max_label = max([len(str(s)) for s in labels] + [len(_summary_label(res)), 12])
    left_w = min(4.2, 0.5 + 0.075 * max_label)
    head_extra = 0.5 if counts is not None else 0.0  # arm names above "Events/Total"
    foot_extra = 0.22 if favours is not None else 0.0  # the favours line under the ticks
    arm_w = 0.0
    if counts is not None:
        widest = max(
            [len(_count(a, b)) for a, b, _, _ in counts]
            + [len(_count(c, d)) for _, _, c, d in counts]
            + [len(a) for a in arms]
            + [12]
        )
        arm_w = min(1.6, 0.2 + 0.075 * widest)  # fmt: skip
    height = 1.75 + 0.27 * (n + 1 + head_extra) + foot_extra
    widths = [left_w, *([arm_w, arm_w] if counts is not None else []), 4.2, 0.8, 2.0]
    fig = Figure(figsize=(sum(widths) + 0.2, height), dpi=_DPI)
    gs = fig.add_gridspec(
        1,
        len(widths),
        width_ratios=widths,
        left=0.02,
        right=0.99,
        top=1 - 0.35 / height,
        bottom=(1.25 + foot_extra) / height,
        wspace=0.02,
    )
    ax_lab = fig.add_subplot(gs[0, 0])
    ax_arms = [fig.add_subplot(gs[0, 1 + j], sharey=ax_lab) for j in range(2 if counts else 0)]
    col = 1 + len(ax_arms)
    ax = fig.add_subplot(gs[0, col], sharey=ax_lab)
    ax_w = fig.add_subplot(gs[0, col + 1], sharey=ax_lab)
    ax_ci = fig.add_subplot(gs[0, col + 2], sharey=ax_lab)
    for a in (ax_lab, *ax_arms, ax_w, ax_ci):
        a.set_axis_off()
        a.set_xlim(0, 1)
    for a in (ax_lab, *ax_arms, ax, ax_w, ax_ci):
        a.patch.set_visible(False)
    ax.set_ylim(0.4, n + 1.3 + head_extra)
    top = n + 0.95
    fs = 9.0
    est_name = _NAMES.get((res.measure or "GEN").upper(), "Estimate")
    if ratio:
        est_name = res.measure or est_name
    elif res.measure and res.measure.upper() != "GEN":
        est_name = res.measure
    else:
        est_name = "Estimate"
    ax_lab.text(0.0, top, "Study", fontweight="bold", fontsize=fs, va="center")
    ax_w.text(1.0, top, "Weight", fontweight="bold", fontsize=fs, va="center", ha="right")
    ax_ci.text(
        1.0, top, f"{est_name} [{level:g}% CI]", fontweight="bold", fontsize=fs, va="center",
        ha="right",
    )  # fmt: skip
    for a_arm, arm in zip(ax_arms, arms[: len(ax_arms)], strict=True):
        a_arm.text(0.5, top + head_extra, str(arm), fontweight="bold", fontsize=fs, va="center",
                   ha="center", gid="arm")  # fmt: skip
        a_arm.text(0.5, top, "Events/Total", fontsize=fs - 1, va="center", ha="center")
    for a in (ax_lab, *ax_arms, ax, ax_w, ax_ci):
        a.axhline(n + 0.55, color=_INK, lw=0.8, clip_on=False)

    def arm_totals(idx: Sequence[int], yy: float, weight: str) -> None:
        if counts is None:
            return
        for j, a_arm in enumerate(ax_arms):
            ev = sum(counts[i][2 * j] for i in idx)
            tot = sum(counts[i][2 * j + 1] for i in idx)
            a_arm.text(0.5, yy, _count(ev, tot), fontsize=fs, va="center", ha="center",
                       fontweight=weight, gid="counts")  # fmt: skip

    wmax = float(wp.max()) if k else 1.0
    for r, (kind, payload) in enumerate(rows):
        yy = n - r
        if kind == "header":
            ax_lab.text(0.0, yy, str(payload), fontsize=fs, fontweight="bold", va="center")
        elif kind == "study":
            i = int(str(payload))
            ax_lab.text(0.02, yy, str(labels[i]), fontsize=fs, va="center")
            arm_totals([i], yy, "normal")
            a_lo, a_hi = max(lb[i], lo), min(ub[i], hi)
            ax.plot([a_lo, a_hi], [yy, yy], color=_INK, lw=1.0, solid_capstyle="butt", gid="ci")
            for end, clipped, sgn in ((a_lo, lb[i] < lo, -1), (a_hi, ub[i] > hi, 1)):
                if clipped:
                    ax.annotate(
                        "",
                        xy=(end, yy),
                        xytext=(end - sgn * 0.02 * (hi - lo), yy),
                        arrowprops={"arrowstyle": "-|>", "color": _INK, "lw": 1.0},
                    )
            size = 14 + 110 * float(wp[i]) / wmax
            ax.scatter(
                [y[i]], [yy], marker="s", s=size, color=_STUDY, zorder=3, gid="study",
                edgecolors="none",
            )  # fmt: skip
            ax_w.text(1.0, yy, f"{wp[i]:.1f}%", fontsize=fs, va="center", ha="right")
            ax_ci.text(
                1.0, yy,
                f"{_fmt_num(y[i], ratio)} [{_fmt_num(lb[i], ratio)}, {_fmt_num(ub[i], ratio)}]",
                fontsize=fs, va="center", ha="right", family="DejaVu Sans Mono",
            )  # fmt: skip
        elif kind in ("subgroup", "pooled"):
            m = res if kind == "pooled" else (subgroups or {})[str(payload)]
            color = _POOLED if kind == "pooled" else _SUBGROUP
            h = 0.34
            diamond = Polygon(
                [(m.ci_lb, yy), (m.estimate, yy + h), (m.ci_ub, yy), (m.estimate, yy - h)],
                closed=True,
                facecolor=color,
                edgecolor=color,
                zorder=3,
                gid="pooled" if kind == "pooled" else "subgroup",
            )
            ax.add_patch(diamond)
            text = _summary_label(m) if kind == "pooled" else f"Subtotal ({m.k} studies)"
            weight = "bold" if kind == "pooled" else "normal"
            ax_lab.text(0.0, yy, text, fontsize=fs, fontweight=weight, va="center")
            arm_totals(
                range(k) if kind == "pooled"
                else [i for lv, idx in blocks if lv == payload for i in idx],
                yy, weight,
            )  # fmt: skip
            if kind == "subgroup":
                sub_w = sum(float(wp[i]) for lv, idx in blocks if lv == payload for i in idx)
                ax_w.text(1.0, yy, f"{sub_w:.1f}%", fontsize=fs, va="center", ha="right")
            else:
                ax_w.text(1.0, yy, "100.0%", fontsize=fs, va="center", ha="right",
                          fontweight="bold")  # fmt: skip
            ax_ci.text(
                1.0, yy,
                f"{_fmt_num(m.estimate, ratio)} [{_fmt_num(m.ci_lb, ratio)}, "
                f"{_fmt_num(m.ci_ub, ratio)}]",
                fontsize=fs, va="center", ha="right", family="DejaVu Sans Mono",
                fontweight=weight,
            )  # fmt: skip
            if kind == "subgroup":
                het = [f"τ² = {m.tau2:.2f}"] if m.tau2 is not None else []
                if m.I2 is not None:
                    het.append(f"I² = {m.I2:.0f}%")
                het.append(p_value(m.Q_pval))
                ax_lab.text(
                    0.02, yy - 0.55, "Heterogeneity: " + "; ".join(het), fontsize=fs - 1.5,
                    va="center", color="#555555",
                )  # fmt: skip
        elif kind == "pi":
            assert res.pi_lb is not None and res.pi_ub is not None
            ax.plot(
                [res.pi_lb, res.pi_ub], [yy, yy], color=_POOLED, lw=1.6, gid="pi",
                solid_capstyle="butt",
            )  # fmt: skip
            for end in (res.pi_lb, res.pi_ub):
                ax.plot([end, end], [yy - 0.15, yy + 0.15], color=_POOLED, lw=1.6)
            ax_lab.text(0.02, yy, f"{level:g}% prediction interval", fontsize=fs, va="center")
            ax_ci.text(
                1.0, yy, f"[{_fmt_num(res.pi_lb, ratio)}, {_fmt_num(res.pi_ub, ratio)}]",
                fontsize=fs, va="center", ha="right", family="DejaVu Sans Mono",
            )  # fmt: skip

    null = 0.0
    ax.plot([null, null], [0.4, n + 0.45], color=_INK, lw=0.9, zorder=1)
    ax.plot(
        [res.estimate, res.estimate], [0.4, n + 0.45], color=_POOLED, lw=0.7, ls=(0, (3, 3)),
        zorder=1, alpha=0.8,
    )  # fmt: skip
    _set_axis(ax, lo, hi, ratio)
    ax.set_xlabel(_axis_label(res, xlabel), fontsize=fs, labelpad=4 + 72 * foot_extra)
    ax.tick_params(axis="x", labelsize=fs - 0.5, color=_INK)
    if favours is not None:
        # just under the tick labels, each side of the null line (RevMan's layout)
        for text, sgn in ((f"\u2190 Favours {favours[0].strip()}", -1),
                          (f"Favours {favours[1].strip()} \u2192", 1)):  # fmt: skip
            ax.annotate(
                text, xy=(null, 0.0), xycoords=("data", "axes fraction"),
                xytext=(sgn * 5, -17), textcoords="offset points", fontsize=fs - 0.5,
                ha="left" if sgn > 0 else "right", va="top", gid="favours", color="#333333",
            )  # fmt: skip
    ax.tick_params(axis="y", left=False, labelleft=False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.grid(False)

    foot = [_het_text(res), _overall_text(res)]
    if subgroups and len(subgroups) > 1:
        from glabella.evidence.regression import q_between

        qb, dfb, pb = q_between(
            [m.estimate for m in subgroups.values()], [m.se for m in subgroups.values()]
        )
        foot.append(f"Test for subgroup differences: Q = {qb:.2f}, df = {dfb} ({p_value(pb)})")
    fig.text(0.02, 0.42 / height, "\n".join(foot), fontsize=fs - 1, va="center", linespacing=1.5)
    if title:
        fig.suptitle(title, fontsize=fs + 2, fontweight="bold", x=0.02, ha="left")
    _save(fig, path, dpi)
    return fig


def funnel_plot(
    res: MetaResult,
    path: str | Path | None = None,
    *,
    filled_yi: npt.ArrayLike | None = None,
    filled_vi: npt.ArrayLike | None = None,
    levels: Sequence[float] = (90.0, 95.0, 99.0),
    xlabel: str | None = None,
    title: str | None = None,
    dpi: int = _DPI,
) -> Figure:
    """Contour-enhanced funnel plot of ``res`` (see module doc).

    Observed studies carry ``gid="study"``, filled-in studies (``filled_yi``, ``filled_vi``,
    e.g. from :func:`glabella.evidence.bias.trimfill`) ``gid="filled"``.
    """
    ratio = _is_ratio(res.measure)
    y, se = res.yi, np.sqrt(res.vi)
    fy = np.asarray(filled_yi if filled_yi is not None else [], dtype=np.float64)
    fse = np.sqrt(np.asarray(filled_vi if filled_vi is not None else [], dtype=np.float64))
    all_se = np.concatenate([se, fse])
    all_y = np.concatenate([y, fy])
    se_max = float(all_se.max()) * 1.08 if all_se.size else 1.0
    zs = sorted((float(stats.norm.isf((1 - lv / 100) / 2)) for lv in levels), reverse=True)
    z_outer = zs[0]
    half = max(float(np.max(np.abs(all_y))) * 1.1, z_outer * se_max * 1.02, abs(res.estimate))
    lo, hi = -half, half
    fig = Figure(figsize=(8.0, 5.2), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    # contour regions (around the null): p < 1-level shaded darker for smaller p
    shades = ["#ededed", "#d0d0d0", "#b3b3b3"]
    ax.fill_between([lo, hi], [0, 0], [se_max, se_max], color=shades[2], lw=0, zorder=0)
    sev = np.linspace(0.0, se_max, 200)
    legend: list[Patch | Line2D] = []
    for j, z in enumerate(zs):
        color = shades[1 - j] if j < 2 else "white"
        ax.fill_betweenx(sev, -z * sev, z * sev, color=color, lw=0, zorder=0)
    lv_sorted = sorted(levels)
    labels = [
        f"p > {1 - lv_sorted[0] / 100:.2f}",
        f"{1 - lv_sorted[1] / 100:.2f} < p ≤ {1 - lv_sorted[0] / 100:.2f}",
        f"{1 - lv_sorted[2] / 100:.2f} < p ≤ {1 - lv_sorted[1] / 100:.2f}",
        f"p ≤ {1 - lv_sorted[2] / 100:.2f}",
    ]
    for color, text in zip(["white", *shades], labels, strict=True):
        legend.append(Patch(facecolor=color, edgecolor="#888888", lw=0.5, label=text))
    # pseudo-confidence region around the pooled estimate
    c95 = float(stats.norm.isf(0.025))
    ax.plot(res.estimate - c95 * sev, sev, color=_INK, lw=0.8, ls=(0, (4, 3)))
    ax.plot(res.estimate + c95 * sev, sev, color=_INK, lw=0.8, ls=(0, (4, 3)))
    ax.plot([res.estimate, res.estimate], [0, se_max], color=_POOLED, lw=1.0)
    ax.axvline(0.0, color=_INK, lw=0.6, alpha=0.6)
    ax.scatter(y, se, s=26, color=_STUDY, edgecolors="white", linewidths=0.5, zorder=3,
               gid="study")  # fmt: skip
    legend.append(
        Line2D([], [], marker="o", ls="", color=_STUDY, markeredgecolor="white", label="Studies")
    )
    if fy.size:
        ax.scatter(fy, fse, s=26, facecolors="white", edgecolors=_STUDY, linewidths=1.0,
                   zorder=3, gid="filled")  # fmt: skip
        legend.append(
            Line2D([], [], marker="o", ls="", color=_STUDY, markerfacecolor="white",
                   label="Filled (trim-and-fill)")
        )  # fmt: skip
    legend.append(Line2D([], [], color=_POOLED, lw=1.0, label="Pooled estimate"))
    legend.append(Line2D([], [], color=_INK, lw=0.8, ls=(0, (4, 3)), label="95% pseudo-CI"))
    ax.set_ylim(se_max, 0.0)
    _set_axis(ax, lo, hi, ratio)
    ax.set_xlabel(_axis_label(res, xlabel), fontsize=10)
    ax.set_ylabel("Standard error", fontsize=10)
    ax.tick_params(labelsize=9)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    ax.legend(
        handles=legend, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
        title="Contours (two-sided p)", title_fontsize=8, alignment="left",
    )  # fmt: skip
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold", loc="left")
    _save(fig, path, dpi)
    return fig
