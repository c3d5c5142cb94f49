"""Benchmark: frown biomarker on a pair of 12-megapixel photos (goal: under 1 s).

Run: ``.venv/bin/python -m bench.biomarker_bench`` from the repository root. The photos are
scikit-image's astronaut enlarged to 4000 x 3000 (a 12-MP phone photo), saved as JPEG
(quality 90). Timed, median of 5 runs after a warm-up (model loading is excluded and reported
apart): ``decode`` (bounded decoding of both JPEGs), ``measure`` (both photos: downscale to
1024 px, detect, landmarks, line filter) and ``total`` (wall clock), and ``cpu_pair_s``, the
process CPU time of a pair (less sensitive to other work on a shared machine; the load average
is recorded with the result). Peak memory: the process's maximum
resident set size (``ru_maxrss``) and the peak of Python-tracked allocations during one pair
(``tracemalloc``, which sees NumPy buffers but not dlib's own). Results go to
``bench/results/biomarker_bench.json``.
"""

from __future__ import annotations

import io
import json
import os
import platform
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from glabella.clinic.biomarker import decode_image, frown_activity_index, measure_photo
from glabella.clinic.biomarker.measure import _models

RUNS = 5


def _photo() -> bytes:
    face = Image.fromarray(data.astronaut()).resize((3000, 3000), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (4000, 3000), (128, 128, 128))
    canvas.paste(face, (500, 0))
    buf = io.BytesIO()
    canvas.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    t0 = time.perf_counter()
    _models()
    load = time.perf_counter() - t0
    jpeg = _photo()
    rows: list[tuple[float, float]] = []
    cpu: list[float] = []
    index = float("nan")
    for _ in range(RUNS + 1):
        c0 = time.process_time()
        t0 = time.perf_counter()
        rest = decode_image(jpeg, "rest")
        frown = decode_image(jpeg, "frown")
        t1 = time.perf_counter()
        pair = frown_activity_index(measure_photo(rest, "rest"), measure_photo(frown, "frown"))
        t2 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        rows.append((t1 - t0, t2 - t1))
        index = pair.index
    rows = rows[1:]
    cpu = cpu[1:]
    tracemalloc.start()
    rest = decode_image(jpeg, "rest")
    frown_activity_index(measure_photo(rest, "rest"), measure_photo(rest, "frown"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    decode_s = statistics.median(r[0] for r in rows)
    measure_s = statistics.median(r[1] for r in rows)
    total_s = statistics.median(r[0] + r[1] for r in rows)
    result = {
        "photo": "astronaut on a 4000x3000 canvas, JPEG q90",
        "jpeg_bytes": len(jpeg),
        "runs": RUNS,
        "model_load_s": round(load, 3),
        "decode_pair_s": round(decode_s, 3),
        "measure_pair_s": round(measure_s, 3),
        "total_pair_s": round(total_s, 3),
        "cpu_pair_s": round(statistics.median(cpu), 3),
        "goal_s": 1.0,
        "meets_goal": total_s < 1.0,
        "index_same_photo_twice": round(index, 6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_tracemalloc_mb": round(peak / 2**20, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    out = Path("bench/results/biomarker_bench.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
