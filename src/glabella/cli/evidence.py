"""`glabella evidence` commands: browse, check, pool, export and import the evidence base.

A thin adapter over :mod:`glabella.evidence.studies` and :mod:`glabella.evidence.synthesis`.
Errors are printed as one clear line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from glabella import labels
from glabella.evidence import studies as st
from glabella.evidence.studies import OUTCOME_KINDS, EvidenceBase, EvidenceDataError
from glabella.evidence.synthesis import (
    DOSE_BANDS,
    HEADLINE_OUTCOMES,
    POOLED_OUTCOMES,
    SENSITIVITY_LABELS,
    SPONSOR_GROUPS,
    Synthesis,
    headline,
    pool,
    select_comparisons,
    sensitivity,
)
from glabella.formatting import plain
from glabella.interop.csv_safety import safe_cell

app = typer.Typer(help="Evidence base: trials, provenance and syntheses", no_args_is_help=True)

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    """A clear message on stderr and exit code 2; never a traceback."""
    _err.print(f"error: {message}", markup=False)
    raise typer.Exit(code=2)


def _base(data_dir: Path | None = None) -> EvidenceBase:
    try:
        return st.load_evidence(data_dir)
    except EvidenceDataError as exc:
        _fail(f"the evidence data are invalid; run `glabella evidence check`: {exc}")
    except OSError as exc:
        _fail(f"cannot read the evidence data: {exc}")


def _disorder(value: str) -> str:
    code = value.strip().lower()
    if code not in st.DISORDERS:
        _fail(f"unknown disorder {value!r}; choose one of {', '.join(st.DISORDERS)}")
    return code


def _outcome(value: str) -> str:
    code = value.strip().lower().replace("-", "_")
    if code not in POOLED_OUTCOMES:
        _fail(f"unknown outcome {value!r}; choose one of {', '.join(POOLED_OUTCOMES)}")
    return code


@app.command("list")
def list_command(
    disorder: str | None = typer.Option(None, "--disorder", help="mdd, bpd, sad, bipolar, mixed"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """List every study with its design, size and whether it met its primary end point."""
    base = _base()
    studies = base.studies if disorder is None else base.by_disorder(_disorder(disorder))
    rows = [st.study_summary(s) for s in studies]
    if as_json:
        _out.print(json.dumps({"evidence_version": base.version, "studies": rows}, indent=2))
        return
    table = Table(title=f"Evidence base (version {base.version})")
    for column in ("id", "study", "design", "disorder", "N", "primary met", "RoB"):
        table.add_column(column)
    for r in rows:
        met = {True: "yes", False: "NO", None: "-"}[r["primary_endpoint_met"]]
        table.add_row(
            r["id"],
            r["short"],
            r["design"],
            r["disorder"],
            plain(r["n"]),
            met,
            plain(r["rob_overall"]),
        )
    _out.print(table)


def _num_line(path: str, num: dict[str, Any] | None) -> str:
    if num is None:
        return ""
    flag = "verified" if num["verified"] else "NOT verified"
    extra = f"; derived: {num['derivation']}" if num.get("derivation") else ""
    note = f"; note: {num['note']}" if num.get("note") else ""
    return (
        f"  {path} = {plain(num['value'])}  [{flag}; {num['source']}: {num['location']}"
        f"{extra}{note}]"
    )


@app.command("show")
def show_command(
    study_id: str = typer.Argument(..., help="e.g. finzi-2014"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Show one study: citation, arms, outcomes, RoB 2 and every number with its provenance."""
    base = _base()
    try:
        study = base.get(study_id.strip().lower())
    except KeyError:
        _fail(f"no study {study_id!r}; see `glabella evidence list`")
    detail = st.study_to_dict(study)
    if as_json:
        _out.print(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    p = _out.print
    p(f"{study.short}: {study.title}", markup=False)
    cite = ", ".join(x for x in (study.journal, study.citation) if x)
    ids = " ".join(
        x
        for x in (
            f"doi:{study.doi}" if study.doi else "",
            f"PMID {study.pmid}" if study.pmid else "",
            *study.registry_ids,
        )
        if x
    )
    p(f"{', '.join(study.authors)} ({study.year}). {cite} {ids}".strip(), markup=False)
    p(
        f"design: {labels.label(study.design, 'design')}; disorder: {st.DISORDERS[study.disorder]}",
        markup=False,
    )
    met = {True: "met", False: "NOT met", None: "not applicable / unknown"}
    p(f"primary end point: {met[study.primary_endpoint_met]}", markup=False)
    if study.funding:
        p(f"funding: {study.funding}", markup=False)
    p(f"\n{study.summary}\n", markup=False)
    p("Numbers (value [provenance]):", markup=False)
    for path, num in study.numbers():
        p(_num_line(path, st.num_to_dict(num, study)), markup=False)
    derived = [o for o in study.outcomes if o.effect is not None]
    if derived:
        p("\nDerived effect sizes (from the reported statistics):", markup=False)
        for o in derived:
            assert o.effect is not None
            p(f"  {o.id}: {o.effect.chain(study)}", markup=False)
    for text in study.inconsistencies:
        p(f"\ninconsistency in the source: {text}", markup=False)
    if study.risk_of_bias:
        p("\nRisk of bias (RoB 2):", markup=False)
        for name, dom in study.risk_of_bias.domains().items():
            p(f"  {name}: {dom.judgement} — {dom.reason}", markup=False)
    p("\nSources:", markup=False)
    for s in study.sources:
        p(f"  [{s.key}] {s.kind}: {s.url}" + (f" ({s.note})" if s.note else ""), markup=False)
    for note in study.notes:
        p(f"note: {note}", markup=False)
    p(
        f"\n{detail['numbers_verified']} of {detail['numbers_total']} numbers verified in the "
        "primary source.",
        markup=False,
    )


def _print_synthesis(syn: Synthesis) -> None:
    p = _out.print
    title = f"{st.DISORDERS[syn.disorder]} / {labels.label(syn.outcome, 'outcome').lower()}"
    p(f"{title} ({syn.status}; evidence version {syn.evidence_version})", markup=False)
    p(syn.summary, markup=False)
    if syn.comparisons:
        table = Table(title="Included comparisons")
        for column in ("study", "toxin", "control", "weight %", "RoB"):
            table.add_column(column)
        weights = syn.primary.weights if syn.primary else tuple(None for _ in syn.comparisons)
        for c, w in zip(syn.comparisons, weights, strict=True):
            if c.ai is not None:
                t, k = f"{c.ai}/{c.n1i}", f"{c.ci}/{c.n2i}"
            elif c.m1i is not None:
                t = f"{c.m1i:g} ({c.sd1i:g}), n={c.n1i}"
                k = f"{c.m2i:g} ({c.sd2i:g}), n={c.n2i}"
            else:
                flag = " (from a bound)" if c.bound else ""
                t = f"g {c.yi:.2f}{flag}, n={c.n1i}"
                k = f"n={c.n2i}"
            table.add_row(c.label, t, k, "-" if w is None else f"{w:.1f}", plain(c.rob_overall))
        p(table)
        for c in syn.comparisons:
            if c.chain:
                p(f"  {c.label}: {c.chain}", markup=False)
    for e in syn.estimates:
        pi = (
            f"; prediction interval {e.pi_lb:.3g} to {e.pi_ub:.3g}"
            if e.pi_lb is not None and e.pi_ub is not None
            else ""
        )
        i2 = "-" if e.i2 is None else f"{e.i2:.1f}%"
        tau2 = "-" if e.tau2 is None else f"{e.tau2:.4g}"
        p(
            f"{e.measure} {e.estimate:.3g} (95% CI {e.ci_lb:.3g} to {e.ci_ub:.3g}){pi}; "
            f"tau² {tau2}, I² {i2}, Q {e.q:.3g} (p {e.q_pval:.3g}), k {e.k}",
            markup=False,
        )
    if syn.certainty is not None:
        p(f"Certainty: {syn.certainty.level}", markup=False)
        for d in syn.certainty.domains:
            p(f"  {d.domain}: -{d.levels} {labels.name_studies(d.reason)}", markup=False)
    if syn.bayes is not None:
        b = syn.bayes
        p(
            f"Bayesian random effects ({b['tau_prior_text']}, uniform prior on the mean): "
            f"{syn.primary.measure if syn.primary else ''} {b['estimate']:.3g} "
            f"(95% CrI {b['ci_lb']:.3g} to {b['ci_ub']:.3g}); tau median {b['tau_median']:.3g} "
            f"(95% CrI {b['tau_ci_lb']:.3g} to {b['tau_ci_ub']:.3g}); a new trial "
            f"{b['pred_lb']:.3g} to {b['pred_ub']:.3g}",
            markup=False,
        )
    if syn.pooled:
        p("Method: REML tau², Knapp-Hartung CI (few trials).", markup=False)
    for ex in syn.excluded:
        p(f"not pooled: {labels.label(ex.study_id, 'study')}: {ex.reason}", markup=False)
    for note in syn.notes:
        p(f"note: {labels.name_studies(note)}", markup=False)


@app.command("pool")
def pool_command(
    disorder: str = typer.Option("mdd", "--disorder", help="mdd, bpd, sad, bipolar"),
    outcome: str | None = typer.Option(
        None,
        "--outcome",
        help="change, response, remission, dropout, adverse_events "
        "(default: the headline outcome, the one with the most trials and patients)",
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    exclude_high_rob: bool = typer.Option(False, "--exclude-high-rob"),
    exclude_crossover: bool = typer.Option(False, "--exclude-crossover"),
    exclude_bounds: bool = typer.Option(
        False, "--exclude-bounds", help="leave out effects derived from a bound (p < x)"
    ),
    sponsor: str | None = typer.Option(None, "--sponsor", help="industry or other"),
    dose: str | None = typer.Option(None, "--dose", help="low (<= 40 U) or high (> 40 U)"),
    with_sensitivity: bool = typer.Option(
        False, "--sensitivity", help="add the sensitivity analyses (JSON: under 'sensitivity')"
    ),
    forest: Path | None = typer.Option(
        None, "--forest", help="write a forest plot of the main measure to this PNG file"
    ),
) -> None:
    """Pool one outcome for one disorder (REML, Knapp-Hartung), or say why it cannot be pooled.

    Without --outcome the headline outcome is pooled: the one with the most trials, then
    patients, and never a synthesis of fewer than three comparisons.
    """
    code = _disorder(disorder)
    if dose is not None and dose not in DOSE_BANDS:
        _fail(f"unknown dose band {dose!r}; choose one of {', '.join(DOSE_BANDS)}")
    if sponsor is not None and sponsor.strip().lower() not in SPONSOR_GROUPS:
        _fail(f"unknown sponsor group {sponsor!r}; choose one of {', '.join(SPONSOR_GROUPS)}")
    base = _base()
    lead = None
    if outcome is None:
        lead = headline(code, base=base)
        out_kind = lead.lead.outcome if lead.lead is not None else HEADLINE_OUTCOMES[0]
    else:
        out_kind = _outcome(outcome)
    syn = pool(
        code,
        out_kind,
        exclude_high_rob=exclude_high_rob,
        exclude_crossover=exclude_crossover,
        dose=dose,
        exclude_bounds=exclude_bounds,
        sponsor=sponsor.strip().lower() if sponsor is not None else None,
        base=base,
    )
    sens = sensitivity(code, out_kind, base=base) if with_sensitivity else None
    if forest is not None:
        _write_forest(syn, forest)
    if as_json:
        payload: dict[str, Any] = syn.to_dict()
        if lead is not None:
            payload["headline"] = lead.text
        if sens is not None:
            payload["sensitivity"] = {k: v.to_dict() for k, v in sens.items()}
        _out.print(json.dumps(payload, indent=2, ensure_ascii=False), markup=False)
        return
    if lead is not None:
        _out.print(f"Headline: {lead.text}\n", markup=False)
    _print_synthesis(syn)
    if sens is not None:
        table = Table(title="Sensitivity analyses")
        for column in ("analysis", "k", "patients", "estimate (95% CI)", "certainty"):
            table.add_column(column)
        for name, s2 in sens.items():
            e = s2.primary
            est = (
                f"{e.measure} {e.estimate:.2f} ({e.ci_lb:.2f} to {e.ci_ub:.2f})"
                if s2.pooled and e is not None
                else f"not pooled ({len(s2.comparisons)} comparison(s))"
            )
            cert = s2.certainty.level if s2.certainty is not None else "-"
            table.add_row(
                SENSITIVITY_LABELS[name], str(len(s2.comparisons)), str(s2.n_patients), est, cert
            )
        _out.print(table)


def _write_forest(syn: Synthesis, path: Path) -> None:
    """The forest plot of the main estimate as a PNG; refuses when nothing was pooled."""
    est = syn.primary
    if not syn.pooled or est is None or est.fit is None:
        _fail(f"no forest plot: {syn.summary}")
    from glabella.evidence.plots import forest_plot  # matplotlib only when a plot is asked for

    title = f"{st.DISORDERS[syn.disorder]}: {labels.label(syn.outcome, 'outcome').lower()}"
    try:
        forest_plot(est.fit, [c.label for c in syn.comparisons], path, title=title)
    except OSError as exc:
        _fail(f"cannot write the forest plot to {path}: {exc}")
    _err.print(f"forest plot written to {path}", markup=False)


@app.command("check")
def check_command(
    data_dir: Path | None = typer.Option(None, "--data-dir", help="default: the packaged data"),
) -> None:
    """Validate every study file: provenance, impossible values, references, duplicate ids."""
    try:
        docs = st.load_raw_documents(data_dir)
    except EvidenceDataError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read {data_dir}: {exc}")
    problems = st.check(docs)
    if problems:
        for prob in problems:
            _err.print(str(prob), markup=False)
        _fail(f"{len(problems)} problem(s) in {len(docs)} study file(s)")
    numbers = sum(len(st.parse_study(d).numbers()) for _, d in docs)
    version = st.evidence_version(data_dir)
    _out.print(
        f"ok: {len(docs)} studies, {numbers} numbers with provenance (evidence version {version})",
        markup=False,
    )


@app.command("export")
def export_command(
    fmt: str = typer.Option("csv", "--format", help="csv (the `glabella meta` input format)"),
    disorder: str = typer.Option("mdd", "--disorder"),
    outcome: str = typer.Option("response", "--outcome"),
    output: Path | None = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
) -> None:
    """Export the comparisons of one synthesis as CSV, so it can be re-run elsewhere (e.g. R).

    Binary outcomes: study,ai,n1i,ci,n2i. Continuous outcomes: study,m1i,sd1i,n1i,m2i,sd2i,n2i,
    or study,yi,vi,... (Hedges' g and its variance) when any effect was derived from reported
    statistics. The same inclusion rules as `glabella evidence pool` apply (first-period
    crossover data).
    """
    if fmt.lower() != "csv":
        _fail(f"unsupported format {fmt!r}; only csv is available")
    code, out_kind = _disorder(disorder), _outcome(outcome)
    base = _base()
    comps, _ = select_comparisons(base.studies, code, out_kind)
    if not comps:
        _fail(f"no poolable data for {code} / {out_kind}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if OUTCOME_KINDS[out_kind] == "binary":
        writer.writerow(["study", "ai", "n1i", "ci", "n2i"])
        for c in comps:
            writer.writerow([safe_cell(c.label), c.ai, c.n1i, c.ci, c.n2i])
    elif all(c.m1i is not None for c in comps):
        writer.writerow(["study", "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"])
        for c in comps:
            writer.writerow([safe_cell(c.label), c.m1i, c.sd1i, c.n1i, c.m2i, c.sd2i, c.n2i])
    else:
        # effects derived from reported statistics: Hedges' g and its variance, with the
        # route in a moderator column (`glabella meta FILE --measure GEN`, or R: rma(yi, vi))
        writer.writerow(["study", "yi", "vi", "n1i", "n2i", "effect_from"])
        for c in comps:
            writer.writerow(
                [safe_cell(c.label), repr(c.yi), repr(c.vi), c.n1i, c.n2i, c.effect_from]
            )
    text = buf.getvalue()
    if output is None:
        _out.print(text, end="", markup=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {output}: {exc}")
        _err.print(f"wrote {len(comps)} comparisons to {output}", markup=False)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="a study YAML file"),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="directory of study files (default: the packaged data)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and report, write nothing"),
) -> None:
    """Validate a new or updated study file and add it, reporting exactly what changed."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc}")
    try:
        doc = st.read_yaml_file(text, file.name)
    except EvidenceDataError as exc:
        _fail(str(exc))
    target_dir = data_dir if data_dir is not None else st.packaged_data_dir()
    if not target_dir.is_dir():
        _fail(f"data directory {target_dir} does not exist")
    sid = doc.get("id")
    if not isinstance(sid, str) or not sid:
        _fail(f"{file.name}: the study has no id")
    try:
        existing = st.load_raw_documents(target_dir)
    except EvidenceDataError as exc:
        _fail(f"the current data are unreadable: {exc}")
    target_name = f"{sid}.yaml"
    old = next((d for name, d in existing if d.get("id") == sid), None)
    others = [(name, d) for name, d in existing if d.get("id") != sid and name != target_name]
    problems = st.check([*others, (target_name, doc)])
    if problems:
        for prob in problems:
            _err.print(str(prob), markup=False)
        _fail(f"{file.name} was not imported: {len(problems)} problem(s)")
    changes = st.diff_documents(old, doc)
    before = st.evidence_version(target_dir)
    if old is None:
        nums = st.parse_study(doc).numbers()
        verified = sum(1 for _, n in nums if n.provenance.verified)
        _out.print(
            f"new study {sid}: {len(changes)} fields, {len(nums)} numbers "
            f"({verified} verified in the primary source)",
            markup=False,
        )
    elif not changes:
        _out.print(f"study {sid}: no change", markup=False)
    else:
        _out.print(f"study {sid}: {len(changes)} change(s)", markup=False)
    for change in changes if old is not None else []:
        _out.print(f"  {change}", markup=False)
    if dry_run:
        _out.print("dry run: nothing written", markup=False)
        return
    try:
        (target_dir / target_name).write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {target_dir / target_name}: {exc}")
    after = st.evidence_version(target_dir)
    _out.print(f"wrote {target_dir / target_name}; evidence version {before} -> {after}")
