"""The group-commit writer: batches share a transaction, a failing job fails alone, the answer
comes after the commit, jobs keep their order, and the thread ends when idle."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glabella.services import group_commit
from glabella.services.context import Database, utcnow
from glabella.services.errors import Invalid
from glabella.services.group_commit import GroupCommitWriter
from glabella.store.models import Clinic


def _clinics(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Clinic.name).order_by(Clinic.id)))


def _add(name: str, *, fail: bool = False) -> Callable[[Session], str]:
    def job(session: Session) -> str:
        session.add(Clinic(name=name, timezone="UTC", created_at=utcnow()))
        session.flush()
        if fail:
            raise Invalid(f"{name} is refused", field="name")
        return name

    return job


async def _held_then(
    writer: GroupCommitWriter, jobs: list[Callable[[Session], str]]
) -> tuple[str, list[str | BaseException]]:
    """Hold the writer on a first job until ``jobs`` are all queued, then let it go: the
    queued jobs then reach the writer together, as under concurrent load."""
    release = threading.Event()

    def hold(session: Session) -> str:
        release.wait(timeout=30)
        return _add("held")(session)

    held = asyncio.ensure_future(writer.run(hold))
    await asyncio.sleep(0.05)  # the writer is now inside ``hold``
    queued = [asyncio.ensure_future(writer.run(job)) for job in jobs]
    await asyncio.sleep(0.05)  # every job is queued
    release.set()
    first = await held
    results = await asyncio.gather(*queued, return_exceptions=True)
    return first, list(results)


def test_queued_jobs_commit_together_in_order(db: Database) -> None:
    writer = GroupCommitWriter(db)
    before = _clinics(db)
    names = [f"C{i:02d}" for i in range(20)]
    first, results = asyncio.run(_held_then(writer, [_add(n) for n in names]))
    assert first == "held"
    assert results == names
    # one transaction for the held job, one for the twenty queued behind it
    assert writer.batches == 2
    assert _clinics(db) == [*before, "held", *names]  # committed, in queue order


def test_a_failing_job_fails_alone_and_leaves_nothing(db: Database) -> None:
    writer = GroupCommitWriter(db)
    before = _clinics(db)
    jobs = [_add(f"C{i}", fail=(i == 4)) for i in range(8)]
    _, results = asyncio.run(_held_then(writer, jobs))
    failure = results[4]
    assert isinstance(failure, Invalid)
    assert failure.message == "C4 is refused"
    assert [r for i, r in enumerate(results) if i != 4] == [f"C{i}" for i in range(8) if i != 4]
    # the batch was rolled back and every job run again on its own: seven commit, C4 does not
    assert _clinics(db) == [*before, "held", *(f"C{i}" for i in range(8) if i != 4)]
    assert writer.batches == 1 + 1 + 8


def test_the_answer_comes_after_the_commit(db: Database) -> None:
    writer = GroupCommitWriter(db)

    async def main() -> list[str]:
        seen = []
        for i in range(3):
            name = await writer.run(_add(f"A{i}"))
            # another connection already sees the row when the answer arrives
            seen.append(name if name in _clinics(db) else "missing")
        return seen

    assert asyncio.run(main()) == ["A0", "A1", "A2"]


def test_the_thread_ends_when_idle_and_a_new_job_starts_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 0.05)
    writer = GroupCommitWriter(db)

    async def main() -> tuple[bool, str]:
        await writer.run(_add("first"))
        for _ in range(100):
            await asyncio.sleep(0.02)
            if writer._thread is None:
                break
        ended = writer._thread is None
        return ended, await writer.run(_add("second"))

    ended, second = asyncio.run(main())
    assert ended
    assert second == "second"
    with db.read() as session:
        count = session.scalar(
            select(func.count()).select_from(Clinic).where(Clinic.name.in_(["first", "second"]))
        )
    assert count == 2


class _Abort(BaseException):
    """Not an ``Exception``: escapes the writer's own error handling, ending its thread."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_thread_cut_short_answers_every_waiting_request_and_is_replaced(
    db: Database,
) -> None:
    writer = GroupCommitWriter(db)

    def abort(session: Session) -> str:
        raise _Abort()

    async def main() -> tuple[BaseException | str, str]:
        first = await asyncio.gather(writer.run(abort), return_exceptions=True)
        return first[0], await writer.run(_add("after"))

    failed, after = asyncio.run(main())
    assert isinstance(failed, RuntimeError) and "not carried out" in str(failed)
    assert after == "after"
    assert "after" in _clinics(db)
