"""Group commit: one writer thread runs queued write jobs, many jobs to a transaction.

SQLite lets one transaction write at a time, so concurrent submissions queue for its lock
anyway. Queuing them here instead, on one thread that drains whatever has arrived and commits
it as one transaction, spends one ``BEGIN``/``COMMIT`` and one thread wake-up per batch instead
of per request, and spares the request threads from handing the interpreter lock back and forth
around every statement. Measured in ``bench/clinic_bench.py`` (the note of issue 8 has the
figures). On PostgreSQL the audit chain serialises appends the same way (an advisory lock),
so the same single writer is used there.

Guarantees, each tested in ``tests/services/test_group_commit.py``:

* a job's result is delivered only after its transaction has committed, so an acknowledged
  write is durable (as durable as a commit of its own);
* a job that raises gets its own exception and leaves nothing behind: the batch is rolled back
  and every job of it is run again on its own, in its own transaction, so the other jobs still
  commit and only the failing one fails;
* jobs run in the order they were queued.

A job is therefore a function of a session only, with no effect outside the database: it may
run twice (once in a batch that was rolled back, once on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from glabella.services.context import Database

T = TypeVar("T")

MAX_BATCH = 64
"""At most this many jobs share one transaction."""
IDLE_SECONDS = 5.0
"""The writer thread ends after this long without work; the next job starts a new one."""


@dataclass
class _Queued(Generic[T]):
    job: Callable[[Session], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


@dataclass
class _Outcome:
    ok: bool
    value: Any


class GroupCommitWriter:
    """Runs write jobs on one thread, in batches that commit as one transaction."""

    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Queued[Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0
        """How many transactions the writer has committed or tried (for tests and benches)."""

    async def run(self, job: Callable[[Session], T]) -> T:
        """Queue ``job`` and wait until it has committed; its exception is raised here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._queue.put(_Queued(job, loop, future))
            if self._thread is None:
                self._start()
        return await future

    def _start(self) -> None:
        """Start the writer thread (the caller holds ``_lock``)."""
        self._thread = threading.Thread(
            target=self._work, name="glabella-group-commit", daemon=True
        )
        self._thread.start()

    def _work(self) -> None:
        try:
            while self._next_batch():
                pass
        finally:
            with self._lock:  # run() queues under this lock: no job is left behind
                self._thread = None
                if not self._queue.empty():  # ended by an error: a new thread takes over
                    self._start()

    def _next_batch(self) -> bool:
        """Run the jobs that have queued (waiting for the first); False once idle."""
        try:
            first = self._queue.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            with self._lock:
                return not self._queue.empty()
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        outcomes: list[_Outcome] = []
        try:
            outcomes = self._run_batch(batch)
        finally:  # every waiting request gets an answer, whatever happened
            for i, queued in enumerate(batch):
                _deliver(queued, outcomes[i] if i < len(outcomes) else _not_done())
        return True

    def _run_batch(self, batch: list[_Queued[Any]]) -> list[_Outcome]:
        if len(batch) > 1:
            self.batches += 1
            try:
                with self.db.transaction() as session:
                    results = [queued.job(session) for queued in batch]
                return [_Outcome(True, result) for result in results]
            except Exception:  # rolled back: each job gets its own answer below
                pass
        return [self._run_alone(queued) for queued in batch]

    def _run_alone(self, queued: _Queued[Any]) -> _Outcome:
        self.batches += 1
        try:
            with self.db.transaction() as session:
                return _Outcome(True, queued.job(session))
        except Exception as exc:  # handed to the waiting request
            return _Outcome(False, exc)


def _not_done() -> _Outcome:
    return _Outcome(False, RuntimeError("the write was not carried out: try again"))


def _deliver(queued: _Queued[Any], outcome: _Outcome) -> None:
    with contextlib.suppress(RuntimeError):  # the waiting loop has closed: nobody to answer
        queued.loop.call_soon_threadsafe(_settle, queued.future, outcome)


def _settle(future: asyncio.Future[Any], outcome: _Outcome) -> None:
    if future.done():  # the request was cancelled (client gone); the write stands
        return
    if outcome.ok:
        future.set_result(outcome.value)
    else:
        future.set_exception(outcome.value)
