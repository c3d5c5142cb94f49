"""`glabella audit`: check the keyed audit chain, and write signed checkpoints of its head."""

from __future__ import annotations

import typer

from glabella.cli.common import database, fail
from glabella.services import audit as audit_service
from glabella.settings import get_settings

app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Walk the audit chain and the signed checkpoints; exit 1 naming what was tampered with."""
    path = get_settings().resolved_checkpoint_file()
    report = audit_service.verify_chain(database(check_audit_key=False), path)
    if report.ok:
        typer.echo(
            f"audit chain ok: {report.records} records, head hash {report.head_hash}, "
            f"{report.checkpoints} signed checkpoint(s) in {path} agree"
        )
        return
    where = (
        f" at record id {report.broken_id} (seq {report.broken_seq})"
        if report.broken_id is not None
        else ""
    )
    typer.echo(
        f"audit chain BROKEN{where}: {report.reason}; {report.records} records before it verify",
        err=True,
    )
    raise typer.Exit(code=1)


@app.command("checkpoint")
def checkpoint(
    print_: bool = typer.Option(
        False, "--print", help="Print the signed checkpoint in full, to keep off-site."
    ),
) -> None:
    """Verify the chain, then append a signed checkpoint (count, head hash, time) to the
    checkpoint file; removal of the newest records is found against it."""
    path = get_settings().resolved_checkpoint_file()
    try:
        cp = audit_service.write_checkpoint(database(check_audit_key=False), path)
    except audit_service.CheckpointError as exc:
        fail(str(exc), code=1)
    typer.echo(f"checkpoint written to {path}: {cp.count} records, head hash {cp.head_hash}")
    if print_:
        typer.echo("")
        typer.echo("Glabella audit checkpoint (keep this off-site)")
        typer.echo(f"  time            {cp.time}")
        typer.echo(f"  records         {cp.count}")
        typer.echo(f"  head hash       {cp.head_hash}")
        typer.echo(f"  legacy boundary {cp.legacy_until}")
        typer.echo(f"  signature       {cp.signature}")
        typer.echo(f"  line            {cp.line()}")
