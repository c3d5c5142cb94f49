"""What an ``Idempotency-Key`` costs on the submission hot path (``make bench``).

The real server (uvicorn + the Glabella app, one process) on SQLite, and on PostgreSQL when its
binaries are installed (a throwaway server started like ``tests/conftest.py`` does); 20
closed-loop clients submit PHQ-9 answers through ``POST /api/v1/patients/{id}/assessments``,
each request either without the header or with a fresh key (a UUID), which adds, in the
submission's transaction, the expired-key delete, the key's ``INSERT ... ON CONFLICT DO
NOTHING`` and the answer's ``UPDATE`` (``glabella.services.idempotency``). Rounds alternate
between the two kinds on the same server, so noise from other work falls on both; each kind
reports its median round (throughput, p50/p99 latency, server CPU per request).

Results: ``bench/results/idempotency_bench.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from bench.clinic_bench import (
    ANSWERS,
    PASSWORD,
    RESULTS,
    _median_round,
    _RawClient,
    _tree_cpu_seconds,
    serve,
)
from glabella.services import patients
from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.store import migrate

CLIENTS = 20
PER_CLIENT = 50
ROUNDS = 5


def _request(host: str, path: str, body: bytes, cookie: str, key: str | None) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Cookie: {cookie}",
    ]
    if key is not None:
        lines.append(f"Idempotency-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def _seed(url: str, clients: int) -> list[int]:
    migrate.upgrade(url)
    db = Database.from_url(url)
    try:
        ids = []
        for i in range(clients):
            user, _ = create_user(
                db, username=f"bench{i}", full_name=f"Bench {i}", role="clinician",
                password=PASSWORD,
            )  # fmt: skip
            ids.append(
                patients.create_patient(
                    db,
                    user.actor("bench"),
                    patients.parse_patient_input(
                        {"mrn": f"B{i}", "given_name": "Bench", "family_name": f"P{i}",
                         "date_of_birth": "1980-01-01", "sex": "female"}
                    ),
                ).id
            )  # fmt: skip
        return ids
    finally:
        db.engine.dispose()


async def _cookies(base: str, clients: int) -> list[str]:
    out = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        for i in range(clients):
            c.cookies.clear()
            r = await c.post(
                "/api/v1/auth/login", json={"username": f"bench{i}", "password": PASSWORD}
            )
            r.raise_for_status()
            out.append(f"glabella_session={c.cookies['glabella_session']}")
    return out


async def _round(
    base: str, pid: int, ids: list[int], cookies: list[str], keyed: bool, per_client: int
) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps({"instrument": "phq9", "answers": ANSWERS}).encode()
    latencies: list[float] = []
    errors = 0

    def request(i: int) -> bytes:
        key = str(uuid.uuid4()) if keyed else None
        return _request(host, f"/api/v1/patients/{ids[i]}/assessments", body, cookies[i], key)

    raw = [_RawClient(host, int(port), request(i)) for i in range(len(ids))]
    try:
        for c in raw:  # warm-up (not counted)
            await c.send()

        async def one(i: int, c: _RawClient) -> None:
            nonlocal errors
            for _ in range(per_client):
                c.request = request(i)
                started = time.perf_counter()
                status = await c.send()
                latencies.append(time.perf_counter() - started)
                errors += status != 201

        started, cpu0 = time.perf_counter(), _tree_cpu_seconds(pid)
        await asyncio.gather(*(one(i, c) for i, c in enumerate(raw)))
        wall = time.perf_counter() - started
        cpu = _tree_cpu_seconds(pid) - cpu0
    finally:
        for c in raw:
            await c.close()
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "throughput_rps": n / wall,
        "p50_ms": 1000 * latencies[n // 2],
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
        "server_cpu_ms_per_request": 1000 * cpu / n,
    }


@contextlib.contextmanager
def _database(backend: str, tmp: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp}/glabella.db"
        return
    from bench.clinic_bench import postgres

    with postgres() as make:
        yield make("idem_bench")


def run(backend: str, clients: int, per_client: int, rounds: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="glabella-bench-idem-") as tmp,
        _database(backend, tmp) as url,
    ):
        ids = _seed(url, clients)
        env = {
            "GLABELLA_DATA_DIR": tmp,
            "GLABELLA_DATABASE_URL": url,
            "GLABELLA_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        }
        out: dict[str, Any] = {"without_key_rounds": [], "with_key_rounds": []}
        with serve("glabella.web.app:create_app", env, factory=True) as (base, pid):
            cookies = asyncio.run(_cookies(base, clients))
            for rnd in range(rounds):
                for keyed in (False, True):
                    name = "with_key" if keyed else "without_key"
                    print(f"[idempotency] {backend} round {rnd + 1}: {name}...", flush=True)
                    out[f"{name}_rounds"].append(
                        asyncio.run(_round(base, pid, ids, cookies, keyed, per_client))
                    )
    without, with_key = (_median_round(out[f"{k}_rounds"]) for k in ("without_key", "with_key"))
    return {
        "clients": clients,
        "requests_per_client": per_client,
        "rounds": rounds,
        "without_key": without,
        "with_key": with_key,
        "throughput_ratio_with_key": with_key["throughput_rps"] / without["throughput_rps"],
        **out,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--per-client", type=int, default=PER_CLIENT)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--out", default=str(RESULTS / "idempotency_bench.json"))
    args = parser.parse_args(argv)
    # One audit key for the seeding here and the server (services.audit): both hash the chain.
    os.environ.setdefault("GLABELLA_AUDIT_KEY", "bench-audit-key-not-used-anywhere-else")
    results: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        try:
            results[backend] = run(backend, args.clients, args.per_client, args.rounds)
        except RuntimeError as exc:  # no PostgreSQL binaries: say so, keep the rest
            results[backend] = {"skipped": str(exc)}
        summary = results[backend]
        if "with_key" in summary:
            print(
                f"[idempotency] {backend}: without key "
                f"{summary['without_key']['throughput_rps']:.0f} req/s "
                f"(p99 {summary['without_key']['p99_ms']:.1f} ms), with key "
                f"{summary['with_key']['throughput_rps']:.0f} req/s "
                f"(p99 {summary['with_key']['p99_ms']:.1f} ms): ratio "
                f"{summary['throughput_ratio_with_key']:.2f}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
