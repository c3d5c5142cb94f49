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

from collections.abc import Sequence
from dataclasses import dataclass

from glabella.evidence.studies import OUTCOME_KINDS, ArmResult, Num, Outcome, Study

__all__ = [
    "DOSE_BANDS",
    "POOLED_OUTCOMES",
    "Comparison",
    "Exclusion",
    "select_comparisons",
]

#: Outcome kinds that can be pooled, with the measures used for them.
POOLED_OUTCOMES: dict[str, tuple[str, ...]] = {
    "response": ("RR", "RD"),
    "remission": ("RR", "RD"),
    "dropout": ("RR", "RD"),
    "adverse_events": ("RR", "RD"),
    "change": ("SMD",),
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

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON."""
        return {"study_id": self.study_id, "reason": self.reason}


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


def _comparison(study: Study, outcome: Outcome) -> Comparison | str:
    """A comparison from one outcome, or the reason it cannot be used."""
    pair = _two_arms(study, outcome)
    if pair is None:
        return "the outcome does not give one intervention and one control arm"
    t, c = pair
    binary = OUTCOME_KINDS[outcome.kind] == "binary"
    names = ("events", "n") if binary else ("mean", "sd", "n")
    missing = [f"{r.arm}.{n}" for r in (t, c) for n in names if getattr(r, n) is None]
    if missing:
        what = "events and N" if binary else "mean, SD and N"
        return f"per-arm {what} not available ({', '.join(missing)} missing)"
    assert t.n is not None and c.n is not None
    label = study.short
    if sum(1 for o in study.outcomes if o.kind == outcome.kind and _two_arms(study, o)) > 1:
        label = f"{study.short} ({study.arm(t.arm).label})"
    rob = study.risk_of_bias.overall.judgement if study.risk_of_bias else None
    common = {
        "study_id": study.id,
        "label": label,
        "outcome_id": outcome.id,
        "kind": outcome.kind,
        "design": study.design,
        "intervention_arm": t.arm,
        "control_arm": c.arm,
        "n1i": t.n.as_int(),
        "n2i": c.n.as_int(),
        "dose_units": _dose(study, t.arm),
        "rob_overall": rob,
        "indirectness": study.indirectness,
        "timepoint_weeks": outcome.timepoint_weeks,
        "unverified": tuple(_unverified(outcome, (t, c), names)),
    }
    if binary:
        assert t.events is not None and c.events is not None
        return Comparison(ai=t.events.as_int(), ci=c.events.as_int(), **common)  # type: ignore[arg-type]
    assert t.mean is not None and t.sd is not None and c.mean is not None and c.sd is not None
    return Comparison(
        m1i=float(t.mean.value),
        sd1i=float(t.sd.value),
        m2i=float(c.mean.value),
        sd2i=float(c.sd.value),
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
) -> tuple[tuple[Comparison, ...], tuple[Exclusion, ...]]:
    """The comparisons that enter a pooled analysis and every study left out, with the reason.

    ``outcome`` is one of :data:`POOLED_OUTCOMES`; ``dose`` one of :data:`DOSE_BANDS` or None.
    """
    if outcome not in POOLED_OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(POOLED_OUTCOMES)}, got {outcome!r}")
    if dose is not None and dose not in DOSE_BANDS:
        raise ValueError(f"dose must be one of {sorted(DOSE_BANDS)}, got {dose!r}")
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
        candidates = [o for o in study.outcomes if o.kind == outcome]
        if not candidates:
            excluded.append(
                Exclusion(study.id, f"no {outcome} data recorded (not found in the sources read)")
            )
            continue
        reasons: list[str] = []
        chosen: dict[tuple[str, str], Comparison] = {}
        for o in sorted(candidates, key=lambda o: not o.primary):
            if study.crossover and o.period != "first":
                reasons.append(f"{o.id}: crossover data other than the first period")
                continue
            comp = _comparison(study, o)
            if isinstance(comp, str):
                reasons.append(f"{o.id}: {comp}")
                continue
            key = (comp.intervention_arm, comp.control_arm)
            if key in chosen:
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
        else:
            excluded.append(Exclusion(study.id, "; ".join(reasons) or "no usable data"))
    return tuple(included), tuple(excluded)
