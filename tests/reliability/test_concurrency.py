"""50 concurrent clients submit assessments for 60 seconds against the real server.

uvicorn runs ``glabella.web.app`` in a subprocess on loopback: one server on SQLite and one on
PostgreSQL, each under its own 50 clients, both at the same time (one minute for both).
Afterwards: no acknowledged submission is lost, none is stored twice (a self-report link
submitted twice at once is stored once), no 5xx was ever answered, every stored score equals
the hand-computed sum of its stored answers, and every stored assessment has its audit row
in an unbroken chain. The figures go to docs/reliability.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from live_server import BACKENDS, LiveServer
from submission_load import Load, check_stored, run_clients, seed

from reliability_figures import record_figures

CLIENTS = 50
SECONDS = 60.0


async def _load_all(
    servers: dict[str, LiveServer], patients: dict[str, list[int]], loads: dict[str, Load]
) -> dict[str, float]:
    """Every backend's server under its own 50 clients, all at the same time."""
    backends = list(servers)
    elapsed = await asyncio.gather(
        *(run_clients(servers[b].base, patients[b], SECONDS, loads[b]) for b in backends)
    )
    return dict(zip(backends, elapsed, strict=True))


def test_fifty_clients_for_sixty_seconds(
    backend_urls: dict[str, str], live_server: Callable[[str], LiveServer]
) -> None:
    """On each backend (loaded simultaneously, one server per backend): 50 clients, 60 s."""
    assert set(backend_urls) == set(BACKENDS)
    patients = {b: seed(url, CLIENTS) for b, url in backend_urls.items()}
    servers = {b: live_server(url) for b, url in backend_urls.items()}
    for server in servers.values():
        server.start()
    loads = {b: Load() for b in backend_urls}
    elapsed = asyncio.run(_load_all(servers, patients, loads))
    for server in servers.values():
        server.stop()

    failures = []
    for backend, url in backend_urls.items():
        load = loads[backend]
        stored = check_stored(url, load.acknowledged)
        server_errors = sum(n for status, n in load.statuses.items() if status >= 500)
        record_figures(
            f"concurrency-{backend}",
            {
                "clients": CLIENTS,
                "duration of the submitting (s)": round(elapsed[backend], 1),
                "backends loaded at the same time": len(backend_urls),
                "requests": load.requests,
                "submissions acknowledged": len(load.acknowledged),
                "double submits of one link (same answers, at once)": load.double_submits,
                "... of which the second was refused (410)": load.double_submits_refused,
                "assessment rows checked": stored.rows,
                "lost": stored.lost,
                "duplicated": stored.unacknowledged_stored,
                "5xx answers": server_errors,
                "other unexpected answers": len(load.unexpected),
                "transport errors": load.transport_errors,
                "scores not matching their stored answers": stored.score_mismatches,
                "audit records verified": stored.audit_records,
            },
        )
        checks = {
            "no 5xx and no unexpected answer": server_errors == 0 and not load.unexpected,
            "no broken connection": load.transport_errors == 0,
            "stored matches acknowledged": not stored.problems,
            "nothing lost or duplicated": stored.lost == 0 and stored.unacknowledged_stored == 0,
            "scores recomputed and audit chain": stored.score_mismatches == 0
            and stored.audit_chain_ok,
            # Every double submit was decided one way: one stored, the other refused.
            "double submits": 0 < load.double_submits == load.double_submits_refused,
            # The run really was concurrent and sustained (not a handful of requests).
            "sustained": elapsed[backend] >= SECONDS
            and len(load.acknowledged) >= 5 * CLIENTS
            and stored.rows == len(load.acknowledged),
        }
        failures += [
            f"{backend}: {name} ({load.unexpected[:3]} {load.transport_failures[:3]} "
            f"{stored.problems[:3]})"
            for name, ok in checks.items()
            if not ok
        ]
    assert failures == [], "\n".join(failures)
