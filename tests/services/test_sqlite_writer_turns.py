"""SQLite: the threads of one process take turns to write (no busy-handler polling)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from glabella.services.context import Database
from glabella.store.models import Clinic


def test_threads_take_turns_and_every_write_lands(database_url: str) -> None:
    db = Database.from_url(database_url)
    with db.transaction() as session:
        before = session.scalar(select(func.count()).select_from(Clinic)) or 0
    inside = 0
    most_inside = 0
    guard = threading.Lock()
    errors: list[BaseException] = []

    def write(i: int) -> None:
        nonlocal inside, most_inside
        try:
            with db.transaction() as session:
                with guard:
                    inside += 1
                    most_inside = max(most_inside, inside)
                session.add(Clinic(name=f"C{i}", timezone="UTC", created_at=db.now()))
                session.flush()
                time.sleep(0.01)  # hold the write a moment, as a real submission does
                with guard:
                    inside -= 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert most_inside == 1  # one writer at a time, decided in-process
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Clinic)) == before + 20
    db.engine.dispose()
