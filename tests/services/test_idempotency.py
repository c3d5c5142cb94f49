"""Idempotency keys (issue 17 item 4), in the service layer, on SQLite and PostgreSQL: a key
stored with its answer in the transaction of the record it created; the same key and request
answered from it with nothing new stored; another request with the key refused; a rollback
leaving neither; concurrent duplicates from two database handles (two server processes)
storing once; keys kept 24 hours."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

import pytest
from sqlalchemy import func, select

from glabella.services import assessments, idempotency, patients
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.users import create_user
from glabella.store.models import Assessment, Clinic, IdempotencyKey

ROUTE = "POST /api/v1/patients/{patient_id}/assessments"
ANSWERS = {f"phq9_{i}": 1 for i in range(1, 10)}  # total 9 (Kroenke 2001: a plain sum)


def _patient(db: Database, actor: Actor) -> int:
    data = patients.parse_patient_input(
        {
            "mrn": "IK-1",
            "given_name": "Ida",
            "family_name": "Key",
            "date_of_birth": "1970-01-01",
            "sex": "female",
        }
    )
    return patients.create_patient(db, actor, data).id


def _count(db: Database, model: type[Assessment] | type[IdempotencyKey]) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _submit_once(
    db: Database, actor: Actor, patient_id: int, key: str, digest: str
) -> tuple[object, bool]:
    """What the assessment route does in its job: find, store, record (one transaction)."""
    assert actor.user_id is not None
    scored = assessments.score_answers("phq9", ANSWERS)
    uid = actor.user_id
    with db.transaction() as session:
        stored = idempotency.find(
            session, user_id=uid, route=ROUTE, key=key, request_hash=digest, now=db.now()
        )
        if stored is not None:
            return stored.body, True
        result = assessments.record_submission(session, actor, patient_id, scored, now=db.now())
        out = result.assessment.to_dict()
        idempotency.record(
            session,
            user_id=uid,
            route=ROUTE,
            key=key,
            request_hash=digest,
            now=db.now(),
            status=201,
            body=out,
        )
        return out, False


def test_check_key_names_the_header_and_what_is_wrong() -> None:
    assert idempotency.check_key("6f1c2b9e-0f7e-4f53-9a4e-1b2c3d4e5f60")
    assert idempotency.check_key("x" * 200) == "x" * 200
    with pytest.raises(Invalid, match="201 characters long: at most 200") as long:
        idempotency.check_key("x" * 201)
    assert long.value.field == "Idempotency-Key"
    with pytest.raises(Invalid, match="empty"):
        idempotency.check_key("")
    for bad, position in (("ab\tc", 3), ("a\x00", 2), ("é", 1), ("key\u202e", 4)):
        with pytest.raises(Invalid, match=f"not printable ASCII .* position {position}"):
            idempotency.check_key(bad)


def test_request_hash_is_over_the_path_and_the_canonical_body() -> None:
    # Written out by hand: path, a newline, members sorted, no spaces, UTF-8.
    expected = hashlib.sha256(b'/api/v1/p/1\n{"a":1,"b":["x","\xc3\xa9"]}').hexdigest()
    assert idempotency.request_hash("/api/v1/p/1", {"b": ["x", "é"], "a": 1}) == expected
    assert idempotency.request_hash("/api/v1/p/1", {"a": 1, "b": ["x", "é"]}) == expected
    assert idempotency.request_hash("/api/v1/p/2", {"a": 1, "b": ["x", "é"]}) != expected
    assert idempotency.request_hash("/api/v1/p/1", {"a": 2, "b": ["x", "é"]}) != expected


def test_same_key_same_request_gets_the_first_answer_and_stores_nothing(
    db: Database, actor: Actor
) -> None:
    pid = _patient(db, actor)
    digest = idempotency.request_hash(f"/api/v1/patients/{pid}/assessments", ANSWERS)
    first, replayed = _submit_once(db, actor, pid, "k-1", digest)
    assert not replayed
    again, replayed = _submit_once(db, actor, pid, "k-1", digest)
    assert replayed and again == first
    assert _count(db, Assessment) == 1 and _count(db, IdempotencyKey) == 1


def test_same_key_with_another_request_is_refused_and_stores_nothing(
    db: Database, actor: Actor
) -> None:
    pid = _patient(db, actor)
    path = f"/api/v1/patients/{pid}/assessments"
    _submit_once(db, actor, pid, "k-2", idempotency.request_hash(path, ANSWERS))
    other = idempotency.request_hash(path, {**ANSWERS, "phq9_1": 3})
    with pytest.raises(Invalid, match="already used for another request") as refused:
        _submit_once(db, actor, pid, "k-2", other)
    assert refused.value.field == "Idempotency-Key"
    assert _count(db, Assessment) == 1
    # A key is per user: another user's "k-2" is another key.
    nurse = _other_actor(db, "nurse.key", "nurse")
    _, replayed = _submit_once(db, nurse, pid, "k-2", other)
    assert not replayed and _count(db, Assessment) == 2


def _other_actor(db: Database, username: str, role: str) -> Actor:
    user, _ = create_user(
        db, username=username, full_name=username, role=role, password="long enough passphrase"
    )
    return user.actor("test")


def test_a_rollback_leaves_neither_the_record_nor_its_key(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    assert actor.user_id is not None
    digest = idempotency.request_hash("/p", ANSWERS)
    scored = assessments.score_answers("phq9", ANSWERS)
    with pytest.raises(RuntimeError, match="power cut"), db.transaction() as session:
        out = assessments.record_submission(session, actor, pid, scored, now=db.now())
        idempotency.record(
            session,
            user_id=actor.user_id,
            route=ROUTE,
            key="k-3",
            request_hash=digest,
            now=db.now(),
            status=201,
            body=out.assessment.to_dict(),
        )
        raise RuntimeError("power cut before the commit")
    assert _count(db, Assessment) == 0 and _count(db, IdempotencyKey) == 0
    _, replayed = _submit_once(db, actor, pid, "k-3", digest)  # the retry stores it, once
    assert not replayed and _count(db, Assessment) == 1


def test_concurrent_duplicates_from_two_processes_store_one(db: Database, actor: Actor) -> None:
    """Two database handles (as two server processes have): the first holds its transaction
    open after storing the key; the second submits with the same key meanwhile and must wait
    (on PostgreSQL for the unique key, after its own writes, which then roll back; on SQLite
    for the write lock), then gets the first answer."""
    pid = _patient(db, actor)
    url = db.engine.url.render_as_string(hide_password=False)
    other = Database.from_url(url)
    digest = idempotency.request_hash("/p", ANSWERS)
    claimed_first = threading.Event()
    release = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        assert actor.user_id is not None
        scored = assessments.score_answers("phq9", ANSWERS)
        with db.transaction() as session:
            out = assessments.record_submission(session, actor, pid, scored, now=db.now())
            idempotency.record(
                session,
                user_id=actor.user_id,
                route=ROUTE,
                key="k-4",
                request_hash=digest,
                now=db.now(),
                status=201,
                body=out.assessment.to_dict(),
            )
            results["first"] = out.assessment.to_dict()
            claimed_first.set()
            release.wait(timeout=30)

    def second() -> None:
        claimed_first.wait(timeout=30)
        try:
            results["second"], results["replayed"] = _submit_once(other, actor, pid, "k-4", digest)
        except idempotency.KeyTaken:
            # PostgreSQL: the second looked before the first committed, wrote its row, and its
            # insert of the key waited for the first; its transaction rolled back. The answer
            # is then the first's (what the routes do: ``web.idempotency.winner``).
            with other.read() as session:
                stored = idempotency.find(
                    session,
                    user_id=actor.user_id or 0,
                    route=ROUTE,
                    key="k-4",
                    request_hash=digest,
                    now=other.now(),
                )
            assert stored is not None
            results["second"], results["replayed"] = stored.body, True
            results["taken"] = True

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for t in threads:
            t.start()
        claimed_first.wait(timeout=30)
        threads[1].join(timeout=1.0)
        assert threads[1].is_alive(), "the second claim did not wait for the first transaction"
        release.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        release.set()
        other.engine.dispose()
    assert results["replayed"] is True and results["second"] == results["first"]
    assert _count(db, Assessment) == 1 and _count(db, IdempotencyKey) == 1
    # Which path: on PostgreSQL the unique key decided, on SQLite the write lock.
    assert results.get("taken", False) is (db.engine.dialect.name == "postgresql")


def test_keys_are_kept_24_hours_then_can_be_used_again(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    digest = idempotency.request_hash("/p", ANSWERS)
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    db.clock = lambda: start
    _submit_once(db, actor, pid, "k-5", digest)
    db.clock = lambda: start + idempotency.KEY_TTL - dt.timedelta(seconds=1)
    _, replayed = _submit_once(db, actor, pid, "k-5", digest)
    assert replayed and _count(db, Assessment) == 1
    db.clock = lambda: start + idempotency.KEY_TTL + dt.timedelta(seconds=1)
    _, replayed = _submit_once(db, actor, pid, "k-5", digest)
    assert not replayed and _count(db, Assessment) == 2  # 24 h on, the key is new again
    assert _count(db, IdempotencyKey) == 1  # the expired one was taken over


def test_a_use_case_inside_a_joined_transaction_commits_with_it(db: Database) -> None:
    """``Database.joined_transaction``: a ``transaction()`` opened inside it commits only with
    it, and one that raises is rolled back alone (a savepoint), as its own would be."""

    def add(name: str) -> None:
        with db.transaction() as session:
            session.add(Clinic(name=name, timezone="UTC", created_at=db.now()))
            session.flush()

    def names() -> set[str]:
        with db.read() as session:
            return set(session.scalars(select(Clinic.name)))

    before = names()
    with pytest.raises(RuntimeError), db.joined_transaction():
        add("Joined A")
        raise RuntimeError("the outer block fails after the use case returned")
    assert names() == before  # the use case's write went with the outer rollback
    with db.joined_transaction():
        add("Joined B")
        with pytest.raises(RuntimeError), db.transaction() as session:
            session.add(Clinic(name="Joined C", timezone="UTC", created_at=db.now()))
            session.flush()
            raise RuntimeError("this use case fails")
        add("Joined D")
    assert names() == before | {"Joined B", "Joined D"}
