"""Benchmark of the meta-analysis engine against the peers a user would pick instead.

Run: ``make bench`` or ``.venv/bin/python -m bench.run`` (from the repository root). Peers, all
timed in the same run on the same data:

* R metafor (``rma()``, ``escalc()``) via ``Rscript`` when installed (``bench/install_r.sh``);
  only up to k = 1,000: ``rma.uni`` forms k x k matrices (k = 100,000 would need 80 GB each);
* PyMARE (``VarianceBasedLikelihoodEstimator(method="REML")``, ``DerSimonianLaird``);
* statsmodels (``combine_effects(method_re="dl")``, ``effectsize_2proportions``); it has no REML.

Cases, for k = 10, 1,000, 100,000, 1,000,000 studies: ``rma`` REML and DL on (yi, vi), and the
pipeline ``escalc("RR")`` + fit from 2x2 tables. Glabella is timed as ``rma(...,
tau2_ci=False)``, which computes what metafor's ``rma()`` prints (estimate, SE, z, p, CI, tau²
and its SE, Q, I², H², prediction interval), and also with the Q-profile CI of tau²
(``rma()``'s default; metafor needs ``confint()`` for it). Each cell is the fastest wall time
per call over repeats filling about 0.3 s (one call when a single call takes over 2 s), after a
warm-up call, and the mean CPU time of the process per call. Ratios are peer time / Glabella
time (above 1: Glabella is faster). Agreement: the largest relative difference of estimate, SE
and tau² against Glabella; metafor is timed with its defaults (convergence threshold 1e-5) and
checked against a refit with threshold 1e-12 (Glabella's default).

Results: ``bench/results/meta_engine.json`` and ``bench/results/meta_engine.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from glabella.evidence import escalc, rma

RESULTS = Path(__file__).resolve().parent / "results"
KS = tuple(int(x) for x in os.environ.get("GLABELLA_BENCH_KS", "").split(",") if x.strip()) or (
    10,
    1_000,
    100_000,
    1_000_000,
)
METAFOR_MAX_K = 1_000
BUDGET_S = 0.3
SINGLE_CALL_S = 2.0
SEED = 20260101

Fit = tuple[float, float, float | None]  # estimate, se, tau2


def _effects(k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + k)
    v = rng.uniform(0.005, 0.5, k)
    theta = 0.3 + rng.normal(0.0, np.sqrt(0.1), k)
    return rng.normal(theta, np.sqrt(v)), v


def _tables(k: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED + 7 * k)
    n1 = rng.integers(20, 500, k)
    n2 = rng.integers(20, 500, k)
    p2 = rng.uniform(0.05, 0.4, k)
    p1 = np.clip(p2 * np.exp(rng.normal(-0.3, 0.3, k)), 0.01, 0.95)
    ai = np.clip(rng.binomial(n1, p1), 1, n1 - 1)
    ci = np.clip(rng.binomial(n2, p2), 1, n2 - 1)
    return {
        "ai": ai.astype(float),
        "bi": (n1 - ai).astype(float),
        "ci": ci.astype(float),
        "di": (n2 - ci).astype(float),
    }


Timing = tuple[float, float]  # fastest wall seconds, mean CPU seconds (process, all threads)


def _time(fn: Callable[[], Fit]) -> tuple[Timing, Fit]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    first = (time.perf_counter() - t0, time.process_time() - c0)
    if first[0] > SINGLE_CALL_S:
        return first, out
    walls: list[float] = []
    spent_cpu = 0.0
    spent = 0.0
    n = 0
    while spent < BUDGET_S or n < 3:
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        dt_ = time.perf_counter() - t0
        walls.append(dt_)
        spent_cpu += time.process_time() - c0
        spent += dt_
        n += 1
        if n >= 500:
            break
    # the fastest wall time (timeit's convention: the least disturbed by other processes on a
    # shared machine); process_time ticks coarsely: the mean CPU time per call
    return (min(walls), spent_cpu / n), out


# --- Glabella ----------------------------------------------------------------------------------


def _glabella(y: np.ndarray, v: np.ndarray, method: str, ci: bool) -> Fit:
    r = rma(y, v, method=method, tau2_ci=ci)
    return r.estimate, r.se, r.tau2


def _glabella_pipeline(tab: dict[str, np.ndarray], method: str) -> Fit:
    es = escalc("RR", **tab)
    r = rma(es.yi, es.vi, method=method, tau2_ci=False)
    return r.estimate, r.se, r.tau2


# --- Python peers ------------------------------------------------------------------------------


def _pymare(y: np.ndarray, v: np.ndarray, method: str) -> Fit:
    from pymare import Dataset
    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator

    ds = Dataset(y=y, v=v)
    est = (
        VarianceBasedLikelihoodEstimator(method="REML") if method == "REML" else DerSimonianLaird()
    )
    s = est.fit_dataset(ds).summary()
    fe = s.get_fe_stats()
    return float(fe["est"].ravel()[0]), float(fe["se"].ravel()[0]), float(np.ravel(s.tau2)[0])


def _statsmodels(y: np.ndarray, v: np.ndarray) -> Fit:
    from statsmodels.stats.meta_analysis import combine_effects

    r = combine_effects(y, v, method_re="dl")
    return float(r.mean_effect_re), float(r.sd_eff_w_re), float(r.tau2)


def _statsmodels_pipeline(tab: dict[str, np.ndarray]) -> Fit:
    from statsmodels.stats.meta_analysis import combine_effects, effectsize_2proportions

    n1 = tab["ai"] + tab["bi"]
    n2 = tab["ci"] + tab["di"]
    eff, var = effectsize_2proportions(tab["ai"], n1, tab["ci"], n2, statistic="risk-ratio")
    r = combine_effects(eff, var, method_re="dl")
    return float(r.mean_effect_re), float(r.sd_eff_w_re), float(r.tau2)


# --- R metafor ---------------------------------------------------------------------------------

_R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; budget <- as.numeric(args[2])
ctrl <- list(threshold = 1e-12, maxiter = 10000)  # for the agreement check only (untimed)
cpu <- function() { p <- proc.time(); p[["user.self"]] + p[["sys.self"]] }
tm <- function(f) {
  t0 <- proc.time()[[3]]; c0 <- cpu(); out <- f()
  first <- proc.time()[[3]] - t0
  if (first > 2) return(list(t = first, c = cpu() - c0, out = out))
  times <- c(); spent <- 0; c0 <- cpu()
  while (spent < budget || length(times) < 3) {
    t0 <- proc.time()[[3]]; out <- f(); d <- proc.time()[[3]] - t0
    times <- c(times, d); spent <- spent + d
    if (length(times) >= 500) break
  }
  # proc.time has 1 ms resolution: use total/n for fast calls, else the fastest call
  list(t = if (median(times) < 0.005) sum(times) / length(times) else min(times),
       c = (cpu() - c0) / length(times), out = out)
}
emit <- function(case, k, r, exact) {
  o <- exact
  fmt <- paste0('{"case": "%s", "k": %d, "seconds": %.10g, "cpu_seconds": %.10g, ',
                '"estimate": %.17g, "se": %.17g, "tau2": %.17g}\n')
  cat(sprintf(fmt, case, k, r$t, r$c, o$beta[1], o$se, o$tau2))
}
for (f in list.files(dir, pattern = "^effects_[0-9]+\\.csv$", full.names = TRUE)) {
  d <- read.csv(f); k <- nrow(d)
  emit("REML", k, tm(function() rma(d$y, d$v, method = "REML")),
       rma(d$y, d$v, method = "REML", control = ctrl))
  emit("DL", k, tm(function() rma(d$y, d$v, method = "DL")), rma(d$y, d$v, method = "DL"))
}
for (f in list.files(dir, pattern = "^tables_[0-9]+\\.csv$", full.names = TRUE)) {
  d <- read.csv(f); k <- nrow(d)
  pipe <- function(method, control = list()) function() {
    es <- escalc("RR", ai = d$ai, bi = d$bi, ci = d$ci, di = d$di)
    rma(es$yi, es$vi, method = method, control = control)
  }
  emit("pipeline_RR_REML", k, tm(pipe("REML")), pipe("REML", ctrl)())
  emit("pipeline_RR_DL", k, tm(pipe("DL")), pipe("DL")())
}
"""


def _metafor(ks: list[int]) -> tuple[dict[tuple[str, int], tuple[Timing, Fit]], str]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {}, "not installed (run bench/install_r.sh)"
    version = subprocess.run(
        [rscript, "-e", 'cat(as.character(packageVersion("metafor")))'],
        capture_output=True,
        text=True,
        check=False,
    )
    if version.returncode != 0:
        return {}, "R found but metafor is not installed (run bench/install_r.sh)"
    out: dict[tuple[str, int], tuple[Timing, Fit]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for k in ks:
            y, v = _effects(k)
            np.savetxt(d / f"effects_{k}.csv", np.column_stack([y, v]), delimiter=",",
                       header="y,v", comments="", fmt="%.17g")  # fmt: skip
            tab = _tables(k)
            cols = np.column_stack([tab[c] for c in ("ai", "bi", "ci", "di")])
            np.savetxt(d / f"tables_{k}.csv", cols, delimiter=",", header="ai,bi,ci,di",
                       comments="", fmt="%.0f")  # fmt: skip
        script = d / "bench.R"
        script.write_text(_R_SCRIPT)
        proc = subprocess.run(
            [rscript, str(script), str(d), str(BUDGET_S)],
            capture_output=True,
            text=True,
            check=False,
            timeout=3600,
        )
        if proc.returncode != 0:
            return {}, f"Rscript failed: {proc.stderr.strip()[:300]}"
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                rec = json.loads(line)
                out[(rec["case"], rec["k"])] = (
                    (rec["seconds"], rec["cpu_seconds"]),
                    (rec["estimate"], rec["se"], rec["tau2"]),
                )
    return out, f"metafor {version.stdout.strip()} (R, Rscript)"


# --- the run -----------------------------------------------------------------------------------


def _peer(t: Timing, g_t: Timing, fit: Fit, g_fit: Fit) -> dict[str, Any]:
    return {
        "seconds": t[0],
        "cpu_seconds": t[1],
        "ratio": t[0] / g_t[0],
        "cpu_ratio": t[1] / g_t[1] if g_t[1] > 0 else None,
        "max_rel_diff": _rel(fit, g_fit),
        "rel_diff": _diffs(fit, g_fit),
        "agrees_1e-6": _agrees(fit, g_fit),
    }


def _agrees(a: Fit, b: Fit) -> bool:
    """Relative 1e-6 or absolute 1e-8 on estimate, SE and tau² (the tests' rule)."""
    return all(
        abs(x - y) <= max(1e-8, 1e-6 * abs(y))
        for x, y in zip(a, b, strict=True)
        if x is not None and y is not None
    )


def _rel(a: Fit, b: Fit) -> float:
    diffs = _diffs(a, b).values()
    return max(diffs) if diffs else float("nan")


def _diffs(a: Fit, b: Fit) -> dict[str, float]:
    """Relative differences of estimate, SE and tau² (peer ``a`` against Glabella ``b``)."""
    out = {}
    for name, x, y in zip(("estimate", "se", "tau2"), a, b, strict=True):
        if x is not None and y is not None:
            out[name] = abs(x - y) / max(abs(y), 1e-8)  # absolute below 1e-8
    return out


def run() -> dict[str, Any]:
    load_start = os.getloadavg()
    mf, mf_status = _metafor([k for k in KS if k <= METAFOR_MAX_K])
    rows: list[dict[str, Any]] = []
    for k in KS:
        y, v = _effects(k)
        tab = _tables(k)
        for case in ("REML", "DL", "pipeline_RR_REML", "pipeline_RR_DL"):
            method = case.rsplit("_", 1)[-1] if case.startswith("pipeline") else case
            if case.startswith("pipeline"):
                g_t, g_fit = _time(lambda m=method, t=tab: _glabella_pipeline(t, m))  # type: ignore[misc]
                gci_t = None
            else:
                g_t, g_fit = _time(lambda m=method, y=y, v=v: _glabella(y, v, m, False))  # type: ignore[misc]
                gci_t, _ = _time(lambda m=method, y=y, v=v: _glabella(y, v, m, True))  # type: ignore[misc]
            peers: dict[str, dict[str, Any]] = {}
            if (case, k) in mf:
                t, fit = mf[(case, k)]
                peers["metafor"] = _peer(t, g_t, fit, g_fit)
            elif k > METAFOR_MAX_K:
                peers["metafor"] = {"skipped": "k x k matrices (memory)"}
            else:
                peers["metafor"] = {"skipped": mf_status}
            if case in ("REML", "DL"):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        t, fit = _time(lambda m=method, y=y, v=v: _pymare(y, v, m))  # type: ignore[misc]
                    peers["PyMARE"] = _peer(t, g_t, fit, g_fit)
                except (MemoryError, ValueError, np.linalg.LinAlgError) as exc:
                    peers["PyMARE"] = {"skipped": f"{type(exc).__name__}: {exc}"[:120]}
            if case == "DL":
                t, fit = _time(lambda y=y, v=v: _statsmodels(y, v))  # type: ignore[misc]
                peers["statsmodels"] = _peer(t, g_t, fit, g_fit)
            if case == "pipeline_RR_DL":
                t, fit = _time(lambda t=tab: _statsmodels_pipeline(t))  # type: ignore[misc]
                peers["statsmodels"] = _peer(t, g_t, fit, g_fit)
            row = {
                "case": case,
                "k": k,
                "glabella_seconds": g_t[0],
                "glabella_cpu_seconds": g_t[1],
                "glabella_with_tau2_ci_seconds": None if gci_t is None else gci_t[0],
                "glabella_with_tau2_ci_cpu_seconds": None if gci_t is None else gci_t[1],
                "glabella_fit": list(g_fit),
                "peers": peers,
            }
            rows.append(row)
            print(_line(row), flush=True)
    reml_1m = next((r for r in rows if r["case"] == "REML" and r["k"] == 1_000_000), None)
    measured = [p for r in rows for p in r["peers"].values() if "ratio" in p]
    goals: dict[str, Any] = {
        "faster_than_every_peer_wall": all(p["ratio"] > 1.0 for p in measured),
        "faster_than_every_peer_cpu": all((p["cpu_ratio"] or 0) > 1.0 for p in measured),
        "metafor_agrees_1e-6": all(r["peers"]["metafor"].get("agrees_1e-6", True) for r in rows),
    }
    if reml_1m is not None:
        goals["reml_k1e6_wall_seconds"] = reml_1m["glabella_seconds"]
        goals["reml_k1e6_cpu_seconds"] = reml_1m["glabella_cpu_seconds"]
        goals["reml_k1e6_under_0.5s_wall"] = reml_1m["glabella_seconds"] < 0.5
        goals["reml_k1e6_under_0.5s_cpu"] = reml_1m["glabella_cpu_seconds"] < 0.5
    for k, want in ((10, 5.0), (1_000, 1000.0)):
        found = next((r for r in rows if r["case"] == "REML" and r["k"] == k), None)
        if found is None:
            continue
        for kind in ("ratio", "cpu_ratio"):
            ratio = found["peers"]["metafor"].get(kind)
            goals[f"metafor_{kind}_REML_k{k}"] = ratio
            goals[f"at_least_{want:g}x_metafor_REML_k{k}_{kind}"] = (
                None if ratio is None else ratio >= want
            )
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_start": load_start,
            "load_average_end": os.getloadavg(),
            "numpy": np.__version__,
        },
        "metafor": mf_status,
        "method": __doc__,
        "rows": rows,
        "goals": goals,
    }


def _ms(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:.3f}" if s < 0.01 else f"{s * 1e3:.1f}"


def _peer_cell(p: dict[str, Any] | None) -> str:
    if p is None:
        return "n/a"
    if "skipped" in p:
        return f"skipped ({p['skipped']})"
    cpu = "" if p.get("cpu_ratio") is None else f", cpu {p['cpu_ratio']:.1f}x"
    return f"{_ms(p['seconds'])} ({p['ratio']:.1f}x{cpu}; Δ {p['max_rel_diff']:.1e})"


def _line(row: dict[str, Any]) -> str:
    peers = "; ".join(f"{n} {_peer_cell(p)}" for n, p in row["peers"].items())
    return (
        f"{row['case']:>17} k={row['k']:>9,}: glabella {_ms(row['glabella_seconds'])} ms "
        f"(cpu {_ms(row['glabella_cpu_seconds'])}); {peers}"
    )


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Meta-analysis engine benchmark",
        "",
        f"Run {res['date']} on {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, "
        f"NumPy {m['numpy']}; load average at start {m['load_average_start'][0]:.1f}, "
        f"at end {m['load_average_end'][0]:.1f} (a shared machine: absolute times are noisy, "
        "ratios are measured in the same run). Peer: " + res["metafor"] + ".",
        "",
        "Wall-clock milliseconds per call (fastest of the repeats, as Python's timeit advises; R's",
        "timer has 1 ms resolution, so below 5 ms metafor gets the mean); in brackets peer time /",
        "Glabella time, wall",
        "and CPU (CPU time of the process: less sensitive to the machine's load), and the",
        "largest relative difference of estimate, SE and tau² against Glabella (absolute below",
        "1e-8; metafor's numbers for this check are refitted with threshold 1e-12, untimed).",
        "`+CI` is Glabella with the Q-profile CI of tau² (metafor needs `confint()` for it).",
        "",
        "| case | k | Glabella (cpu) | Glabella +CI | metafor | PyMARE | statsmodels |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        p = r["peers"]
        lines.append(
            f"| {r['case']} | {r['k']:,} | {_ms(r['glabella_seconds'])} "
            f"({_ms(r['glabella_cpu_seconds'])}) | "
            f"{_ms(r['glabella_with_tau2_ci_seconds'])} | {_peer_cell(p.get('metafor'))} | "
            f"{_peer_cell(p.get('PyMARE'))} | {_peer_cell(p.get('statsmodels'))} |"
        )
    lines += ["", "Goals (issue 3):", ""]
    lines += [f"- `{k}`: {v}" for k, v in res["goals"].items()]
    lines += ["", "Method:", "", "```", (res["method"] or "").strip(), "```", ""]
    return "\n".join(lines)


def main() -> None:
    res = run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "meta_engine.json").write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS / "meta_engine.md").write_text(markdown(res))
    print(f"written {RESULTS / 'meta_engine.json'} and meta_engine.md")


if __name__ == "__main__":
    main()
