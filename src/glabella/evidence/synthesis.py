"""Per-disorder syntheses of the evidence base: which trials enter, and what they show.

The selection rules (documented in ``docs/evidence/method.md``):

* Only randomised trials are pooled; case series, registry entries, published meta-analyses and
  pharmacovigilance studies are listed with the reason they are not pooled.
* One comparison per pair of arms (intervention vs control) and outcome kind: the outcome marked
  primary, else the first listed. A trial with two doses and two separate placebo arms (Brin
  2020) gives two independent comparisons.
* Crossover trials contribute first-period data only; any other period is excluded with that
  reason. ``exclude_crossover`` drops them entirely (sensitivity analysis).
* Binary outcomes need events and N in both arms; continuous outcomes need mean, SD and N in both
  arms. Nothing is imputed: a trial without these numbers is listed as "not poolable" with why.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from glabella.evidence.derived import ROUTES
from glabella.evidence.effects import escalc
from glabella.evidence.grade import Certainty, GradeStudy, rate_certainty
from glabella.evidence.meta import MetaResult, rma
from glabella.evidence.nnt import NNTResult, nnt
from glabella.evidence.studies.loading import load_evidence
from glabella.evidence.studies.model import (
    DISORDERS,
    OUTCOME_KINDS,
    ArmResult,
    EvidenceBase,
    Num,
    Outcome,
    Study,
)
from glabella.evidence.studies.views import num_to_dict, study_summary, study_to_dict
from glabella.formatting import readable

__all__ = [
    "BAYES_BELOW_K",
    "DOSE_BANDS",
    "HEADLINE_MIN_K",
    "HEADLINE_OUTCOMES",
    "METHOD_TEXT",
    "MIN_K",
    "POOLED_OUTCOMES",
    "SENSITIVITY_LABELS",
    "SPONSOR_GROUPS",
    "TIMEPOINT_WEEKS",
    "Comparison",
    "Exclusion",
    "Headline",
    "PooledEstimate",
    "Synthesis",
    "disorder_summary",
    "headline",
    "list_studies",
    "pool",
    "pooled_result",
    "published_beside_ours",
    "select_comparisons",
    "sensitivity",
    "study_detail",
]

#: Outcome kinds that can be pooled, with the measures used for them.
POOLED_OUTCOMES: dict[str, tuple[str, ...]] = {
    "response": ("RR", "RD"),
    "remission": ("RR", "RD"),
    "dropout": ("RR", "RD"),
    "adverse_events": ("RR", "RD"),
    "change": ("SMD",),
}

#: Preferred time point (weeks) of each outcome: the week of the trials' primary end points.
TIMEPOINT_WEEKS: dict[str, dict[str, float]] = {
    "mdd": {"change": 6.0, "response": 6.0, "remission": 6.0},
}

#: Sponsor groups of the by-sponsor sensitivity analysis.
SPONSOR_GROUPS: dict[str, str] = {
    "industry": "industry-sponsored",
    "other": "not industry-sponsored (academic, or funding not read)",
}

#: Dose bands of the intervention arm (units of the product; women's dose when sex-specific).
DOSE_BANDS: dict[str, tuple[float, float]] = {
    "low": (0.0, 40.0),
    "high": (40.0, float("inf")),
}


_NOT_POOLED: dict[str, str] = {
    "meta_analysis": "published meta-analysis: its reported result is shown, not re-pooled",
    "pooled_analysis": "published pooled analysis of trials already listed: shown, not re-pooled",
    "systematic_review": "systematic review without pooling: shown, not pooled",
    "case_series": "uncontrolled case series: not pooled",
    "open_label": "open-label uncontrolled study: not pooled",
    "pharmacovigilance": "pharmacovigilance (spontaneous reports): not pooled",
    "registry_only": "registry entry without results: nothing to pool",
}


@dataclass(frozen=True)
class Exclusion:
    """A study of the disorder that does not enter the pooled analysis, and why."""

    study_id: str
    reason: str
    arms: tuple[str, ...] = ()  # arm ids, when only some comparisons of an included trial are out

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {"study_id": self.study_id, "reason": self.reason, "arms": list(self.arms)}


@dataclass(frozen=True)
class Comparison:
    """One two-arm comparison that enters a pooled analysis, with the numbers used."""

    study_id: str
    label: str
    outcome_id: str
    kind: str
    design: str
    intervention_arm: str
    control_arm: str
    n1i: int
    n2i: int
    ai: int | None = None
    ci: int | None = None
    m1i: float | None = None
    sd1i: float | None = None
    m2i: float | None = None
    sd2i: float | None = None
    dose_units: float | None = None
    rob_overall: str | None = None
    indirectness: str | None = None
    timepoint_weeks: float | None = None
    unverified: tuple[str, ...] = ()
    yi: float | None = None
    vi: float | None = None
    effect_from: str | None = None
    bound: bool = False
    approximate: bool = False
    chain: str | None = None
    sponsor: str | None = None
    instrument: str | None = None

    @property
    def n(self) -> int:
        """Patients in the comparison (both arms)."""
        return self.n1i + self.n2i

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            "study_id": self.study_id,
            "label": self.label,
            "outcome_id": self.outcome_id,
            "kind": self.kind,
            "design": self.design,
            "intervention_arm": self.intervention_arm,
            "control_arm": self.control_arm,
            "ai": self.ai,
            "n1i": self.n1i,
            "ci": self.ci,
            "n2i": self.n2i,
            "m1i": self.m1i,
            "sd1i": self.sd1i,
            "m2i": self.m2i,
            "sd2i": self.sd2i,
            "dose_units": self.dose_units,
            "rob_overall": self.rob_overall,
            "indirectness": self.indirectness,
            "timepoint_weeks": self.timepoint_weeks,
            "unverified": list(self.unverified),
            "yi": self.yi,
            "vi": self.vi,
            "effect_from": self.effect_from,
            "bound": self.bound,
            "approximate": self.approximate,
            "chain": self.chain,
            "sponsor": self.sponsor,
            "instrument": self.instrument,
        }


def _dose(study: Study, arm_id: str) -> float | None:
    arm = study.arm(arm_id)
    num = arm.dose_units or arm.dose_units_women
    return float(num.value) if num is not None else None


def _unverified(outcome: Outcome, rows: Sequence[ArmResult], names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for row in rows:
        for name in names:
            num: Num | None = getattr(row, name)
            if num is not None and not num.provenance.verified:
                out.append(f"outcomes.{outcome.id}.{row.arm}.{name}")
    return out


def _two_arms(study: Study, outcome: Outcome) -> tuple[ArmResult, ArmResult] | None:
    roles = {a.id: a.role for a in study.arms}
    inter = [r for r in outcome.results if roles.get(r.arm) == "intervention"]
    ctrl = [r for r in outcome.results if roles.get(r.arm) == "control"]
    if len(inter) == 1 and len(ctrl) == 1:
        return inter[0], ctrl[0]
    return None


def _label(study: Study, outcome: Outcome, arm: str) -> str:
    pairs = sum(
        1
        for o in study.outcomes
        if o.kind == outcome.kind
        and o.timepoint_weeks == outcome.timepoint_weeks
        and (_two_arms(study, o) or o.effect is not None)
    )
    return f"{study.short} ({study.arm(arm).label})" if pairs > 1 else study.short


def _common(study: Study, outcome: Outcome, arm: str, control: str) -> dict[str, object]:
    rob = study.risk_of_bias.overall.judgement if study.risk_of_bias else None
    return {
        "study_id": study.id,
        "label": _label(study, outcome, arm),
        "outcome_id": outcome.id,
        "kind": outcome.kind,
        "design": study.design,
        "intervention_arm": arm,
        "control_arm": control,
        "dose_units": _dose(study, arm),
        "rob_overall": rob,
        "indirectness": study.indirectness,
        "timepoint_weeks": outcome.timepoint_weeks,
        "sponsor": study.sponsor,
        "instrument": outcome.instrument,
    }


def _derived_comparison(study: Study, outcome: Outcome) -> Comparison:
    eff = outcome.effect
    assert eff is not None
    e = eff.effect
    return Comparison(
        n1i=e.n1,
        n2i=e.n2,
        yi=e.g,
        vi=e.var_g,
        effect_from=ROUTES[eff.statistic].label,
        bound=e.bound,
        approximate=e.approximate,
        chain=eff.chain(study),
        unverified=tuple(f"outcomes.{outcome.id}.effect.inputs.{k}" for k in eff.unverified),
        **_common(study, outcome, eff.intervention, eff.control),  # type: ignore[arg-type]
    )


def _comparison(study: Study, outcome: Outcome) -> Comparison | str:
    """A comparison from one outcome, or the reason it cannot be used."""
    pair = _two_arms(study, outcome)
    binary = OUTCOME_KINDS[outcome.kind] == "binary"
    names = ("events", "n") if binary else ("mean", "sd", "n")
    missing: list[str] = []
    if pair is not None:
        missing = [f"{r.arm}.{n}" for r in pair for n in names if getattr(r, n) is None]
    if (pair is None or missing) and not binary and outcome.effect is not None:
        return _derived_comparison(study, outcome)
    if not outcome.results and outcome.effect is None:
        return "not read (no per-arm numbers or between-group statistic in the sources read)"
    if pair is None:
        return "the outcome does not give one intervention and one control arm"
    t, c = pair
    if missing:
        what = "events and N" if binary else "mean, SD and N"
        return f"per-arm {what} not available ({', '.join(missing)} missing)"
    assert t.n is not None and c.n is not None
    common = {
        **_common(study, outcome, t.arm, c.arm),
        "n1i": t.n.as_int(),
        "n2i": c.n.as_int(),
        "unverified": tuple(_unverified(outcome, (t, c), names)),
    }
    if binary:
        assert t.events is not None and c.events is not None
        return Comparison(ai=t.events.as_int(), ci=c.events.as_int(), **common)  # type: ignore[arg-type]
    assert t.mean is not None and t.sd is not None and c.mean is not None and c.sd is not None
    es = escalc(
        "SMD",
        m1i=_col([t.mean.value]),
        sd1i=_col([t.sd.value]),
        n1i=_col([t.n.value]),
        m2i=_col([c.mean.value]),
        sd2i=_col([c.sd.value]),
        n2i=_col([c.n.value]),
    )
    return Comparison(
        m1i=float(t.mean.value),
        sd1i=float(t.sd.value),
        m2i=float(c.mean.value),
        sd2i=float(c.sd.value),
        yi=float(es.yi[0]),
        vi=float(es.vi[0]),
        effect_from="per-arm means and SDs",
        **common,  # type: ignore[arg-type]
    )


def select_comparisons(
    studies: Sequence[Study],
    disorder: str,
    outcome: str,
    *,
    exclude_high_rob: bool = False,
    exclude_crossover: bool = False,
    dose: str | None = None,
    exclude_bounds: bool = False,
    sponsor: str | None = None,
) -> tuple[tuple[Comparison, ...], tuple[Exclusion, ...]]:
    """The comparisons that enter a pooled analysis and every study left out, with the reason.

    ``outcome`` is one of :data:`POOLED_OUTCOMES`; ``dose`` one of :data:`DOSE_BANDS` or None;
    ``sponsor`` one of :data:`SPONSOR_GROUPS` or None. Outcomes with a preferred time point
    (:data:`TIMEPOINT_WEEKS`: in depression week 6 for change, response and remission, the time
    point of every published meta-analysis) use the result at that week; a trial without one is
    listed with the week it reports. ``exclude_bounds`` drops effects derived from a bound (p < x).
    """
    if outcome not in POOLED_OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(POOLED_OUTCOMES)}, got {outcome!r}")
    if dose is not None and dose not in DOSE_BANDS:
        raise ValueError(f"dose must be one of {sorted(DOSE_BANDS)}, got {dose!r}")
    if sponsor is not None and sponsor not in SPONSOR_GROUPS:
        raise ValueError(f"sponsor must be one of {sorted(SPONSOR_GROUPS)}, got {sponsor!r}")
    week = TIMEPOINT_WEEKS.get(disorder, {}).get(outcome)
    included: list[Comparison] = []
    excluded: list[Exclusion] = []
    for study in studies:
        if study.disorder != disorder:
            continue
        if not study.randomised:
            excluded.append(Exclusion(study.id, _NOT_POOLED.get(study.design, study.design)))
            continue
        if exclude_crossover and study.crossover:
            excluded.append(Exclusion(study.id, "crossover trial excluded (sensitivity analysis)"))
            continue
        rob = study.risk_of_bias.overall.judgement if study.risk_of_bias else None
        if exclude_high_rob and rob == "high":
            excluded.append(Exclusion(study.id, "high risk of bias (sensitivity analysis)"))
            continue
        if sponsor is not None and (study.sponsor == "industry") != (sponsor == "industry"):
            excluded.append(
                Exclusion(study.id, f"not in the sponsor group {SPONSOR_GROUPS[sponsor]}")
            )
            continue
        candidates = [o for o in study.outcomes if o.kind == outcome]
        if not candidates:
            excluded.append(
                Exclusion(
                    study.id,
                    f"no {_OUTCOME_LABEL.get(outcome, outcome)} data recorded "
                    "(not found in the sources read)",
                )
            )
            continue
        reasons: list[str] = []
        if study.crossover:
            reasons.extend(
                f"{o.id}: crossover data other than the first period"
                for o in candidates
                if o.period != "first"
            )
            candidates = [o for o in candidates if o.period == "first"]
            if not candidates:
                excluded.append(Exclusion(study.id, "; ".join(reasons)))
                continue
        if week is not None:
            at_week = [o for o in candidates if o.timepoint_weeks == week]
            if not at_week:
                weeks = sorted({f"{o.timepoint_weeks:g}" for o in candidates if o.timepoint_weeks})
                when = f"reported at week {', '.join(weeks)}" if weeks else "no time point"
                excluded.append(Exclusion(study.id, f"no week-{week:g} {outcome} result ({when})"))
                continue
            candidates = at_week
        chosen: dict[tuple[str, str], Comparison] = {}
        for o in sorted(candidates, key=lambda o: not o.primary):
            comp = _comparison(study, o)
            if isinstance(comp, str):
                reasons.append(f"{o.id}: {comp}")
                continue
            key = (comp.intervention_arm, comp.control_arm)
            if key in chosen:
                continue
            if exclude_bounds and comp.bound:
                reasons.append(f"{o.id}: derived from a bound (p < x), left out (sensitivity)")
                continue
            if dose is not None:
                lo, hi = DOSE_BANDS[dose]
                if comp.dose_units is None:
                    reasons.append(f"{o.id}: dose not recorded")
                    continue
                if not lo < comp.dose_units <= hi:
                    reasons.append(f"{o.id}: dose {comp.dose_units:g} U outside the {dose} band")
                    continue
            chosen[key] = comp
        if chosen:
            included.extend(chosen.values())
            # a trial with several comparisons (Brin 2020: 30 U and 50 U) may lose only some
            covered = {c.intervention_arm for c in chosen.values()}
            lost = [a for a in study.arms if a.role == "intervention" and a.id not in covered]
            if lost and reasons:
                arms = ", ".join(a.label for a in lost)
                why = "; ".join(r.split(": ", 1)[-1] for r in reasons)
                excluded.append(
                    Exclusion(study.id, f"{arms} comparison: {why}", tuple(a.id for a in lost))
                )
        else:
            excluded.append(Exclusion(study.id, "; ".join(reasons) or "no usable data"))
    return tuple(included), tuple(excluded)


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------

#: Fewest comparisons that are pooled; below this the synthesis refuses and says so.
MIN_K = 2
METHOD = "REML"
TEST = "knha"
METHOD_TEXT = (
    "Random-effects meta-analysis: REML estimate of the between-trial variance (tau²) and the "
    "Knapp-Hartung confidence interval (t distribution, k-1 degrees of freedom), used because "
    "there are far fewer than 10 trials; the 95% prediction interval is where the effect of a "
    "new, similar trial is expected to fall."
)
_NULL = {"RR": 1.0, "RD": 0.0, "SMD": 0.0}
_OUTCOME_LABEL = {
    "response": "response",
    "remission": "remission",
    "dropout": "dropping out",
    "adverse_events": "adverse events",
    "change": "change in symptom score",
}
_BENEFICIAL = {"response": True, "remission": True, "dropout": False, "adverse_events": False}


@dataclass(frozen=True)
class PooledEstimate:
    """A pooled estimate on the natural scale (RR back-transformed from log RR).

    ``se``, ``tau2``, ``yi`` and ``vi`` stay on the model scale (log RR for RR);
    ``weights`` are percentages of the random-effects weights.
    """

    measure: str
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None
    pi_ub: float | None
    pval: float
    se: float
    tau2: float | None
    i2: float | None
    q: float
    q_pval: float
    k: int
    df: int | None
    weights: tuple[float, ...]
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    notes: tuple[str, ...] = ()
    fit: MetaResult | None = field(default=None, compare=False, repr=False)

    @property
    def includes_null(self) -> bool:
        """True when the confidence interval includes no effect."""
        return self.ci_lb <= _NULL[self.measure] <= self.ci_ub

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            "measure": self.measure,
            "estimate": self.estimate,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
            "pval": self.pval,
            "se": self.se,
            "tau2": self.tau2,
            "I2": self.i2,
            "Q": self.q,
            "Q_pval": self.q_pval,
            "k": self.k,
            "df": self.df,
            "includes_null": self.includes_null,
            "weights_percent": list(self.weights),
            "yi": list(self.yi),
            "vi": list(self.vi),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Synthesis:
    """One disorder x outcome synthesis: pooled, or the reason it was not pooled."""

    disorder: str
    outcome: str
    status: str  # "pooled", "too_few" or "no_data"
    comparisons: tuple[Comparison, ...]
    excluded: tuple[Exclusion, ...]
    estimates: tuple[PooledEstimate, ...]
    nnt: NNTResult | None
    certainty: Certainty | None
    summary: str
    evidence_version: str
    filters: dict[str, object]
    notes: tuple[str, ...] = ()
    bayes: dict[str, Any] | None = None

    @property
    def pooled(self) -> bool:
        """True when a pooled estimate was computed."""
        return self.status == "pooled"

    @property
    def primary(self) -> PooledEstimate | None:
        """The main estimate (RR for binary outcomes, SMD for change scores)."""
        return self.estimates[0] if self.estimates else None

    def estimate(self, measure: str) -> PooledEstimate | None:
        """The estimate for ``measure`` (RR, RD or SMD), or None."""
        return next((e for e in self.estimates if e.measure == measure), None)

    @property
    def n_patients(self) -> int:
        """Patients in the included comparisons."""
        return sum(c.n for c in self.comparisons)

    @property
    def n_trials(self) -> int:
        """Distinct trials among the included comparisons."""
        return len({c.study_id for c in self.comparisons})

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON and the web pages."""
        return {
            "disorder": self.disorder,
            "disorder_name": DISORDERS[self.disorder],
            "outcome": self.outcome,
            "status": self.status,
            "method": METHOD_TEXT if self.pooled else None,
            "k": len(self.comparisons),
            "n_trials": self.n_trials,
            "n_patients": self.n_patients,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "excluded": [e.to_dict() for e in self.excluded],
            "estimates": {e.measure: e.to_dict() for e in self.estimates},
            "nnt": (
                {**self.nnt.to_dict(), "text": self.nnt.text()} if self.nnt is not None else None
            ),
            "certainty": self.certainty.to_dict() if self.certainty is not None else None,
            "summary": self.summary,
            "evidence_version": self.evidence_version,
            "filters": dict(self.filters),
            "notes": list(self.notes),
            "bayes": self.bayes,
        }


def _col(values: Iterable[float | None]) -> npt.NDArray[np.float64]:
    """A float column, None as NaN (a NaN never reaches rma: selection requires every value)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _fit(measure: str, comps: Sequence[Comparison]) -> PooledEstimate:
    """escalc + rma (REML, Knapp-Hartung) on the comparisons, back-transformed for RR."""
    if measure == "SMD":
        # Hedges' g per comparison, computed at selection: escalc from per-arm means and SDs, or
        # glabella.evidence.convert from the reported statistics (see each comparison's chain).
        es_notes: tuple[str, ...] = ()
        yi, vi = _col(c.yi for c in comps), _col(c.vi for c in comps)
    else:
        es = escalc(
            measure,
            ai=_col(c.ai for c in comps),
            n1i=_col(c.n1i for c in comps),
            ci=_col(c.ci for c in comps),
            n2i=_col(c.n2i for c in comps),
        )
        yi, vi, es_notes = es.yi, es.vi, tuple(es.notes)
    res = rma(yi, vi, method=METHOD, test=TEST, measure=measure, notes=es_notes)
    tr = math.exp if measure == "RR" else float
    w = np.asarray(res.weights, dtype=float)
    pct = tuple(float(x) for x in 100.0 * w / w.sum())
    return PooledEstimate(
        measure=measure,
        estimate=tr(res.estimate),
        ci_lb=tr(res.ci_lb),
        ci_ub=tr(res.ci_ub),
        pi_lb=tr(res.pi_lb) if res.pi_lb is not None else None,
        pi_ub=tr(res.pi_ub) if res.pi_ub is not None else None,
        pval=float(res.pval),
        se=float(res.se),
        tau2=res.tau2,
        i2=res.I2,
        q=float(res.Q),
        q_pval=float(res.Q_pval),
        k=res.k,
        df=res.df,
        weights=pct,
        yi=tuple(float(x) for x in res.yi),
        vi=tuple(float(x) for x in res.vi),
        notes=es_notes,
        fit=res,
    )


#: Below this many comparisons the REML + Knapp-Hartung result is shown beside a Bayesian one.
BAYES_BELOW_K = 5
#: Half-normal prior scale on tau for log RR and SMD: weakly informative (Röver et al. 2021,
#: Res Synth Methods 12:448-474, section 3; Friede et al. 2017, Biom J 59:658-671).
TAU_PRIOR_SCALE = 0.5


@functools.lru_cache(maxsize=256)
def _bayes_fit(yi: tuple[float, ...], vi: tuple[float, ...], measure: str) -> Any:
    from glabella.evidence.bayes import TauPrior, bayes_meta

    prior = TauPrior("halfnormal", TAU_PRIOR_SCALE)
    return bayes_meta(yi, vi, tau_prior=prior, measure=measure)


def _bayes(est: PooledEstimate) -> dict[str, Any]:
    """Bayesian random effects (:mod:`glabella.evidence.bayes`) on the estimate's yi, vi.

    Cached on the data: the pages ask for the same synthesis many times.
    """
    from glabella.evidence.bayes import TauPrior

    prior = TauPrior("halfnormal", TAU_PRIOR_SCALE)
    res = _bayes_fit(est.yi, est.vi, est.measure)
    tr = math.exp if est.measure == "RR" else float
    return {
        "tau_prior": f"halfnormal:{TAU_PRIOR_SCALE:g}",
        "tau_prior_text": prior.describe(),
        "mu_prior_text": "uniform (improper) prior on the mean effect",
        "estimate": tr(res.mu_median),
        "ci_lb": tr(res.mu_ci_lb),
        "ci_ub": tr(res.mu_ci_ub),
        "pred_lb": tr(res.pred_lb),
        "pred_ub": tr(res.pred_ub),
        "tau_median": res.tau_median,
        "tau_ci_lb": res.tau_ci_lb,
        "tau_ci_ub": res.tau_ci_ub,
        "p_benefit": (res.p_mu_below_zero if est.measure == "SMD" else 1.0 - res.p_mu_below_zero),
        "scale": "ratio" if est.measure == "RR" else "SMD",
        "result": res.to_dict(),
    }


def _pooled_summary(
    disorder: str,
    outcome: str,
    comps: Sequence[Comparison],
    est: PooledEstimate,
    cert: Certainty,
    bayes: dict[str, Any] | None = None,
) -> str:
    n = sum(c.n for c in comps)
    trials = len({c.study_id for c in comps})
    what = _OUTCOME_LABEL[outcome]
    head = (
        f"In {trials} randomised trial{'s' if trials != 1 else ''} "
        f"({len(comps)} comparisons) with {n} patients with {DISORDERS[disorder]}, "
        if len(comps) != trials
        else f"In {trials} randomised trials with {n} patients with {DISORDERS[disorder]}, "
    )
    weeks = sorted({c.timepoint_weeks for c in comps if c.timepoint_weeks is not None})
    when = f" at week {', '.join(f'{w:g}' for w in weeks)}" if weeks else ""
    if est.measure == "SMD":
        body = (
            f"the {what}{when} with botulinum toxin versus control had a standardised mean "
            f"difference (Hedges' g) of {readable(est.estimate)} (95% CI {readable(est.ci_lb)} to "
            f"{readable(est.ci_ub)}; negative values favour the toxin)."
        )
    else:
        body = (
            f"the risk ratio for {what} with botulinum toxin versus control was "
            f"{readable(est.estimate)} (95% CI {readable(est.ci_lb)} to {readable(est.ci_ub)})."
        )
    if est.includes_null:
        body += " The confidence interval includes no difference, so the data are compatible "
        body += "with no effect."
    if len(comps) == MIN_K:
        body += (
            " With only two comparisons the Knapp-Hartung interval rests on a t distribution"
            " with 1 degree of freedom."
        )
    if est.i2 is not None:
        body += f" Heterogeneity I² = {est.i2:.0f}%"
        if est.pi_lb is not None and est.pi_ub is not None:
            body += f"; a new trial could show {readable(est.pi_lb)} to {readable(est.pi_ub)}"
        body += "."
    if bayes is not None:
        body += (
            f" With so few trials the between-trial spread is barely estimable; a Bayesian "
            f"random-effects model ({bayes['tau_prior_text']}) gives {readable(bayes['estimate'])} "
            f"(95% credible interval {readable(bayes['ci_lb'])} to {readable(bayes['ci_ub'])})."
        )
    return f"{head}{body} Certainty of the evidence: {cert.level}."


def _thin_summary(
    disorder: str, outcome: str, comps: Sequence[Comparison], studies: Sequence[Study]
) -> str:
    name = DISORDERS[disorder]
    what = _OUTCOME_LABEL[outcome]
    rcts = [s for s in studies if s.disorder == disorder and s.randomised]
    if not rcts:
        return f"There are no randomised results for {name}; nothing can be pooled."
    if not comps:
        own = " ".join(
            f"{s.short} as reported: {s.summary}"
            + "".join(f" Inconsistency in the source: {t}" for t in s.inconsistencies)
            for s in rcts
            if len(rcts) <= 2
        )
        return (
            f"No randomised trial in {name} reports usable data on {what} in the sources "
            f"read; nothing is pooled.{' ' + own if own else ''}"
        )
    c = comps[0]
    return (
        f"Only one comparison ({c.label}, {c.n} patients) reports usable per-arm data on {what} "
        f"in {name}: too few trials to pool. See the trial's own result."
    )


def pool(
    disorder: str,
    outcome: str,
    *,
    exclude_high_rob: bool = False,
    exclude_crossover: bool = False,
    dose: str | None = None,
    exclude_bounds: bool = False,
    sponsor: str | None = None,
    base: EvidenceBase | None = None,
) -> Synthesis:
    """Pool one outcome for one disorder, or refuse with the reason when data are too thin.

    Binary outcomes: RR (primary) and RD; change scores: SMD (Hedges' g). Random effects, REML
    tau² (Viechtbauer 2005, Stat Med 24:3151) with the Knapp-Hartung interval (Knapp & Hartung
    2003, Stat Med 22:2693), via :func:`glabella.evidence.meta.rma`. NNT from the pooled RR at
    the pooled control-group risk (Cochrane Handbook 15.4.4). Certainty:
    :func:`glabella.evidence.grade.rate_certainty`.
    """
    if disorder not in DISORDERS:
        raise ValueError(f"disorder must be one of {sorted(DISORDERS)}, got {disorder!r}")
    ev = base if base is not None else load_evidence()
    comps, excluded = select_comparisons(
        ev.studies,
        disorder,
        outcome,
        exclude_high_rob=exclude_high_rob,
        exclude_crossover=exclude_crossover,
        dose=dose,
        exclude_bounds=exclude_bounds,
        sponsor=sponsor,
    )
    filters: dict[str, object] = {
        "exclude_high_rob": exclude_high_rob,
        "exclude_crossover": exclude_crossover,
        "dose": dose,
        "exclude_bounds": exclude_bounds,
        "sponsor": sponsor,
    }
    unverified = [f"{c.study_id}: {p}" for c in comps for p in c.unverified]
    notes: list[str] = []
    if unverified:
        notes.append(
            f"{len(unverified)} input number(s) not verified in the primary source: "
            + "; ".join(unverified)
        )
    if len(comps) < MIN_K:
        return Synthesis(
            disorder=disorder,
            outcome=outcome,
            status="too_few" if comps else "no_data",
            comparisons=comps,
            excluded=excluded,
            estimates=(),
            nnt=None,
            certainty=None,
            summary=_thin_summary(disorder, outcome, comps, ev.studies),
            evidence_version=ev.version,
            filters=filters,
            notes=tuple(notes),
        )
    estimates = tuple(_fit(m, comps) for m in POOLED_OUTCOMES[outcome])
    main = estimates[0]
    grade_studies = [
        GradeStudy(
            study_id=c.study_id,
            weight=w,
            n=c.n,
            rob_overall=c.rob_overall,
            indirectness=c.indirectness,
        )
        for c, w in zip(comps, main.weights, strict=True)
    ]
    cert = rate_certainty(
        grade_studies,
        i2=main.i2,
        ci_lb=main.ci_lb,
        ci_ub=main.ci_ub,
        null_value=_NULL[main.measure],
        measure=main.measure,
    )
    nnt_result: NNTResult | None = None
    if main.measure == "RR":
        events = sum(c.ci or 0 for c in comps)
        total = sum(c.n2i for c in comps)
        acr = events / total
        if 0.0 < acr < 1.0:
            nnt_result = nnt(
                "RR",
                main.estimate,
                main.ci_lb,
                main.ci_ub,
                baseline_risk=acr,
                events_are_beneficial=_BENEFICIAL[outcome],
            )
            notes.append(
                f"NNT at the pooled control-group risk {events}/{total} = {acr:.1%}: "
                f"{nnt_result.text()}"
            )
        else:
            notes.append("NNT not computed: no control-group events to anchor the risk.")
    for e in estimates:
        notes.extend(f"{e.measure}: {n}" for n in e.notes)
    bayes = _bayes(main) if len(comps) < BAYES_BELOW_K else None
    bounds = [c.label for c in comps if c.bound]
    if bounds:
        notes.append(
            "Derived from a bound (p < x), a conservative effect: "
            + ", ".join(bounds)
            + " (see the analysis without them)."
        )
    return Synthesis(
        disorder=disorder,
        outcome=outcome,
        status="pooled",
        comparisons=comps,
        excluded=excluded,
        estimates=estimates,
        nnt=nnt_result,
        certainty=cert,
        summary=_pooled_summary(disorder, outcome, comps, main, cert, bayes),
        evidence_version=ev.version,
        filters=filters,
        notes=tuple(notes),
        bayes=bayes,
    )


def sensitivity(
    disorder: str, outcome: str, *, base: EvidenceBase | None = None
) -> dict[str, Synthesis]:
    """The main analysis and its sensitivity analyses, keyed as in :data:`SENSITIVITY_LABELS`.

    Base case; without effects derived from a bound (p < x); without the crossover trial;
    without trials at high risk of bias; industry-sponsored and other trials; low and high dose.
    """
    ev = base if base is not None else load_evidence()
    return {
        "all": pool(disorder, outcome, base=ev),
        "excluding_bounds": pool(disorder, outcome, exclude_bounds=True, base=ev),
        "excluding_high_rob": pool(disorder, outcome, exclude_high_rob=True, base=ev),
        "excluding_crossover": pool(disorder, outcome, exclude_crossover=True, base=ev),
        "sponsor_industry": pool(disorder, outcome, sponsor="industry", base=ev),
        "sponsor_other": pool(disorder, outcome, sponsor="other", base=ev),
        "dose_low": pool(disorder, outcome, dose="low", base=ev),
        "dose_high": pool(disorder, outcome, dose="high", base=ev),
    }


#: Plain-language names of the sensitivity analyses of :func:`sensitivity`.
SENSITIVITY_LABELS: dict[str, str] = {
    "all": "all trials (base case)",
    "excluding_bounds": "without effects derived from a bound (p < x)",
    "excluding_high_rob": "without trials at high risk of bias",
    "excluding_crossover": "without the crossover trial",
    "sponsor_industry": "industry-sponsored trials only",
    "sponsor_other": "trials not sponsored by industry",
    "dose_low": "dose up to 40 U",
    "dose_high": "dose above 40 U",
}


# ---------------------------------------------------------------------------------------------
# The headline: the outcome a reader sees first
# ---------------------------------------------------------------------------------------------

#: Outcomes that can lead a disorder's evidence, in the order they are shown after the lead.
HEADLINE_OUTCOMES: tuple[str, ...] = ("change", "response", "remission")
#: Fewest comparisons a headline may rest on: a 2-trial Knapp-Hartung interval (t with 1 df)
#: says almost nothing and is never the headline.
HEADLINE_MIN_K = 3


@dataclass(frozen=True)
class Headline:
    """The lead result of a disorder: the pooled outcome with the most trials, then patients.

    ``lead`` is None when no outcome pools at least :data:`HEADLINE_MIN_K` comparisons; ``text``
    then says so. ``others`` are the remaining outcomes in :data:`HEADLINE_OUTCOMES` order.
    """

    disorder: str
    lead: Synthesis | None
    others: tuple[Synthesis, ...]
    text: str
    left_out: tuple[Exclusion, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            "disorder": self.disorder,
            "outcome": self.lead.outcome if self.lead is not None else None,
            "text": self.text,
            "lead": self.lead.to_dict() if self.lead is not None else None,
            "others": [
                {"outcome": o.outcome, "status": o.status, "summary": o.summary}
                for o in self.others
            ],
            "left_out": [e.to_dict() for e in self.left_out],
        }


def _rct_left_out(syn: Synthesis, studies: Sequence[Study]) -> tuple[Exclusion, ...]:
    rct_ids = {s.id for s in studies if s.disorder == syn.disorder and s.randomised}
    return tuple(e for e in syn.excluded if e.study_id in rct_ids)


def headline(disorder: str, *, base: EvidenceBase | None = None) -> Headline:
    """The disorder's lead result: the pooled outcome with the most trials, then patients.

    A synthesis of fewer than :data:`HEADLINE_MIN_K` comparisons never leads. The text names
    how many randomised trials the lead includes and why any randomised trial is left out.
    """
    if disorder not in DISORDERS:
        raise ValueError(f"disorder must be one of {sorted(DISORDERS)}, got {disorder!r}")
    ev = base if base is not None else load_evidence()
    syns = [pool(disorder, o, base=ev) for o in HEADLINE_OUTCOMES]
    usable = [s for s in syns if s.pooled and len(s.comparisons) >= HEADLINE_MIN_K]
    rcts = [s for s in ev.studies if s.disorder == disorder and s.randomised]
    if not usable:
        if not rcts:
            text = f"There are no randomised results for {DISORDERS[disorder]}."
        else:
            parts = [
                f"No outcome in {DISORDERS[disorder]} pools {HEADLINE_MIN_K} or more randomised "
                "comparisons, so there is no pooled headline."
            ]
            parts.extend(f"{s.short}: {s.summary}" for s in rcts)
            text = " ".join(parts)
        return Headline(disorder, None, tuple(syns), text, ())
    lead = max(usable, key=lambda s: (s.n_trials, s.n_patients))
    others = tuple(s for s in syns if s is not lead)
    left = _rct_left_out(lead, ev.studies)
    text = lead.summary
    if left:
        names = "; ".join(f"{ev.get(e.study_id).short}: {e.reason}" for e in left)
        text += f" Left out of this analysis: {names}."
    else:
        text += f" Every randomised trial of {DISORDERS[disorder]} in the base is included."
    return Headline(disorder, lead, others, text, left)


# ---------------------------------------------------------------------------------------------
# Views for the pages (pure functions returning plain dicts)
# ---------------------------------------------------------------------------------------------


def list_studies(
    disorder: str | None = None, *, base: EvidenceBase | None = None
) -> list[dict[str, object]]:
    """Study summaries (optionally of one disorder) for a study table."""
    ev = base if base is not None else load_evidence()
    chosen = ev.studies if disorder is None else ev.by_disorder(disorder)
    return [study_summary(s) for s in chosen]


def study_detail(study_id: str, *, base: EvidenceBase | None = None) -> dict[str, object]:
    """Everything about one study, every number with its provenance (KeyError if unknown)."""
    ev = base if base is not None else load_evidence()
    return {**study_to_dict(ev.get(study_id)), "evidence_version": ev.version}


def pooled_result(
    disorder: str, outcome: str, *, base: EvidenceBase | None = None
) -> dict[str, object]:
    """The main synthesis of one disorder x outcome as a plain dict."""
    return pool(disorder, outcome, base=base).to_dict()


def _names(ev: EvidenceBase, ids: Iterable[str]) -> str:
    return ", ".join(ev.get(i).short for i in sorted(ids, key=lambda i: ev.get(i).year))


def _k_reported(s: Study) -> Num | None:
    return next((r.value for r in s.reported_results if r.measure == "k"), None)


def published_beside_ours(
    disorder: str, *, base: EvidenceBase | None = None
) -> list[dict[str, object]]:
    """Every published meta-analysis / pooled analysis of the disorder beside our lead result.

    Each row: the publication's main reported result, the trials it pooled and its time point
    (where read), whether its authors ran the included trials (``independent``), and one
    sentence explaining how it differs from our synthesis (trials in one and not the other,
    effect measure, and the curator's ``difference_note``).
    """
    ev = base if base is not None else load_evidence()
    lead = headline(disorder, base=ev).lead
    ours = {c.study_id for c in lead.comparisons} if lead is not None else set()
    rows: list[dict[str, object]] = []
    for s in ev.by_disorder(disorder):
        if s.design not in ("meta_analysis", "pooled_analysis") or not s.reported_results:
            continue
        effects = [r for r in s.reported_results if (r.measure or "") not in ("N", "k", "percent")]
        main = effects[0] if effects else None
        parts: list[str] = []
        if s.includes:
            theirs = set(s.includes)
            when = f" at week {s.timepoint_weeks:g}" if s.timepoint_weeks is not None else ""
            parts.append(f"{s.short} pooled {len(theirs)} trials{when}.")
            if lead is not None:
                if ours - theirs:
                    parts.append(f"Ours adds {_names(ev, ours - theirs)}.")
                if theirs - ours:
                    parts.append(f"Ours leaves out {_names(ev, theirs - ours)} (see why above).")
                if theirs == ours:
                    parts.append("Same trials as ours.")
        else:
            parts.append(
                f"Which trials {s.short} pooled was not read, so the difference cannot be "
                "traced trial by trial."
            )
        measure = (main.measure or "").lower() if main is not None else ""
        within = "within" in measure or "pre-post" in measure or "mean change" in measure
        if main is None:
            parts.append("No pooled effect size of it was read.")
        elif within:
            parts.append(
                "It reports change within treated patients, not a comparison with placebo."
            )
        elif "md" in measure and "smd" not in measure:
            parts.append("It reports a raw mean difference in scale points, not an SMD.")
        elif "cohen" in measure:
            parts.append(
                "It reports Cohen's d with the sign reversed (positive favours the toxin)."
            )
        ours_est = lead.primary if lead is not None else None
        if main is not None and not within and ours_est is not None and ours_est.measure == "SMD":
            value = float(main.value.value)
            comparable = "hedges" in measure or "smd" in measure
            if "cohen" in measure and "positive favours" in measure:
                value, comparable = -value, True
            if comparable:
                inside = ours_est.ci_lb <= value <= ours_est.ci_ub
                parts.append(
                    f"On our scale its estimate is {value:.2f}, "
                    + ("inside" if inside else "outside")
                    + f" our 95% CI ({ours_est.ci_lb:.2f} to {ours_est.ci_ub:.2f})."
                )
        if s.independent is False:
            parts.append(f"Not independent: {s.independence_note}")
        if s.difference_note:
            parts.append(s.difference_note)
        rows.append(
            {
                "study_id": s.id,
                "short": s.short,
                "year": s.year,
                "label": main.label if main else None,
                "measure": main.measure if main else None,
                "value": num_to_dict(main.value, s) if main else None,
                "ci_lb": num_to_dict(main.ci_lb, s) if main else None,
                "ci_ub": num_to_dict(main.ci_ub, s) if main else None,
                "k": num_to_dict(main.k if main else _k_reported(s), s),
                "n": num_to_dict(main.n if main else None, s),
                "includes": list(s.includes),
                "timepoint_weeks": s.timepoint_weeks,
                "independent": s.independent,
                "explanation": " ".join(parts),
            }
        )
    return rows


def disorder_summary(disorder: str, *, base: EvidenceBase | None = None) -> dict[str, object]:
    """A disorder's evidence in one dict: plain-language summary, syntheses, trials, reviews."""
    if disorder not in DISORDERS:
        raise ValueError(f"disorder must be one of {sorted(DISORDERS)}, got {disorder!r}")
    ev = base if base is not None else load_evidence()
    studies = ev.by_disorder(disorder)
    rcts = [s for s in studies if s.randomised]
    syntheses = {o: pool(disorder, o, base=ev) for o in POOLED_OUTCOMES}
    lead = headline(disorder, base=ev)
    name = DISORDERS[disorder]
    parts: list[str] = []
    if not rcts:
        parts.append(f"There are no randomised results for {name}.")
    else:
        n = sum(s.n_randomised_total() or 0 for s in rcts)
        parts.append(
            f"{len(rcts)} randomised trial{'s' if len(rcts) != 1 else ''} of botulinum toxin in "
            f"{name} ({n} patients randomised)."
        )
        missed = [s for s in rcts if s.primary_endpoint_met is False]
        for s in missed:
            parts.append(f"{s.short} did not meet its primary end point.")
    if lead.lead is not None:
        parts.append(lead.text)
        for syn in lead.others:
            if syn.pooled and len(syn.comparisons) >= HEADLINE_MIN_K:
                parts.append(f"Secondary, {_OUTCOME_LABEL[syn.outcome]}: {syn.summary}")
            elif syn.pooled:
                parts.append(
                    f"{_OUTCOME_LABEL[syn.outcome].capitalize()} was counted by only "
                    f"{syn.n_trials} trials ({syn.n_patients} patients): too few for a useful "
                    "interval (see below)."
                )
    elif rcts:
        parts.append(lead.text)
    others = [s for s in studies if not s.randomised]
    if others:
        kinds = sorted({s.design.replace("_", " ") for s in others})
        noun = "study" if len(others) == 1 else "studies"
        parts.append(f"Also listed, not pooled: {len(others)} {noun} ({', '.join(kinds)}).")
    return {
        "disorder": disorder,
        "disorder_name": name,
        "summary": " ".join(parts),
        "n_randomised_trials": len(rcts),
        "headline": lead.to_dict(),
        "published": published_beside_ours(disorder, base=ev),
        "syntheses": {o: s.to_dict() for o, s in syntheses.items()},
        "studies": [study_summary(s) for s in studies],
        "reported_results": [
            {
                "study_id": s.id,
                "short": s.short,
                "label": r.label,
                "measure": r.measure,
                "value": num_to_dict(r.value, s),
                "ci_lb": num_to_dict(r.ci_lb, s),
                "ci_ub": num_to_dict(r.ci_ub, s),
            }
            for s in studies
            if s.design in ("meta_analysis", "pooled_analysis")
            for r in s.reported_results
        ],
        "evidence_version": ev.version,
    }
