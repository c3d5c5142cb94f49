"""The `glabella` command line: one Typer app, one module per command group.

Each module under ``glabella.cli`` is a thin adapter over the domain and services layers. The
modules are imported lazily: ``glabella --help`` imports none of them (the table below carries
each command's one-line help), and ``glabella meta ...`` imports only ``glabella.cli.meta`` and
what it uses (no SQLAlchemy, FastAPI or matplotlib unless it plots). A new command goes in
``_COMMANDS``: name, ``module:attribute`` (a Typer app or a command function) and its help line.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

# name -> ("module:attribute", one-line help shown by `glabella --help`)
_COMMANDS: dict[str, tuple[str, str]] = {
    "score": (
        "instruments:score_command",
        "Score answers for an instrument and print JSON: total, band, answers, alerts.",
    ),
    "meta": (
        "meta:meta_command",
        "Meta-analysis of a CSV file (effect sizes, model, heterogeneity) with metafor's numbers.",
    ),
    "backup": (
        "backup:backup_command",
        "Write a consistent snapshot of every table while the app keeps running.",
    ),
    "restore": (
        "backup:restore_command",
        "Load a backup into an empty database (run `glabella db upgrade` first).",
    ),
    "analytics": (
        "analytics:analytics_command",
        "Response, remission, drop-out and adverse events beside the trials, by group;"
        " --frown: the frown biomarker beside PHQ-9.",
    ),
    "db": ("db:app", "Database schema (Alembic migrations)."),
    "users": ("users:app", "Staff accounts."),
    "patients": ("patients:app", "The patient register."),
    "instruments": ("instruments:app", "Validated instruments (PHQ-9, GAD-7, ...)"),
    "evidence": ("evidence:app", "Evidence base: trials, provenance and syntheses"),
    "products": ("pathway:products_app", "BoNT-A products (units are never converted)."),
    "protocols": ("pathway:protocols_app", "Named injection protocols."),
    "eligibility": ("pathway:eligibility_app", "Eligibility screening rules."),
    "treatments": ("pathway:treatments_app", "Treatment records."),
    "consent": (
        "consent:app",
        "Informed consent: sign, withdraw, list, PDF copy for the patient.",
    ),
    "followup": ("pathway:followup_app", "Follow-up schedule and outcomes."),
    "audit": ("audit:app", "The audit trail."),
    "report": ("report:app", "Consultation reports (PDF, A4)."),
    "fhir": ("fhir:app", "FHIR R4 exchange (application/fhir+json)."),
    "demo": ("demo:app", "Synthetic data (clearly marked as such)."),
    "export": ("export:app", "Exports."),
    "plan": ("plan:app", "Trial planning: power, sample size, assurance, simulation"),
    "biomarker": ("biomarker:app", "Frown biomarker: measure frown activity from photographs."),
}


def _main() -> None:
    """Glabella: botulinum toxin A for depression, from evidence to bedside and back."""


def _load(name: str) -> Any:
    """Import the module behind ``name`` and build its click command."""
    target, _ = _COMMANDS[name]
    module_name, attribute = target.split(":")
    obj: Any = getattr(importlib.import_module(f"glabella.cli.{module_name}"), attribute)
    # Registered on a throw-away parent exactly as `app.add_typer` / `app.command` would, so
    # the command behaves as it did when the parent imported every module up front.
    parent = typer.Typer(add_completion=False)
    parent.callback()(_main)
    if isinstance(obj, typer.Typer):
        parent.add_typer(obj, name=name)
    else:
        parent.command(name)(obj)
    group = typer.main.get_command(parent)
    command = group.commands[name]  # type: ignore[attr-defined]
    return command


class _LazyGroup(TyperGroup):
    """A group whose subcommands are imported on first use, not at start-up."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in _COMMANDS:
            return None
        if self._listing:  # the top-level help needs names and help lines only
            help_line = _COMMANDS[cmd_name][1]
            return TyperCommand(cmd_name, help=help_line, short_help=help_line)
        return _load(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="glabella",
    help="Glabella: botulinum toxin A for depression, from evidence to bedside and back.",
    no_args_is_help=True,
    add_completion=False,
    cls=_LazyGroup,
)


app.callback()(_main)


__all__ = ["app"]
