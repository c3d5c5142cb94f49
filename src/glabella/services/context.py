"""Who is acting, and the database handle every use case opens its transaction on."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from glabella.store.database import make_engine, make_session_factory


def utcnow() -> dt.datetime:
    """The current time, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Actor:
    """The person (or patient link) on whose behalf a use case runs."""

    user_id: int | None
    username: str
    role: str
    clinic_id: int
    source: str | None = None


_JOINED: ContextVar[tuple[object, Session] | None] = ContextVar(
    "glabella_joined_transaction", default=None
)
"""The transaction of ``Database.joined_transaction`` on this thread (with its database)."""


@dataclass
class Database:
    """An engine plus its session factory; ``transaction()`` is the unit of work."""

    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    @classmethod
    def from_url(cls, url: str) -> Database:
        engine = make_engine(url)
        return cls(engine=engine, sessions=make_session_factory(engine))

    _writer: threading.RLock | None = field(default=None, init=False, repr=False)
    _read_engine: Engine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.engine.dialect.name == "sqlite":
            self._writer = threading.RLock()
        # Shares the engine's pool; marks its transactions read-only (see store.database).
        self._read_engine = self.engine.execution_options(glabella_read_only=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception.

        On SQLite, where only one transaction may write at a time, the threads of this process
        take turns on a lock before ``BEGIN IMMEDIATE`` instead of polling the database lock:
        SQLite's busy handler sleeps in growing steps while it waits, which under 50 concurrent
        clients turned short waits into long stalls (measured in bench/clinic_bench.py). Other
        processes (the CLI, a second server) still wait through the busy timeout.

        Inside :meth:`joined_transaction` it opens no transaction of its own: the block runs in
        a savepoint of the joined one (rolled back to on an exception, as a transaction of its
        own would be), and commits with it.
        """
        joined = _JOINED.get()
        if joined is not None and joined[0] is self:
            session = joined[1]
            with session.begin_nested():
                yield session
            return
        if self._writer is None:
            with self.sessions.begin() as session:
                yield session
            return
        # Bounded like the busy timeout: after 30 s go on and let SQLite's own wait decide.
        acquired = self._writer.acquire(timeout=30)
        try:
            with self.sessions.begin() as session:
                yield session
        finally:
            if acquired:
                self._writer.release()

    @contextmanager
    def joined_transaction(self) -> Iterator[Session]:
        """One transaction that every :meth:`transaction` of this database opened in the block
        (on this thread) joins: a use case that opens its own transaction and something written
        after it (an idempotency key with the use case's answer,
        ``glabella.services.idempotency``) commit together or not at all."""
        with self.transaction() as session:
            token = _JOINED.set((self, session))
            try:
                yield session
            finally:
                _JOINED.reset(token)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction for lookups that write nothing (not even an audit row).

        On SQLite it starts with a deferred ``BEGIN`` instead of ``BEGIN IMMEDIATE``, so it
        does not queue behind writers for the write lock (WAL readers see the last commit).
        Anything flushed inside it is rolled back, never committed.
        """
        session = self.sessions(bind=self._read_engine)
        try:
            session.begin()
            yield session
        finally:
            session.close()  # rolls the transaction back; loaded objects stay readable

    def now(self) -> dt.datetime:
        return self.clock()
