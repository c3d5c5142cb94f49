"""The `glabella` command line: one Typer app, one module per command group.

Each module under ``glabella.cli`` is a thin adapter over the domain and services layers.
"""

from __future__ import annotations

import typer

from glabella.cli import analytics as analytics_cli
from glabella.cli import audit, backup, db, evidence, instruments, meta, pathway, patients, users
from glabella.cli import biomarker as biomarker_cli
from glabella.cli import demo as demo_cli
from glabella.cli import export as export_cli
from glabella.cli import fhir as fhir_cli
from glabella.cli import plan as plan_cli
from glabella.cli import report as report_cli

app = typer.Typer(
    name="glabella",
    help="Glabella: botulinum toxin A for depression, from evidence to bedside and back.",
    no_args_is_help=True,
    add_completion=False,
)

app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(patients.app, name="patients")
app.add_typer(instruments.app, name="instruments")
app.command("score")(instruments.score_command)
app.command("meta")(meta.meta_command)
app.add_typer(evidence.app, name="evidence")
app.add_typer(pathway.products_app, name="products")
app.add_typer(pathway.protocols_app, name="protocols")
app.add_typer(pathway.eligibility_app, name="eligibility")
app.add_typer(pathway.treatments_app, name="treatments")
app.add_typer(pathway.followup_app, name="followup")
app.add_typer(audit.app, name="audit")
app.add_typer(report_cli.app, name="report")
app.add_typer(fhir_cli.app, name="fhir")
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
app.add_typer(demo_cli.app, name="demo")
app.add_typer(export_cli.app, name="export")
app.command("analytics")(analytics_cli.analytics_command)
app.add_typer(plan_cli.app, name="plan")
app.add_typer(biomarker_cli.app, name="biomarker")

__all__ = ["app"]
