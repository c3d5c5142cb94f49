"""Submission throughput on PostgreSQL with 1 and with 2 app processes, side by side.

One throwaway PostgreSQL server (``tests/conftest.py``'s), two databases on it, two servers
running at the same time: ``uvicorn --workers 1`` on one database and ``uvicorn --workers 2``
on the other (the same Glabella app and settings; README "Deployment"). Saturation rounds
alternate between them (1, 2, 1, 2, ...), so a burst of other work on the machine falls on
both; each side reports its median round and the ratio of the medians (2 processes over 1),
with the ratio of every pair of rounds beside it. The load is ``clinic_bench``'s: 50 signed-in
clients on raw keep-alive connections, each submitting PHQ-9s as fast as it is answered.
Afterwards each database's audit chain is verified and its assessments counted (every
acknowledged submission stored once, nothing else).

Results: ``bench/results/multiprocess_bench.json``. Options: ``--rounds`` ``--clients``
``--per-client``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.clinic_bench import PASSWORD, RESULTS, ROOT, _free_port, _load, _median_round, postgres
from glabella.services import audit, patients
from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.store import migrate
from glabella.store.models import Assessment

AUDIT_KEY = "bench-audit-key-" + "k" * 32


def _seed(url: str, clients: int) -> list[int]:
    """Clinicians ``bench0`` ... and one patient per client (as ``clinic_bench``)."""
    migrate.upgrade(url)
    db = Database.from_url(url)
    try:
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
        return ids
    finally:
        db.engine.dispose()


@contextmanager
def serve(url: str, workers: int, data_dir: Path) -> Iterator[tuple[str, int]]:
    """``uvicorn --workers N`` on ``url``; yields (base URL, master pid)."""
    port = _free_port()
    env = {
        **os.environ,
        "GLABELLA_DATA_DIR": str(data_dir),
        "GLABELLA_DATABASE_URL": url,
        "GLABELLA_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "GLABELLA_AUDIT_KEY": AUDIT_KEY,
    }
    argv = [sys.executable, "-m", "uvicorn", "glabella.web.app:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    argv += ["--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(argv, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"uvicorn --workers {workers} did not start")
            time.sleep(0.2)
        time.sleep(1.0 * workers)  # every worker up (healthz answered by the first one)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _check(url: str) -> dict[str, Any]:
    """The database after the load: assessments stored and the audit chain."""
    db = Database.from_url(url)
    try:
        with db.read() as session:
            stored = int(session.scalar(select(func.count()).select_from(Assessment)) or 0)
        chain = audit.verify_chain(db)
        return {
            "assessments_stored": stored,
            "audit_chain_ok": chain.ok,
            "audit_records": chain.records,
        }
    finally:
        db.engine.dispose()


def run(clients: int, per_client: int, rounds: int) -> dict[str, Any]:
    sides = (1, 2)
    audit.use_key(AUDIT_KEY.encode())  # the seed's audit rows carry the servers' key
    out: dict[str, Any] = {f"workers_{w}_rounds": [] for w in sides}
    with postgres() as make, tempfile.TemporaryDirectory(prefix="glabella-bench-mp-") as tmp:
        urls = {w: make(f"bench_workers_{w}") for w in sides}
        ids = {w: _seed(urls[w], clients) for w in sides}
        with ExitStack() as stack:
            running = {}
            for w in sides:
                data_dir = Path(tmp) / f"workers-{w}"
                data_dir.mkdir()
                running[w] = stack.enter_context(serve(urls[w], w, data_dir))
            for rnd in range(rounds):
                for w in sides:
                    base, pid = running[w]
                    print(f"[multiprocess] round {rnd + 1}: {w} process(es), {clients} clients")
                    out[f"workers_{w}_rounds"].append(
                        asyncio.run(
                            _load(
                                base, pid,
                                lambda i, w=w: f"/api/v1/patients/{ids[w][i]}/assessments",
                                clients, per_client, True,
                            )
                        )
                    )  # fmt: skip
        checks = {w: _check(urls[w]) for w in sides}
    one, two = (_median_round(out[f"workers_{w}_rounds"]) for w in sides)
    per_round = [
        b["throughput_rps"] / a["throughput_rps"]
        for a, b in zip(out["workers_1_rounds"], out["workers_2_rounds"], strict=True)
    ]
    expected = rounds * clients * (per_client + 1)  # + one warm-up submission per client
    return {
        "backend": "postgresql (one throwaway server, one database per side)",
        "clients": clients,
        "requests_per_client": per_client,
        "rounds": rounds,
        "load_generator": "raw keep-alive HTTP/1.1 clients on asyncio (bench/clinic_bench.py)",
        **out,
        "workers_1": one,
        "workers_2": two,
        "throughput_ratio_2_over_1": two["throughput_rps"] / one["throughput_rps"],
        "throughput_ratio_per_round": per_round,
        "throughput_ratio_median_of_rounds": statistics.median(per_round),
        "expected_assessments_per_side": expected,
        "checks": {f"workers_{w}": checks[w] for w in sides},
        "checks_ok": all(
            c["audit_chain_ok"] and c["assessments_stored"] == expected for c in checks.values()
        )
        and all(r["errors"] == 0 for w in sides for r in out[f"workers_{w}_rounds"]),
        "note": (
            "server CPU counts uvicorn's processes only (PostgreSQL's backends and the load "
            "generator run on the same machine and are not in it)"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "multiprocess_bench.json"))
    args = parser.parse_args(argv)
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
    result["submit"] = sub = run(args.clients, args.per_client, args.rounds)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    for w in (1, 2):
        sat = sub[f"workers_{w}"]
        rates = ", ".join(f"{r['throughput_rps']:.0f}" for r in sub[f"workers_{w}_rounds"])
        print(
            f"{w} process(es): median {sat['throughput_rps']:.0f} submissions/s (rounds: {rates}; "
            f"p50 {sat['p50_ms']:.0f} ms, p99 {sat['p99_ms']:.0f} ms, uvicorn CPU "
            f"{sat['server_cpu_ms_per_request']:.2f} ms/request)"
        )
    ratios = ", ".join(f"{r:.2f}" for r in sub["throughput_ratio_per_round"])
    print(f"2 over 1 process: {sub['throughput_ratio_2_over_1']:.2f} (each round: {ratios})")
    print(f"checks: {sub['checks']} (expected {sub['expected_assessments_per_side']} each)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"results: {out}")
    return 0 if sub["checks_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
