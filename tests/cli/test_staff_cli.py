"""`glabella users list | deactivate | reactivate | reset-password | set` against a database."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from glabella.cli import app as cli_app
from glabella.services import users
from glabella.services.context import Database
from glabella.settings import get_settings

PASSWORD = "correct horse battery staple"


def _run(db: Database, *args: str) -> Result:
    get_settings.cache_clear()
    try:
        url = db.engine.url.render_as_string(hide_password=False)
        return CliRunner().invoke(cli_app, list(args), env={"GLABELLA_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()


def test_staff_commands_change_accounts_and_refuse_clearly(db: Database) -> None:
    admin, _ = users.create_user(
        db, username="boss", full_name="Bo Boss", role="admin", password=PASSWORD
    )
    nurse, _ = users.create_user(
        db, username="n.cli", full_name="Nat Cli", role="nurse", password=PASSWORD
    )
    listed = _run(db, "users", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if line.startswith("n.cli"))
    assert row.split()[:4] == ["n.cli", "Nurse", "Glabella", "Clinic"]
    assert "active" in row and "Nat Cli" in row

    assert _run(db, "users", "deactivate", "n.cli").exit_code == 0
    assert users.get_user(db, nurse.id) is None
    assert "deactivated" in _run(db, "users", "list").output
    assert _run(db, "users", "reactivate", "n.cli").exit_code == 0

    reset = _run(db, "users", "reset-password", "n.cli")
    assert reset.exit_code == 0 and "one-time" in reset.output
    one_time = next(
        line.split()[1] for line in reset.output.splitlines() if line.strip().startswith("password")
    )
    assert users.authenticate(db, "n.cli", one_time, None).must_change_password

    users.create_clinic(db, "North Clinic")
    moved = _run(db, "users", "set", "n.cli", "--role", "clinician", "--clinic", "North Clinic")
    assert moved.exit_code == 0 and "Clinician, North Clinic" in moved.output

    last = _run(db, "users", "set", "boss", "--role", "nurse")
    assert last.exit_code == 2 and "boss is the last active administrator" in last.output
    assert users.get_user(db, admin.id).role == "admin"  # type: ignore[union-attr]
    missing = _run(db, "users", "deactivate", "nobody")
    assert missing.exit_code == 2 and "no staff account 'nobody'" in missing.output
    nowhere = _run(db, "users", "set", "n.cli", "--clinic", "Atlantis")
    assert nowhere.exit_code == 2 and "no clinic named 'Atlantis'" in nowhere.output
