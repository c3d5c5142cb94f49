"""`glabella patients` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="patients commands", no_args_is_help=True)
