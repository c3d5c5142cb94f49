"""`glabella users`: staff accounts."""

from __future__ import annotations

import typer

from glabella.cli.common import cli_actor, database, run_service
from glabella.services import staff as staff_service
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
    _announce(user.username, password, settings.public_base_url())


@app.command("ensure-admin")
def ensure_admin() -> None:
    """On an installation without users, create `admin` and print its one-time password."""
    settings = get_settings()
    created = user_service.ensure_admin(
        database(), clinic_name=settings.clinic_name, timezone=settings.timezone
    )
    if created is None:
        typer.echo(f"Sign in at {settings.public_base_url()}/login with your account.")
        return
    user, password = created
    _announce(user.username, password, settings.public_base_url())


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
    _announce(user.username, password, settings.public_base_url())


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


@app.command("list")
def list_staff() -> None:
    """Every staff account: username, name, role, clinic, active, locked, two-factor."""
    db = database()
    members = run_service(lambda: staff_service.list_staff(db, cli_actor(db)))
    typer.echo(f"{'username':<20} {'role':<14} {'clinic':<22} {'status':<12} 2FA  name")
    for m in members:
        status = "deactivated" if not m.active else ("locked" if m.locked else "active")
        typer.echo(
            f"{m.username:<20} {m.role_label:<14} {m.clinic_name[:22]:<22} {status:<12} "
            f"{'on ' if m.totp_enabled else 'off'}  {m.full_name}"
        )


@app.command("deactivate")
def deactivate(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Deactivate an account: its sessions end at once and it cannot sign in."""
    db = database()
    member = run_service(
        lambda: staff_service.set_active(
            db, cli_actor(db), staff_service.find_id(db, username), False
        )
    )
    typer.echo(f"{member.username}: deactivated (its sessions have ended)")


@app.command("reactivate")
def reactivate(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Let a deactivated account sign in again."""
    db = database()
    member = run_service(
        lambda: staff_service.set_active(
            db, cli_actor(db), staff_service.find_id(db, username), True
        )
    )
    typer.echo(f"{member.username}: active")


@app.command("reset-password")
def reset_password(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Give an account a new one-time password (its sessions end; it must choose its own)."""
    db = database()
    member, password = run_service(
        lambda: staff_service.reset_password(db, cli_actor(db), staff_service.find_id(db, username))
    )
    _announce(member.username, password, get_settings().public_base_url())


@app.command("set")
def set_role_or_clinic(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option("", help="admin, clinician, nurse, receptionist or researcher."),
    clinic: str = typer.Option("", help="The name of an existing clinic to move the account to."),
) -> None:
    """Change an account's role or clinic (the last active admin keeps the admin role)."""
    if not role and not clinic:
        typer.echo("error: give --role or --clinic", err=True)
        raise typer.Exit(2)
    db = database()
    clinic_id: int | None = None
    if clinic:
        wanted = " ".join(clinic.split())
        found = [c.id for c in user_service.list_clinics(db) if c.name == wanted]
        if not found:
            typer.echo(f"error: clinic: no clinic named {wanted!r}", err=True)
            raise typer.Exit(2)
        clinic_id = found[0]
    member = run_service(
        lambda: staff_service.update_staff(
            db,
            cli_actor(db),
            staff_service.find_id(db, username),
            role=role or None,
            clinic_id=clinic_id,
        )
    )
    typer.echo(f"{member.username}: {member.role_label}, {member.clinic_name}")
