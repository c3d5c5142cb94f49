"""Consent commands: sign (name checked against the record), withdraw, list, the PDF copy.

The clinician who witnesses or records is named with ``--by`` (their username), as on the web
the signed-in user is: the consent, its withdrawal and the audit rows carry who it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from glabella.cli.common import database, fail, run_service
from glabella.services import biomarker as bio_service
from glabella.services import consent as consent_service
from glabella.services import users as users_service

app = typer.Typer(
    help="Informed consent: sign, withdraw, list, PDF copy for the patient.",
    no_args_is_help=True,
)

BY = typer.Option(..., "--by", help="Username of the clinician recording it (recorded).")


@app.command("text")
def consent_text() -> None:
    """The consent text in force today (Markdown) with its version and SHA-256."""
    db = database()
    text = consent_service.current_text(db)
    typer.echo(json.dumps({"version": text.version, "sha256": text.sha256, "text": text.text}))


@app.command("sign")
def consent_sign(
    patient_id: int,
    name: str = typer.Option(..., "--name", help="The name the patient typed as signature."),
    by: str = BY,
    confirmed: bool = typer.Option(
        False, "--confirmed", help="The patient read the text, asked their questions, agrees."
    ),
    different_name_reason: str | None = typer.Option(
        None,
        "--different-name-reason",
        help="Only if the name does not match the record: why (e.g. a carer signed).",
    ),
    version: str | None = typer.Option(None, help="Version shown (default: the one in force)."),
) -> None:
    """Record a signed consent; a name that does not match the record is refused unless
    ``--different-name-reason`` says why."""
    db = database()
    actor = run_service(lambda: users_service.active_actor_named(db, by, "cli"))
    chosen = version or consent_service.current_text(db).version
    view = run_service(
        lambda: consent_service.sign_consent(
            db,
            actor,
            patient_id,
            chosen,
            name,
            confirmed,
            different_name_reason=different_name_reason,
        )
    )
    typer.echo(json.dumps(view.to_dict(), indent=2))


@app.command("list")
def consent_list(patient_id: int, by: str = BY) -> None:
    """A patient's consents with use and withdrawal (JSON)."""
    db = database()
    actor = run_service(lambda: users_service.active_actor_named(db, by, "cli"))
    rows = run_service(lambda: consent_service.list_consents(db, actor, patient_id))
    typer.echo(json.dumps([c.to_dict() for c in rows], indent=2))


@app.command("withdraw")
def consent_withdraw(
    patient_id: int,
    consent_id: int,
    reason: str = typer.Option(..., "--reason", help="The reason, as the patient gave it."),
    by: str = BY,
) -> None:
    """Record that the patient withdrew an unused consent (no treatment can use it after)."""
    db = database()
    actor = run_service(lambda: users_service.active_actor_named(db, by, "cli"))
    view = run_service(
        lambda: consent_service.withdraw_consent(db, actor, patient_id, consent_id, reason)
    )
    typer.echo(json.dumps(view.to_dict(), indent=2))


@app.command("withdraw-photo")
def photo_withdraw(
    patient_id: int,
    reason: str = typer.Option(..., "--reason", help="The reason, as the patient gave it."),
    by: str = BY,
) -> None:
    """Record that the patient withdrew their photo consent (no new photo after)."""
    db = database()
    actor = run_service(lambda: users_service.active_actor_named(db, by, "cli"))
    n = run_service(lambda: bio_service.withdraw_photo_consent(db, actor, patient_id, reason))
    typer.echo(json.dumps({"patient_id": patient_id, "withdrawn": n}))


@app.command("pdf")
def consent_pdf(
    patient_id: int,
    consent_id: int,
    out: Path = typer.Option(..., "--out", help="Where to write the PDF."),
    by: str = BY,
) -> None:
    """Write the patient's PDF copy of a signed consent."""
    from glabella.reports.consent_pdf import render_consent_pdf

    db = database()
    actor = run_service(lambda: users_service.active_actor_named(db, by, "cli"))
    doc = run_service(lambda: consent_service.consent_copy(db, actor, patient_id, consent_id))
    try:
        out.write_bytes(render_consent_pdf(doc))
    except OSError as exc:
        fail(f"{out}: {exc}")
    typer.echo(str(out))
