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
