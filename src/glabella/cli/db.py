"""`glabella db`: schema migrations."""

from __future__ import annotations

import typer

from glabella.settings import get_settings
from glabella.store import migrate

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations (creates the SQLite file under ./var on first run)."""
    url = get_settings().resolved_database_url()
    migrate.upgrade(url, revision)
    typer.echo(f"database at revision {revision}")
