"""A process whose audit key is not the chain's key does not append to it (hazard H-065).

With several app processes on one database (README "Deployment"), one started without the
shared ``GLABELLA_AUDIT_KEY`` would generate a key file of its own and append rows whose HMACs
no other process can verify: ``glabella audit verify`` would then fail for ever after, and real
tampering would hide among the false alarms. :func:`audit.check_key` compares the newest keyed
record with this process's key; the app runs it at startup and refuses to serve on a mismatch.
Both backends (the ``db`` fixture); the two-process version is
tests/reliability/test_two_servers.py.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from glabella.services import audit
from glabella.services.context import Database
from glabella.settings import Settings
from glabella.web.app import create_app

OTHER = b"not the key of this chain"


def _append(db: Database, n: int) -> None:
    for i in range(n):
        with db.transaction() as session:
            audit.record(session, None, "test.event", "thing", i)


def test_an_empty_chain_has_nothing_to_check(db: Database) -> None:
    audit.check_key(db, OTHER)  # no record yet: any key may start the chain


def test_the_right_key_passes_and_another_is_refused(db: Database) -> None:
    _append(db, 3)
    audit.check_key(db)  # the key that wrote the rows
    with pytest.raises(audit.AuditKeyMismatch, match=r"seq 3\).*GLABELLA_AUDIT_KEY"):
        audit.check_key(db, OTHER)


def test_a_chain_ending_in_legacy_rows_is_not_checked(db: Database) -> None:
    """Rows before migration 0010 carry unkeyed hashes: no key can be checked against them."""
    _append(db, 2)
    with db.transaction() as session:
        session.execute(text("UPDATE audit_chain_state SET legacy_until_seq = 2 WHERE id = 1"))
    audit.check_key(db, OTHER)
    _append(db, 1)  # the first keyed row after them is checked again
    with pytest.raises(audit.AuditKeyMismatch):
        audit.check_key(db, OTHER)


def test_the_app_does_not_start_with_another_key(db: Database, settings: Settings) -> None:
    _append(db, 2)
    right = audit.current_key()
    wrong = settings.model_copy(update={"audit_key": OTHER.decode()})
    try:
        app = create_app(wrong, db)
        with pytest.raises(audit.AuditKeyMismatch), TestClient(app):
            pass
    finally:
        audit.use_key(right)  # create_app set the process key: give the other tests theirs
    with TestClient(create_app(settings, db)) as client:  # the right key starts and serves
        assert client.get("/healthz").status_code == 200
    report = audit.verify_chain(db)
    assert report.ok and report.records == 2
