"""`glabella audit`: check the hash-chained audit trail."""

from __future__ import annotations

import typer

from glabella.cli.common import database
from glabella.services import audit as audit_service

app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Walk the audit chain; exit 1 naming the first broken record when it was tampered with."""
    report = audit_service.verify_chain(database())
    if report.ok:
        typer.echo(f"audit chain ok: {report.records} records, head hash {report.head_hash}")
        typer.echo("keep the head hash somewhere else to detect removal of the newest records")
        return
    typer.echo(
        f"audit chain BROKEN at record id {report.broken_id} (seq {report.broken_seq}): "
        f"{report.reason}; {report.records} records before it verify",
        err=True,
    )
    raise typer.Exit(code=1)
