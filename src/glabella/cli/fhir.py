"""`glabella fhir`: FHIR R4 export (Bundle or ndjson), import, and instruments as Questionnaires."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.exc import SQLAlchemyError

from glabella.cli.common import cli_actor, database, fail, run_service
from glabella.interop.fhir.export import bundle_entry
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
    if patient is not None and out is not None:
        _write_ndjson(out, run_service(lambda: fhir_service.export_patient(db, actor, patient)))
        return
    clinic = run_service(lambda: fhir_service.export_clinic(db, actor))
    try:
        if out is None:
            _echo_bundle(clinic)
        else:
            _write_ndjson(out, iter(clinic), clinic.patients)
    except SQLAlchemyError as exc:  # the database went away half-way through the stream
        if out is not None:
            out.unlink(missing_ok=True)
        fail(f"the export stopped: the database failed ({type(exc).__name__}); nothing was kept")


def _echo_bundle(resources: Iterable[dict[str, Any]]) -> None:
    """A collection Bundle on stdout, written as the resources stream in (not held in memory)."""
    out = sys.stdout
    out.write('{"resourceType": "Bundle", "type": "collection", "entry": [\n')
    for i, resource in enumerate(resources):
        out.write((",\n" if i else "") + json.dumps(bundle_entry(resource), ensure_ascii=False))
    out.write("\n]}\n")
    out.flush()


def _write_ndjson(
    path: Path, resources: Iterator[dict[str, Any]], patients: int | None = None
) -> None:
    """One resource per line, streamed to ``path`` (a partial file is removed on failure)."""
    written = 0
    try:
        with path.open("w", encoding="utf-8") as handle, Progress(
            TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TextColumn("patients"),
            console=Console(stderr=True), transient=True, disable=patients is None,
        ) as progress:  # fmt: skip
            task = progress.add_task("export", total=patients)
            for resource in resources:
                handle.write(json.dumps(resource, ensure_ascii=False) + "\n")
                written += 1
                if resource["resourceType"] == "Patient":
                    progress.advance(task)
    except OSError as exc:
        path.unlink(missing_ok=True)
        fail(f"cannot write {path}: {exc.strerror}")
    typer.echo(f"wrote {written} resources to {path}")


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
