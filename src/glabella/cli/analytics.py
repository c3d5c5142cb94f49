"""`glabella analytics`: the clinic's outcomes beside the trials."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.table import Table

from glabella import labels
from glabella.analytics.charts import funnel_svg
from glabella.analytics.compute import Rates
from glabella.analytics.frown import CAVEAT, RETURN_FRACTION, FrownMood
from glabella.analytics.stats import Proportion
from glabella.cli.common import cli_actor, console, database, fail, run_service
from glabella.services.analytics import AnalyticsReport, clinic_analytics
from glabella.services.frown_analytics import DEFINITIONS as FROWN_DEFINITIONS
from glabella.services.frown_analytics import frown_analytics


def _pct(p: Proportion | None) -> str:
    return "unknown" if p is None else p.text()


def _rr(report: AnalyticsReport, outcome: str) -> str:
    t = report.trials.get(outcome)
    if t is None or t.rr is None:
        return "unknown (not pooled)"
    return f"RR {t.rr:.2f} ({t.rr_ci_lb:.2f} to {t.rr_ci_ub:.2f}); certainty {t.certainty}"


def _print(report: AnalyticsReport) -> None:
    o = report.outcomes
    console.print(
        f"[bold]Clinic outcomes[/] as of {o.as_of.date().isoformat()}: {o.analysed} of "
        f"{o.index_courses} first courses analysed (no baseline: {o.excluded_no_baseline}; "
        f"baseline PHQ-9 below {o.min_baseline}: {o.excluded_low_baseline})"
    )
    head = report.trials_headline
    if head.get("outcome"):
        phq = head.get("phq9")
        pts = (
            f", about {-float(phq['points']):.1f} PHQ-9 points more improvement than placebo"
            if isinstance(phq, dict)
            else ""
        )
        console.print(
            f"Trials, lead result ({head['n_trials']} RCTs, {head['n_patients']} patients, "
            f"{head['outcome']} at week 6): {head['measure']} {float(head['estimate']):.2f} "  # type: ignore[arg-type]
            f"(95% CI {float(head['ci_lb']):.2f} to {float(head['ci_ub']):.2f}){pts}; "  # type: ignore[arg-type]
            f"certainty {head['certainty']}",
            markup=False,
        )
    else:
        console.print(str(head.get("text", "")), markup=False)
    table = Table("outcome", "clinic", "trials, BoNT-A arms (crude)", "trials, pooled effect")
    rows = (
        ("response, week 6", o.overall.response6, "response"),
        ("remission, week 6", o.overall.remission6, "remission"),
        ("response, week 6 (missing = no)", o.overall.response6_itt, None),
        ("response, week 12", o.overall.response12, None),
        ("remission, week 12", o.overall.remission12, None),
        ("lost to follow-up, week 12", o.overall.lost12, "dropout"),
        ("any adverse event", o.overall.adverse_event, "adverse_events"),
        ("grade 3 or higher", o.overall.grade3_event, None),
    )
    for label, value, outcome in rows:
        trial = report.trials.get(outcome) if outcome else None
        table.add_row(
            label,
            value.text(),
            _pct(trial.bont_arms) if trial else "",
            _rr(report, outcome) if outcome else "",
        )
    console.print(table)

    def groups(title: str, data: dict[str, Rates], vocabulary: str | None = None) -> None:
        t = Table(title, "patients", "response wk 6", "remission wk 6", "any AE")
        for name, r in data.items():
            t.add_row(
                labels.label(name, vocabulary) if vocabulary else name,
                str(r.patients),
                r.response6.text(),
                r.remission6.text(),
                r.adverse_event.text(),
            )
        console.print(t)

    groups("injector", o.by_injector)
    groups("protocol", o.by_protocol, "protocol")
    groups("product", o.by_product, "product")
    groups("baseline severity", o.by_severity)
    if report.trajectory:
        traj = Table("week since first treatment", "mean PHQ-9", "n", title="PHQ-9 trajectory")
        for w in report.trajectory:
            traj.add_row("baseline" if w.week == 0 else str(w.week), f"{w.mean:.1f}", str(w.n))
        console.print(traj)
    console.print(
        "Trial numbers: glabella.evidence syntheses (major depressive disorder); every clinic "
        "rate has a Wilson 95 % CI. BoNT-A for depression is off-label."
    )


def _print_frown(result: FrownMood) -> None:
    c = result.correlation

    def num(x: float | None) -> str:
        return "unknown" if x is None else f"{x:.2f}"

    def ci(pair: tuple[float, float] | None) -> str:
        return "" if pair is None else f" (95% CI {pair[0]:.2f} to {pair[1]:.2f})"

    console.print(
        f"[bold]Frown biomarker beside mood[/]: {result.courses} first courses with frown "
        "measures (photo consent in force)"
    )
    table = Table("week-2 frown reduction vs week-6 PHQ-9 change", "estimate")
    table.add_row("patients with both (n)", str(c.n))
    table.add_row("Pearson r", num(c.pearson_r) + ci(c.pearson_ci))
    table.add_row("Spearman rho", num(c.spearman_rho) + ci(c.spearman_ci))
    table.add_row("OLS slope (PHQ-9 points per FAI point)", num(c.slope) + ci(c.slope_ci))
    console.print(table)
    console.print(CAVEAT, markup=False)
    pct = f"{100 * result.return_fraction:.0f} %"
    durations = Table("from the treatment", "Kaplan-Meier")
    durations.add_row(f"frown back within {pct} of baseline", result.frown_return.text())
    durations.add_row("mood benefit ends (no longer a response)", result.mood_benefit.text())
    console.print(durations)
    diff = result.median_difference_days
    console.print(
        f"Both seen in {result.both_seen}; mood benefit outlasted the frown's return: "
        f"{result.mood_outlasted_frown.text()}; median difference "
        f"{'unknown' if diff is None else f'{diff:+.0f} days'}.",
        markup=False,
    )


def analytics_command(
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON."),
    as_of: str = typer.Option("", "--as-of", help="Analysis date-time (ISO, with offset)."),
    funnel: Path | None = typer.Option(
        None, "--funnel-svg", help="Also write the injectors' funnel plot to this SVG file."
    ),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Rebuild the outcome summary from scratch (after manual edits)."
    ),
    frown: bool = typer.Option(
        False, "--frown", help="The frown biomarker beside PHQ-9 instead of the outcomes."
    ),
    return_within: float = typer.Option(
        RETURN_FRACTION,
        "--return-within",
        help="With --frown: the frown has returned when within this fraction of baseline.",
    ),
) -> None:
    """Response, remission, drop-out and adverse events beside the trials, by group."""
    moment = None
    if as_of:
        try:
            moment = dt.datetime.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of: {as_of!r} is not an ISO date-time")
        if moment.tzinfo is None:
            fail("--as-of: give a timezone offset, e.g. 2026-11-01T12:00:00+00:00")
    db = database()
    actor = cli_actor(db)
    if frown:
        result = run_service(
            lambda: frown_analytics(db, actor, as_of=moment, return_fraction=return_within)
        )
        if as_json:
            typer.echo(json.dumps({**result.to_dict(), "definitions": FROWN_DEFINITIONS}, indent=2))
        else:
            _print_frown(result)
        return
    report = run_service(lambda: clinic_analytics(db, actor, as_of=moment, rebuild=rebuild))
    if funnel is not None:
        funnel.write_text(
            funnel_svg(report.outcomes.funnel, report.outcomes.funnel_p0, standalone=True),
            encoding="utf-8",
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)
