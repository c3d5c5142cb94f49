"""``Database.read``: read-only lookups do not wait for SQLite's write lock and commit nothing."""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import func, select

from glabella.services import users
from glabella.services.context import Database
from glabella.store.models import Clinic

PASSWORD = "correct horse battery staple"


def test_session_lookup_does_not_wait_for_a_writer(database_url: str) -> None:
    db = Database.from_url(database_url)
    user, _ = users.create_user(
        db, username="dr.read", full_name="Dr Read", role="clinician", password=PASSWORD
    )
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another request is in the middle of a write
    found: list[object] = []
    lookup = threading.Thread(target=lambda: found.append(users.get_user(db, user.id)))
    try:
        lookup.start()
        lookup.join(timeout=5)  # with BEGIN IMMEDIATE it would wait up to the 30 s busy timeout
        assert not lookup.is_alive(), "the read-only lookup queued behind the writer"
        assert found and getattr(found[0], "username", None) == "dr.read"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        lookup.join()
        db.engine.dispose()


def test_nothing_written_inside_read_is_kept(database_url: str) -> None:
    db = Database.from_url(database_url)
    with db.transaction() as session:
        before = session.scalar(select(func.count()).select_from(Clinic))
    with db.read() as session:
        session.add(Clinic(name="Phantom", timezone="UTC", created_at=db.now()))
        session.flush()
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Clinic)) == before
    db.engine.dispose()
