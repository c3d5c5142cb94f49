"""Dashboard benchmark (``make bench``): the clinician's dashboard at 500 and 5,000 patients.

A synthetic clinic (``glabella demo``'s generator, default visit schedule: about 12 PHQ-9 and
GAD-7 per patient) on SQLite, with open suicide-risk alerts added for 2 % of patients and as
many closed ones (the generator simulates none). Timed, median of ``--repeats`` warm runs
after one cold run:

* ``service``: ``glabella.services.dashboard.dashboard`` called directly (the SQL worklist
  page, the open alerts, the recent results and the audit row);
* ``request``: ``GET /`` through the whole app with Starlette's TestClient, signed in as a
  clinician (session, access check, service, template rendering): the server time a browser
  waits for, without the network;
* ``api``: ``GET /api/v1/dashboard`` the same way.

Wall clock and this process's CPU time (the app, SQLite and the test client all run in it:
on the shared 2-core machine the wall clock also counts waiting for the other jobs' cores, so
the load average is recorded with each size, and the fastest run beside the median). Each
for the default first page, page 5, and the filters ``overdue_days=7``, ``mine=1`` and
``alert_level=urgent``. Goal: every request under 300 ms at both sizes. The growth ratio
5,000 / 500 (patients x 10) shows whether the page time still grows with the clinic.

Results: ``bench/results/dashboard_bench.json``. Options: ``--sizes 500,5000 --repeats 7``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text

from glabella.demo.params import DemoParameters
from glabella.services import audit
from glabella.services import dashboard as dashboard_service
from glabella.services.context import Actor, Database
from glabella.services.demo_load import generate_clinic
from glabella.services.users import create_user, default_clinic
from glabella.settings import Settings
from glabella.store import migrate
from glabella.store.models import Alert, Patient, table_of
from glabella.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
AS_OF = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"
AUDIT_KEY = "bench-audit-key-not-used-elsewhere"
"""One audit key for the fill (services) and the app: the app refuses to start on a database
whose newest audit record another key signed."""
GOAL_S = 0.300
VARIANTS: dict[str, dict[str, str]] = {
    "first_page": {},
    "page_5": {"page": "5"},
    "overdue_7_days": {"overdue_days": "7"},
    "mine": {"mine": "1"},
    "urgent_alerts": {"alert_level": "urgent"},
}


def _fill(url: str, patients: int) -> dict[str, Any]:
    audit.use_key(AUDIT_KEY.encode("utf-8"))
    migrate.upgrade(url)
    db = Database.from_url(url)
    with db.transaction() as s:
        clinic_id = default_clinic(s, "Benchmark clinic", "Europe/London").id
    admin = Actor(None, "bench", "admin", clinic_id, "bench")
    report = generate_clinic(
        db, admin, DemoParameters(patients=patients, seed=1, as_of=AS_OF, item_answers=False)
    )
    with db.transaction() as s:
        ids = list(s.scalars(select(Patient.id).order_by(Patient.id)))
        rows = []
        for n, pid in enumerate(ids[::25]):  # 4 % of patients: half open, half closed
            created = AS_OF - dt.timedelta(hours=3 + 7 * n)
            rows.append(
                {
                    "patient_id": pid,
                    "assessment_id": None,
                    "kind": "suicide_risk",
                    "level": "urgent",
                    "message": "synthetic alert for the benchmark",
                    "status": "open" if n % 2 == 0 else "closed",
                    "created_at": created,
                    "action_text": None if n % 2 == 0 else "synthetic action recorded",
                    "actioned_by_id": None,
                    "actioned_at": None if n % 2 == 0 else created + dt.timedelta(hours=1),
                }
            )
        s.execute(insert(table_of(Alert)), rows)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    db.engine.dispose()
    return {"clinic_id": clinic_id, "counts": report.counts, "alerts": len(rows)}


def _median(run: Callable[[], object], repeats: int) -> dict[str, float]:
    times, cpu = [], []
    for _ in range(repeats + 1):
        started, cpu0 = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu0)
    return {
        "cold_s": times[0],
        "median_s": statistics.median(times[1:]),
        "min_s": min(times[1:]),
        "max_s": max(times[1:]),
        "cpu_median_s": statistics.median(cpu[1:]),
    }


def _measure(url: str, data_dir: Path, repeats: int) -> dict[str, Any]:
    db = Database.from_url(url)
    db.clock = lambda: AS_OF
    user, _ = create_user(
        db, username="dr.bench", full_name="Dr Bench", role="clinician", password=PASSWORD
    )
    actor = user.actor("bench")
    settings = Settings(
        data_dir=data_dir,
        secret_key="bench-secret-key-not-used-elsewhere",
        base_url="http://t",
        audit_key=AUDIT_KEY,
    )
    out: dict[str, Any] = {"service": {}, "request": {}, "api": {}}
    try:
        for name, params in VARIANTS.items():
            filters = dashboard_service.parse_filters(params)
            out["service"][name] = _median(
                lambda f=filters: dashboard_service.dashboard(db, actor, f), repeats
            )
        with TestClient(create_app(settings, db)) as client:
            login = client.post(
                "/api/v1/auth/login", json={"username": "dr.bench", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            for name, params in VARIANTS.items():
                query = "&".join(f"{k}={v}" for k, v in params.items())

                def page(q: str = query) -> None:
                    r = client.get(f"/?{q}")
                    assert r.status_code == 200, r.text[:300]

                def api(q: str = query) -> None:
                    r = client.get(f"/api/v1/dashboard?{q}")
                    assert r.status_code == 200, r.text[:300]

                out["request"][name] = _median(page, repeats)
                out["api"][name] = _median(api, repeats)
            first = client.get("/api/v1/dashboard").json()["worklist"]
            out["worklist_total"] = first["total"]
            out["first_page_rows"] = len(first["rows"])
            out["html_bytes_first_page"] = len(client.get("/").content)
    finally:
        db.engine.dispose()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {
        "benchmark": "dashboard",
        "goal_s": GOAL_S,
        "timing": "wall clock; service = the service call, request = GET / through the app "
        "with TestClient (session, access, service, template), api = GET /api/v1/dashboard",
        "backend": "sqlite",
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sizes": {},
    }
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            started = time.perf_counter()
            filled = _fill(url, size)
            fill_s = time.perf_counter() - started
            measured = _measure(url, Path(tmp), args.repeats)
            measured["fill"] = {**filled, "seconds": fill_s}
            measured["load_average"] = os.getloadavg()[0]
            worst = max(v["median_s"] for v in measured["request"].values())
            worst_cpu = max(v["cpu_median_s"] for v in measured["request"].values())
            worst_min = max(v["min_s"] for v in measured["request"].values())
            measured["worst_request_min_s"] = worst_min
            measured["worst_request_median_s"] = worst
            measured["worst_request_cpu_median_s"] = worst_cpu
            measured["meets_goal"] = worst < GOAL_S
            results["sizes"][str(size)] = measured
            print(
                f"{size:>6} patients: worst GET / median {worst * 1000:.0f} ms wall, "
                f"{worst_cpu * 1000:.0f} ms CPU, best run {worst_min * 1000:.0f} ms "
                f"(first page {measured['request']['first_page']['median_s'] * 1000:.0f} ms, "
                f"service {measured['service']['first_page']['median_s'] * 1000:.0f} ms); "
                f"goal < {GOAL_S * 1000:.0f} ms: {'met' if worst < GOAL_S else 'NOT met'}"
            )
    if len(sizes) >= 2:
        lo, hi = str(min(sizes)), str(max(sizes))
        results["growth"] = {
            "patients_ratio": max(sizes) / min(sizes),
            "request_first_page_ratio": results["sizes"][hi]["request"]["first_page"]["median_s"]
            / results["sizes"][lo]["request"]["first_page"]["median_s"],
            "service_first_page_ratio": results["sizes"][hi]["service"]["first_page"]["median_s"]
            / results["sizes"][lo]["service"]["first_page"]["median_s"],
        }
    results["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dashboard_bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {RESULTS / 'dashboard_bench.json'}")


if __name__ == "__main__":
    main()
