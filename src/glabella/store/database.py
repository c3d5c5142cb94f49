"""Engine and session factory with the project's safe defaults for each backend.

SQLite: WAL journal, foreign keys on, a 30 s busy timeout, and every transaction opened with
``BEGIN IMMEDIATE`` so that writers (and the audit chain appends they make) are serialised by
the database itself instead of failing half-way with "database is locked" on lock upgrade.

PostgreSQL (``postgresql+psycopg://...``): connection pre-ping; audit appends serialise with a
transaction-scoped advisory lock (see ``glabella.services.audit``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """Create an engine with the project's safe defaults for the backend in ``url``."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN (pysqlite's own implicit BEGIN is
            # deferred and is skipped for DDL).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            # Read-only lookups (``Database.read``) do not need the write lock.
            read_only = connection.get_execution_options().get("glabella_read_only", False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    url = _default_driver(url)
    return create_engine(url, pool_pre_ping=True)


def _default_driver(url: str) -> str:
    """``postgresql://`` means psycopg 3 (the driver this project ships), not psycopg2."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose sessions keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
