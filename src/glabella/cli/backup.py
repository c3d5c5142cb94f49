"""`glabella backup FILE` / `glabella restore FILE`: consistent online backup, both backends."""

from __future__ import annotations

from pathlib import Path

import typer

from glabella.cli.common import database, run_service
from glabella.services import backup as backup_service


def backup_command(
    file: Path = typer.Argument(..., help="Where to write the backup (JSON lines)."),
) -> None:
    """Write a consistent snapshot of every table while the app keeps running."""
    summary = backup_service.backup(database(), file)
    typer.echo(
        f"backed up {summary.rows} rows of {len(summary.tables)} tables "
        f"(schema revision {summary.revision}) to {file}"
    )


def restore_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A backup file."),
) -> None:
    """Load a backup into an empty database (run `glabella db upgrade` first)."""
    summary = run_service(lambda: backup_service.restore(database(), file))
    typer.echo(f"restored {summary.rows} rows of {len(summary.tables)} tables from {file}")
