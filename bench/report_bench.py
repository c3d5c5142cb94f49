"""Benchmark: consultation report generation time (target: under 2 s for the PDF).

Run: ``.venv/bin/python -m bench.report_bench`` (from the repository root). Measures, for a
synthetic patient with the packaged evidence base, the median over repeated runs of

* ``build``  - the pure report model (two syntheses: response and remission),
* ``html``   - rendering the A4 HTML document,
* ``pdf``    - WeasyPrint HTML -> tagged PDF,
* ``total``  - build + html + pdf (what a user waits for, evidence already loaded),

and a baseline measured in the same run: WeasyPrint rendering a one-paragraph A4 page. The
total is also measured as CPU time of this process, which a busy machine inflates far less than
wall time (the load average is recorded). Results (seconds and ratios to the baseline) go to
``bench/results/report_bench.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import weasyprint  # type: ignore[import-untyped]

import glabella
from glabella.clinic.chart import ScreeningReason
from glabella.evidence.studies import load_evidence
from glabella.reports.model import build_report
from glabella.reports.render import render_document, render_pdf
from glabella.reports.snapshot import (
    AssessmentPoint,
    PatientSnapshot,
    ScreeningSnapshot,
)

TARGET_SECONDS = 2.0
REPEATS = 7
RESULTS = Path(__file__).parent / "results" / "report_bench.json"


def _snapshot() -> PatientSnapshot:
    return PatientSnapshot(
        patient_id=1,
        given_name="Bench",
        family_name="Mark",
        mrn="B-1",
        date_of_birth=dt.date(1980, 1, 1),
        sex="female",
        as_of=dt.date(2026, 11, 25),
        assessments=(AssessmentPoint("phq9", 17, "moderately severe", dt.date(2026, 11, 20)),),
        screening=ScreeningSnapshot(
            "onabotulinumtoxinA",
            dt.date(2026, 11, 20),
            "eligible_with_precautions",
            "bench",
            (ScreeningReason("anticoagulant", "precaution", "Anticoagulant.", "labels"),),
            ("sertraline",),
        ),
    )


def _median(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    times = []
    for _ in range(REPEATS):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def main() -> None:
    ev = load_evidence()
    snap = _snapshot()
    now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)

    def build() -> object:
        return build_report(snap, ev, condition="mdd", generated_at=now, app_version="bench")

    report = build_report(snap, ev, condition="mdd", generated_at=now, app_version="bench")
    render_pdf(report, "en")  # warm-up: fonts, Pango, template compilation
    minimal = "<html><body><p>Baseline page.</p></body></html>"
    weasyprint.HTML(string=minimal).write_pdf()

    baseline = _median(lambda: weasyprint.HTML(string=minimal).write_pdf())
    t_build = _median(build)
    t_html = _median(lambda: render_document(report, "en"))
    t_pdf = _median(lambda: render_pdf(report, "en"))
    t_total = _median(lambda: render_pdf(build(), "en"))
    t_total_de = _median(lambda: render_pdf(build(), "de"))
    cpu_total = _median(lambda: render_pdf(build(), "en"), time.process_time)
    cpu_baseline = _median(lambda: weasyprint.HTML(string=minimal).write_pdf(), time.process_time)
    result = {
        "benchmark": "consultation report",
        "app_version": glabella.__version__,
        "evidence_version": ev.version,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeats": REPEATS,
        "seconds": {
            "baseline_minimal_pdf": round(baseline, 4),
            "build": round(t_build, 4),
            "html": round(t_html, 4),
            "pdf": round(t_pdf, 4),
            "total_en": round(t_total, 4),
            "total_de": round(t_total_de, 4),
        },
        "cpu_seconds": {
            "baseline_minimal_pdf": round(cpu_baseline, 4),
            "total_en": round(cpu_total, 4),
        },
        "load_average_1min": round(os.getloadavg()[0], 1),
        "ratio_to_baseline": {
            "total_en": round(t_total / baseline, 1),
            "total_de": round(t_total_de / baseline, 1),
        },
        "target_seconds": TARGET_SECONDS,
        "meets_target_wall": max(t_total, t_total_de) < TARGET_SECONDS,
        "meets_target_cpu": cpu_total < TARGET_SECONDS,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
