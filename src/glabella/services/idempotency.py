"""Idempotency keys: a retried request gets its first answer again and stores nothing new.

A client that sent a submission and lost the answer (the connection broke, the server was
killed after the commit) cannot tell whether it was stored; sending it again stored it twice
(issue 17: 11 submissions stored but unacknowledged before a kill -9 were stored again by a
retrying client). With an ``Idempotency-Key`` header - the field of the IETF HTTPAPI draft
"The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header) - the
first request claims the key and stores, *in the same transaction as the record it creates*,
the SHA-256 of its request and the status and body of its answer. So a crash leaves both the
record and its key, or neither, and:

* the same key with the same request is answered with the stored status and body, and nothing
  new is stored;
* the same key with another request (another body or path) is refused (422, naming the header:
  the draft's answer to a reused key);
* two requests with the same key at once store one record: the key's unique constraint decides
  (on PostgreSQL the second ``INSERT ... ON CONFLICT DO NOTHING`` waits for the first
  transaction and then finds its key; on SQLite writers are serialised anyway) and the loser
  is answered with the winner's answer. As the key lives in the database, this holds across
  several server processes on one PostgreSQL.

Keys are scoped to the user and the route, and kept :data:`KEY_TTL` (24 hours): an older key is
deleted by the next claim and may be used again. Only successful answers are stored: a refused
request stored nothing, so sending it again is safe and is simply carried out again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from glabella.services.errors import Conflict, Invalid
from glabella.store.models import IdempotencyKey, table_of

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
KEY_TTL = dt.timedelta(hours=24)
"""How long a key is kept: a retry within this time is answered from the key."""
KEY_PATTERN = "^[!-~]([ -~]{0,198}[!-~])?$"
"""The JSON Schema of a key (OpenAPI): 1 to 200 printable ASCII characters (HTTP strips
spaces at either end of a header value, so none are documented there)."""


def check_key(value: str) -> str:
    """``value`` as a key, or :class:`Invalid` naming the header and what is wrong with it."""
    if not value:
        raise Invalid(f"{HEADER} is empty: send 1 to {MAX_KEY_LENGTH} characters", field=HEADER)
    if len(value) > MAX_KEY_LENGTH:
        raise Invalid(
            f"{HEADER} is {len(value)} characters long: at most {MAX_KEY_LENGTH} allowed",
            field=HEADER,
        )
    for position, char in enumerate(value, start=1):
        if not " " <= char <= "~":
            raise Invalid(
                f"{HEADER} has a character that is not printable ASCII ({char!r}) at position "
                f"{position}: use letters, digits and punctuation (a UUID is a good key)",
                field=HEADER,
            )
    return value


def request_hash(path: str, body: object) -> str:
    """SHA-256 of the request path and the canonical JSON of its body (keys sorted, no spaces,
    UTF-8), so the same submission hashes the same whatever order its members came in."""
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """The answer a key's first request got."""

    status: int
    body: object


@dataclass(frozen=True)
class Claim:
    """A claimed key (``claim_id``: complete it with the answer) or the stored answer."""

    claim_id: int | None
    stored: Stored | None


def claim(
    session: Session,
    *,
    user_id: int,
    route: str,
    key: str,
    request_hash: str,
    now: dt.datetime,
) -> Claim:
    """Claim ``key`` for this request in the caller's transaction, or find its first answer.

    Raises :class:`Invalid` when the key came with another request, :class:`Conflict` when its
    first request has not been answered yet (only seen if that request failed mid-way without
    rolling back, which a transaction does not do).
    """
    table = table_of(IdempotencyKey)
    session.execute(delete(table).where(table.c.created_at < now - KEY_TTL))
    values = {
        "user_id": user_id,
        "route": route,
        "key": key,
        "request_hash": request_hash,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    inserted = session.execute(
        insert.values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "route", "key"])
        .returning(table.c.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return Claim(int(inserted), None)
    row = session.execute(
        select(table.c.request_hash, table.c.status, table.c.response).where(
            table.c.user_id == user_id, table.c.route == route, table.c.key == key
        )
    ).one()
    if row.request_hash != request_hash:
        raise Invalid(
            f"this {HEADER} was already used for another request (a different body or record): "
            "send a new key with a new submission",
            field=HEADER,
        )
    if row.status is None or row.response is None:
        raise Conflict(
            f"the first request with this {HEADER} is still being carried out: try again",
            field=HEADER,
        )
    return Claim(None, Stored(int(row.status), json.loads(row.response)))


def complete(session: Session, claim_id: int, status: int, body: object) -> None:
    """Store the answer of the claimed key's request (in the transaction of its writes)."""
    table = table_of(IdempotencyKey)
    session.execute(
        update(table)
        .where(table.c.id == claim_id)
        .values(status=status, response=json.dumps(body, ensure_ascii=False, allow_nan=False))
    )
