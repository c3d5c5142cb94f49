"""Forest and funnel plots: valid PNGs, and what is drawn (rows, diamonds, axis) is right."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from metafor_cases import DATA
from typer.testing import CliRunner

from glabella.cli import app
from glabella.evidence import bias, plots, rma, subgroups
from glabella.evidence.meta import MetaError, MetaResult
from glabella.interop.csvinput import PreparedData, parse_csv, prepare

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    raw = path.read_bytes()
    assert raw[:8] == PNG_MAGIC, "not a PNG file"
    assert raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    return int(width), int(height)


def _bcg(by: str | None = None) -> tuple[PreparedData, MetaResult]:
    data = prepare(parse_csv((DATA / "bcg.csv").read_text()), "RR", by=by)
    return data, rma(data.effects.yi, data.effects.vi, method="REML", measure="RR")


def _by_gid(fig: Figure, gid: str) -> list[object]:
    return [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_forest_plot_rows_axis_and_png(tmp_path: Path) -> None:
    data, res = _bcg()
    out = tmp_path / "forest.png"
    fig = plots.forest_plot(res, list(data.labels), out, dpi=100)
    width, height = _png_size(out)
    assert 800 <= width <= 1500 and 350 <= height <= 1250  # 100 dpi here; the CLI writes 200
    # one square per study, one pooled diamond, the prediction interval from pi_lb to pi_ub
    squares = _by_gid(fig, "study")
    assert len(squares) == 13 and all(isinstance(s, PathCollection) for s in squares)
    assert len(_by_gid(fig, "pooled")) == 1 and not _by_gid(fig, "subgroup")
    pi = _by_gid(fig, "pi")
    assert len(pi) == 1 and isinstance(pi[0], Line2D)
    assert list(np.asarray(pi[0].get_xdata(), dtype=float)) == pytest.approx([res.pi_lb, res.pi_ub])
    diamond = _by_gid(fig, "pooled")[0]
    assert isinstance(diamond, Polygon)
    xs = diamond.get_xy()[:, 0]
    assert (xs.min(), xs.max()) == pytest.approx((res.ci_lb, res.ci_ub))
    # ratio measure: log-scale axis with back-transformed tick labels
    ax = fig.axes[1]
    assert ax.get_xlabel() == "Risk Ratio (log scale)"
    fig.canvas.draw()
    ticks = {t.get_text(): t.get_position()[0] for t in ax.get_xticklabels() if t.get_text()}
    assert {"0.5", "1", "2"} <= set(ticks)
    for label, pos in ticks.items():
        assert pos == pytest.approx(math.log(float(label)))
    # Aronson 1948 (4/123 vs 11/139): RR 0.41, 95% CI from SE² = 1/4 - 1/123 + 1/11 - 1/139
    rr = (4 / 123) / (11 / 139)
    se = math.sqrt(1 / 4 - 1 / 123 + 1 / 11 - 1 / 139)
    lo, hi = rr * math.exp(-1.959964 * se), rr * math.exp(1.959964 * se)
    assert f"{rr:.2f} [{lo:.2f}, {hi:.2f}]" == "0.41 [0.13, 1.26]"
    assert "0.41 [0.13, 1.26]" in _texts(fig)


def test_forest_plot_subgroup_blocks(tmp_path: Path) -> None:
    data, res = _bcg(by="alloc")
    assert data.groups is not None
    groups = [str(g) for g in data.groups]
    sg = subgroups(data.effects.yi, data.effects.vi, groups, method="REML", measure="RR")
    out = tmp_path / "forest_by.png"
    fig = plots.forest_plot(
        res, list(data.labels), out, subgroups=sg.results, groups=groups, dpi=100
    )
    assert _png_size(out)[1] > 600  # taller than the plot without subgroups
    assert len(_by_gid(fig, "study")) == 13
    diamonds = _by_gid(fig, "subgroup")
    assert len(diamonds) == 3
    centres = sorted(float(d.get_xy()[1, 0]) for d in diamonds if isinstance(d, Polygon))
    assert centres == pytest.approx(sorted(r.estimate for r in sg.results.values()))
    texts = _texts(fig)
    assert {"alternate", "random", "systematic"} <= set(texts)
    # metafor 3.8-1 (tests/data/metafor/bcg__rr_reml_by.json): Q_between = 1.8597, df = 2
    qb = json.loads((DATA / "bcg__rr_reml_by.json").read_text())["expected"]["Q_between"]
    line = f"Test for subgroup differences: Q = {qb:.2f}, df = 2"
    assert any(line in t for t in texts)


def test_forest_plot_linear_axis_for_differences() -> None:
    data = prepare(parse_csv((DATA / "normand1999.csv").read_text()), "SMD")
    res = rma(data.effects.yi, data.effects.vi, method="DL", measure="SMD")
    fig = plots.forest_plot(res, list(data.labels))
    ax = fig.axes[1]
    assert ax.get_xlabel() == "Standardised Mean Difference"
    lo, hi = ax.get_xlim()
    assert lo < float(data.effects.yi.min()) and hi > float(data.effects.yi.max())


def test_funnel_plot_points_contours_and_filled(tmp_path: Path) -> None:
    _, res = _bcg()
    tf = bias.trimfill(res)
    out = tmp_path / "funnel.png"
    fig = plots.funnel_plot(
        res, out, filled_yi=tf.result.yi[tf.filled], filled_vi=tf.result.vi[tf.filled]
    )
    width, height = _png_size(out)
    assert 1000 <= width <= 2500 and 700 <= height <= 1600
    (studies,) = _by_gid(fig, "study")
    (filled,) = _by_gid(fig, "filled")
    assert isinstance(studies, PathCollection) and isinstance(filled, PathCollection)
    pts = np.asarray(studies.get_offsets())
    assert len(pts) == 13 and len(np.asarray(filled.get_offsets())) == tf.k0 == 1
    assert np.allclose(np.asarray(pts)[:, 1], np.sqrt(res.vi))
    ax = fig.axes[0]
    y0, y1 = ax.get_ylim()
    assert y0 > y1 == 0.0  # standard error axis reversed, 0 at the top
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()][:4] == [
        "p > 0.10",
        "0.05 < p ≤ 0.10",
        "0.01 < p ≤ 0.05",
        "p ≤ 0.01",
    ]


def test_cli_writes_both_plots(tmp_path: Path) -> None:
    forest, funnel = tmp_path / "f.png", tmp_path / "u.png"
    args = ["--measure", "OR", "--method", "DL", "--forest", str(forest), "--funnel", str(funnel)]
    result = CliRunner().invoke(app, ["meta", str(DATA / "bcg.csv"), *args, "--json"])
    assert result.exit_code == 0, result.output
    assert _png_size(forest)[0] > 1000 and _png_size(funnel)[0] > 1000


def test_cli_unwritable_plot_path_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "f.png"
    args = ["--measure", "RR", "--forest", str(target)]
    result = CliRunner().invoke(app, ["meta", str(DATA / "bcg.csv"), *args])
    assert result.exit_code == 2
    assert "cannot write the plot" in result.stderr


def test_wide_ratio_axis_uses_powers_of_ten_and_readable_bounds() -> None:
    """A very imprecise pooled RR (two small trials) must not draw colliding tick labels."""
    # Two 2x2 tables typed by hand: 17/33 vs 6/41 and 10/11 vs 0/19 (0.5 added, metafor default).
    data = prepare(parse_csv("study,ai,n1i,ci,n2i\nA,17,33,6,41\nB,10,11,0,19\n"), "RR")
    res = rma(data.effects.yi, data.effects.vi, method="REML", measure="RR", test="knha")
    assert math.exp(res.ci_ub) > 1000  # the case this test is about: a very wide interval
    fig = plots.forest_plot(res, list(data.labels))
    ax = fig.axes[1]
    assert ax.get_xlabel() == "Risk Ratio (log scale)"
    fig.canvas.draw()
    ticks = [t.get_position()[0] / math.log(10) for t in ax.get_xticklabels() if t.get_text()]
    assert 3 <= len(ticks) <= 7 and 0.0 in ticks, ticks  # RR = 1 is always labelled
    assert all(k == pytest.approx(round(k)) for k in ticks), ticks  # powers of ten only
    assert plots._ratio_label(math.log(1e6)) == "$10^{6}$" and plots._ratio_label(0.0) == "1"
    assert plots._fmt_num(math.log(74793.97), True) == "74,794"
    assert plots._fmt_num(math.log(0.000374), True) == "0.00037"


# BCG trials (Colditz et al. 1994; metafor's dat.bcg), typed from tests/data/metafor/bcg.csv:
# vaccinated arm tpos (ai) / tpos + tneg (ai + bi), control arm cpos (ci) / cpos + cneg.
BCG_AI = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]  # sum 1065
BCG_N1 = [123, 306, 231, 13598, 5069, 1541, 2545, 88391, 7499, 1716, 50634, 2498, 16913]
BCG_CI = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]  # sum 1510
BCG_N2 = [139, 303, 220, 12867, 5808, 1451, 629, 88391, 7277, 1665, 27338, 2341, 17854]


def _forest_axis(fig: Figure) -> object:
    (ax,) = [a for a in fig.axes if a.axison]
    return ax


def test_arm_counts_from_either_spelling_of_a_2x2_table() -> None:
    data, _ = _bcg()
    counts = plots.arm_counts(data.inputs)
    assert counts == list(zip(BCG_AI, BCG_N1, BCG_CI, BCG_N2, strict=True))
    direct = plots.arm_counts({"ai": [3], "n1i": [20], "ci": [1], "n2i": [18]})
    assert direct == [(3.0, 20.0, 1.0, 18.0)]
    assert plots.arm_counts({"yi": [0.1], "vi": [0.2]}) is None
    assert plots.arm_counts({"ai": [1], "ci": [2]}) is None  # no group sizes: not a 2x2 table


def test_forest_plot_draws_arm_counts_totals_and_favours_labels(tmp_path: Path) -> None:
    data, res = _bcg()
    counts = plots.arm_counts(data.inputs)
    out = tmp_path / "forest_arms.png"
    fig = plots.forest_plot(
        res, list(data.labels), out, counts=counts, arms=("BCG", "Control"),
        favours=("BCG", "control"), dpi=100,
    )  # fmt: skip
    assert _png_size(out)[0] > 1000
    texts = _texts(fig)
    assert {"BCG", "Control"} <= set(texts) and texts.count("Events/Total") == 2
    cells = [t.get_text() for t in _by_gid(fig, "counts")]  # type: ignore[attr-defined]
    per_study = [f"{a}/{n}" for a, n in zip(BCG_AI, BCG_N1, strict=True)]
    assert [c for c in cells if c in per_study] == per_study  # row order kept
    assert "11/139" in cells and "499/88391" in cells  # control arms of Aronson and Madras
    # totals on the pooled row: 1065 events of 191,064 vaccinated (sums written out above)
    assert sum(BCG_N1) == 191064 and sum(BCG_N2) == 166283
    assert {"1065/191064", "1510/166283"} <= set(cells)

    # favours labels: "Favours BCG" left of the null line (RR = 1, log 0), the other right,
    # both under the tick labels and above the axis title, overlapping nothing
    ax = _forest_axis(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    left, right = _by_gid(fig, "favours")
    assert left.get_text() == "\u2190 Favours BCG"  # type: ignore[attr-defined]
    assert right.get_text() == "Favours control \u2192"  # type: ignore[attr-defined]
    null_px = ax.transData.transform((0.0, 0.0))[0]  # type: ignore[attr-defined]
    lb = left.get_window_extent(renderer)  # type: ignore[attr-defined]
    rb = right.get_window_extent(renderer)  # type: ignore[attr-defined]
    assert lb.x1 <= null_px <= rb.x0
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]  # type: ignore[attr-defined]
    title = ax.xaxis.label.get_window_extent(renderer)  # type: ignore[attr-defined]
    for box in (lb, rb):
        assert box.y1 <= min(t.y0 for t in ticks) and box.y0 >= title.y1
    # the axis is still on the ratio scale: log positions, labels as ratios
    labelled = {t.get_text(): t.get_position()[0] for t in ax.get_xticklabels() if t.get_text()}  # type: ignore[attr-defined]
    assert labelled["0.5"] == pytest.approx(math.log(0.5)) and labelled["1"] == 0.0


def test_forest_plot_subgroup_totals_and_bad_arguments() -> None:
    data, res = _bcg(by="alloc")
    assert data.groups is not None
    groups = [str(g) for g in data.groups]
    sg = subgroups(data.effects.yi, data.effects.vi, groups, method="REML", measure="RR")
    counts = plots.arm_counts(data.inputs)
    fig = plots.forest_plot(
        res, list(data.labels), subgroups=sg.results, groups=groups, counts=counts
    )
    cells = [t.get_text() for t in _by_gid(fig, "counts")]  # type: ignore[attr-defined]
    # the four "systematic" trials: Rosenthal et al 1961 17/1716 vs 65/1665, Comstock et al 1974
    # 186/50634 vs 141/27338, Comstock & Webster 1969 5/2498 vs 3/2341, Comstock et al 1976
    # 27/16913 vs 29/17854; subtotals 17+186+5+27 = 235 of 1716+50634+2498+16913 = 71761 and
    # 65+141+3+29 = 238 of 1665+27338+2341+17854 = 49198
    assert {"235/71761", "238/49198"} <= set(cells) and {"Treatment", "Control"} <= set(_texts(fig))
    with pytest.raises(MetaError, match="arm counts"):
        plots.forest_plot(res, list(data.labels), counts=counts[:3] if counts else None)
    with pytest.raises(MetaError, match="favours"):
        plots.forest_plot(res, list(data.labels), favours=("BCG", " "))


def test_cli_forest_with_favours_and_arms(tmp_path: Path) -> None:
    forest = tmp_path / "f.png"
    csv = str(DATA / "bcg.csv")
    ok = ["meta", csv, "--measure", "RR", "--forest", str(forest), "--favours", "BCG,control"]
    result = CliRunner().invoke(app, [*ok, "--arms", "BCG, Control"])
    assert result.exit_code == 0, result.output
    assert _png_size(forest)[0] > 2000  # 200 dpi, wider than without the count columns

    def fails(args: list[str], message: str) -> None:
        bad = CliRunner().invoke(app, args)
        assert bad.exit_code == 2 and message in bad.stderr, bad.output

    fails(["meta", csv, "--measure", "RR", "--favours", "a,b"], "add --forest")
    fails([*ok[:-1], "BCG"], "--favours needs two labels")
    fails([*ok[:-1], "a,b,c"], "--favours needs two labels")
    smd = ["meta", str(DATA / "normand1999.csv"), "--measure", "SMD"]
    fails([*smd, "--forest", str(tmp_path / "s.png"), "--arms", "a,b"], "no 2x2")
