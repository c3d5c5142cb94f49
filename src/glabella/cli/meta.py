"""`glabella meta` command."""

from __future__ import annotations

import typer


def meta_command(file: str) -> None:
    """Meta-analysis of a CSV file (placeholder until the engine lands)."""
    raise typer.Exit(code=2)
