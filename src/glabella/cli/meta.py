"""`glabella meta FILE.csv`: meta-analysis of a CSV file with metafor's numbers.

The contract (names are fixed; scripts rely on them)::

    glabella meta FILE.csv --measure {RR,OR,RD,AS,PETO,SMD,SMDH,MD,ROM,ZCOR,COR,PLO,PR,PAS,GEN}
        --method {EE,FE,DL,HE,HS,HSk,SJ,ML,REML,EB,PM,PMM,MH,PETO} [--test {z,knha}]
        [--level 95] [--by COL] [--mods COL[,COL...]] [--egger] [--ranktest] [--trimfill]
        [--leave1out] [--forest PNG [--favours LEFT,RIGHT] [--arms ARM1,ARM2]] [--funnel PNG]
        [--bayes [--tau-prior halfnormal:0.5]] [--json]

With 2x2 data (``ai,bi,ci,di`` or ``ai,n1i,ci,n2i``) the forest plot shows events/total per
arm (headed by ``--arms``, default Treatment,Control); ``--favours`` writes "Favours LEFT" and
"Favours RIGHT" under the axis, left and right of the null line.

``--json`` prints one JSON object (model scale, e.g. log RR); keys that do not apply are null.
Without it a readable summary is printed. Errors: one message on stderr, exit code 2.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from glabella.evidence.backtransform import TRANSFORMS, BackTransformed, back_transform
from glabella.evidence.effects import MEASURES, EffectSizeError
from glabella.evidence.fit import ALL_METHODS, FitError, canonical_method, check_options, fit
from glabella.evidence.meta import MetaError, MetaResult
from glabella.interop.csvinput import CSVInputError, PreparedData, parse_csv, prepare

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    """A clear message on stderr and exit code 2; never a traceback."""
    _err.print(f"error: {message}", markup=False)
    raise typer.Exit(code=2)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def _bias(res: MetaResult, labels: list[str], want: dict[str, bool]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not any(want.values()):
        return out
    from glabella.evidence import bias  # scipy.stats: loaded only when a bias test is asked for

    if want["egger"]:
        rt = bias.regtest(res)
        out["egger"] = {"zval": rt.zval, "tval": rt.tval, "df": rt.df, "pval": rt.pval}
    if want["ranktest"]:
        out["ranktest"] = bias.ranktest(res).to_dict()
    if want["trimfill"]:
        out["trimfill"] = bias.trimfill(res).to_dict()
    if want["leave1out"]:
        out["leave1out"] = [row.to_dict() for row in bias.leave1out(res, labels)]
    return out


def _plots(
    res: MetaResult,
    labels: list[str],
    forest: Path | None,
    funnel: Path | None,
    sub: dict[str, MetaResult] | None,
    groups: list[str] | None,
    funnel_fill: bool = False,
    counts: list[tuple[float, float, float, float]] | None = None,
    arms: tuple[str, str] | None = None,
    favours: tuple[str, str] | None = None,
) -> None:
    if forest is None and funnel is None:
        return
    from glabella.evidence import plots  # matplotlib: loaded only when a plot is asked for

    if forest is not None:
        plots.forest_plot(
            res,
            labels,
            forest,
            subgroups=sub,
            groups=groups,
            counts=counts,
            arms=arms or ("Treatment", "Control"),
            favours=favours,
        )
    if funnel is not None:
        filled_yi = filled_vi = None
        if funnel_fill:
            from glabella.evidence import bias

            tf = bias.trimfill(res)
            filled_yi, filled_vi = tf.result.yi[tf.filled], tf.result.vi[tf.filled]
        plots.funnel_plot(res, funnel, filled_yi=filled_yi, filled_vi=filled_vi)


def _print_bias(extra: dict[str, Any], level: float) -> None:
    """The bias and sensitivity results in words (model scale)."""
    eg = extra.get("egger")
    if eg:
        stat = (
            f"t({eg['df']}) = {eg['tval']:.4f}"
            if eg["tval"] is not None
            else (f"z = {eg['zval']:.4f}")
        )
        _out.print(f"Regression test for funnel plot asymmetry (predictor: SE): {stat}, "
                   f"p = {eg['pval']:.4f}", markup=False)  # fmt: skip
    rk = extra.get("ranktest")
    if rk:
        _out.print(f"Rank correlation test: Kendall's tau = {rk['tau']:.4f}, p = {rk['pval']:.4f}",
                   markup=False)  # fmt: skip
    tf = extra.get("trimfill")
    if tf:
        n = tf["k0"]
        _out.print(
            f"Trim-and-fill: {n} stud{'y' if n == 1 else 'ies'} estimated missing on the "
            f"{tf['side']} side; estimate with them {tf['estimate']:.4f} "
            f"[95% CI {tf['ci_lb']:.4f}, {tf['ci_ub']:.4f}]",
            markup=False,
        )
    rows = extra.get("leave1out")
    if rows:
        table = Table(title="Leave-one-out")
        for col in ("study left out", "estimate", f"{level:g}% CI", "p", "tau²", "I²"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                str(r["study"]),
                f"{r['estimate']:.4f}",
                f"[{r['ci_lb']:.4f}, {r['ci_ub']:.4f}]",
                f"{r['pval']:.4g}",
                "-" if r["tau2"] is None else f"{r['tau2']:.4f}",
                "-" if r["I2"] is None else f"{r['I2']:.1f}%",
            )
        _out.print(table)


#: column heads of the back-transformed subgroup estimates
_SHORT = {
    "RR": "RR",
    "OR": "OR",
    "PETO": "OR",
    "ROM": "ROM",
    "ZCOR": "r",
    "PLO": "prop.",
    "PAS": "prop.",
}


def _back(res: MetaResult, has_mods: bool) -> BackTransformed | None:
    """The pooled estimate on the reader's scale; none for a meta-regression's intercept."""
    if has_mods or res.measure is None:
        return None
    return back_transform(res.measure, res.estimate, res.ci_lb, res.ci_ub, res.pi_lb, res.pi_ub)


def _print_summary(
    res: MetaResult,
    data: PreparedData,
    sub: dict[str, MetaResult] | None,
    qb: tuple[float, int, float] | None,
    extra: dict[str, Any],
    has_mods: bool = False,
) -> None:
    _out.print(str(res), markup=False)
    bt = _back(res, has_mods)
    if bt is not None:
        lvl = f"{res.level:g}%"
        pi = (
            f"; {lvl} prediction interval {bt.pi_lb:.4f} to {bt.pi_ub:.4f}"
            if bt.pi_lb is not None and bt.pi_ub is not None
            else ""
        )
        _out.print(
            f"\nBack-transformed to the {bt.scale} (as metafor's predict(res, transf = ...)): "
            f"{bt.estimate:.4f} ({lvl} CI {bt.ci_lb:.4f} to {bt.ci_ub:.4f}){pi}",
            markup=False,
        )
    if sub:
        table = Table(title="Subgroups")
        ci_head = "95% CI" if res.level == 95 else "CI"
        scale = TRANSFORMS.get(res.measure or "")
        cols = ["level", "k", "estimate", ci_head, "tau²", "I²"]
        if scale is not None:
            short = _SHORT.get(res.measure or "", scale[0])
            cols += [short, f"{ci_head} ({short})"]
        for col in cols:
            table.add_column(col)
        for level, r in sub.items():
            row = [
                level,
                str(r.k),
                f"{r.estimate:.4f}",
                f"[{r.ci_lb:.4f}, {r.ci_ub:.4f}]",
                "-" if r.tau2 is None else f"{r.tau2:.4f}",
                "-" if r.I2 is None else f"{r.I2:.1f}%",
            ]
            rb = _back(r, False)
            if scale is not None:
                row += (
                    [f"{rb.estimate:.4f}", f"[{rb.ci_lb:.4f}, {rb.ci_ub:.4f}]"]
                    if rb is not None
                    else ["-", "-"]
                )
            table.add_row(*row)
        _out.print(table)
        if qb is not None:
            _out.print(
                f"Test for subgroup differences: Q_between(df = {qb[1]}) = {qb[0]:.4f}, "
                f"p = {qb[2]:.4g}",
                markup=False,
            )
    _print_bias(extra, res.level)
    if extra.get("bayes_summary"):
        _out.print("\n" + str(extra["bayes_summary"]), markup=False)
    for note in data.notes:
        _out.print(f"Note: {note}", markup=False)


def _pair(flag: str, value: str | None) -> tuple[str, str] | None:
    """``"A,B"`` as two labels, or a clear error naming the flag."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or not all(parts):
        _fail(f'{flag} needs two labels separated by a comma, e.g. {flag} "BoNT-A,placebo"')
    return parts[0], parts[1]


def meta_command(
    file: Path = typer.Argument(..., help="CSV file with metafor's column names"),
    measure: str = typer.Option(..., "--measure", help=", ".join(MEASURES)),
    method: str = typer.Option("REML", "--method", help=", ".join(ALL_METHODS)),
    test: str = typer.Option("z", "--test", help="z or knha (Knapp-Hartung)"),
    level: float = typer.Option(95.0, "--level", help="confidence level in percent"),
    by: str | None = typer.Option(None, "--by", help="column for subgroup analysis"),
    mods: str | None = typer.Option(None, "--mods", help="moderator column(s), comma-separated"),
    egger: bool = typer.Option(False, "--egger", help="Egger-type regression test"),
    ranktest: bool = typer.Option(False, "--ranktest", help="Begg's rank correlation test"),
    trimfill: bool = typer.Option(
        False,
        "--trimfill",
        help="trim-and-fill (with --funnel, filled studies drawn as open circles)",
    ),
    leave1out: bool = typer.Option(False, "--leave1out", help="leave-one-out analysis"),
    forest: Path | None = typer.Option(None, "--forest", help="write a forest plot (PNG)"),
    favours: str | None = typer.Option(
        None,
        "--favours",
        help='forest plot: "LEFT,RIGHT" written as "Favours LEFT" / "Favours RIGHT" under the '
        "axis, left and right of the null line",
    ),
    arms: str | None = typer.Option(
        None,
        "--arms",
        help='forest plot of 2x2 data: headings of the events/total columns, "ARM1,ARM2" '
        "(ai/n1i, ci/n2i; default Treatment,Control)",
    ),
    funnel: Path | None = typer.Option(None, "--funnel", help="write a funnel plot (PNG)"),
    bayes: bool = typer.Option(
        False,
        "--bayes",
        help="add a Bayesian random-effects analysis (marginal posterior of tau by numerical "
        "integration, as R's bayesmeta), for few studies",
    ),
    tau_prior: str = typer.Option(
        "halfnormal:0.5",
        "--tau-prior",
        help="prior on tau for --bayes: halfnormal:SCALE, halfcauchy:SCALE or uniform:UPPER",
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Meta-analysis of a CSV file (effect sizes, model, heterogeneity) with metafor's numbers."""
    mod_names = [m.strip() for m in mods.split(",") if m.strip()] if mods else []
    if mods is not None and not mod_names:
        _fail("--mods needs at least one column name")
    try:
        if bayes and (m := canonical_method(method)) in ("MH", "PETO"):
            _fail(f"--bayes is a random-effects model; it cannot be combined with --method {m}")
        meas, meth, tst = check_options(measure, method, test, level, mod_names)
    except FitError as exc:
        _fail(str(exc))
    prior = None
    if not bayes and tau_prior.strip().lower() != "halfnormal:0.5":
        _fail("--tau-prior is the prior of the Bayesian model: add --bayes")
    if bayes:
        if mod_names or by is not None:
            _fail("--bayes is available for the intercept-only model, without --mods or --by")
        from glabella.evidence.bayes import parse_tau_prior

        try:
            prior = parse_tau_prior(tau_prior)
        except ValueError as exc:
            _fail(str(exc))
    favours_pair, arms_pair = _pair("--favours", favours), _pair("--arms", arms)
    for flag, given in (("--favours", favours_pair), ("--arms", arms_pair)):
        if given is not None and forest is None:
            _fail(f"{flag} labels the forest plot: add --forest PNG")
    for flag, target in (("--forest", forest), ("--funnel", funnel)):
        if target is not None and not target.parent.is_dir():
            _fail(f"cannot write the plot {flag} {target}: no such directory {target.parent}")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        _fail(f"no such file: {file}")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {file}: {exc}")
    try:
        data = prepare(parse_csv(text), meas, mods=mod_names, by=by)
        fitted = fit(data, meas, meth, tst, mods=mod_names, by=by, level=level)
        res, sub = fitted.model, fitted.subgroups
        qb = fitted.q_between
        out = fitted.to_dict()
        bt = _back(res, bool(mod_names))
        out["back_transformed"] = bt.to_dict() if bt is not None else None
        if out["subgroups"] and sub:
            for lv, r in sub.items():
                rb = _back(r, False)
                out["subgroups"][lv]["back_transformed"] = rb.to_dict() if rb else None
        want = {"egger": egger, "ranktest": ranktest, "trimfill": trimfill, "leave1out": leave1out}
        for key in want:
            out[key] = None
        extra = _bias(res, list(data.labels), want)
        out.update(extra)
        out["bayes"] = None
        if prior is not None:
            from glabella.evidence.bayes import bayes_meta

            bres = bayes_meta(
                data.effects.yi, data.effects.vi, tau_prior=prior, level=level, measure=meas
            )
            out["bayes"] = bres.to_dict()
            extra = {**extra, "bayes_summary": bres.summary()}
        groups = [str(g) for g in data.groups] if data.groups is not None else None
        counts = None
        if forest is not None:
            from glabella.evidence.plots import arm_counts

            counts = arm_counts(data.inputs)
            if arms_pair is not None and counts is None:
                _fail(
                    "--arms names the columns of 2x2 counts, but the data have none "
                    "(no 2x2 columns ai,bi,ci,di or ai,n1i,ci,n2i)"
                )
        _plots(
            res,
            list(data.labels),
            forest,
            funnel,
            sub,
            groups,
            funnel_fill=trimfill,
            counts=counts,
            arms=arms_pair,
            favours=favours_pair,
        )
    except CSVInputError as exc:
        _fail(f"{file}: {exc}")
    except (EffectSizeError, MetaError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the plot: {exc}")
    out["notes"] = list(res.notes)
    if as_json:
        typer.echo(json.dumps(_clean(out), indent=2))
        return
    _print_summary(res, data, sub, qb, extra, has_mods=bool(mod_names))
