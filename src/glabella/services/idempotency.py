"""Idempotency keys: a retried request gets its first answer again and stores nothing new.

A client that sent a submission and lost the answer (the connection broke, the server was
killed after the commit) cannot tell whether it was stored; sending it again stored it twice
(issue 17: 11 submissions stored but unacknowledged before a kill -9 were stored again by a
retrying client). With an ``Idempotency-Key`` header - the field of the IETF HTTPAPI draft
"The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header) - a
request first looks its key up (:func:`find`); an unused key is then stored (:func:`record`)
*in the same transaction as the record the request creates*, after its writes, with the
SHA-256 of the request and the status and body of the answer. So a crash leaves both the
record and its key, or neither, and:

* the same key with the same request is answered with the stored status and body, and nothing
  new is stored;
* the same key with another request (another body or path) is refused (422, naming the header:
  the draft's answer to a reused key);
* two requests with the same key at once store one record: the key's unique constraint decides.
  On PostgreSQL the second ``INSERT ... ON CONFLICT DO NOTHING`` waits for the first
  transaction, finds the key taken and raises :class:`KeyTaken`, so its own writes roll back
  and it is answered with the winner's answer; on SQLite writers are serialised, so the second
  finds the key. As the key lives in the database, this holds across several server processes
  on one database.

The common path costs one indexed ``SELECT`` and one ``INSERT`` in the submission's
transaction (``bench/idempotency_bench.py``).

Keys are scoped to the user and the route, and kept :data:`KEY_TTL` (24 hours): an older key
counts as unused (it is taken over when used again) and is deleted by a later :func:`record`
(at most every :data:`PURGE_EVERY_SECONDS` per process). Only successful answers are stored:
a refused request stored nothing, so sending it again is safe and is simply carried out again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from glabella.services.errors import Invalid
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


class KeyTaken(Exception):
    """Another request stored this key after :func:`find` looked (a concurrent duplicate in
    another transaction: another server process, or another thread on PostgreSQL). Raised
    inside the transaction, which must roll back; the winner's answer is then found with
    :func:`find`."""


PURGE_EVERY_SECONDS = 600.0
"""Expired keys are deleted by a :func:`record` at most this often (per process)."""
_last_purge = [-PURGE_EVERY_SECONDS]

# Core statements built once and run on the session's connection, as the submission's own
# writes are (``services.assessments``): building them per call cost more than running them
# (``bench/idempotency_bench.py``).
_T = table_of(IdempotencyKey)
_SCOPE = (
    _T.c.user_id == bindparam("s_user_id"),
    _T.c.route == bindparam("s_route"),
    _T.c.key == bindparam("s_key"),
)
_FIND = select(_T.c.request_hash, _T.c.status, _T.c.response, _T.c.created_at).where(*_SCOPE)
_INSERT = {
    name: dialect.insert(_T)
    .on_conflict_do_nothing(index_elements=["user_id", "route", "key"])
    .returning(_T.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_TAKE_OVER = (
    update(_T)
    .where(*_SCOPE, _T.c.created_at < bindparam("cutoff"))
    .values(
        request_hash=bindparam("request_hash"),
        status=bindparam("status"),
        response=bindparam("response"),
        created_at=bindparam("created_at"),
    )
)
_PURGE = delete(_T).where(_T.c.created_at < bindparam("cutoff"))


def find(
    session: Session,
    *,
    user_id: int,
    route: str,
    key: str,
    request_hash: str,
    now: dt.datetime,
) -> Stored | None:
    """The stored answer of ``key`` (None when it is unused or expired), in the caller's
    transaction; :class:`Invalid`, naming the header, when it came with another request."""
    row = (
        session.connection()
        .execute(_FIND, {"s_user_id": user_id, "s_route": route, "s_key": key})
        .one_or_none()
    )
    if row is None or row.created_at < _aware(now) - KEY_TTL:
        return None
    if row.request_hash != request_hash:
        raise Invalid(
            f"this {HEADER} was already used for another request (a different body or record): "
            "send a new key with a new submission",
            field=HEADER,
        )
    return Stored(int(row.status), json.loads(row.response))


def record(
    session: Session,
    *,
    user_id: int,
    route: str,
    key: str,
    request_hash: str,
    now: dt.datetime,
    status: int,
    body: object,
) -> None:
    """Store ``key`` with the answer of its request, in the transaction of the request's
    writes (after them). Raises :class:`KeyTaken` when another request holds the key: on
    PostgreSQL the insert first waits for that request's transaction to end."""
    conn = session.connection()
    cutoff = _aware(now) - KEY_TTL
    if time.monotonic() - _last_purge[0] >= PURGE_EVERY_SECONDS:
        _last_purge[0] = time.monotonic()
        conn.execute(_PURGE, {"cutoff": cutoff})
    values = {
        "request_hash": request_hash,
        "status": status,
        "response": json.dumps(body, ensure_ascii=False, allow_nan=False),
        "created_at": now,
    }
    inserted = conn.execute(
        _INSERT[conn.dialect.name], {"user_id": user_id, "route": route, "key": key, **values}
    ).scalar_one_or_none()
    if inserted is not None:
        return
    taken_over = conn.execute(  # an expired key is used again
        _TAKE_OVER,
        {"s_user_id": user_id, "s_route": route, "s_key": key, "cutoff": cutoff, **values},
    )
    if getattr(taken_over, "rowcount", 0) != 1:
        raise KeyTaken(key)


def _aware(now: dt.datetime) -> dt.datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
