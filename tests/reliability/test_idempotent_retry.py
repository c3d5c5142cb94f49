"""Retries that store nothing twice (issue 17 item 4): SIGKILL mid-stream, retry, count.

The issue's reproduction: 11 submissions were stored but never acknowledged before a kill -9,
and a client that retried them stored them again. Here a client sends ``N`` assessment
submissions (16 at a time) to a live server. Once a random number of them were acknowledged,
the server gets SIGKILL at a moment when it has committed submissions it has not answered
(found by freezing it with SIGSTOP and counting: see :func:`_stream_then_kill`), so every run
has the issue's stored-but-unacknowledged submissions. The server is started again on the
same database and the client retries every request it got no answer for - those cut off in
flight and those it never sent - and some that *were* answered (a client whose answer was
lost on its side cannot tell them apart).

* With an ``Idempotency-Key`` per submission, the database holds exactly ``N`` assessments
  afterwards, one per key, each the one its key's answer names: the submissions that were
  stored but not acknowledged before the kill are answered on retry from their key
  (``Idempotent-Replayed: true``), as are the retried acknowledged ones (same body).
* Without keys, the same retries store the acknowledged ones again and the unacknowledged-but-
  stored ones again: the duplicates are counted (the measured reproduction).

Also here: one key sent eight times at once (the unique key decides: one stored, eight equal
answers), and the same keys sent at once to two server processes on one database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from live_server import BACKENDS, LiveServer
from sqlalchemy import create_engine, func, select, text
from submission_load import ITEMS, PASSWORD, seed
from test_crash_safety import integrity_problems

from glabella.services import audit
from glabella.services.context import Database
from glabella.store.models import Assessment, AuditEvent, IdempotencyKey
from reliability_figures import record_figures

N = 240
CONCURRENCY = 16
PATIENTS = 8
RETRIED_ACKNOWLEDGED = 20


@dataclass(frozen=True)
class Submission:
    index: int
    patient_id: int
    body: dict[str, object]
    key: str | None

    @property
    def hand_total(self) -> int:
        """PHQ-9 / GAD-7 totals are plain sums of the items (Kroenke 2001; Spitzer 2006)."""
        answers = self.body["answers"]
        assert isinstance(answers, dict)
        return sum(int(v) for v in answers.values())


@dataclass
class Run:
    answers: dict[int, httpx.Response] = field(default_factory=dict)
    cut_off: int = 0
    freezes: int = 0


def _submissions(patient_ids: list[int], *, keyed: bool, seed_: int) -> list[Submission]:
    rng = random.Random(seed_)
    out = []
    for i in range(N):
        instrument = rng.choice(("phq9", "gad7"))
        answers = {item: rng.randint(0, 3) for item in ITEMS[instrument]}
        out.append(
            Submission(
                index=i,
                patient_id=patient_ids[i % len(patient_ids)],
                body={"instrument": instrument, "answers": answers},
                key=str(uuid.uuid4()) if keyed else None,
            )
        )
    return out


async def _signed_in(base: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=base, timeout=60, limits=httpx.Limits(max_connections=CONCURRENCY + 4)
    )
    login = await client.post(
        "/api/v1/auth/login", json={"username": "load.0", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    return client


async def _post(client: httpx.AsyncClient, sub: Submission) -> httpx.Response:
    headers = {"Idempotency-Key": sub.key} if sub.key else {}
    return await client.post(
        f"/api/v1/patients/{sub.patient_id}/assessments", json=sub.body, headers=headers
    )


async def _stream_then_kill(
    server: LiveServer, subs: list[Submission], run: Run, kill_after: int, database_url: str
) -> None:
    """Send ``subs`` ``CONCURRENCY`` at a time; after ``kill_after`` acknowledgements, SIGKILL
    the server at a moment when it has committed submissions it has not answered yet.

    That moment is found as in a debugger: the server is frozen (SIGSTOP), the client reads
    every answer that was sent, and the database is counted; more rows than answers means
    stored-but-unanswered submissions, and the frozen server gets SIGKILL; otherwise it is
    let go (SIGCONT) and tried again a moment later. Requests cut off by the kill, and those
    never sent, get no answer."""
    client = await _signed_in(server.base)
    pending = list(reversed(subs))
    dead = asyncio.Event()
    rng = random.Random(kill_after)

    async def worker() -> None:
        while pending and not dead.is_set():
            sub = pending.pop()
            try:
                response = await _post(client, sub)
            except httpx.TransportError:
                run.cut_off += 1
                return
            assert response.status_code == 201, response.text
            run.answers[sub.index] = response

    async def killer() -> None:
        assert server.process is not None
        pid = server.process.pid
        while len(run.answers) < kill_after:
            await asyncio.sleep(0.002)
        while True:
            os.kill(pid, signal.SIGSTOP)
            await asyncio.sleep(0.05)  # every answer the server sent reaches the client
            run.freezes += 1
            if _assessments(database_url) > len(run.answers) or not pending:
                break
            os.kill(pid, signal.SIGCONT)
            await asyncio.sleep(rng.uniform(0, 0.005))
        dead.set()
        server.kill()  # SIGKILL (a stopped process dies too)

    try:
        await asyncio.gather(killer(), *(worker() for _ in range(CONCURRENCY)))
    finally:
        await client.aclose()


def _assessments(database_url: str) -> int:
    db = Database.from_url(database_url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).select_from(Assessment)) or 0)
    finally:
        db.engine.dispose()


async def _retry(
    base: str, subs: list[Submission], run: Run, retried_acknowledged: list[int]
) -> tuple[dict[int, httpx.Response], dict[int, httpx.Response]]:
    """Retry every unanswered submission and the chosen answered ones; their new answers."""
    client = await _signed_in(base)
    try:
        unanswered = [s for s in subs if s.index not in run.answers]
        again = [subs[i] for i in retried_acknowledged]
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(sub: Submission) -> tuple[int, httpx.Response]:
            async with sem:
                return sub.index, await _post(client, sub)

        first = dict(await asyncio.gather(*(one(s) for s in unanswered)))
        second = dict(await asyncio.gather(*(one(s) for s in again)))
        return first, second
    finally:
        await client.aclose()


def _backend(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_sigkill_then_retrying_with_keys_stores_every_submission_exactly_once(
    database_url: str, live_server: Callable[[str], LiveServer]
) -> None:
    patient_ids = seed(database_url, PATIENTS, n_users=1)
    subs = _submissions(patient_ids, keyed=True, seed_=17)
    rng = random.Random(20261204)
    kill_after = rng.randint(80, 160)
    server = live_server(database_url)
    server.start()
    run = Run()
    asyncio.run(_stream_then_kill(server, subs, run, kill_after, database_url))
    acknowledged = dict(run.answers)
    assert kill_after <= len(acknowledged) < N
    at_kill = _assessments(database_url)
    stored_unacknowledged = at_kill - len(acknowledged)
    assert 1 <= stored_unacknowledged <= run.cut_off  # the situation, reproduced

    server.start()
    sample = rng.sample(sorted(acknowledged), RETRIED_ACKNOWLEDGED)
    first, second = asyncio.run(_retry(server.base, subs, run, sample))
    assert all(r.status_code == 201 for r in [*first.values(), *second.values()])
    # The acknowledged ones come back as they were answered, from their key.
    for i in sample:
        assert second[i].headers.get("Idempotent-Replayed") == "true"
        assert second[i].json() == acknowledged[i].json()
    # The unanswered ones stored before the kill are answered from their key too.
    replayed = [i for i, r in first.items() if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == stored_unacknowledged
    final = {**acknowledged, **first}
    assert sorted(final) == list(range(N))

    # One key sent eight times at once: the unique key lets one through.
    burst = Submission(N, patient_ids[0], subs[0].body, str(uuid.uuid4()))

    async def eight() -> list[httpx.Response]:
        client = await _signed_in(server.base)
        try:
            return list(await asyncio.gather(*(_post(client, burst) for _ in range(8))))
        finally:
            await client.aclose()

    burst_answers = asyncio.run(eight())
    assert {r.status_code for r in burst_answers} == {201}
    assert len({json.dumps(r.json(), sort_keys=True) for r in burst_answers}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in burst_answers) == 1
    problems = integrity_problems(database_url)
    server.stop()

    db = Database.from_url(database_url)
    try:
        with db.read() as session:
            rows = session.scalars(select(Assessment)).all()
            keys = session.execute(select(IdempotencyKey.key, IdempotencyKey.response)).all()
            submit_audits = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "assessment.submit")
            )
        chain = audit.verify_chain(db)
    finally:
        db.engine.dispose()
    by_id = {row.id: row for row in rows}
    key_to_id = {k: int(json.loads(r)["id"]) for k, r in keys}
    # Exactly N + 1 stored, one per key, and each key's answer names its own row.
    assert len(rows) == N + 1 == len(keys) == submit_audits
    assert sorted(key_to_id.values()) == sorted(by_id)
    for sub in subs:
        assert sub.key is not None
        answer = final[sub.index].json()
        assert key_to_id[sub.key] == answer["id"]
        row = by_id[answer["id"]]
        assert (row.patient_id, row.instrument_id, row.total) == (
            sub.patient_id,
            sub.body["instrument"],
            sub.hand_total,
        )
    assert problems == [] and chain.ok

    record_figures(
        f"idempotent-retry-{_backend(database_url)}",
        {
            "submissions, each with its own Idempotency-Key": N,
            "concurrent requests": CONCURRENCY,
            "acknowledged before the SIGKILL": len(acknowledged),
            "requests cut off by the kill": run.cut_off,
            "freezes (SIGSTOP) until one caught stored-but-unanswered rows": run.freezes,
            "stored but not acknowledged at the kill": stored_unacknowledged,
            "retried after the restart (unanswered)": len(first),
            "... answered from their key (stored before the kill)": len(replayed),
            "acknowledged ones retried as well": RETRIED_ACKNOWLEDGED,
            "... answered from their key, same body": RETRIED_ACKNOWLEDGED,
            "one key sent 8 times at once: stored": 1,
            "assessments stored (N + the burst's 1)": len(rows),
            "duplicates": len(rows) - (N + 1),
            "integrity problems": len(problems),
        },
    )


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_without_keys_the_same_retries_store_twice(
    database_url: str, live_server: Callable[[str], LiveServer]
) -> None:
    """The issue's reproduction, measured: the same kill and retries, no keys."""
    patient_ids = seed(database_url, PATIENTS, n_users=1)
    subs = _submissions(patient_ids, keyed=False, seed_=17)
    rng = random.Random(20261204)
    kill_after = rng.randint(80, 160)
    server = live_server(database_url)
    server.start()
    run = Run()
    asyncio.run(_stream_then_kill(server, subs, run, kill_after, database_url))
    acknowledged = len(run.answers)
    at_kill = _assessments(database_url)
    stored_unacknowledged = at_kill - acknowledged
    assert 1 <= stored_unacknowledged <= run.cut_off
    server.start()
    sample = rng.sample(sorted(run.answers), RETRIED_ACKNOWLEDGED)
    first, second = asyncio.run(_retry(server.base, subs, run, sample))
    server.stop()
    assert all(r.status_code == 201 for r in [*first.values(), *second.values()])
    stored = _assessments(database_url)
    # Every retry stored a new row: those stored before the kill, acknowledged or not, twice.
    assert stored == at_kill + len(first) + len(second)
    duplicates = stored - N
    assert duplicates == stored_unacknowledged + RETRIED_ACKNOWLEDGED > 0
    record_figures(
        f"retry-without-key-{_backend(database_url)}",
        {
            "submissions, no Idempotency-Key": N,
            "acknowledged before the SIGKILL": acknowledged,
            "stored but not acknowledged at the kill": stored_unacknowledged,
            "retried after the restart (unanswered + 20 acknowledged)": len(first) + len(second),
            "assessments stored": stored,
            "duplicates (stored twice)": duplicates,
        },
    )


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_same_keys_sent_to_two_server_processes_at_once_store_once(
    database_url: str, live_server: Callable[[str], LiveServer]
) -> None:
    """Two app processes on one database: each key sent to both at the same moment."""
    patient_ids = seed(database_url, PATIENTS, n_users=1)
    subs = _submissions(patient_ids, keyed=True, seed_=5)[:40]
    servers = [live_server(database_url), live_server(database_url)]
    for server in servers:
        server.start()

    async def both() -> list[tuple[httpx.Response, httpx.Response]]:
        a, b = await _signed_in(servers[0].base), await _signed_in(servers[1].base)
        try:
            out = []
            for sub in subs:
                one, other = await asyncio.gather(_post(a, sub), _post(b, sub))
                out.append((one, other))
            return out
        finally:
            await a.aclose()
            await b.aclose()

    pairs = asyncio.run(both())
    for server in servers:
        server.stop()
    for one, other in pairs:
        assert one.status_code == other.status_code == 201
        assert one.json() == other.json()
        assert {
            one.headers.get("Idempotent-Replayed"),
            other.headers.get("Idempotent-Replayed"),
        } == {
            None,
            "true",
        }
    assert _assessments(database_url) == len(subs)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM idempotency_keys")).scalar() == len(subs)
    finally:
        engine.dispose()
