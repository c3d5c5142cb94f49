"""`glabella report`: the personalised consultation report as a PDF (or JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from glabella.cli.common import cli_actor, console, database, fail, run_service
from glabella.reports.i18n import LANGUAGES
from glabella.reports.model import CONDITIONS
from glabella.reports.render import RenderMeta, render_pdf
from glabella.services import reports as report_service

app = typer.Typer(help="Consultation reports (PDF, A4).", no_args_is_help=True)


def _write(result: report_service.GeneratedReport, out: Path, as_json: bool) -> None:
    if as_json:
        data = {
            "record": result.record.to_dict() if result.record else None,
            "content_hash": result.report.content_hash(),
            "identical": result.identical,
            "note": result.note,
            "report": result.report.to_dict(),
        }
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if str(out) == "-":
            console.print_json(text)
            return
        out.write_text(text + "\n", encoding="utf-8")
    else:
        if str(out) == "-":
            fail("a PDF cannot be written to the terminal: give --out FILE.pdf")
        meta = RenderMeta(
            report_id=result.record.id if result.record else None,
            content_hash=result.record.content_hash if result.record else None,
        )
        out.write_bytes(render_pdf(result.report, result.lang, meta))
    rec = result.record
    console.print(
        f"wrote {out}"
        + (f" (report record {rec.id}, evidence {rec.evidence_version})" if rec else ""),
        highlight=False,
    )


@app.command("consultation")
def consultation(
    patient_id: int = typer.Argument(..., help="The patient's id in this installation."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (PDF, or JSON with --json)."),
    lang: str = typer.Option("en", "--lang", help=f"Language: {', '.join(LANGUAGES)}."),
    condition: str = typer.Option("mdd", "--condition", help=f"One of {', '.join(CONDITIONS)}."),
    protocol: str | None = typer.Option(None, "--protocol", help="Planned protocol id."),
    as_json: bool = typer.Option(False, "--json", help="Write the report data as JSON."),
) -> None:
    """Generate, record and write a patient's consultation report."""
    if lang not in LANGUAGES:
        fail(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    if condition not in CONDITIONS:
        fail(f"--condition must be one of {', '.join(CONDITIONS)}, got {condition!r}")
    if not out.parent.exists():
        fail(f"--out: the folder {out.parent} does not exist")
    db = database()
    actor = cli_actor(db)
    result = run_service(
        lambda: report_service.generate_report(
            db, actor, patient_id, condition=condition, lang=lang, protocol_id=protocol
        )
    )
    _write(result, out, as_json)


@app.command("regenerate")
def regenerate(
    report_id: int = typer.Argument(..., help="The id of a recorded report."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (PDF, or JSON with --json)."),
    as_json: bool = typer.Option(False, "--json", help="Write the report data as JSON."),
) -> None:
    """Rebuild a recorded report from its stored snapshot and evidence version."""
    if not out.parent.exists():
        fail(f"--out: the folder {out.parent} does not exist")
    db = database()
    actor = cli_actor(db)
    result = run_service(lambda: report_service.regenerate_report(db, actor, report_id))
    _write(result, out, as_json)
    if result.identical is False:
        fail(result.note or "the rebuilt report differs from the recorded one", code=3)


@app.command("list")
def list_reports(patient_id: int = typer.Argument(..., help="The patient's id.")) -> None:
    """A patient's recorded reports, newest first (JSON)."""
    db = database()
    actor = cli_actor(db)
    rows = run_service(lambda: report_service.list_reports(db, actor, patient_id))
    console.print_json(json.dumps([r.to_dict() for r in rows]))
