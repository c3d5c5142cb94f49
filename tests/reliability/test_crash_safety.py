"""Crash safety: SIGKILL the server during a stream of writes, restart, check everything.

Ten clients submit assessments (clinician entries and double-submitted self-report links);
after a random number of acknowledged writes the server process gets SIGKILL - no shutdown
code runs, transactions in flight are cut off. The server is started again on the same
database and the clients resume; two faults in all. Then: the database passes its own
integrity checks (SQLite ``PRAGMA integrity_check`` and ``foreign_key_check``; PostgreSQL
``amcheck`` over every index), the audit chain verifies, every acknowledged submission is
present exactly once, and a submission in flight when the server died is either wholly
stored (answers, score and audit row) or not at all.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx
import pytest
from live_server import BACKENDS, LiveServer
from sqlalchemy import create_engine, text
from submission_load import PASSWORD, Load, check_stored, run_clients, seed

from reliability_figures import record_figures

FAULTS = 2
CLIENTS = 10


def integrity_problems(database_url: str) -> list[str]:
    """What the database's own checkers report (empty when all is well)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                result = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                problems = [] if result == ["ok"] else result
                problems += [str(r) for r in conn.execute(text("PRAGMA foreign_key_check"))]
                return problems
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
            indexes = conn.execute(
                text(
                    "SELECT c.oid, c.relname FROM pg_index i"
                    " JOIN pg_class c ON c.oid = i.indexrelid"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " JOIN pg_am a ON a.oid = c.relam"
                    " WHERE n.nspname = 'public' AND a.amname = 'btree'"
                )
            ).all()
            assert indexes, "no index found to check"
            problems = []
            for oid, name in indexes:
                try:
                    conn.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})
                except Exception as exc:  # amcheck raises on corruption
                    problems.append(f"{name}: {exc}")
            return problems
    finally:
        engine.dispose()


async def _stream_then_kill(server: LiveServer, load: Load, patient_ids: list[int], n: int) -> int:
    """Run the clients; SIGKILL the server once ``n`` more writes were acknowledged."""
    target = len(load.acknowledged) + n
    clients = asyncio.create_task(run_clients(server.base, patient_ids, 120, load, seed_=n))
    while len(load.acknowledged) < target and not clients.done():
        await asyncio.sleep(0.005)
    before = load.transport_errors
    server.kill()
    await clients
    return load.transport_errors - before


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_sigkill_during_writes_loses_nothing_acknowledged(
    database_url: str, live_server: Callable[[str], LiveServer]
) -> None:
    patient_ids = seed(database_url, CLIENTS)
    server = live_server(database_url)
    load = Load()
    rng = random.Random(20261125)
    cut_off = 0
    for _ in range(FAULTS):
        server.start()
        cut_off += asyncio.run(_stream_then_kill(server, load, patient_ids, rng.randint(60, 160)))
    assert cut_off == CLIENTS * FAULTS, "every client should have lost its connection each time"

    # After the last kill: restart, write, and check the database the server runs on.
    server.start()
    with httpx.Client(base_url=server.base) as client:
        login = client.post("/api/v1/auth/login", json={"username": "load.0", "password": PASSWORD})
        assert login.status_code == 200
        after = client.post(
            f"/api/v1/patients/{patient_ids[0]}/assessments",
            json={"instrument": "gad7", "answers": {f"gad7_{i}": 1 for i in range(1, 8)}},
        )
        assert after.status_code == 201, after.text
    problems = integrity_problems(database_url)
    server.stop()
    stored = check_stored(database_url, load.acknowledged)

    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    record_figures(
        f"crash-safety-{backend}",
        {
            "faults injected (SIGKILL of the server)": FAULTS,
            "clients": CLIENTS,
            "requests": load.requests,
            "submissions acknowledged": len(load.acknowledged),
            "requests cut off by the kill": cut_off,
            "assessment rows checked": stored.rows,
            "lost": stored.lost,
            "stored although not acknowledged (in flight at the kill)": (
                stored.unacknowledged_stored - 1  # minus the one submitted after the restart
            ),
            "integrity problems": len(problems),
            "audit records verified": stored.audit_records,
        },
    )
    assert problems == []
    assert load.unexpected == [], load.unexpected[:10]
    assert stored.lost == 0 and stored.problems == (), stored.problems[:10]
    assert stored.audit_chain_ok and stored.score_mismatches == 0
    # Only requests cut off in flight may have been stored without an acknowledgement.
    assert 1 <= stored.unacknowledged_stored <= cut_off + 1
    assert len(load.acknowledged) >= 120
