"""Clients that submit questionnaires to a live server, and the check of what got stored.

Each client signs in, then loops: four clinician-entered assessments (JSON API), then one
self-report link created and submitted *twice at once* (a double click: exactly one may be
stored). Every answer the server acknowledged is remembered with the total a person would
compute by hand: PHQ-9 and GAD-7 are plain sums of their items (Kroenke et al. 2001, items
1-9, 0-3 each; Spitzer et al. 2006, items 1-7, 0-3 each).

:func:`check_stored` then reads the database and compares it with the acknowledgements.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from glabella.clinic import instruments
from glabella.services import audit, patients
from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.store.models import Assessment, AuditEvent

PASSWORD = "reliability test passphrase"
ITEMS = {
    "phq9": tuple(f"phq9_{i}" for i in range(1, 10)),
    "gad7": tuple(f"gad7_{i}" for i in range(1, 8)),
}

Key = tuple[int, str, str, tuple[tuple[str, int], ...]]
"""(patient id, source, instrument, answers in item order): what identifies a submission."""


@dataclass(frozen=True)
class Sent:
    patient_id: int
    source: str
    instrument: str
    answers: tuple[tuple[str, int], ...]
    hand_total: int
    assessment_id: int | None

    @property
    def key(self) -> Key:
        return (self.patient_id, self.source, self.instrument, self.answers)


@dataclass
class Load:
    """What the clients sent and what the server answered."""

    acknowledged: list[Sent] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: int = 0
    transport_failures: list[str] = field(default_factory=list)
    double_submits: int = 0
    double_submits_refused: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.transport_errors


def seed(database_url: str, n_patients: int, n_users: int = 5) -> list[int]:
    """Clinical staff ``load.0`` ... (clinicians and nurses) and ``n_patients`` patients."""
    db = Database.from_url(database_url)
    try:
        users = []
        for i in range(n_users):
            user, _ = create_user(
                db,
                username=f"load.{i}",
                full_name=f"Load {i}",
                role="clinician" if i % 2 == 0 else "nurse",
                password=PASSWORD,
            )
            users.append(user)
        actor = users[0].actor("seed")
        ids = []
        for i in range(n_patients):
            data = patients.parse_patient_input(
                {
                    "mrn": f"L-{i:03d}",
                    "given_name": "Load",
                    "family_name": f"Patient{i:03d}",
                    "date_of_birth": "1980-05-05",
                    "sex": "unknown",
                }
            )
            ids.append(patients.create_patient(db, actor, data).id)
        return ids
    finally:
        db.engine.dispose()


def _answers(rng: random.Random, instrument: str) -> tuple[tuple[str, int], ...]:
    return tuple((item, rng.randint(0, 3)) for item in ITEMS[instrument])


def _record(load: Load, response: httpx.Response, ok: tuple[int, ...]) -> bool:
    load.statuses[response.status_code] += 1
    if response.status_code in ok:
        return True
    load.unexpected.append(
        f"{response.request.method} {response.request.url.path}: "
        f"{response.status_code} {response.text[:200]}"
    )
    return False


async def _clinician_entry(
    client: httpx.AsyncClient, load: Load, rng: random.Random, patient_id: int
) -> None:
    instrument = rng.choice(("phq9", "gad7"))
    answers = _answers(rng, instrument)
    response = await client.post(
        f"/api/v1/patients/{patient_id}/assessments",
        json={"instrument": instrument, "answers": dict(answers)},
    )
    if _record(load, response, (201,)):
        body = response.json()
        load.acknowledged.append(
            Sent(
                patient_id,
                "clinician",
                instrument,
                answers,
                sum(v for _, v in answers),
                int(body["id"]),
            )
        )


async def _self_report_double_submit(
    client: httpx.AsyncClient, load: Load, rng: random.Random, patient_id: int
) -> None:
    created = await client.post(
        f"/api/v1/patients/{patient_id}/links", json={"instruments": ["phq9"]}
    )
    if not _record(load, created, (201,)):
        return
    token = created.json()["token"]
    answers = _answers(rng, "phq9")
    body = {"answers": {"phq9": dict(answers)}}
    first, second = await asyncio.gather(
        client.post(f"/api/v1/self-report/{token}", json=body),
        client.post(f"/api/v1/self-report/{token}", json=body),
    )
    load.double_submits += 1
    accepted = [r for r in (first, second) if _record(load, r, (200, 410))]
    codes = sorted(r.status_code for r in accepted)
    if codes == [200, 410]:
        load.double_submits_refused += 1
    elif len(accepted) == 2:
        load.unexpected.append(f"double submit of one link answered {codes}")
    if 200 in codes:
        load.acknowledged.append(
            Sent(patient_id, "self_report", "phq9", answers, sum(v for _, v in answers), None)
        )


async def _sign_in(client: httpx.AsyncClient, load: Load, index: int) -> bool:
    login = await client.post(
        "/api/v1/auth/login", json={"username": f"load.{index % 5}", "password": PASSWORD}
    )
    return _record(load, login, (200,))


async def _submit_until(
    client: httpx.AsyncClient, load: Load, patient_id: int, stop_at: float, rng: random.Random
) -> None:
    """Submit until ``stop_at`` (or until the server goes away)."""
    try:
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            if n % 5 == 0:
                await _self_report_double_submit(client, load, rng, patient_id)
            else:
                await _clinician_entry(client, load, rng, patient_id)
    except httpx.TransportError as exc:
        # The server went away (or the connection broke): this request is not acknowledged.
        load.transport_errors += 1
        load.transport_failures.append(f"{type(exc).__name__}: {exc}")


async def run_clients(
    base: str, patient_ids: list[int], seconds: float, load: Load, seed_: int = 0
) -> float:
    """One client per patient, all submitting for ``seconds`` at once (after signing in).

    Returns the seconds the submitting actually lasted."""
    clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in patient_ids]
    try:
        # Five sessions (argon2 makes each sign-in slow on purpose), shared round-robin: every
        # client still has its own connection and its own patient.
        signed_in = await asyncio.gather(*(_sign_in(c, load, i) for i, c in enumerate(clients[:5])))
        if not all(signed_in):
            return 0.0
        for i, client in enumerate(clients[5:], start=5):
            client.cookies = httpx.Cookies(clients[i % 5].cookies)
        started = time.monotonic()
        await asyncio.gather(
            *(
                _submit_until(c, load, pid, started + seconds, random.Random(seed_ + i))
                for i, (c, pid) in enumerate(zip(clients, patient_ids, strict=True))
            )
        )
        return time.monotonic() - started
    finally:
        for client in clients:
            await client.aclose()


@dataclass(frozen=True)
class StoredCheck:
    rows: int
    lost: int
    unacknowledged_stored: int
    id_mismatches: int
    score_mismatches: int
    audit_rows_missing: int
    audit_chain_ok: bool
    audit_records: int
    problems: tuple[str, ...]


def check_stored(database_url: str, acknowledged: list[Sent]) -> StoredCheck:
    """Compare the database with the acknowledgements, and recompute every stored score."""
    db = Database.from_url(database_url)
    problems: list[str] = []
    try:
        with db.transaction() as session:
            rows = session.scalars(
                select(Assessment).options(selectinload(Assessment.answers))
            ).all()
            submit_audits = (
                session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "assessment.submit")
                )
                or 0
            )
        chain = audit.verify_chain(db)
    finally:
        db.engine.dispose()
    stored: Counter[Key] = Counter()
    by_id = {}
    score_mismatches = 0
    for row in rows:
        answers = {a.item_id: a.value for a in row.answers}
        ordered = tuple(
            (item, answers[item]) for item in ITEMS[row.instrument_id] if item in answers
        )
        if len(ordered) != len(answers):
            problems.append(f"assessment {row.id} has answers outside its instrument")
        stored[(row.patient_id, row.source, row.instrument_id, ordered)] += 1
        by_id[row.id] = ordered
        hand_total = sum(v for _, v in ordered)
        band = instruments.score(instruments.get(row.instrument_id), dict(ordered)).band.label
        if row.total != hand_total or row.band != band:
            score_mismatches += 1
            problems.append(
                f"assessment {row.id}: stored {row.total}/{row.band}, "
                f"recomputed {hand_total}/{band}"
            )
    acked: Counter[Key] = Counter(s.key for s in acknowledged)
    lost = acked - stored
    extra = stored - acked
    id_mismatches = 0
    ids = [s.assessment_id for s in acknowledged if s.assessment_id is not None]
    if len(ids) != len(set(ids)):
        problems.append("the server acknowledged one assessment id twice")
        id_mismatches += len(ids) - len(set(ids))
    for sent in acknowledged:
        if sent.assessment_id is not None and by_id.get(sent.assessment_id) != sent.answers:
            id_mismatches += 1
            problems.append(f"acknowledged assessment {sent.assessment_id} is not as sent")
        if sent.hand_total != sum(v for _, v in sent.answers):
            problems.append("bad bookkeeping in the test")
    if lost:
        problems.append(f"{sum(lost.values())} acknowledged submission(s) missing")
    if not chain.ok:
        problems.append(f"audit chain broken at record {chain.broken_id}: {chain.reason}")
    audit_missing = max(0, len(rows) - int(submit_audits))
    if audit_missing or int(submit_audits) != len(rows):
        problems.append(f"{len(rows)} assessments but {submit_audits} assessment.submit audit rows")
    return StoredCheck(
        rows=len(rows),
        lost=sum(lost.values()),
        unacknowledged_stored=sum(extra.values()),
        id_mismatches=id_mismatches,
        score_mismatches=score_mismatches,
        audit_rows_missing=audit_missing,
        audit_chain_ok=chain.ok,
        audit_records=chain.records,
        problems=tuple(problems),
    )
