"""Trial planning from the evidence base: sample size on the pooled effect or an interval bound,
assurance over the uncertainty in the effect, a functional-unblinding scenario, and what each
existing trial could detect.

Pure (no I/O): it takes a :class:`glabella.evidence.synthesis.Synthesis` (and, for the
retrospective view, the :class:`~glabella.evidence.studies.EvidenceBase` it came from) and uses
the formulas of :mod:`glabella.evidence.planning`. Every number comes from the synthesis; none
is typed in here.

Conventions. The pooled change outcome is a standardised mean difference (Hedges' g) where
*negative values favour the toxin* (:mod:`glabella.evidence.synthesis`); planning works with the
benefit ``d = −g`` so that a positive ``d`` favours the toxin (group 1). For the binary outcomes
(response, remission) the pooled risk ratio is applied to the pooled control-group risk.

Bases of a plan (:data:`BASES`):

* ``pooled`` — the random-effects estimate;
* ``ci_bound`` — the 95 % confidence bound nearer to no effect (a cautious plan);
* ``pi_bound`` — the 95 % prediction-interval bound nearer to no effect: where a new trial's
  own effect may fall (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137-159).
  When that bound is at or past no effect no sample size can be planned on it, and the plan
  says so and points to assurance.

Assurance (O'Hagan, Stevens & Campbell 2005, Pharm Stat 4:187-201) of a new trial:

* ``normal`` — its true effect drawn from N(μ̂, SE² + τ̂²), the frequentist random-effects
  predictive distribution of a new trial's effect (Higgins et al. 2009, §3);
* ``bayes`` — the Bayesian random-effects posterior predictive (half-normal(0.5) prior on τ,
  uniform on μ, as the evidence pages use: :data:`glabella.evidence.synthesis.TAU_PRIOR_SCALE`),
  a normal mixture (:attr:`glabella.evidence.bayes.BayesResult.predictive`).

Functional unblinding: with an inert placebo, patients who notice they cannot frown may guess
their arm, and the pooled effect may include that bias. A trial with an *active placebo* arm
(one that produces noticeable effects without the hypothesised action) removes it; the scenario
plans for the effect shrunk by the stated fraction, d × (1 − shrink). It is a sensitivity
scenario, not an estimate of the bias.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from glabella.evidence import planning as pl
from glabella.evidence.planning import PlanningError
from glabella.evidence.studies.model import EvidenceBase, Num, Study
from glabella.evidence.synthesis import TAU_PRIOR_SCALE, Comparison, Synthesis

__all__ = [
    "ASSURANCE_PRIORS",
    "BASES",
    "EvidenceEffect",
    "PlanningError",
    "RetrospectiveRow",
    "curves",
    "evidence_effect",
    "plan_from_evidence",
    "planning_effect",
    "retrospective_rows",
    "retrospective_summary",
]

BASES: dict[str, str] = {
    "pooled": "the pooled random-effects estimate",
    "ci_bound": "the 95% confidence bound nearer to no effect",
    "pi_bound": "the 95% prediction-interval bound nearer to no effect (a new trial's effect)",
}
ASSURANCE_PRIORS: dict[str, str] = {
    "normal": "new trial's effect ~ N(pooled estimate, SE² + τ²) (random-effects predictive)",
    "bayes": "Bayesian random-effects posterior predictive (half-normal(0.5) prior on τ)",
}
_BINARY_BENEFICIAL = ("response", "remission")


@dataclass(frozen=True)
class EvidenceEffect:
    """The pooled effect a plan rests on, as the synthesis computed it (natural scale)."""

    disorder: str
    outcome: str
    measure: str  # "SMD" (negative favours the toxin) or "RR"
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None
    pi_ub: float | None
    se: float  # model scale (log RR for RR)
    tau: float  # model scale
    k: int
    n_trials: int
    n_patients: int
    certainty: str | None
    evidence_version: str
    comparisons: tuple[str, ...]
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    control_risk: float | None  # binary: pooled control events / N
    control_events: tuple[int, int] | None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["comparisons"] = list(self.comparisons)
        out["yi"] = list(self.yi)
        out["vi"] = list(self.vi)
        out["control_events"] = list(self.control_events) if self.control_events else None
        out["favours_toxin"] = "negative" if self.measure == "SMD" else "RR above 1"
        return out


def evidence_effect(syn: Synthesis) -> EvidenceEffect:
    """The synthesis's primary pooled estimate, refused (naming the outcome) when not pooled."""
    est = syn.primary
    if not syn.pooled or est is None:
        raise PlanningError(
            f"outcome {syn.outcome!r} is not pooled for {syn.disorder} ({syn.status}): "
            "there is no pooled effect to plan on"
        )
    if est.measure == "RR" and syn.outcome not in _BINARY_BENEFICIAL:
        raise PlanningError(
            f"outcome {syn.outcome!r} is a harm outcome; plan on change, response or remission"
        )
    control: tuple[int, int] | None = None
    risk: float | None = None
    if est.measure == "RR":
        events = sum(c.ci or 0 for c in syn.comparisons)
        total = sum(c.n2i for c in syn.comparisons)
        control = (events, total)
        risk = events / total if total else None
        if risk is None or not 0.0 < risk < 1.0:
            raise PlanningError(
                f"outcome {syn.outcome!r}: the pooled control-group risk is {events}/{total}; "
                "a risk strictly between 0 and 1 is needed to plan"
            )
    return EvidenceEffect(
        disorder=syn.disorder,
        outcome=syn.outcome,
        measure=est.measure,
        estimate=est.estimate,
        ci_lb=est.ci_lb,
        ci_ub=est.ci_ub,
        pi_lb=est.pi_lb,
        pi_ub=est.pi_ub,
        se=est.se,
        tau=math.sqrt(est.tau2) if est.tau2 is not None else 0.0,
        k=est.k,
        n_trials=syn.n_trials,
        n_patients=syn.n_patients,
        certainty=syn.certainty.level if syn.certainty is not None else None,
        evidence_version=syn.evidence_version,
        comparisons=tuple(c.label for c in syn.comparisons),
        yi=est.yi,
        vi=est.vi,
        control_risk=risk,
        control_events=control,
    )


def _basis(basis: str) -> str:
    if basis not in BASES:
        raise PlanningError(f"basis must be one of {', '.join(BASES)} (got {basis!r})")
    return basis


def planning_effect(eff: EvidenceEffect, basis: str = "pooled") -> tuple[float, str]:
    """The effect to plan on: benefit-positive d (SMD) or the risk ratio (RR), with a sentence.

    SMD: d = −g, −(upper CI bound) or −(upper PI bound). RR: the estimate, the lower CI bound or
    the lower PI bound. A bound at or past no effect is refused with a :class:`PlanningError`
    naming it (no trial size can be planned to detect an effect of zero or of harm).
    """
    basis = _basis(basis)
    if eff.measure == "SMD":
        value = {"pooled": eff.estimate, "ci_bound": eff.ci_ub, "pi_bound": eff.pi_ub}[basis]
        label = {"pooled": "pooled g", "ci_bound": "upper 95% CI bound of g"}.get(
            basis, "upper 95% prediction bound of g"
        )
        if value is None:
            raise PlanningError(f"basis {basis!r}: the synthesis has no prediction interval")
        d = -value
        if d <= 0.0:
            raise PlanningError(
                f"basis {basis!r}: the {label} is {value:.2f}, i.e. no effect or harm; no trial "
                "size can be planned on it. Use basis 'pooled' or 'ci_bound', and read the "
                "assurance, which averages over this uncertainty"
            )
        return d, f"d = {d:.3f} (benefit of the toxin; {label} = {value:.3f})"
    value_rr = {"pooled": eff.estimate, "ci_bound": eff.ci_lb, "pi_bound": eff.pi_lb}[basis]
    if value_rr is None:
        raise PlanningError(f"basis {basis!r}: the synthesis has no prediction interval")
    if value_rr <= 1.0:
        raise PlanningError(
            f"basis {basis!r}: the risk ratio there is {value_rr:.2f}, i.e. no benefit; no trial "
            "size can be planned on it"
        )
    return value_rr, f"RR = {value_rr:.3f} ({BASES[basis]})"


@functools.lru_cache(maxsize=64)
def _bayes_predictive(
    yi: tuple[float, ...], vi: tuple[float, ...], measure: str
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    from glabella.evidence.bayes import TauPrior, bayes_meta

    res = bayes_meta(yi, vi, tau_prior=TauPrior("halfnormal", TAU_PRIOR_SCALE), measure=measure)
    return res.predictive


def _assurances(
    eff: EvidenceEffect, n1: int, n2: int, alpha: float, sides: int
) -> dict[str, float]:
    """Assurance of a trial with n1 (toxin) and n2 (control), on the benefit scale (SMD only)."""
    out = {"normal": pl.assurance(-eff.estimate, eff.se, n1, n2, alpha, sides, tau=eff.tau)}
    w, m, s = _bayes_predictive(eff.yi, eff.vi, eff.measure)
    out["bayes"] = pl.assurance_mixture(w, [-x for x in m], s, n1, n2, alpha, sides)
    return out


def plan_from_evidence(
    syn: Synthesis,
    *,
    basis: str = "pooled",
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
    baseline_correlation: float | None = None,
    unblinding_shrink: float = 0.0,
) -> dict[str, Any]:
    """A plan from a pooled synthesis: sample size, assurance and the unblinding scenario.

    ``ratio`` = n(control) / n(toxin). Continuous outcome: :func:`planning.n_two_means` (with
    ANCOVA and drop-out as given); binary outcome: :func:`planning.n_two_proportions` with
    p_toxin = RR × control risk. ``unblinding_shrink`` > 0 adds an active-placebo scenario in
    which the effect is d × (1 − shrink) (SMD) or the risk difference shrinks by that fraction
    (RR). Warnings say what the numbers cannot carry (certainty, few trials, a prediction
    interval through no effect).
    """
    eff = evidence_effect(syn)
    value, text = planning_effect(eff, basis)
    pl.unblinding_scenario(1.0, unblinding_shrink)  # validates the fraction
    shrink = float(unblinding_shrink)
    out: dict[str, Any] = {
        "effect": eff.to_dict(),
        "basis": basis,
        "basis_text": BASES[basis],
        "planning_effect": value,
        "planning_effect_text": text,
        "settings": {
            "power": power,
            "alpha": alpha,
            "ratio": ratio,
            "sides": sides,
            "dropout": dropout,
            "baseline_correlation": baseline_correlation,
            "unblinding_shrink": shrink,
        },
    }
    warnings: list[str] = []
    if eff.measure == "SMD":
        inert = pl.n_two_means(
            value,
            power=power,
            alpha=alpha,
            ratio=ratio,
            sides=sides,
            dropout=dropout,
            baseline_correlation=baseline_correlation,
        )
        out["inert_placebo"] = inert.to_dict()
        if shrink > 0.0:
            active = pl.n_two_means(
                value * (1.0 - shrink),
                power=power,
                alpha=alpha,
                ratio=ratio,
                sides=sides,
                dropout=dropout,
                baseline_correlation=baseline_correlation,
            )
            out["active_placebo"] = {**active.to_dict(), "effect": value * (1.0 - shrink)}
        n1, n2 = inert.n1_evaluable, inert.n2_evaluable
        out["assurance"] = {
            "n1": n1,
            "n2": n2,
            "values": _assurances(eff, n1, n2, alpha, sides),
            "priors": dict(ASSURANCE_PRIORS),
            "plateau_normal": float(stats.norm.cdf(-eff.estimate / math.hypot(eff.se, eff.tau))),
        }
        try:
            na = pl.n_for_assurance(
                -eff.estimate,
                eff.se,
                target=power,
                alpha=alpha,
                ratio=ratio,
                sides=sides,
                tau=eff.tau,
                dropout=dropout,
            )
            out["n_for_assurance"] = na.to_dict()
        except PlanningError as exc:
            out["n_for_assurance"] = None
            warnings.append(f"Assurance {power:g} cannot be reached: {exc}.")
        if eff.pi_ub is not None and eff.pi_ub >= 0.0:
            warnings.append(
                f"The 95% prediction interval ({eff.pi_lb:.2f} to {eff.pi_ub:.2f}) includes no "
                "effect: a new trial may find none, whatever its size. Assurance (below) "
                "counts this; power at the pooled effect does not."
            )
    else:
        assert eff.control_risk is not None
        p0 = eff.control_risk
        p1 = value * p0
        if p1 >= 1.0:
            raise PlanningError(
                f"basis {basis!r}: RR {value:.2f} × control risk {p0:.3f} = {p1:.2f} is not a "
                "probability below 1; use basis 'ci_bound'"
            )
        out["control_risk"] = p0
        out["toxin_risk"] = p1
        inert_p = pl.n_two_proportions(
            p1, p0, power=power, alpha=alpha, ratio=ratio, sides=sides, dropout=dropout
        )
        out["inert_placebo"] = inert_p.to_dict()
        if shrink > 0.0:
            p1s = p0 + (p1 - p0) * (1.0 - shrink)
            active_p = pl.n_two_proportions(
                p1s, p0, power=power, alpha=alpha, ratio=ratio, sides=sides, dropout=dropout
            )
            out["active_placebo"] = {**active_p.to_dict(), "effect": p1s / p0}
        out["assurance"] = None
        warnings.append("Assurance is computed for the continuous (change) outcome only.")
    if eff.k < 10:
        warnings.append(
            f"The pooled effect rests on {eff.k} comparisons of small trials; small trials "
            "tend to overestimate effects, so a plan on the pooled estimate may be too small."
        )
    if eff.certainty in ("low", "very low"):
        warnings.append(f"Certainty of the pooled evidence: {eff.certainty} (GRADE-style).")
    out["warnings"] = warnings
    return out


def curves(
    syn: Synthesis,
    ns: Sequence[int],
    *,
    basis: str = "pooled",
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    baseline_correlation: float | None = None,
    unblinding_shrink: float = 0.0,
) -> dict[str, Any]:
    """Power and assurance against n per toxin arm (n control = ceil(ratio·n)).

    Power at the planning effect (and at the unblinding scenario's effect when ``shrink`` > 0);
    with ``baseline_correlation`` ρ the ANCOVA effect d/√(1 − ρ²) (Borm et al. 2007). Assurance
    (continuous outcome only) by both priors of :data:`ASSURANCE_PRIORS`.
    """
    eff = evidence_effect(syn)
    value, _ = planning_effect(eff, basis)
    pl.unblinding_scenario(1.0, unblinding_shrink)  # validates the fraction
    shrink = float(unblinding_shrink)
    ratio = pl._ratio(ratio)
    out: dict[str, Any] = {"n": [int(n) for n in ns], "basis": basis}
    n2s = [max(2, math.ceil(ratio * n - 1e-9)) for n in ns]
    if eff.measure == "SMD":
        infl = 1.0
        if baseline_correlation is not None:
            rho = float(baseline_correlation)
            if not -1.0 < rho < 1.0:
                raise PlanningError("baseline_correlation must be between -1 and 1, exclusive")
            infl = 1.0 / math.sqrt(1.0 - rho * rho)
        out["power"] = [
            pl.power_two_means(value * infl, n, m, alpha, sides)
            for n, m in zip(ns, n2s, strict=True)
        ]
        if shrink > 0.0:
            out["power_active_placebo"] = [
                pl.power_two_means(value * (1.0 - shrink) * infl, n, m, alpha, sides)
                for n, m in zip(ns, n2s, strict=True)
            ]
        vals = [_assurances(eff, n, m, alpha, sides) for n, m in zip(ns, n2s, strict=True)]
        out["assurance_normal"] = [v["normal"] for v in vals]
        out["assurance_bayes"] = [v["bayes"] for v in vals]
    else:
        assert eff.control_risk is not None
        p0 = eff.control_risk
        p1 = min(value * p0, 1.0 - 1e-9)
        out["power"] = [
            pl.power_two_proportions(p1, p0, n, m, alpha, sides)
            for n, m in zip(ns, n2s, strict=True)
        ]
        if shrink > 0.0:
            p1s = p0 + (p1 - p0) * (1.0 - shrink)
            out["power_active_placebo"] = [
                pl.power_two_proportions(p1s, p0, n, m, alpha, sides)
                for n, m in zip(ns, n2s, strict=True)
            ]
    return out


# --------------------------------------------------------------------------- retrospective


@dataclass(frozen=True)
class RetrospectiveRow:
    """One randomised comparison of the base: its size, and what it could detect."""

    study_id: str
    short: str
    label: str
    n1: int | None  # toxin arm
    n2: int | None  # control arm
    n_source: str
    in_pooled: bool
    design: str
    primary_endpoint_met: bool | None
    power_pooled: float | None  # power to detect the pooled |d| (two-sided α)
    power_ci_bound: float | None  # ... the CI bound nearer no effect, if beyond it
    mde: float | None  # minimum detectable d at the stated power
    note: str
    own_g: float | None = None  # the comparison's own Hedges' g in the pooled analysis

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _arm_n(study: Study, arm_id: str) -> tuple[int | None, str]:
    try:
        arm = study.arm(arm_id)
    except KeyError:
        return None, "unknown"
    num: Num | None = arm.n_analysed or arm.n_randomised
    if num is None:
        return None, "unknown"
    which = "analysed" if arm.n_analysed is not None else "randomised"
    return num.as_int(), f"arm N {which} ({num.provenance.source})"


def _control_for(study: Study, arm_id: str) -> str | None:
    """The control arm an intervention arm is compared with: the only control arm, or the one
    control arm reported beside it in an outcome (Brin 2020: each dose had its own placebo)."""
    controls = [a.id for a in study.arms if a.role == "control"]
    if len(controls) == 1:
        return controls[0]
    for o in study.outcomes:
        arms = {r.arm for r in o.results}
        beside = [c for c in controls if c in arms]
        if arm_id in arms and len(beside) == 1:
            return beside[0]
    return None


def _pairs(study: Study, syn: Synthesis) -> list[tuple[str, str, Comparison | None]]:
    pairs: list[tuple[str, str, Comparison | None]] = [
        (c.intervention_arm, c.control_arm, c) for c in syn.comparisons if c.study_id == study.id
    ]
    used = {p[0] for p in pairs}
    for arm in study.arms:
        if arm.role != "intervention" or arm.id in used:
            continue
        control = _control_for(study, arm.id)
        if control is not None:
            pairs.append((arm.id, control, None))
    return pairs


def retrospective_rows(
    syn: Synthesis,
    base: EvidenceBase,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
) -> list[RetrospectiveRow]:
    """For each randomised comparison of the disorder: power to detect the pooled effect (and
    the CI bound nearer no effect) and the minimum detectable d, two-sided t test.

    Sizes come from the comparison's outcome data when it is in the pooled analysis, else from
    the arms' recorded N (analysed, else randomised); unknown stays unknown. Power against an
    effect fixed in advance, never "observed power" at the trial's own result (Hoenig & Heisey
    2001, Am Stat 55:19-24). Formulas: :func:`planning.retrospective`,
    :func:`planning.minimum_detectable_effect` (Cohen 1988 ch. 2). A crossover trial counts
    with its first-period arms only, as in the synthesis.
    """
    eff = evidence_effect(syn)
    if eff.measure != "SMD":
        raise PlanningError("the retrospective view uses the pooled change outcome (SMD)")
    d = abs(eff.estimate)
    bound = -eff.ci_ub if eff.ci_ub < 0.0 else None
    rows: list[RetrospectiveRow] = []
    for study in base.by_disorder(syn.disorder):
        if not study.randomised:
            continue
        for a1, a2, comp in _pairs(study, syn):
            n1: int | None
            n2: int | None
            if comp is not None:
                n1, n2, src = comp.n1i, comp.n2i, "outcome data of the pooled comparison"
                label = comp.label
                if sum(1 for a in study.arms if a.role == "intervention") > 1:
                    label = f"{comp.label}: {study.arm(a1).label} vs {study.arm(a2).label}"
            else:
                n1, s1 = _arm_n(study, a1)
                n2, s2 = _arm_n(study, a2)
                src = s1 if s1 == s2 else f"{s1}; {s2}"
                label = f"{study.short}: {study.arm(a1).label} vs {study.arm(a2).label}"
            note = "first period of a crossover" if study.crossover else ""
            if n1 is None or n2 is None or n1 < 2 or n2 < 2:
                rows.append(
                    RetrospectiveRow(
                        study.id, study.short, label, n1, n2, "unknown", comp is not None,
                        study.design, study.primary_endpoint_met, None, None, None,
                        "arm sizes not read in the sources",
                    )
                )  # fmt: skip
                continue
            rows.append(
                RetrospectiveRow(
                    study_id=study.id,
                    short=study.short,
                    label=label,
                    n1=n1,
                    n2=n2,
                    n_source=src,
                    in_pooled=comp is not None,
                    design=study.design,
                    primary_endpoint_met=study.primary_endpoint_met,
                    power_pooled=pl.retrospective(n1, n2, d, alpha=alpha),
                    power_ci_bound=(
                        pl.retrospective(n1, n2, bound, alpha=alpha) if bound else None
                    ),
                    mde=pl.minimum_detectable_effect(n1, n2, power=power, alpha=alpha),
                    note=note,
                    own_g=comp.yi if comp is not None else None,
                )
            )
    return rows


def retrospective_summary(rows: Sequence[RetrospectiveRow], eff: EvidenceEffect) -> str:
    """One sentence on what the trials could detect (numbers from the rows)."""
    known = [r for r in rows if r.power_pooled is not None]
    if not known:
        return "No randomised comparison has known arm sizes."
    low = [r for r in known if r.power_pooled is not None and r.power_pooled < 0.8]
    mdes = np.array([r.mde for r in known if r.mde is not None])
    return (
        f"{len(low)} of {len(known)} comparisons had under 80% power to detect the pooled "
        f"effect (|g| = {abs(eff.estimate):.2f}); the smallest effect they could detect with 80% "
        f"power ranged from {mdes.min():.2f} to {mdes.max():.2f} SD."
    )
