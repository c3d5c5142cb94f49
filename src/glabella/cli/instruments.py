"""`glabella instruments` and `glabella score` commands (pure scoring, no database)."""

from __future__ import annotations

import json
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from glabella.clinic import instruments, safety

app = typer.Typer(help="Validated instruments (PHQ-9, GAD-7, ...)", no_args_is_help=True)


def _console(*, stderr: bool = False) -> Console:
    """A console for this invocation (built per call so it sees the current terminal)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    """A clear message on stderr and exit code 2; never a traceback."""
    _console(stderr=True).print(f"error: {message}", markup=False)
    raise typer.Exit(code=2)


def _instrument(instrument_id: str) -> instruments.Instrument:
    """The instrument named on the command line ("phq9", "PHQ-9" and "phq-9" all work)."""
    try:
        return instruments.get(instrument_id.strip().lower().replace("-", ""))
    except instruments.InstrumentError as exc:
        _fail(str(exc))


@app.command("list")
def list_command() -> None:
    """List every instrument with its range, respondent and licence source."""
    table = Table(title="Instruments")
    table.add_column("id", no_wrap=True, min_width=4)
    table.add_column("name", min_width=10)
    for column in ("items", "range", "respondent", "LOINC panel"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    table.add_column("licence source", overflow="ellipsis", max_width=48, min_width=10)
    for instrument in instruments.all_instruments():
        table.add_row(
            instrument.id,
            f"{instrument.short_name}: {instrument.name}",
            str(len(instrument.items)),
            f"{instrument.min_total}-{instrument.max_total}",
            instrument.respondent,
            instrument.loinc_panel or "-",
            instrument.licence_source,
        )
    _console().print(table)


@app.command("show")
def show_command(instrument_id: str = typer.Argument(..., help="e.g. phq9")) -> None:
    """Show an instrument: items with their options, bands, licence and citation."""
    instrument = _instrument(instrument_id)
    _out = _console()
    _out.print(f"{instrument.short_name}: {instrument.name} ({instrument.id})", markup=False)
    _out.print(instrument.preamble, markup=False)
    for item in instrument.items:
        note = "" if item.scored else "  [not scored]"
        _out.print(f"\n{item.number}. {item.text}{note}  ({item.id})", markup=False)
        for option in item.options:
            _out.print(f"   {option.value} = {option.label}", markup=False)
    _out.print("\nBands:", markup=False)
    for band in instrument.bands:
        _out.print(f"   {band.min}-{band.max}: {band.label}", markup=False)
    _out.print(f"\nMissing items: {instrument.missing_rule}", markup=False)
    _out.print(f"Licence: {instrument.licence} ({instrument.licence_source})", markup=False)
    _out.print(f"Citation: {instrument.citation}", markup=False)
    loinc = ", ".join(
        f"{label} {code}"
        for label, code in (("panel", instrument.loinc_panel), ("total", instrument.loinc_total))
        if code
    )
    _out.print(f"LOINC: {loinc or 'none verified'}", markup=False)


def parse_answers(instrument: instruments.Instrument, text: str) -> dict[str, int]:
    """Answers from ``"1,0,2,..."`` (in item order; empty = unanswered) or ``"phq9_1=2,..."``.

    Raises :class:`InstrumentError` naming the position or item of anything unreadable.
    """
    answers: dict[str, int] = {}
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > len(instrument.items):
        raise instruments.InstrumentError(
            f"{len(parts)} answers given; {instrument.short_name} has "
            f"{len(instrument.items)} items",
            instrument_id=instrument.id,
        )
    for position, part in enumerate(parts):
        if not part:
            continue
        if "=" in part:
            item_id, _, raw = (p.strip() for p in part.partition("="))
        else:
            item_id, raw = instrument.items[position].id, part
        if item_id in answers:
            raise instruments.InstrumentError(
                "answered twice", instrument_id=instrument.id, item_id=item_id
            )
        try:
            answers[item_id] = int(raw)
        except ValueError:
            raise instruments.InstrumentError(
                f"{instrument.short_name} answer {position + 1} ({item_id}): "
                f"{raw!r} is not a whole number",
                instrument_id=instrument.id,
                item_id=item_id,
            ) from None
    return answers


def score_command(
    instrument_id: str = typer.Argument(..., metavar="INSTRUMENT", help="e.g. phq9"),
    answers: str = typer.Option(
        ..., "--answers", "-a", help="Values in item order, e.g. 1,0,2,... (or phq9_1=1,...)"
    ),
) -> None:
    """Score answers for an instrument and print JSON: total, band, answers, alerts."""
    instrument = _instrument(instrument_id)
    try:
        scored = instruments.score(instrument, parse_answers(instrument, answers))
        alerts = safety.check(scored)
    except instruments.InstrumentError as exc:
        _fail(str(exc))
    result = {
        "instrument": scored.instrument_id,
        "total": scored.total,
        "band": scored.band.label,
        "answers": dict(scored.answers),
        "alerts": [
            {
                "kind": alert.kind,
                "level": alert.level,
                "item": alert.item_id,
                "value": alert.value,
                "message": alert.message,
            }
            for alert in alerts
        ],
    }
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
