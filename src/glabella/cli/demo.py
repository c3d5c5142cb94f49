"""`glabella demo`: a synthetic clinic for demonstrations, tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import json

import typer

from glabella.cli.common import cli_actor, database, fail, run_service
from glabella.demo.params import DemoParameters
from glabella.services.demo_load import generate_clinic

app = typer.Typer(help="Synthetic data (clearly marked as such).", no_args_is_help=True)


@app.command("generate")
def generate(
    patients: int = typer.Option(..., "--patients", help="How many synthetic patients."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed, the same clinic."),
    as_of: str = typer.Option(
        "", "--as-of", help="The clinic's 'now' (ISO date-time with offset); default: now."
    ),
    items: bool = typer.Option(
        True, "--items/--no-items", help="Store item answers (--no-items: totals only, faster)."
    ),
) -> None:
    """Fill the clinic with synthetic patients, treatments, trajectories and adverse events.

    Parameters and their reasons: docs/demo-data.md. Every name, number and date is invented.
    """
    moment = None
    if as_of:
        try:
            moment = dt.datetime.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of: {as_of!r} is not an ISO date-time")
        if moment.tzinfo is None:
            fail("--as-of: give a timezone offset, e.g. 2026-11-01T12:00:00+00:00")
    try:
        params = DemoParameters(patients=patients, seed=seed, as_of=moment, item_answers=items)
    except ValueError as exc:
        fail(f"--patients/--seed: {exc}")
    db = database()
    actor = cli_actor(db)
    report = run_service(lambda: generate_clinic(db, actor, params))
    typer.echo(json.dumps(report.to_dict(), indent=2))
