"""Clinical-pathway commands: products, protocols, reconstitution, eligibility, follow-up."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.table import Table

from glabella.cli.common import cli_actor, console, database, fail, run_service
from glabella.clinic import eligibility, protocol
from glabella.clinic.products import PRODUCTS, Dose, get_product
from glabella.labels import label
from glabella.services import followup as followup_service
from glabella.services import screening as screening_service
from glabella.services import treatments as treatment_service
from glabella.services import users as users_service
from glabella.services.errors import ServiceError

products_app = typer.Typer(
    help="BoNT-A products (units are never converted).", no_args_is_help=True
)
protocols_app = typer.Typer(help="Named injection protocols.", no_args_is_help=True)
eligibility_app = typer.Typer(help="Eligibility screening rules.", no_args_is_help=True)
treatments_app = typer.Typer(help="Treatment records.", no_args_is_help=True)
followup_app = typer.Typer(help="Follow-up schedule and outcomes.", no_args_is_help=True)


@products_app.command("list")
def products_list() -> None:
    """Every product with its unit name, label dose and the clinic's ceiling."""
    table = Table("id", "brand", "unit name", "label glabellar dose", "ceiling")
    for p in PRODUCTS.values():
        label = "unknown" if p.label_glabellar_dose is None else f"{p.label_glabellar_dose} U"
        table.add_row(p.id, p.brand, p.unit_name, label, f"{p.glabellar_ceiling} U")
    console.print(table)


@protocols_app.command("list")
def protocols_list() -> None:
    """Every named protocol with product, total and whether per-site units were verified."""
    table = Table("id", "product", "total", "per-site units", "source")
    for p in protocol.load_protocols().values():
        source = f"{p.citation.authors.split(',')[0]} {p.citation.year}" if p.citation else ""
        table.add_row(
            p.id,
            p.product.id,
            f"{p.total_units} U",
            "verified" if p.site_units_known else "unknown",
            source,
        )
    console.print(table)


@protocols_app.command("show")
def protocols_show(protocol_id: str) -> None:
    """One protocol as JSON (sites only when their split was verified)."""
    p = protocol.load_protocols().get(protocol_id)
    if p is None:
        fail(f"unknown protocol {protocol_id!r}; see `glabella protocols list`")
    typer.echo(
        json.dumps(
            {
                "id": p.id,
                "name": p.name,
                "product": p.product.id,
                "unit_name": p.product.unit_name,
                "total_units": str(p.total_units),
                "sites": {s.site_id: str(s.units) for s in p.sites} if p.site_units_known else None,
                "verified": p.verified,
                "verification_note": p.verification_note,
                "citation": dataclasses.asdict(p.citation) if p.citation else None,
            },
            indent=2,
        )
    )


@protocols_app.command("reconstitute")
def reconstitute(
    product: str = typer.Option("onabotulinumtoxinA", help="Product id."),
    vial_units: str = typer.Option(..., "--vial-units", help="Units in the vial."),
    saline_ml: str = typer.Option(..., "--saline-ml", help="Saline added, mL."),
    dose: list[str] = typer.Option([], "--dose", help="Units to draw up (repeatable)."),
) -> None:
    """Units per 0.1 mL and the volume for each dose (exact decimal arithmetic)."""
    try:
        chosen = get_product(product)
        recon = protocol.Reconstitution(chosen, Decimal(vial_units), Decimal(saline_ml))
        volumes = {d: str(recon.volume_ml(Dose(Decimal(d), chosen))) for d in dose}
    except (KeyError, ValueError, InvalidOperation, TypeError) as exc:
        fail(str(exc))
    per = recon.units_per_0_1_ml
    typer.echo(
        json.dumps(
            {
                "product": chosen.id,
                "unit_name": chosen.unit_name,
                "units_per_0_1_ml": str(Decimal(per.numerator) / Decimal(per.denominator)),
                "volumes_ml": volumes,
            }
        )
    )


@eligibility_app.command("check")
def eligibility_check(
    file: Path = typer.Argument(..., help="JSON: {product, date_of_birth, sex, answers, ...}"),
) -> None:
    """Run the rules on a JSON file (no database, nothing stored); prints the decision.

    The file is read by the same strict model as the JSON API (H-059): a string where a
    boolean or a list is expected, an impossible or future date or an unknown field is
    refused with exit code 2, naming the field.
    """
    from pydantic import ValidationError

    from glabella.services.screening_request import EligibilityCheckRequest
    from glabella.services.strict_inputs import invalid

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{file}: {exc}")
    try:
        request = EligibilityCheckRequest.model_validate_json(text)
    except ValidationError as exc:
        problems = invalid(exc, EligibilityCheckRequest).problems
        fail("\n".join(f"{file}: {p['message']}" for p in problems))
    answers = run_service(request.answers.parsed)
    try:
        product = get_product(request.product)
    except (KeyError, ValueError):
        fail(f"{file}: product: unknown product {request.product!r}; see `glabella products list`")
    facts = request.facts()
    on = request.screening_date()
    decision = eligibility.screen(answers, facts, product, on)
    typer.echo(
        json.dumps(
            {
                "outcome": decision.outcome,
                "outcome_text": decision.outcome_text,
                "reassess": list(decision.reassess),
                "matches": [m.describe() for m in decision.matches],
                "rules_version": decision.rules_version,
                "reasons": [
                    {
                        "rule_id": r.rule_id,
                        "severity": r.severity,
                        "message": r.message,
                        "source": r.source,
                        "detail": r.detail,
                        "reassess": r.reassess,
                    }
                    for r in decision.reasons
                ],
            },
            indent=2,
        )
    )


@eligibility_app.command("confirm-unrecognised")
def eligibility_confirm_unrecognised(
    screening_id: int = typer.Argument(..., help="The stored screening's id."),
    entry: list[str] = typer.Option(
        [],
        "--entry",
        help="An unrecognised entry as typed (e.g. 'Zolpidem') or its id "
        "('unrecognised_medication_1'); repeatable.",
    ),
    by: str = typer.Option(
        ..., "--by", help="Username of the clinician who checked the entries (recorded)."
    ),
) -> None:
    """Confirm that unrecognised entries of a screening were checked and are not relevant."""
    db = database()
    actor = run_service(lambda: users_service.active_actor_named(db, by, "cli"))
    view = run_service(
        lambda: screening_service.confirm_unrecognised_entries(db, actor, screening_id, entry)
    )
    typer.echo(json.dumps(view.to_dict(), indent=2))


@treatments_app.command("list")
def treatments_list(patient_id: int) -> None:
    """A patient's treatments (every dose with its product)."""
    db = database()
    rows = run_service(lambda: treatment_service.list_treatments(db, cli_actor(db), patient_id))
    typer.echo(json.dumps([t.to_dict() for t in rows], indent=2))


@treatments_app.command("record")
def treatments_record(
    patient_id: int,
    file: Path = typer.Argument(
        ..., help="JSON: the body of POST /api/v1/patients/{id}/treatments"
    ),
) -> None:
    """Record a treatment from a JSON file; refused with every problem (each naming its field)."""
    from pydantic import ValidationError

    from glabella.services.strict_inputs import invalid
    from glabella.services.treatment_request import TreatmentRequest

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{file}: {exc}")
    try:
        request = TreatmentRequest.model_validate_json(text)
    except ValidationError as exc:
        fail("\n".join(str(p["message"]) for p in invalid(exc, TreatmentRequest).problems))
    db = database()
    try:
        view = treatment_service.record_treatment(db, cli_actor(db), patient_id, request.to_input())
    except ServiceError as exc:
        lines = [f"{p.get('field') or 'treatment'}: {p.get('message')}" for p in exc.problems]
        fail("\n".join(lines) if lines else exc.message)
    typer.echo(json.dumps(view.to_dict(), indent=2))


@followup_app.command("show")
def followup_show(patient_id: int) -> None:
    """Visit schedule from the last treatment, re-treatment date and outcomes."""
    db = database()
    follow = run_service(lambda: followup_service.patient_followup(db, cli_actor(db), patient_id))
    typer.echo(json.dumps(follow.to_dict(), indent=2))


@followup_app.command("due")
def followup_due() -> None:
    """Every follow-up visit due or overdue in the clinic."""
    db = database()
    due = run_service(lambda: followup_service.due_visits(db, cli_actor(db)))
    table = Table("patient", "MRN", "visit", "target", "status")
    for d in due:
        table.add_row(
            d.patient_name, d.mrn, d.visit.label, d.visit.target.isoformat(), d.visit.status
        )
    console.print(table)


@followup_app.command("worklist")
def followup_worklist(
    page: int = typer.Option(1, help="Page number, from 1."),
    per_page: int = typer.Option(50, "--per-page", help="Patients per page (1-200)."),
    overdue_days: int | None = typer.Option(
        None, "--overdue-days", help="Only follow-ups overdue by at least N days."
    ),
    alert_level: str | None = typer.Option(
        None, "--alert-level", help="Only patients with an open alert: any, urgent, high, ..."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The dashboard's worklist: open alerts first, then overdue follow-ups, then by name."""
    from glabella.services import dashboard as dashboard_service

    db = database()
    filters = dashboard_service.WorklistFilters(
        page=page, per_page=per_page, overdue_days=overdue_days, alert_level=alert_level
    )
    found = run_service(lambda: dashboard_service.worklist(db, cli_actor(db), filters))
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2))
        return
    table = Table("patient", "MRN", "open alert", "follow-up", "last assessed")
    for r in found.rows:
        table.add_row(
            r.patient_name,
            r.mrn,
            f"{label(r.alert_level, 'alert_level')} x{r.open_alerts}" if r.alert_level else "",
            f"{r.overdue_visit} overdue {r.overdue_days} d" if r.overdue_days is not None else "",
            r.last_assessed_at.isoformat(timespec="minutes") if r.last_assessed_at else "never",
        )
    console.print(table)
    typer.echo(
        f"patients {found.first_index}-{found.last_index} of {found.total}, "
        f"page {filters.page} of {found.pages}"
    )


@followup_app.command("alerts")
def followup_alerts(
    status: str = typer.Option("all", help="open, closed or all."),
    level: str | None = typer.Option(None, help="Only this alert level (e.g. urgent)."),
    patient: int | None = typer.Option(None, help="Only this patient's alerts (id)."),
    page: int = typer.Option(1, help="Page number, from 1."),
) -> None:
    """Alert history as JSON: every alert, open and closed, newest first (who, what, when)."""
    from glabella.services import alerts as alert_service

    if status not in ("open", "closed", "all"):
        fail("--status must be open, closed or all")
    db = database()
    history = run_service(
        lambda: alert_service.alert_history(
            db,
            cli_actor(db),
            status=None if status == "all" else status,
            level=level,
            patient_id=patient,
            page=page,
        )
    )
    typer.echo(json.dumps(history.to_dict(), indent=2))


@followup_app.command("send-due")
def followup_send_due() -> None:
    """Create and e-mail the week-2/6/12 questionnaires due now, and one reminder each.

    Idempotent (run it from cron or a timer as often as you like); needs GLABELLA_BASE_URL
    and GLABELLA_SMTP_HOST.
    """
    from glabella.services import delivery as delivery_service
    from glabella.settings import get_settings

    db = database()
    report = run_service(lambda: delivery_service.run_schedule(db, get_settings()))
    typer.echo(
        f"sent {report.sent}, reminders {report.reminders}, failed {report.failed}, "
        f"no e-mail address {report.no_address}"
    )
    for message in report.messages:
        typer.echo(f"  {message}", err=True)
    if report.failed:
        raise typer.Exit(code=1)
