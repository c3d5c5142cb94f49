"""`glabella export`: data leaving the clinic (de-identified research extract)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from glabella.cli.common import cli_actor, database, run_service
from glabella.services.research_export import export_research
from glabella.settings import get_settings

app = typer.Typer(help="Exports.", no_args_is_help=True)


@app.command("research")
def research(
    out: Path = typer.Option(..., "--out", help="A new (or empty) directory for the files."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty directory."),
) -> None:
    """De-identified CSV + Parquet tables with a data dictionary (see docs: research export)."""
    db = database()
    actor = cli_actor(db)
    key = get_settings().resolved_research_key()
    report = run_service(lambda: export_research(db, actor, key, out, overwrite=overwrite))
    typer.echo(json.dumps(report.to_dict(), indent=2))
