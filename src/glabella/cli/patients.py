"""`glabella patients`: the patient register."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from glabella.cli.common import cli_actor, console, database, run_service
from glabella.services import patients as patient_service

app = typer.Typer(help="The patient register.", no_args_is_help=True)


@app.command("add")
def add(
    mrn: str = typer.Option(..., help="Medical record number, unique in the clinic."),
    given_name: str = typer.Option(..., "--given-name"),
    family_name: str = typer.Option(..., "--family-name"),
    date_of_birth: str = typer.Option(..., "--dob", help="YYYY-MM-DD"),
    sex: str = typer.Option(..., help="female, male, other or unknown"),
    phone: str = typer.Option("", help="Optional."),
    email: str = typer.Option("", help="Optional."),
    as_json: bool = typer.Option(False, "--json", help="Print the new patient as JSON."),
) -> None:
    """Register a patient."""
    db = database()
    data = run_service(
        lambda: patient_service.parse_patient_input(
            {
                "mrn": mrn,
                "given_name": given_name,
                "family_name": family_name,
                "date_of_birth": date_of_birth,
                "sex": sex,
                "phone": phone,
                "email": email,
            }
        )
    )
    patient = run_service(lambda: patient_service.create_patient(db, cli_actor(db), data))
    if as_json:
        typer.echo(json.dumps(patient.to_dict()))
    else:
        typer.echo(f"registered patient {patient.id}: {patient.display_name} (MRN {patient.mrn})")


@app.command("list")
def list_(
    search: str = typer.Option("", "--search", "-s", help="Name, MRN or date of birth."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """List (or search) patients."""
    db = database()
    found = run_service(lambda: patient_service.search_patients(db, cli_actor(db), search))
    if as_json:
        typer.echo(json.dumps([p.to_dict() for p in found]))
        return
    table = Table("id", "MRN", "name", "date of birth", "sex")
    for p in found:
        table.add_row(str(p.id), p.mrn, p.display_name, p.date_of_birth.isoformat(), p.sex)
    console.print(table)
