"""Clinic benchmarks (``make bench``): analytics at scale and assessment submission throughput.

1. Analytics over synthetic clinics of 10k, 30k and 100k patients (about 20 PHQ-9/GAD-7
   assessments each: 2,000,000 at 100k), on SQLite and on a throwaway PostgreSQL server
   started like ``tests/conftest.py`` does. Timed: a full rebuild of the outcome summary
   without and with the indexes of migration 0005 (the effect of the indexes, measured in the
   same run); a refresh with nothing new; a refresh after 50 new patients; and every dashboard
   query (median of 3 warm runs, wall clock and this process's CPU). Growth 10k -> 100k is
   reported as the ratio of times (linear = 10).
2. Submission through the real server (uvicorn + the Glabella app on SQLite) under 50
   concurrent clients, against a bare FastAPI + SQLite insert endpoint (``clinic_bare_app``)
   measured in the same run: throughput ratio (goal >= 0.5) and p50/p99 latency.

Results: ``bench/results/clinic_bench.json`` (and a short text summary on stdout).
Options: ``--sizes 10000,30000`` ``--backends sqlite`` ``--skip-analytics`` ``--skip-submit``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from glabella.analytics.compute import analyse
from glabella.analytics.service import QUERIES, refresh
from glabella.demo.load import generate_clinic
from glabella.demo.params import DemoParameters
from glabella.services.context import Actor, Database
from glabella.services.users import default_clinic
from glabella.store import migrate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
AS_OF = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
WEEKLY = (0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84)
"""Weekly PHQ-9 + GAD-7 (a measurement-intensive clinic): about 20 assessments per patient."""
INDEXES = {
    "ix_assessments_patient_instrument_time": (
        "CREATE INDEX ix_assessments_patient_instrument_time "
        "ON assessments (patient_id, instrument_id, submitted_at, total)"
    ),
    "ix_treatments_patient_treated_at": (
        "CREATE INDEX ix_treatments_patient_treated_at ON treatments (patient_id, treated_at)"
    ),
}
"""The analytics indexes of migration 0005, dropped and re-created to measure their effect."""
INDEX = "ix_assessments_patient_instrument_time"
PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- 1. analytics ---------------------------------------------------------------------------


def _fill(url: str, patients: int) -> dict[str, Any]:
    migrate.upgrade(url)
    db = Database.from_url(url)
    with db.transaction() as s:
        clinic_id = default_clinic(s, "Benchmark clinic", "Europe/London").id
    actor = Actor(None, "bench", "admin", clinic_id, "bench")
    params = DemoParameters(
        patients=patients,
        seed=1,
        as_of=AS_OF,
        item_answers=False,
        visit_days=WEEKLY,
        batch_patients=5000,
    )
    report = generate_clinic(db, actor, params)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    db.engine.dispose()
    return {"clinic_id": clinic_id, "counts": report.counts, "generate_s": report.seconds}


def _time_queries(url: str, clinic_id: int, repeats: int = 3) -> dict[str, Any]:
    db = Database.from_url(url)
    out: dict[str, Any] = {}
    try:
        for name, query in QUERIES.items():
            times = []
            result: Any = None
            cpu = []
            for _ in range(repeats + 1):  # the first run warms the cache and is not counted
                with db.transaction() as s:
                    started, cpu0 = time.perf_counter(), time.process_time()
                    result = query(s, clinic_id, AS_OF)
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu0)
            out[name] = {
                "cold_s": times[0],
                "median_s": statistics.median(times[1:]),
                "client_cpu_s": statistics.median(cpu[1:]),
            }
            if name == "course_rows":
                compute = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    analyse(result, AS_OF)
                    compute.append(time.perf_counter() - started)
                out["compute"] = {"median_s": statistics.median(compute)}
    finally:
        db.engine.dispose()
    out["dashboard_total_s"] = sum(v["median_s"] for v in out.values())
    out["load_average"] = os.getloadavg()[0]
    return out


def _has_index(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                sql = "SELECT count(*) FROM sqlite_master WHERE type='index' AND name=:n"
            else:
                sql = "SELECT count(*) FROM pg_indexes WHERE indexname=:n"
            return bool(conn.execute(text(sql), {"n": INDEX}).scalar())
    finally:
        engine.dispose()


def _set_index(url: str, present: bool) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for name, ddl in INDEXES.items():
                conn.execute(text(ddl if present else f"DROP INDEX {name}"))
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _time_refresh(url: str, *, full: bool = False) -> dict[str, Any]:
    db = Database.from_url(url)
    try:
        with db.transaction() as s:
            started, cpu0 = time.perf_counter(), time.process_time()
            report = refresh(s, full=full)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        db.engine.dispose()
    return {"s": wall, "client_cpu_s": cpu, "mode": report.mode, "patients": report.patients}


def analytics_case(url: str, backend: str, patients: int) -> dict[str, Any]:
    print(f"[analytics] {backend} {patients:,} patients: generating...", flush=True)
    filled = _fill(url, patients)
    print(
        f"[analytics] {backend} {patients:,}: {filled['counts']['assessments']:,} assessments "
        f"in {filled['generate_s']:.0f} s; timing...",
        flush=True,
    )
    in_migrations = _has_index(url)
    if in_migrations:
        _set_index(url, False)
    without = {"refresh_full": _time_refresh(url, full=True)}
    _set_index(url, True)
    full = _time_refresh(url, full=True)
    noop = _time_refresh(url)
    # a day's work arrives: 50 new patients with their assessments, then a dashboard read
    db = Database.from_url(url)
    try:
        actor = Actor(None, "bench", "admin", filled["clinic_id"], "bench")
        params = DemoParameters(
            patients=50, seed=2, as_of=AS_OF, item_answers=False, visit_days=WEEKLY
        )
        generate_clinic(db, actor, params)
    finally:
        db.engine.dispose()
    incremental = _time_refresh(url)
    queries = _time_queries(url, filled["clinic_id"])
    queries["dashboard_total_s"] += noop["s"]
    return {
        "backend": backend,
        "patients": filled["counts"]["patients"],
        "assessments": filled["counts"]["assessments"],
        "treatments": filled["counts"]["treatments"],
        "generate_s": filled["generate_s"],
        "indexes_in_migrations": in_migrations,
        "refresh_full_with_index": full,
        "refresh_full_without_index": without["refresh_full"],
        "refresh_noop": noop,
        "refresh_incremental_50_patients": incremental,
        "queries": queries,
    }


@contextmanager
def postgres() -> Iterator[Callable[[str], str]]:
    """A throwaway PostgreSQL server (tests/conftest.py's), yielding a database-URL maker."""
    sys.path.insert(0, str(ROOT))
    from tests.conftest import PostgresServer, _unprivileged_user, postgres_bindir

    base = Path(tempfile.mkdtemp(prefix="glabella-bench-pg-"))
    user = _unprivileged_user()
    if user is not None:
        shutil.chown(base, user, user)
    server = PostgresServer(base=base, port=_free_port(), bindir=postgres_bindir(), user=user)
    server.start()
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")

    def make(name: str) -> str:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        return server.url(name)

    try:
        yield make
    finally:
        admin.dispose()
        server.stop()


def run_analytics(
    sizes: list[int], backends: list[str], on_case: Callable[[list[dict[str, Any]]], None]
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="glabella-bench-") as tmp:
            for n in sizes:
                url = f"sqlite:///{tmp}/clinic_{n}.db"
                results.append(analytics_case(url, "sqlite", n))
                on_case(results)
                Path(f"{tmp}/clinic_{n}.db").unlink()
    if "postgresql" in backends:
        with postgres() as make:
            for n in sizes:
                results.append(analytics_case(make(f"bench_{n}"), "postgresql", n))
                on_case(results)
    return results


def growth(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Time at the largest size over time at the smallest, per backend (linear = size ratio)."""
    out: dict[str, Any] = {}
    for backend in sorted({r["backend"] for r in results}):
        rows = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["patients"])
        if len(rows) < 2:
            continue
        small, large = rows[0], rows[-1]
        per: dict[str, Any] = {"size_ratio": large["patients"] / small["patients"]}
        for name, v in large["queries"].items():
            if isinstance(v, dict) and name in small["queries"]:
                base = small["queries"][name]["median_s"]
                per[name] = v["median_s"] / base if base > 0 else None
        per["dashboard_total"] = (
            large["queries"]["dashboard_total_s"] / small["queries"]["dashboard_total_s"]
        )
        per["refresh_full"] = large["refresh_full_with_index"]["s"] / max(
            small["refresh_full_with_index"]["s"], 1e-9
        )
        out[backend] = per
    return out


# --- 2. submission throughput ---------------------------------------------------------------


@contextmanager
def serve(app: str, env: dict[str, str], factory: bool) -> Iterator[str]:
    port = _free_port()
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log"]
    if factory:
        argv.append("--factory")
    proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/docs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"server {app} did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


ANSWERS = {f"phq9_{i}": (1 if i <= 6 else 0) for i in range(1, 10)}


async def _load(
    base: str,
    path_for: Callable[[int], str],
    clients: int,
    per_client: int,
    login: bool,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    sessions = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(clients)]
    try:
        if login:
            for i, c in enumerate(sessions):
                r = await c.post(
                    "/api/v1/auth/login", json={"username": f"bench{i}", "password": PASSWORD}
                )
                r.raise_for_status()
        body = {"instrument": "phq9", "answers": ANSWERS}
        for i, c in enumerate(sessions):  # warm-up request per client (not counted)
            (await c.post(path_for(i), json=body)).raise_for_status()

        async def one(i: int, c: httpx.AsyncClient) -> None:
            nonlocal errors
            for _ in range(per_client):
                started = time.perf_counter()
                r = await c.post(path_for(i), json=body)
                latencies.append(time.perf_counter() - started)
                if r.status_code != 201:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(i, c) for i, c in enumerate(sessions)))
        wall = time.perf_counter() - started
    finally:
        for c in sessions:
            await c.aclose()
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "wall_s": wall,
        "throughput_rps": n / wall,
        "p50_ms": 1000 * latencies[n // 2],
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
    }


def run_submit(clients: int = 50, per_client: int = 40) -> dict[str, Any]:
    from glabella.services import patients
    from glabella.services.users import create_user

    with tempfile.TemporaryDirectory(prefix="glabella-bench-submit-") as tmp:
        url = f"sqlite:///{tmp}/glabella.db"
        migrate.upgrade(url)
        db = Database.from_url(url)
        ids = []
        for i in range(clients):
            user, _ = create_user(
                db, username=f"bench{i}", full_name=f"Bench {i}", role="clinician",
                password=PASSWORD,
            )  # fmt: skip
            p = patients.create_patient(
                db,
                user.actor("bench"),
                patients.parse_patient_input(
                    {"mrn": f"B{i}", "given_name": "Bench", "family_name": f"Patient{i}",
                     "date_of_birth": "1980-01-01", "sex": "female"}
                ),
            )  # fmt: skip
            ids.append(p.id)
        db.engine.dispose()
        env = {
            "GLABELLA_DATA_DIR": tmp,
            "GLABELLA_DATABASE_URL": url,
            "GLABELLA_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        }
        print(f"[submit] real server, {clients} clients x {per_client} requests...", flush=True)
        with serve("glabella.web.app:create_app", env, factory=True) as base:
            real = asyncio.run(
                _load(base, lambda i: f"/api/v1/patients/{ids[i]}/assessments", clients,
                      per_client, login=True)
            )  # fmt: skip
        print(f"[submit] bare FastAPI + SQLite, {clients} clients...", flush=True)
        bare_env = {"BARE_DB": f"{tmp}/bare.db", "PYTHONPATH": str(ROOT)}
        with serve("bench.clinic_bare_app:app", bare_env, factory=False) as base:
            bare = asyncio.run(
                _load(base, lambda i: f"/submit/{i + 1}", clients, per_client, login=False)
            )
    return {
        "clients": clients,
        "requests_per_client": per_client,
        "real": real,
        "bare": bare,
        "throughput_ratio": real["throughput_rps"] / bare["throughput_rps"],
        "goal_ratio": 0.5,
        "goal_p99_ms": 50,
    }


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--skip-analytics", action="store_true")
    parser.add_argument("--skip-submit", action="store_true")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=40)
    parser.add_argument("--out", default=str(RESULTS / "clinic_bench.json"))
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the throwaway PostgreSQL server and servers are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
    }
    if not args.skip_analytics:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        out_path = Path(args.out)
        out_path.parent.mkdir(parents=True, exist_ok=True)

        def save(cases: list[dict[str, Any]]) -> None:  # partial results survive a cut-off
            out_path.write_text(json.dumps({**result, "analytics": cases}, indent=2), "utf-8")

        cases = run_analytics(sizes, backends, save)
        result["analytics"] = cases
        result["analytics_growth"] = growth(cases)
        for c in cases:
            q = c["queries"]
            print(
                f"{c['backend']:>10} {c['patients']:>7,} patients {c['assessments']:>9,} "
                f"assessments: dashboard {q['dashboard_total_s']:.3f} s (course_rows "
                f"{q['course_rows']['median_s']:.3f} s, compute {q['compute']['median_s']:.3f} s"
                f"); summary rebuild {c['refresh_full_with_index']['s']:.1f} s (without indexes "
                f"{c['refresh_full_without_index']['s']:.1f} s); +50 patients refresh "
                f"{c['refresh_incremental_50_patients']['s']:.3f} s"
            )
    if not args.skip_submit:
        sub = run_submit(args.clients, args.per_client)
        result["submit"] = sub
        print(
            f"submit: real {sub['real']['throughput_rps']:.0f} req/s (p50 "
            f"{sub['real']['p50_ms']:.0f} ms, p99 {sub['real']['p99_ms']:.0f} ms), bare "
            f"{sub['bare']['throughput_rps']:.0f} req/s (p50 {sub['bare']['p50_ms']:.0f} ms, "
            f"p99 {sub['bare']['p99_ms']:.0f} ms): ratio {sub['throughput_ratio']:.2f}"
        )
    result["machine"]["load_average_at_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
