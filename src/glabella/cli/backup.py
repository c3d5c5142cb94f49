"""`glabella backup FILE` / `glabella restore FILE`: consistent online backup, both backends."""

from __future__ import annotations

from pathlib import Path

import typer

from glabella.cli.common import database, run_service
from glabella.services import audit
from glabella.services import backup as backup_service
from glabella.services.context import Database


def _audit(db: Database, action: str, rows: int) -> None:
    """A backup reads, a restore writes, every patient's data: both go on the audit trail
    (after the snapshot / the restored rows, chained onto the trail's head)."""
    with db.transaction() as session:
        audit.record(session, None, action, "database", None, rows=rows, via="cli")


def backup_command(
    file: Path = typer.Argument(..., help="Where to write the backup (JSON lines)."),
) -> None:
    """Write a consistent snapshot of every table while the app keeps running."""
    db = database()
    summary = backup_service.backup(db, file)
    _audit(db, "backup.create", summary.rows)
    typer.echo(
        f"backed up {summary.rows} rows of {len(summary.tables)} tables "
        f"(schema revision {summary.revision}) to {file}"
    )


def restore_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A backup file."),
) -> None:
    """Load a backup into an empty database (run `glabella db upgrade` first)."""
    db = database()
    summary = run_service(lambda: backup_service.restore(db, file))
    _audit(db, "backup.restore", summary.rows)
    typer.echo(f"restored {summary.rows} rows of {len(summary.tables)} tables from {file}")
