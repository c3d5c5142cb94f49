"""`glabella instruments` and `glabella score` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Validated instruments (PHQ-9, GAD-7, ...)", no_args_is_help=True)


def score_command(instrument: str) -> None:
    """Score answers for an instrument (placeholder until the engine lands)."""
    raise typer.Exit(code=2)
