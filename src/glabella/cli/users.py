"""`glabella users` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="users commands", no_args_is_help=True)
