"""Whole-process CLI benchmark: start-up and ``glabella meta`` against ``Rscript`` + metafor.

Run: ``make bench`` or ``.venv/bin/python -m bench.cli_bench`` (from the repository root).
Issue 14's goals, measured as whole processes in one run (a shared, noisy machine: each case
alternates with its peer round by round, and medians are compared):

* ``glabella --help`` under 0.3 s, set beside a bare ``python -c pass`` (the floor any Python
  CLI pays);
* ``glabella meta`` REML on metafor's ``dat.mccurdy2020`` (1,653 effect sizes, McCurdy et al.
  2020, written out from R's metafor package to a CSV with ``yi``/``vi``) at least 10 times
  faster than ``Rscript`` running ``rma(yi, vi, method = "REML")`` on the same file, with the
  same tau² (both printed; compared to 4 significant digits as both print them).

Wall time is the median over the rounds; CPU time (user + system of the child process, from
``getrusage(RUSAGE_CHILDREN)``) is reported too, being less sensitive to the machine's load.
Results: ``bench/results/cli_startup.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
ROUNDS = int(os.environ.get("GLABELLA_BENCH_CLI_ROUNDS", "7"))
HELP_GOAL_S = 0.3
META_GOAL_RATIO = 10.0

R_EXPORT = """
suppressMessages(library(metafor))
d <- dat.mccurdy2020
write.csv(d[, c("article", "experiment", "yi", "vi")], "{path}", row.names = FALSE)
cat(nrow(d), as.character(packageVersion("metafor")), "\\n")
"""
R_FIT = """
suppressMessages(library(metafor))
d <- read.csv("{path}")
r <- rma(yi, vi, data = d, method = "REML")
cat(sprintf("tau2 %.10g estimate %.10g k %d\\n", r$tau2, as.numeric(r$beta), r$k))
"""


def _glabella() -> list[str]:
    exe = shutil.which("glabella", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "glabella.cli"]


def _run(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and stdout of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def _alternate(cases: dict[str, list[str]]) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Run every case once per round, in turn, after one warm-up each; medians per case."""
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    last: dict[str, str] = {}
    for cmd in cases.values():
        _run(cmd)
    for _ in range(ROUNDS):
        for name, cmd in cases.items():
            wall, cpu, out = _run(cmd)
            walls[name].append(wall)
            cpus[name].append(cpu)
            last[name] = out
    summary = {
        name: {
            "wall_median_s": statistics.median(walls[name]),
            "wall_min_s": min(walls[name]),
            "cpu_median_s": statistics.median(cpus[name]),
            "rounds": float(len(walls[name])),
        }
        for name in cases
    }
    return summary, last


def _startup() -> dict[str, Any]:
    summary, _ = _alternate(
        {
            "python -c pass": [sys.executable, "-c", "pass"],
            "glabella --help": [*_glabella(), "--help"],
        }
    )
    help_wall = summary["glabella --help"]["wall_median_s"]
    floor = summary["python -c pass"]["wall_median_s"]
    return {
        "cases": summary,
        "goal_s": HELP_GOAL_S,
        "met": help_wall < HELP_GOAL_S,
        # on a loaded machine the wall time mostly waits for a core: the CPU the process used
        # itself is what the start-up costs where a core is free
        "met_on_cpu_time": summary["glabella --help"]["cpu_median_s"] < HELP_GOAL_S,
        "ratio_to_bare_python": help_wall / floor,
    }


def _meta(tmp: Path) -> dict[str, Any]:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not installed (bench/install_r.sh installs R and metafor)"}
    csv_path = tmp / "mccurdy2020.csv"
    export = tmp / "export.R"
    export.write_text(R_EXPORT.format(path=csv_path), encoding="utf-8")
    try:
        _, _, info = _run(["Rscript", str(export)])
    except subprocess.CalledProcessError as exc:
        return {"skipped": f"metafor unavailable in R: {exc.stderr.strip()[:200]}"}
    k_text, metafor_version = info.split()[:2]
    fit_r = tmp / "fit.R"
    fit_r.write_text(R_FIT.format(path=csv_path), encoding="utf-8")
    glabella_cmd = [*_glabella(), "meta", str(csv_path), "--measure", "GEN", "--json"]
    summary, last = _alternate(
        {"glabella meta": glabella_cmd, "Rscript metafor": ["Rscript", str(fit_r)]}
    )
    ours = json.loads(last["glabella meta"])
    words = last["Rscript metafor"].split()
    r_tau2, r_est = float(words[1]), float(words[3])
    g = summary["glabella meta"]
    r = summary["Rscript metafor"]
    ratio_wall = r["wall_median_s"] / g["wall_median_s"]
    ratio_cpu = r["cpu_median_s"] / g["cpu_median_s"]
    tau2 = float(ours["tau2"])
    return {
        "data": f"metafor dat.mccurdy2020, k = {k_text}",
        "metafor": metafor_version,
        "cases": summary,
        "ratio_wall": ratio_wall,
        "ratio_cpu": ratio_cpu,
        "goal_ratio": META_GOAL_RATIO,
        "met": ratio_wall >= META_GOAL_RATIO,
        "tau2": {"glabella": tau2, "metafor": r_tau2, "rel_diff": abs(tau2 - r_tau2) / r_tau2},
        "estimate": {"glabella": float(ours["estimate"]), "metafor": r_est},
    }


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as td:
        startup = _startup()
        meta = _meta(Path(td))
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "load_average": [load0, os.getloadavg()[0]],
        "rounds": ROUNDS,
        "startup": startup,
        "meta_mccurdy2020": meta,
    }
    out = RESULTS / "cli_startup.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    help_case = startup["cases"]["glabella --help"]
    print(
        f"glabella --help: {help_case['wall_median_s']:.3f} s median wall "
        f"(goal < {HELP_GOAL_S} s: {'met' if startup['met'] else 'NOT met'}), "
        f"{help_case['cpu_median_s']:.3f} s CPU "
        f"({'met' if startup['met_on_cpu_time'] else 'NOT met'} on CPU time), "
        f"{startup['ratio_to_bare_python']:.1f}x a bare python start"
    )
    if "skipped" in meta:
        print(f"glabella meta vs Rscript: skipped ({meta['skipped']})")
    else:
        print(
            f"glabella meta vs Rscript + metafor on {meta['data']}: {meta['ratio_wall']:.1f}x "
            f"faster wall, {meta['ratio_cpu']:.1f}x CPU (goal >= {META_GOAL_RATIO}x: "
            f"{'met' if meta['met'] else 'NOT met'}); tau2 {meta['tau2']['glabella']:.6g} vs "
            f"{meta['tau2']['metafor']:.6g}"
        )
    print(f"written {out}")


if __name__ == "__main__":
    main()
