"""Alembic environment: runs migrations online against the configured URL."""

from __future__ import annotations

from alembic import context

import glabella.store.analytics
import glabella.store.biomarker
import glabella.store.delivery
import glabella.store.pathway  # noqa: F401  (registers the pathway tables)
from glabella.store import reports  # noqa: F401  (registers the consultation-report tables)
from glabella.store.database import make_engine
from glabella.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations in a transaction on one connection."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
