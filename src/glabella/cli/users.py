"""`glabella users`: staff accounts."""

from __future__ import annotations

import typer

from glabella.cli.common import database, run_service
from glabella.services import users as user_service
from glabella.settings import get_settings

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


def _announce(username: str, password: str, base_url: str) -> None:
    typer.echo("")
    typer.echo("  First sign-in")
    typer.echo(f"    open      {base_url}/login")
    typer.echo(f"    username  {username}")
    typer.echo(f"    password  {password}   (one-time: you will be asked to choose your own)")
    typer.echo("")


@app.command("create-admin")
def create_admin(
    username: str = typer.Option("admin", help="Login name."),
    full_name: str = typer.Option("Administrator", help="Name shown in the app."),
) -> None:
    """Create an admin account and print its one-time password."""
    settings = get_settings()
    user, password = run_service(
        lambda: user_service.create_user(
            database(),
            username=username,
            full_name=full_name,
            role="admin",
            clinic_name=settings.clinic_name,
            timezone=settings.timezone,
        )
    )
    _announce(user.username, password, settings.base_url)


@app.command("ensure-admin")
def ensure_admin() -> None:
    """On an installation without users, create `admin` and print its one-time password."""
    settings = get_settings()
    created = user_service.ensure_admin(
        database(), clinic_name=settings.clinic_name, timezone=settings.timezone
    )
    if created is None:
        typer.echo(f"Sign in at {settings.base_url}/login with your account.")
        return
    user, password = created
    _announce(user.username, password, settings.base_url)


@app.command("add")
def add(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., help="admin, clinician, nurse, receptionist or researcher."),
    full_name: str = typer.Option("", help="Name shown in the app."),
    clinic: str = typer.Option(
        "", help="The clinic the account belongs to (created when missing); default: the first."
    ),
) -> None:
    """Create a staff account with a one-time password."""
    settings = get_settings()
    db = database()
    known = {c.name for c in user_service.list_clinics(db)}
    user, password = run_service(
        lambda: user_service.create_user(
            db,
            username=username,
            full_name=full_name,
            role=role,
            clinic_name=settings.clinic_name,
            timezone=settings.timezone,
            clinic=clinic or None,
        )
    )
    if clinic and " ".join(clinic.split()) not in known:
        typer.echo(f"created clinic {' '.join(clinic.split())!r}")
    _announce(user.username, password, settings.base_url)


@app.command("unlock")
def unlock(
    username: str = typer.Argument("", help="Login name."),
    address: str = typer.Option("", help="A source IP address whose sign-in delay to clear."),
) -> None:
    """Lift a sign-in lockout of a username, or the growing delay of a source address."""
    if not username and not address:
        typer.echo("error: give a USERNAME or --address A", err=True)
        raise typer.Exit(2)
    if username:
        lifted = run_service(lambda: user_service.unlock_user(database(), username))
        typer.echo(f"{username}: {'unlocked' if lifted else 'was not locked'}")
    if address:
        cleared = run_service(lambda: user_service.unlock_address(database(), address))
        typer.echo(f"{address}: {'unlocked' if cleared else 'had no failed sign-ins'}")
