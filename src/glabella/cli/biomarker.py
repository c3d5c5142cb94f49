"""`glabella biomarker measure rest.jpg frown.jpg`: the frown activity index of a photo pair."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from glabella.clinic.biomarker import (
    MAX_BYTES,
    ImageInputError,
    PhotoQualityError,
    decode_image,
    frown_activity_index,
    measure_photo,
)

app = typer.Typer(help="Frown biomarker from rest and maximal-frown photos", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {message}", markup=False)
    raise typer.Exit(code=2)


def _read(path: Path, field: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            _fail(f"{field}: the file has {size} bytes; at most {MAX_BYTES} are accepted")
        return path.read_bytes()
    except OSError as exc:
        _fail(f"{field}: cannot read {path} ({exc.strerror})")


@app.command("measure")
def measure_command(
    rest: Path = typer.Argument(..., help="photo of the face at rest"),
    frown: Path = typer.Argument(..., help="photo of the face at maximal frown"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Measure both photos and print the frown activity index and its components."""
    try:
        rest_m = measure_photo(decode_image(_read(rest, "rest"), "rest"), "rest")
        frown_m = measure_photo(decode_image(_read(frown, "frown"), "frown"), "frown")
    except (ImageInputError, PhotoQualityError) as exc:
        _fail(str(exc))
    pair = frown_activity_index(rest_m, frown_m)
    if as_json:
        typer.echo(json.dumps(asdict(pair), indent=2))
        return
    typer.echo(f"frown activity index: {pair.index:.1f}")
    typer.echo(f"inner-brow approach: {pair.brow_approach:.3f} IOD")
    typer.echo(f"brow lowering: {pair.brow_lowering:.3f} IOD")
    typer.echo(f"glabellar line change: {pair.line_change:+.3f}")


@app.command("rate")
def rate_command(
    patient_id: int = typer.Argument(..., help="the patient's id"),
    rest: int = typer.Option(
        ..., "--rest", help="severity at rest: 0 none, 1 mild, 2 moderate, 3 severe"
    ),
    frown: int = typer.Option(
        ..., "--frown", help="severity at maximal frown: 0 none, 1 mild, 2 moderate, 3 severe"
    ),
) -> None:
    """Record the clinician-rated glabellar line severity (instrument ``gls``) and print JSON."""
    from glabella.cli.common import cli_actor, database, run_service
    from glabella.services import assessments as assessment_service

    db = database()
    actor = cli_actor(db)
    answers = {"gls_1": rest, "gls_2": frown}
    result = run_service(
        lambda: assessment_service.submit_assessment(db, actor, patient_id, "gls", answers)
    )
    typer.echo(json.dumps(result.assessment.to_dict(), indent=2, default=str))


@app.command("consent")
def consent_command(
    patient_id: int = typer.Argument(..., help="the patient's id"),
    research: bool = typer.Option(
        False, "--research", help="the patient also allows the numeric measures in research"
    ),
    confirmed: bool = typer.Option(
        False, "--confirmed", help="the patient has agreed to clinical photographs (required)"
    ),
) -> None:
    """Record the patient's separate photo consent (needed before any photo is stored)."""
    from glabella.cli.common import cli_actor, database, run_service
    from glabella.services import biomarker as bio_service

    db = database()
    actor = cli_actor(db)
    consent_id = run_service(
        lambda: bio_service.grant_photo_consent(
            db, actor, patient_id, allow_research=research, confirmed=confirmed
        )
    )
    typer.echo(json.dumps({"photo_consent_id": consent_id, "research": research}))


@app.command("upload")
def upload_command(
    patient_id: int = typer.Argument(..., help="the patient's id"),
    rest: Path = typer.Argument(..., help="photo of the face at rest"),
    frown: Path = typer.Argument(..., help="photo of the face at maximal frown"),
) -> None:
    """Check, measure and store a photo pair for a patient (encrypted); print the measures."""
    from glabella.cli.common import cli_actor, database, run_service
    from glabella.services import biomarker as bio_service
    from glabella.settings import get_settings

    rest_bytes, frown_bytes = _read(rest, "rest"), _read(frown, "frown")
    key = get_settings().resolved_photo_key()
    db = database()
    actor = cli_actor(db)
    view = run_service(
        lambda: bio_service.submit_photos(db, actor, patient_id, rest_bytes, frown_bytes, key)
    )
    typer.echo(json.dumps(view.to_dict(), indent=2, default=str))


@app.command("photos")
def photos_command(patient_id: int = typer.Argument(..., help="the patient's id")) -> None:
    """List the patient's photo pairs and their measures (the images are not shown)."""
    from glabella.cli.common import cli_actor, database, run_service
    from glabella.services import biomarker as bio_service

    db = database()
    actor = cli_actor(db)
    pairs = run_service(lambda: bio_service.list_pairs(db, actor, patient_id))
    typer.echo(json.dumps([p.to_dict() for p in pairs], indent=2, default=str))


@app.command("delete-photos")
def delete_photos_command(
    patient_id: int = typer.Argument(..., help="the patient's id"),
    pair: int | None = typer.Option(None, "--pair", help="only this pair (default: all)"),
    yes: bool = typer.Option(False, "--yes", help="confirm: the images cannot be recovered"),
) -> None:
    """Delete the patient's photos on request: the images go, the measures stay (audited)."""
    from glabella.cli.common import cli_actor, database, run_service
    from glabella.services import biomarker as bio_service

    if not yes:
        _fail("deleting photos cannot be undone: add --yes to confirm")
    db = database()
    actor = cli_actor(db)
    n = run_service(lambda: bio_service.delete_images(db, actor, patient_id, pair))
    typer.echo(json.dumps({"deleted_pairs": n, "measures_kept": True}))
