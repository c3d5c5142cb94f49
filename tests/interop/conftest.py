"""Fixtures of the FHIR tests.

``seeded`` runs on every backend of the ``db`` fixture (the round trip must hold on SQLite
and PostgreSQL); ``seeded_sqlite`` runs once, on SQLite, for the tests of input handling,
HTTP and CLI adapters whose behaviour does not depend on the database (keeps the suite lean).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fhir_seed import Seeded, seed

from glabella.services.context import Actor, Database
from glabella.services.users import create_user

PASSWORD = "correct horse battery staple"


@pytest.fixture
def seeded(db: Database, actor: Actor) -> Seeded:
    """One patient with 4 assessments, a consent, a treatment and an adverse event."""
    return seed(db, actor)


@pytest.fixture
def seeded_sqlite(database_url: str) -> Iterator[Seeded]:
    """The same chart on a fresh SQLite database, entered by clinician ``dr.rivera``."""
    db = Database.from_url(database_url)
    try:
        user, _ = create_user(
            db, username="dr.rivera", full_name="Dr Rivera", role="clinician", password=PASSWORD
        )
        yield seed(db, user.actor("test"))
    finally:
        db.engine.dispose()
