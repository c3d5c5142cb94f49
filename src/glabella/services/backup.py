"""Online backup and restore: a portable JSON-lines dump of every table, for both backends.

Format (one JSON object per line):

* line 1, the header: ``{"format": "glabella-backup", "version": 1, "revision": "<alembic>",
  "dialect": "...", "created_at": "...", "tables": {"name": row_count, ...}}``
* then one line per row, ``{"t": "<table>", "r": {column: value}}``, tables in foreign-key
  dependency order (parents first), rows in primary-key order.

Values that JSON has no type for are tagged: ``{"$dt": iso}`` (timezone-aware datetime),
``{"$d": iso}`` (date), ``{"$dec": "1.50"}`` (Decimal), ``{"$b64": ...}`` (bytes).

Consistency: the whole dump is read in one transaction - on SQLite that transaction holds
the write lock (``BEGIN IMMEDIATE``), on PostgreSQL it runs at REPEATABLE READ - so the file is
a snapshot of one moment even while the application keeps writing. Tables are discovered by
reflection, so tables added by later migrations are included without changing this module.

Restore goes into an *empty, migrated* database at the same Alembic revision (``glabella db
upgrade`` first) and refuses anything else; it inserts every row in the same order inside one
transaction and then moves PostgreSQL's sequences past the restored ids.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, MetaData, Table, func, inspect, select, text

from glabella.services.context import Database
from glabella.services.errors import Conflict, Invalid

FORMAT = "glabella-backup"
VERSION = 1
_SKIP = frozenset({"alembic_version"})


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite: stored as UTC without an offset
            value = value.replace(tzinfo=dt.UTC)
        return {"$dt": value.astimezone(dt.UTC).isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$dt":
            return dt.datetime.fromisoformat(raw).astimezone(dt.UTC)
        if tag == "$d":
            return dt.date.fromisoformat(raw)
        if tag == "$dec":
            return Decimal(raw)
        if tag == "$b64":
            return base64.b64decode(raw)
    return value


def _tables(conn: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return [t for t in metadata.sorted_tables if t.name not in _SKIP]


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _ordered(table: Table) -> Any:
    pk = list(table.primary_key.columns) or list(table.columns)
    return select(table).order_by(*pk)


@dataclass(frozen=True)
class BackupSummary:
    """What a backup or restore covered."""

    revision: str | None
    tables: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@contextmanager
def _snapshot(db: Database) -> Iterator[Connection]:
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def backup(db: Database, path: Path) -> BackupSummary:
    """Write a consistent snapshot of every table to ``path`` (JSON lines)."""
    tmp = path.with_name(path.name + ".partial")
    with _snapshot(db) as conn:
        tables = _tables(conn)
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }
        revision = _revision(conn)
        with tmp.open("w", encoding="utf-8") as out:
            header = {
                "format": FORMAT,
                "version": VERSION,
                "revision": revision,
                "dialect": conn.dialect.name,
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "tables": counts,
            }
            out.write(json.dumps(header, sort_keys=True) + "\n")
            for table in tables:
                for row in conn.execute(_ordered(table)).mappings():
                    line = {"t": table.name, "r": {k: _encode(v) for k, v in row.items()}}
                    out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
            out.flush()
    tmp.replace(path)
    return BackupSummary(revision=revision, tables=counts)


def _read_header(stream: IO[str]) -> dict[str, Any]:
    first = stream.readline()
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise Invalid("not a Glabella backup file", field="file")
    if header.get("version") != VERSION:
        raise Invalid(f"unsupported backup version {header.get('version')!r}", field="file")
    return header


SEEDED_BY_MIGRATION = frozenset({"audit_chain_state"})
"""Tables a migration fills on an empty database; restore replaces their rows."""


def restore(db: Database, path: Path) -> BackupSummary:
    """Load a backup into an empty database migrated to the backup's revision."""
    with path.open(encoding="utf-8") as stream:
        header = _read_header(stream)
        with db.engine.connect() as conn, conn.begin():
            revision = _revision(conn)
            if revision != header["revision"]:
                raise Conflict(
                    f"the database is at revision {revision!r} but the backup is at "
                    f"{header['revision']!r}: run `glabella db upgrade` to that revision first",
                    field="file",
                )
            tables = {t.name: t for t in _tables(conn)}
            for table in tables.values():
                if table.name in SEEDED_BY_MIGRATION:
                    continue
                if conn.execute(select(func.count()).select_from(table)).scalar_one():
                    raise Conflict(
                        f"table {table.name} is not empty: restore needs an empty database",
                        field="file",
                    )
            # Rows a migration writes into an otherwise empty database (the audit chain's
            # legacy boundary) are replaced by the backup's own rows.
            for name in SEEDED_BY_MIGRATION & set(tables) & set(header["tables"]):
                conn.execute(tables[name].delete())
            counts: dict[str, int] = dict.fromkeys(header["tables"], 0)
            batch: list[dict[str, Any]] = []
            current: str | None = None

            def flush() -> None:
                if batch and current is not None:
                    conn.execute(tables[current].insert(), batch)
                    batch.clear()

            for number, line in enumerate(stream, start=2):
                item = json.loads(line)
                name = item.get("t")
                if name not in tables:
                    raise Invalid(f"line {number}: unknown table {name!r}", field="file")
                if name != current:
                    flush()
                    current = name
                batch.append({k: _decode(v) for k, v in item["r"].items()})
                counts[name] = counts.get(name, 0) + 1
                if len(batch) >= 500:
                    flush()
            flush()
            if counts != header["tables"]:
                raise Invalid("the backup file is truncated (row counts differ)", field="file")
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn, list(tables.values()))
    return BackupSummary(revision=header["revision"], tables=counts)


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Move each serial primary key's sequence past the highest restored id."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        column = pk[0].name
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column}
        ).scalar()
        if sequence:
            conn.execute(
                text(
                    f'SELECT setval(:s, COALESCE((SELECT MAX("{column}") '
                    f'FROM "{table.name}"), 0) + 1, false)'
                ),
                {"s": sequence},
            )
