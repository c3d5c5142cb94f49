"""Benchmark: reading typed screening entries through the vocabulary (issue 15).

Run: ``.venv/bin/python -m bench.vocabulary_bench`` (from the repository root). For each case,
the median and 99th percentile wall time per call over 2,000 calls after a warm-up, and the
mean CPU time of this process per call (a busy machine inflates it far less than wall time;
the load average is recorded):

* ``match`` of one entry: a brand name, a brand with its dose, two names one of them mistyped
  (the typo-tolerant reading runs next to the exact one), and the worst case the matcher
  accepts: 200 characters of unknown 7-letter words (every run of up to four words is read
  with typo tolerance);
* ``screen`` of a whole screening with 10 medicines, 3 conditions and 2 allergies;
* ``suggest`` (autocomplete) for a 3-letter prefix and for a mistyped word;
* baseline, same run: ``normalise`` of the 200-character entry (the text clean-up alone).

Results: ``bench/results/vocabulary_bench.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import statistics
import string
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import glabella
from glabella.clinic.eligibility import PatientFacts, ScreeningAnswers, SuicideScreen, screen
from glabella.clinic.products import PRODUCTS
from glabella.clinic.vocabulary import load_vocabulary, normalise

RESULTS = Path(__file__).resolve().parent / "results"
CALLS = 2_000


def _time(call: Callable[[], object]) -> dict[str, float]:
    call()
    walls: list[float] = []
    cpu0 = time.process_time()
    for _ in range(CALLS):
        t0 = time.perf_counter()
        call()
        walls.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / CALLS
    walls.sort()
    return {
        "median_us": round(statistics.median(walls) * 1e6, 1),
        "p99_us": round(walls[int(0.99 * len(walls))] * 1e6, 1),
        "cpu_mean_us": round(cpu * 1e6, 1),
    }


def main() -> None:
    vocab = load_vocabulary()
    rng = random.Random(20261204)
    words = " ".join("".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(25))
    worst = words[:200]
    answers = ScreeningAnswers(
        prior_bont_reaction=False,
        allergies=("penicillin", "Dysport"),
        infection_or_inflammation_at_sites=False,
        pregnant=False,
        breastfeeding=False,
        bont_last_12_weeks="no",
        prior_eyelid_ptosis=False,
        psychotic_symptoms_current=False,
        psychotic_disorder_history=False,
        suicide=SuicideScreen(cssrs_1=False, cssrs_2=False, phq9_item9=0),
    )
    facts = replace(
        PatientFacts(date_of_birth=dt.date(1980, 5, 17), sex="female"),
        medications=(
            "sertraline 100 mg",
            "Eliquis 5 mg twice daily",
            "metformin",
            "amlodipine",
            "gentamycn",
            "omeprazole",
            "levothyroxine 50 micrograms",
            "atorvastatin",
            "vitamin D",
            "paracetamol as needed",
        ),
        conditions=("hypertension", "asthma", "ocular myasthenia"),
    )
    product = PRODUCTS["onabotulinumtoxinA"]
    on = dt.date(2026, 12, 4)
    cases: dict[str, Callable[[], object]] = {
        "baseline: normalise 200 chars": lambda: normalise(worst),
        "match: brand": lambda: vocab.match("Eliquis", "medication"),
        "match: brand with dose": lambda: vocab.match("Eliquis 5 mg twice daily", "medication"),
        "match: two names, one mistyped": lambda: vocab.match("Eliquis and amikacn", "medication"),
        "match: 200 chars of unknown words (worst case)": lambda: vocab.match(worst, "medication"),
        "screen: 10 medicines, 3 conditions, 2 allergies": lambda: screen(
            answers, facts, product, on
        ),
        "suggest: 3-letter prefix": lambda: vocab.suggest("eli", "medication"),
        "suggest: mistyped word": lambda: vocab.suggest("gentamycn", "medication"),
    }
    out = {
        "benchmark": "vocabulary_bench",
        "glabella": glabella.__version__,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "calls_per_case": CALLS,
        "cases": {name: _time(call) for name, call in cases.items()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vocabulary_bench.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
