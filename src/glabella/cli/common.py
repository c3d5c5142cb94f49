"""Shared bits of the CLI adapters: database handle, the CLI's actor, error reporting."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import ServiceError
from glabella.services.roles import Role
from glabella.services.users import default_clinic
from glabella.settings import get_settings

T = TypeVar("T")

err_console = Console(stderr=True)
console = Console()


def database(*, check_audit_key: bool = True) -> Database:
    """The database the settings point at (migrated by `glabella db upgrade`).

    A command run with another audit key than the chain's (a host without the shared
    ``GLABELLA_AUDIT_KEY`` generates a key file of its own) would append rows that break the
    chain for every process: it stops here naming the key, before anything is written
    (hazard H-065). ``glabella audit verify`` / ``checkpoint`` skip this and report the chain
    themselves.
    """
    db = Database.from_url(get_settings().resolved_database_url())
    if check_audit_key:
        try:
            audit.check_key(db)
        except audit.AuditKeyMismatch as exc:
            db.engine.dispose()
            fail(str(exc))
        except SQLAlchemyError:  # not migrated (yet): the command itself says what is wrong
            pass
    return db


def cli_actor(db: Database) -> Actor:
    """The operator at the terminal: admin rights in the installation's first clinic."""
    settings = get_settings()
    with db.transaction() as session:
        clinic = default_clinic(session, settings.clinic_name, settings.timezone)
        clinic_id = clinic.id
    return Actor(user_id=None, username="cli", role=Role.ADMIN, clinic_id=clinic_id, source="cli")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error to stderr and exit (never a traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=code)


def run_service(call: Callable[[], T]) -> T:
    """Run a use case, turning a ``ServiceError`` into a clean CLI error."""
    try:
        return call()
    except ServiceError as exc:
        where = f" ({exc.field})" if exc.field else ""
        fail(f"{exc.message}{where}")


def is_tty() -> bool:
    return sys.stdout.isatty()
