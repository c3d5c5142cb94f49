"""`glabella fhir`: FHIR R4 export (Bundle or ndjson), import, and instruments as Questionnaires."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from glabella.cli.common import cli_actor, database, fail, run_service
from glabella.interop.fhir.export import bundle as bundle_of
from glabella.services import fhir as fhir_service

app = typer.Typer(help="FHIR R4 exchange (application/fhir+json).", no_args_is_help=True)


@app.command("questionnaire")
def questionnaire(instrument: str = typer.Argument(..., help="Instrument id, e.g. phq9.")) -> None:
    """Print an instrument as a FHIR Questionnaire (JSON)."""
    resource = run_service(lambda: fhir_service.questionnaire(instrument))
    typer.echo(json.dumps(resource, indent=2, ensure_ascii=False))


@app.command("export")
def export(
    patient: int | None = typer.Option(None, "--patient", help="One patient's id."),
    all_: bool = typer.Option(False, "--all", help="Every patient of the clinic."),
    out: Path | None = typer.Option(
        None, "--out", help="Write ndjson (one resource per line) to this file."
    ),
) -> None:
    """Export one patient (--patient ID) or the clinic (--all): a Bundle on stdout, or ndjson
    (one resource per line, for bulk loading) with --out FILE."""
    if (patient is None) == (not all_):
        fail("give either --patient ID or --all")
    db = database()
    actor = cli_actor(db)
    if patient is not None and out is None:
        bundle = run_service(lambda: fhir_service.patient_everything(db, actor, patient))
        typer.echo(json.dumps(bundle, indent=2, ensure_ascii=False))
        return
    if patient is not None:
        resources = list(run_service(lambda: fhir_service.export_patient(db, actor, patient)))
    else:
        resources = list(run_service(lambda: fhir_service.export_clinic(db, actor)))
    if out is None:
        typer.echo(json.dumps(bundle_of(resources), indent=2, ensure_ascii=False))
        return
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in resources)
    try:
        out.write_text(lines, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    typer.echo(f"wrote {len(resources)} resources to {out}")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="A Bundle, one QuestionnaireResponse, or ndjson."),
) -> None:
    """Import a FHIR document into the clinic (all or nothing); prints what was stored."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    db = database()
    documents = run_service(lambda: fhir_service.read_document(text, file.name))
    document = fhir_service.as_bundle(documents)
    report = run_service(lambda: fhir_service.import_document(db, cli_actor(db), document))
    typer.echo(json.dumps(report.to_dict()))
