"""`glabella plan`: power, sample size and assurance for the next trial, from the evidence.

A thin adapter over :mod:`glabella.evidence.planning` and :mod:`glabella.evidence.plan_evidence`
(imported inside the commands: ``glabella --help`` stays fast). Fractions may be typed as
``0.8``, ``80%`` or ``8e-1``. Bad input: one line on stderr naming the option, exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

app = typer.Typer(
    help="Trial planning: power, sample size, assurance, simulation", no_args_is_help=True
)

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

_MAX_TEXT = 32


def _fail(message: str) -> NoReturn:
    _err.print(f"error: {message}", markup=False)
    raise typer.Exit(code=2)


def _fraction(option: str, text: str | None) -> float | None:
    """'0.8', '80%', '8e-1' -> 0.8 (range checks are the domain's)."""
    if text is None:
        return None
    raw = text.strip()
    if len(raw) > _MAX_TEXT:
        _fail(f"{option}: too long ({len(raw)} characters)")
    pct = raw.endswith("%")
    try:
        value = float(raw.rstrip("%").strip())
    except ValueError:
        _fail(f"{option}: {text!r} is not a number (e.g. 0.8 or 80%)")
    return value / 100.0 if pct else value


def _call(call: Callable[[], T]) -> T:
    from glabella.evidence.planning import PlanningError

    try:
        return call()
    except PlanningError as exc:
        _fail(str(exc))


def _emit(data: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        _out.print(json.dumps(data, indent=2, default=str), markup=False)
    else:
        for line in lines:
            _out.print(line, markup=False)


PowerOpt = typer.Option("0.8", "--power", help="target power, e.g. 0.8 or 80%")
AlphaOpt = typer.Option("0.05", "--alpha", help="significance level (two-sided unless --sides 1)")
DropOpt = typer.Option("0", "--dropout", help="expected drop-out fraction, e.g. 15%")


@app.command("means")
def means_command(
    d: float | None = typer.Option(None, "--d", help="standardised mean difference (SMD)"),
    diff: float | None = typer.Option(None, "--diff", help="raw difference (with --sd)"),
    sd: float | None = typer.Option(None, "--sd", help="common SD (with --diff)"),
    power: str = PowerOpt,
    alpha: str = AlphaOpt,
    ratio: float = typer.Option(1.0, "--ratio", help="n2 / n1 (unequal allocation)"),
    sides: int = typer.Option(2, "--sides", help="1 or 2"),
    dropout: str = DropOpt,
    baseline_corr: float | None = typer.Option(
        None, "--baseline-corr", help="baseline-outcome correlation: ANCOVA (Borm et al. 2007)"
    ),
    margin: float = typer.Option(0.0, "--margin", help="non-inferiority margin (with --sides 1)"),
    n1: int | None = typer.Option(None, "--n1", help="give n1 (and --n2) to get the power"),
    n2: int | None = typer.Option(None, "--n2"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Two-arm continuous outcome: sample size (or power with --n1)."""
    from glabella.evidence import planning as pl

    if (d is None) == (diff is None):
        _fail("--d: give either --d (SMD) or --diff with --sd")
    if diff is not None and sd is None:
        _fail("--sd: a raw --diff needs the common SD")
    smd = d if d is not None else _call(lambda: _raw_to_d(diff, sd))
    m = margin if d is not None or sd is None else margin / sd
    if n1 is not None:
        value = _call(
            lambda: pl.power_two_means(
                smd, n1, n2, alpha=_fraction("--alpha", alpha) or 0.0, sides=sides, margin=m
            )
        )
        _emit(
            {"d": smd, "n1": n1, "n2": n2 if n2 is not None else n1, "power": value},
            as_json,
            [f"power {value:.3f} at d = {smd:g}, n1 = {n1}, n2 = {n2 or n1}"],
        )
        return
    res = _call(
        lambda: pl.n_two_means(
            smd,
            power=_fraction("--power", power) or 0.0,
            alpha=_fraction("--alpha", alpha) or 0.0,
            ratio=ratio,
            sides=sides,
            dropout=_fraction("--dropout", dropout) or 0.0,
            baseline_correlation=baseline_corr,
            margin=m,
        )
    )
    _emit(
        res.to_dict(),
        as_json,
        [
            f"n1 = {res.n1}, n2 = {res.n2} (total {res.n_total}) to enrol; "
            f"{res.n1_evaluable} + {res.n2_evaluable} evaluable; power {res.power:.3f}",
            f"method: {res.method}",
        ],
    )


def _raw_to_d(diff: float | None, sd: float | None) -> float:
    from glabella.evidence.planning import PlanningError

    assert diff is not None and sd is not None
    if not sd > 0:
        raise PlanningError(f"sd must be positive (got {sd:g})")
    return diff / sd


@app.command("proportions")
def proportions_command(
    p1: str = typer.Option(..., "--p1", help="rate in the toxin arm, e.g. 0.5 or 50%"),
    p2: str = typer.Option(..., "--p2", help="rate in the control arm"),
    power: str = PowerOpt,
    alpha: str = AlphaOpt,
    ratio: float = typer.Option(1.0, "--ratio", help="n2 / n1"),
    sides: int = typer.Option(2, "--sides", help="1 or 2"),
    dropout: str = DropOpt,
    margin: str = typer.Option("0", "--margin", help="non-inferiority margin (with --sides 1)"),
    pooled: bool = typer.Option(False, "--pooled", help="pooled H0 variance (Fleiss)"),
    arcsine: bool = typer.Option(False, "--arcsine", help="Cohen's h (arcsine) instead"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Two-arm binary outcome (response, remission): sample size per group."""
    from glabella.evidence import planning as pl

    a, b = _fraction("--p1", p1) or 0.0, _fraction("--p2", p2) or 0.0
    common: dict[str, Any] = {
        "power": _fraction("--power", power) or 0.0,
        "alpha": _fraction("--alpha", alpha) or 0.0,
        "ratio": ratio,
        "sides": sides,
        "dropout": _fraction("--dropout", dropout) or 0.0,
    }
    if arcsine:
        res = _call(lambda: pl.n_two_proportions_arcsine(a, b, **common))
    else:
        mg = _fraction("--margin", margin) or 0.0
        res = _call(lambda: pl.n_two_proportions(a, b, pooled=pooled, margin=mg, **common))
    _emit(
        res.to_dict(),
        as_json,
        [
            f"n1 = {res.n1}, n2 = {res.n2} (total {res.n_total}); power {res.power:.3f}",
            f"method: {res.method}",
        ],
    )


@app.command("crossover")
def crossover_command(
    d_within: float = typer.Option(..., "--d-within", help="difference / within-subject SD"),
    power: str = PowerOpt,
    alpha: str = AlphaOpt,
    sides: int = typer.Option(2, "--sides", help="1 or 2"),
    dropout: str = DropOpt,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Two-period (AB/BA) crossover: total sample size."""
    from glabella.evidence import planning as pl

    res = _call(
        lambda: pl.n_crossover(
            d_within,
            power=_fraction("--power", power) or 0.0,
            alpha=_fraction("--alpha", alpha) or 0.0,
            sides=sides,
            dropout=_fraction("--dropout", dropout) or 0.0,
        )
    )
    _emit(
        res.to_dict(),
        as_json,
        [f"n = {res.n_total} ({res.n_per_sequence} per sequence); power {res.power:.3f}"],
    )


def _synthesis(disorder: str, outcome: str) -> Any:
    from glabella.evidence import studies as st
    from glabella.evidence import synthesis as sy

    code = disorder.strip().lower()
    if code not in st.DISORDERS:
        _fail(f"--disorder: unknown disorder {disorder!r}; choose one of {', '.join(st.DISORDERS)}")
    try:
        base = st.load_evidence()
    except st.EvidenceDataError as exc:
        _fail(f"the evidence data are invalid; run `glabella evidence check`: {exc}")
    if outcome == "headline":
        lead = sy.headline(code, base=base).lead
        if lead is None:
            _fail(f"--disorder: {code} has no pooled headline to plan on")
        return lead, base
    out = outcome.strip().lower().replace("-", "_")
    if out not in sy.POOLED_OUTCOMES:
        _fail(f"--outcome: unknown outcome {outcome!r}; choose headline or one of "
              f"{', '.join(sy.POOLED_OUTCOMES)}")  # fmt: skip
    return sy.pool(code, out, base=base), base


@app.command("evidence")
def evidence_command(
    disorder: str = typer.Option("mdd", "--disorder", help="mdd, bpd, sad, bipolar"),
    outcome: str = typer.Option("headline", "--outcome", help="headline, change, response..."),
    basis: str = typer.Option("pooled", "--basis", help="pooled, ci_bound or pi_bound"),
    power: str = PowerOpt,
    alpha: str = AlphaOpt,
    ratio: float = typer.Option(1.0, "--ratio", help="n control / n toxin"),
    dropout: str = DropOpt,
    baseline_corr: float | None = typer.Option(None, "--baseline-corr", help="ANCOVA rho"),
    unblinding: str = typer.Option(
        "0", "--unblinding", help="active-placebo scenario: the effect shrinks by this fraction"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Plan the next trial on the pooled evidence: sample size, assurance, unblinding."""
    from glabella.evidence import plan_evidence as pe

    syn, _ = _synthesis(disorder, outcome)
    plan = _call(
        lambda: pe.plan_from_evidence(
            syn,
            basis=basis.strip().lower().replace("-", "_"),
            power=_fraction("--power", power) or 0.0,
            alpha=_fraction("--alpha", alpha) or 0.0,
            ratio=ratio,
            dropout=_fraction("--dropout", dropout) or 0.0,
            baseline_correlation=baseline_corr,
            unblinding_shrink=_fraction("--unblinding", unblinding) or 0.0,
        )
    )
    eff = plan["effect"]
    inert = plan["inert_placebo"]
    lines = [
        f"Evidence: {eff['disorder']} / {eff['outcome']}, {eff['measure']} {eff['estimate']:.3f} "
        f"(95% CI {eff['ci_lb']:.3f} to {eff['ci_ub']:.3f}), k = {eff['k']}, "
        f"certainty {eff['certainty']}; evidence version {eff['evidence_version'][:12]}",
        f"Planning on {plan['basis_text']}: {plan['planning_effect_text']}",
        f"Inert placebo: n = {inert['n1']} + {inert['n2']} (total {inert['n_total']})",
    ]
    if "active_placebo" in plan:
        ap = plan["active_placebo"]
        lines.append(
            f"Active placebo (effect shrinks by {plan['settings']['unblinding_shrink']:.0%}): "
            f"n = {ap['n1']} + {ap['n2']} (total {ap['n_total']})"
        )
    if plan.get("assurance"):
        a = plan["assurance"]
        lines.append(
            f"Assurance at n = {a['n1']} + {a['n2']}: {a['values']['normal']:.3f} "
            f"(random-effects predictive), {a['values']['bayes']:.3f} (Bayesian predictive)"
        )
    if plan.get("n_for_assurance"):
        na = plan["n_for_assurance"]
        lines.append(
            f"For assurance {na['target']:g}: n = {na['n1']} + {na['n2']} (total {na['n_total']})"
        )
    lines.extend(f"Note: {w}" for w in plan["warnings"])
    _emit(plan, as_json, lines)


@app.command("retrospective")
def retrospective_command(
    disorder: str = typer.Option("mdd", "--disorder", help="mdd, bpd, sad, bipolar"),
    power: str = typer.Option("0.8", "--power", help="power for the minimum detectable effect"),
    alpha: str = AlphaOpt,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Each trial's power to detect the pooled effect and its minimum detectable effect."""
    from glabella.evidence import plan_evidence as pe

    syn, base = _synthesis(disorder, "headline")
    pw, al = _fraction("--power", power) or 0.0, _fraction("--alpha", alpha) or 0.0
    rows = _call(lambda: pe.retrospective_rows(syn, base, power=pw, alpha=al))
    eff = pe.evidence_effect(syn)
    summary = pe.retrospective_summary(rows, eff)
    data = {
        "pooled": eff.to_dict(),
        "rows": [r.to_dict() for r in rows],
        "summary": summary,
    }

    def num(x: float | None, f: str = ".2f") -> str:
        return "unknown" if x is None else format(x, f)

    lines = [summary]
    for r in rows:
        lines.append(
            f"{r.label}: n {r.n1 if r.n1 is not None else 'unknown'} vs "
            f"{r.n2 if r.n2 is not None else 'unknown'}; power at pooled "
            f"{num(r.power_pooled)}, at CI bound {num(r.power_ci_bound)}; MDE {num(r.mde)}"
            + (f" ({r.note})" if r.note else "")
        )
    _emit(data, as_json, lines)


@app.command("simulate")
def simulate_command(
    diff: float = typer.Option(..., "--diff", help="difference at the last visit (raw units)"),
    n1: int = typer.Option(..., "--n1", help="toxin arm"),
    n2: int | None = typer.Option(None, "--n2", help="control arm (default n1)"),
    sd: float = typer.Option(1.0, "--sd", help="SD of a single measurement"),
    rho: float = typer.Option(0.5, "--rho", help="correlation between visits"),
    dropout_per_visit: str = typer.Option("0", "--dropout-per-visit", help="e.g. 5%"),
    visits: str = typer.Option("0,3,6,9,12", "--visits", help="weeks, comma-separated"),
    sims: int = typer.Option(2000, "--sims", help="simulated trials"),
    alpha: str = AlphaOpt,
    seed: int = typer.Option(1, "--seed", help="random seed (reproducible)"),
    analysis: str = typer.Option("change", "--analysis", help="change or ancova (LOCF)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Monte Carlo power of a repeated-measures trial with drop-out (LOCF analysis)."""
    from rich.progress import Progress

    from glabella.evidence import planning as pl

    if len(visits) > 200:
        _fail("--visits: too long")
    try:
        weeks = [float(v) for v in visits.split(",") if v.strip()]
    except ValueError:
        _fail(f"--visits: {visits!r} must be numbers separated by commas")
    with Progress(console=_err, transient=True) as progress:
        task = progress.add_task("simulating", total=max(sims, 1))

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        res = _call(
            lambda: pl.simulate_power(
                diff,
                n1,
                n2,
                sd=sd,
                visits=weeks,
                rho=rho,
                dropout_per_visit=_fraction("--dropout-per-visit", dropout_per_visit) or 0.0,
                sims=sims,
                alpha=_fraction("--alpha", alpha) or 0.0,
                seed=seed,
                progress=tick,
                analysis=analysis.strip().lower(),
            )
        )
    _emit(
        {**res.to_dict(), "seed": seed},
        as_json,
        [
            f"power {res.power:.3f} (Monte Carlo SE {res.mc_se:.3f}, {res.sims} trials, seed "
            f"{seed}); completers {res.mean_completers:.1%}",
            f"analysis: {res.analysis}",
        ],
    )
