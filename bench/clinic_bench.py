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
import contextlib
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
from glabella.demo.params import DemoParameters
from glabella.services.analytics import QUERIES, refresh
from glabella.services.context import Actor, Database
from glabella.services.demo_load import generate_clinic
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
AUDIT_KEY = "bench-audit-key-" + "c" * 32
"""One audit key for this process's seeding and the servers it starts: the app refuses to start
on a database whose newest audit row was signed with another key (H-065)."""


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


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (uvicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[1] is the parent pid, fields[11:13] utime and stime (proc(5), after the name)
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextmanager
def serve(app: str, env: dict[str, str], factory: bool) -> Iterator[tuple[str, int]]:
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
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


ANSWERS = {f"phq9_{i}": (1 if i <= 6 else 0) for i in range(1, 10)}


class _RawClient:
    """One keep-alive HTTP/1.1 connection sending a prebuilt request: the load generator.

    httpx spent about 0.9 ms of CPU per request here (1.4 ms with its cookie jar), more than
    the bare endpoint's server (0.4 ms); on a 2-core machine the client then capped the bare
    server's throughput. This client spends a fraction of that, so the throughput of each
    server is the server's own. It understands just what the two servers answer:
    ``Content-Length`` bodies on a kept-alive connection.
    """

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self) -> int:
        """Send the request, read the whole response and return its status code."""
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def _post_request(host: str, path: str, body: bytes, cookie: str | None) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


async def _load(
    base: str,
    server_pid: int,
    path_for: Callable[[int], str],
    clients: int,
    per_client: int,
    login: bool,
    interval_s: float | None = None,
) -> dict[str, Any]:
    """``clients`` concurrent clients, ``per_client`` submissions each.

    Without ``interval_s`` each client sends its next request as soon as the last is answered
    (saturation: throughput). With it, each client sends one request every ``interval_s``
    seconds (a fixed offered load: latency below saturation), and a request's latency counts
    from when it was due, so a stalled server cannot hide its backlog.
    """
    latencies: list[float] = []
    errors = 0
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps({"instrument": "phq9", "answers": ANSWERS}).encode()
    cookies: list[str | None] = [None] * clients
    if login:
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            for i in range(clients):
                c.cookies.clear()
                r = await c.post(
                    "/api/v1/auth/login", json={"username": f"bench{i}", "password": PASSWORD}
                )
                r.raise_for_status()
                cookies[i] = f"glabella_session={c.cookies['glabella_session']}"
    raw = [
        _RawClient(host, int(port), _post_request(host, path_for(i), body, cookies[i]))
        for i in range(clients)
    ]
    try:
        for c in raw:  # warm-up request per client (not counted)
            if (status := await c.send()) != 201:
                raise RuntimeError(f"warm-up submission answered {status}")

        async def one(i: int, c: _RawClient) -> None:
            nonlocal errors
            due = time.perf_counter() + (interval_s or 0) * i / clients
            for _ in range(per_client):
                if interval_s is not None:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                started = due if interval_s is not None else time.perf_counter()
                status = await c.send()
                latencies.append(time.perf_counter() - started)
                if status != 201:
                    errors += 1
                due += interval_s or 0

        started, cpu0 = time.perf_counter(), _tree_cpu_seconds(server_pid)
        client0 = time.process_time()
        await asyncio.gather(*(one(i, c) for i, c in enumerate(raw)))
        wall = time.perf_counter() - started
        server_cpu = _tree_cpu_seconds(server_pid) - cpu0
        client_cpu = time.process_time() - client0
    finally:
        for c in raw:
            await c.close()
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "offered_rps": None if interval_s is None else clients / interval_s,
        "wall_s": wall,
        "throughput_rps": n / wall,
        "p50_ms": 1000 * latencies[n // 2],
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
        "server_cpu_ms_per_request": 1000 * server_cpu / n,
        "client_cpu_ms_per_request": 1000 * client_cpu / n,
    }


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median throughput (the lower middle one of an even count)."""
    ordered = sorted(rounds, key=lambda r: float(r["throughput_rps"]))
    return ordered[(len(ordered) - 1) // 2]


def run_submit(
    clients: int = 50,
    per_client: int = 40,
    paced_rps: tuple[float, ...] = (100, 300, 600, 800),
    paced_per_client: int = 20,
    rounds: int = 3,
) -> dict[str, Any]:
    """Both servers, each at saturation (throughput) and at a fixed offered load (latency).

    Both servers run side by side; ``rounds`` saturation rounds alternate between them and
    each side reports its median round, so the ratio does not hang on one noisy moment.

    At saturation 50 closed-loop clients keep 50 requests in flight, so by Little's law the
    mean latency is 50 / throughput whatever the server does (``saturation_latency_floor_ms``);
    latency is therefore also measured at the fixed offered loads ``paced_rps`` (req/s).
    """
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
            "GLABELLA_AUDIT_KEY": AUDIT_KEY,
        }
        bare_env = {"BARE_DB": f"{tmp}/bare.db", "PYTHONPATH": str(ROOT)}
        servers = {
            "real": ("glabella.web.app:create_app", env, True, True,
                     lambda i: f"/api/v1/patients/{ids[i]}/assessments"),
            "bare": ("bench.clinic_bare_app:app", bare_env, False, False,
                     lambda i: f"/submit/{i + 1}"),
        }  # fmt: skip
        out: dict[str, Any] = {}
        with contextlib.ExitStack() as stack:
            running = {
                name: (*stack.enter_context(serve(app, app_env, factory=factory)), login, path_for)
                for name, (app, app_env, factory, login, path_for) in servers.items()
            }
            # Saturation rounds alternate between the servers, so a burst of noise from other
            # work on the machine falls on both; each side reports its median round.
            for rnd in range(rounds):
                for name, (base, pid, login, path_for) in running.items():
                    print(f"[submit] round {rnd + 1}: {name}, {clients} clients at saturation...")
                    out.setdefault(f"{name}_rounds", []).append(
                        asyncio.run(_load(base, pid, path_for, clients, per_client, login))
                    )
            for name, (base, pid, login, path_for) in running.items():
                out[name] = _median_round(out[f"{name}_rounds"])
                out[f"{name}_paced"] = []
                for rps in paced_rps:
                    print(f"[submit] {name}: {clients} clients, {rps:g} req/s...", flush=True)
                    out[f"{name}_paced"].append(
                        asyncio.run(
                            _load(
                                base, pid, path_for, clients, paced_per_client, login,
                                clients / rps,
                            )
                        )
                    )  # fmt: skip
    real, bare = out["real"], out["bare"]
    return {
        "clients": clients,
        "requests_per_client": per_client,
        "load_generator": "raw keep-alive HTTP/1.1 clients on asyncio (bench/clinic_bench.py)",
        **out,
        "rounds": rounds,
        "throughput_ratio": real["throughput_rps"] / bare["throughput_rps"],
        "throughput_ratio_per_round": [
            r["throughput_rps"] / b["throughput_rps"]
            for r, b in zip(out["real_rounds"], out["bare_rounds"], strict=True)
        ],
        "server_cpu_ratio": bare["server_cpu_ms_per_request"] / real["server_cpu_ms_per_request"],
        "saturation_latency_floor_ms": 1000 * clients / real["throughput_rps"],
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
    parser.add_argument("--paced-rps", default="100,300,600,800")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "clinic_bench.json"))
    args = parser.parse_args(argv)
    # Before any settings are read (they are cached): the seeding here signs the audit chain
    # with the key the servers started below are given.
    os.environ["GLABELLA_AUDIT_KEY"] = AUDIT_KEY
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
        sub = run_submit(
            args.clients,
            args.per_client,
            tuple(float(r) for r in args.paced_rps.split(",")),
            rounds=args.rounds,
        )
        result["submit"] = sub
        for name in ("real", "bare"):
            sat = sub[name]
            print(
                f"submit {name}: {sat['throughput_rps']:.0f} req/s at saturation (p50 "
                f"{sat['p50_ms']:.0f} ms, p99 {sat['p99_ms']:.0f} ms, server CPU "
                f"{sat['server_cpu_ms_per_request']:.2f} ms/request)"
            )
            for paced in sub[f"{name}_paced"]:
                print(
                    f"  at {paced['offered_rps']:.0f} req/s offered: p50 {paced['p50_ms']:.1f} "
                    f"ms, p99 {paced['p99_ms']:.1f} ms"
                )
        rounds = ", ".join(f"{r:.2f}" for r in sub["throughput_ratio_per_round"])
        print(
            f"throughput ratio {sub['throughput_ratio']:.2f} (median rounds; each round: "
            f"{rounds}), server CPU ratio {sub['server_cpu_ratio']:.2f} (goal 0.5)"
        )
    result["machine"]["load_average_at_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
