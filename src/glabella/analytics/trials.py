"""What the randomised trials showed, set beside the clinic's own rates (read-only evidence).

For each outcome the evidence synthesis pools (``glabella.evidence.synthesis.pool``, major
depressive disorder) this gives:

* the BoNT-A arms' crude proportion: events and patients summed over the distinct
  intervention arms of the pooled comparisons, with a Wilson interval. This is a simple sum,
  not a meta-analytic estimate: it ignores differences between trials and is shown only so
  that a clinic's single-arm rate has a like-for-like reference;
* the same for the control (placebo) arms;
* the pooled relative risk (BoNT-A vs placebo) with its interval and GRADE certainty, as the
  synthesis computed them;
* each trial's numbers with its study id and citation.

Nothing is computed when the evidence base has no pooled result: the outcome is reported as
unknown, with the synthesis's own reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from glabella.analytics.stats import Proportion, wilson
from glabella.evidence import synthesis
from glabella.evidence.studies import load_evidence

DISORDER = "mdd"
OUTCOMES = ("response", "remission", "dropout", "adverse_events")


@dataclass(frozen=True)
class TrialArm:
    study_id: str
    citation: str
    arm: str
    events: int
    n: int
    timepoint_weeks: float | None


@dataclass(frozen=True)
class TrialBenchmark:
    """The trial evidence for one outcome."""

    outcome: str
    status: str
    summary: str
    bont_arms: Proportion | None
    control_arms: Proportion | None
    rr: float | None
    rr_ci_lb: float | None
    rr_ci_ub: float | None
    certainty: str | None
    trials: tuple[TrialArm, ...]
    timepoints_weeks: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "status": self.status,
            "summary": self.summary,
            "bont_arms_crude": self.bont_arms.to_dict() if self.bont_arms else None,
            "control_arms_crude": self.control_arms.to_dict() if self.control_arms else None,
            "pooled_rr": None
            if self.rr is None
            else {"estimate": self.rr, "ci_lb": self.rr_ci_lb, "ci_ub": self.rr_ci_ub},
            "certainty": self.certainty,
            "timepoints_weeks": list(self.timepoints_weeks),
            "trials": [
                {
                    "study_id": t.study_id,
                    "citation": t.citation,
                    "arm": t.arm,
                    "events": t.events,
                    "n": t.n,
                    "timepoint_weeks": t.timepoint_weeks,
                }
                for t in self.trials
            ],
        }


@cache
def _benchmark(outcome: str) -> TrialBenchmark:
    ev = load_evidence()
    syn = synthesis.pool(DISORDER, outcome, base=ev)
    arms: dict[tuple[str, str], TrialArm] = {}
    controls: dict[tuple[str, str], TrialArm] = {}
    for c in syn.comparisons:
        if c.ai is None or c.ci is None:
            continue
        study = ev.get(c.study_id)
        cite = study.citation or f"{study.short} ({study.year})"
        arms[(c.study_id, c.intervention_arm)] = TrialArm(
            c.study_id, cite, c.intervention_arm, c.ai, c.n1i, c.timepoint_weeks
        )
        controls[(c.study_id, c.control_arm)] = TrialArm(
            c.study_id, cite, c.control_arm, c.ci, c.n2i, c.timepoint_weeks
        )

    def crude(d: dict[tuple[str, str], TrialArm]) -> Proportion | None:
        if not d:
            return None
        return wilson(sum(a.events for a in d.values()), sum(a.n for a in d.values()))

    main = syn.estimate("RR") if syn.pooled else None
    return TrialBenchmark(
        outcome=outcome,
        status=syn.status,
        summary=syn.summary,
        bont_arms=crude(arms),
        control_arms=crude(controls),
        rr=main.estimate if main else None,
        rr_ci_lb=main.ci_lb if main else None,
        rr_ci_ub=main.ci_ub if main else None,
        certainty=syn.certainty.level if syn.certainty is not None else None,
        trials=tuple(arms.values()) + tuple(controls.values()),
        timepoints_weeks=tuple(
            sorted({a.timepoint_weeks for a in arms.values() if a.timepoint_weeks is not None})
        ),
    )


@cache
def trials_headline() -> dict[str, object]:
    """The evidence's lead result for depression, to set before the per-outcome rows.

    The outcome with the most trials and patients (:func:`glabella.evidence.synthesis.headline`),
    with its pooled estimate, certainty, the trials left out and, for the change score, the
    pooled SMD re-expressed in PHQ-9 points (SMD × a cited PHQ-9 SD; Cochrane Handbook 15.5.3).
    """
    from glabella.evidence import reexpress, scales

    ev = load_evidence()
    head = synthesis.headline(DISORDER, base=ev)
    out: dict[str, object] = {"text": head.text, "outcome": None}
    lead = head.lead
    if lead is None or lead.primary is None:
        return out
    est = lead.primary
    out.update(
        outcome=lead.outcome,
        measure=est.measure,
        estimate=est.estimate,
        ci_lb=est.ci_lb,
        ci_ub=est.ci_ub,
        k=len(lead.comparisons),
        n_trials=lead.n_trials,
        n_patients=lead.n_patients,
        certainty=lead.certainty.level if lead.certainty is not None else None,
        left_out=[
            ev.get(e.study_id).short
            + (f" ({', '.join(ev.get(e.study_id).arm(a).label for a in e.arms)})" if e.arms else "")
            for e in head.left_out
        ],
    )
    if est.measure == "SMD":
        pts = reexpress.smd_to_points(
            est.estimate,
            est.ci_lb,
            est.ci_ub,
            sd=scales.PHQ9_SD.value,
            scale="PHQ-9",
            sd_source=scales.PHQ9_SD.citation,
        )
        out["phq9"] = pts.to_dict()
    return out


def trial_benchmarks() -> dict[str, TrialBenchmark]:
    """The trial evidence for response, remission, drop-out and adverse events (MDD)."""
    return {o: _benchmark(o) for o in OUTCOMES}
