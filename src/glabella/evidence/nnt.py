"""Number needed to treat from a pooled RR, OR or RD at a given baseline (control-group) risk.

A relative effect means nothing to a patient until it is applied to a baseline risk. Given an
assumed control risk ``ACR`` (the risk of the event without treatment) the pooled effect implies
an experimental-group risk ``EER``, and the number needed to treat is the reciprocal of the
absolute risk difference (Cochrane Handbook for Systematic Reviews of Interventions, version 6,
section 15.4.4; Altman 1998, BMJ 317:1309-1312):

* risk ratio:  ``EER = ACR * RR``, so ``NNT = 1 / |ACR * (1 - RR)|`` (Handbook 15.4.4.2);
* odds ratio:  ``EER = OR * ACR / (1 - ACR + OR * ACR)``, which gives the Handbook's
  ``NNT = (1 - ACR * (1 - OR)) / |(1 - ACR) * ACR * (1 - OR)|`` (Handbook 15.4.4.3);
* risk difference: ``EER = ACR + RD`` and ``NNT = 1 / |RD|`` (the baseline risk is then only
  used to check that ``EER`` is a probability).

Benefit or harm. Whether a change in risk is good depends on the event: more responders is a
benefit, more drop-outs is a harm. The caller says which (``events_are_beneficial``); the result
is labelled NNTB (number needed to treat for one additional beneficial outcome) or NNTH (number
needed to treat for one additional harmful outcome), as Altman (1998) recommends.

Confidence interval. For a fixed ACR, ``EER`` is a monotone function of the pooled measure, so the
interval of the risk difference is obtained by applying the same formula to the limits of the
pooled measure's confidence interval, and the NNT interval is the reciprocal of that (Altman
1998). When the interval of the risk difference contains zero, the NNT interval is not the
segment between the two reciprocals: it runs from the NNTB limit through infinity to the NNTH
limit and is reported, as Altman proposes, as "NNTB a to infinity to NNTH b".

NNTs are shown rounded up to the next whole number (Handbook 15.4.4); the unrounded values are
kept in the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["NNTResult", "experimental_risk", "nnt"]

Measure = Literal["RR", "OR", "RD"]


def experimental_risk(measure: Measure, effect: float, baseline_risk: float) -> float:
    """Risk in the treated group implied by ``effect`` at the control risk ``baseline_risk``.

    ``effect`` is on the natural scale (a ratio for RR and OR, a difference for RD). Formulas in
    the module docstring (Cochrane Handbook 15.4.4).
    """
    if measure == "RR":
        if effect < 0:
            raise ValueError("a risk ratio must be >= 0")
        return baseline_risk * effect
    if measure == "OR":
        if effect < 0:
            raise ValueError("an odds ratio must be >= 0")
        if math.isinf(effect):
            return 1.0
        return effect * baseline_risk / (1.0 - baseline_risk + effect * baseline_risk)
    if measure == "RD":
        return baseline_risk + effect
    raise ValueError(f"NNT is defined for RR, OR and RD, not {measure!r}")


@dataclass(frozen=True)
class NNTResult:
    """Number needed to treat with its confidence interval.

    ``risk_difference`` is experimental minus control risk; ``nnt`` is ``1/|risk_difference|``
    (infinite when the difference is zero). ``kind`` is ``"NNTB"``, ``"NNTH"`` or ``"none"``
    (no difference). ``nntb_limit``/``nnth_limit`` are the confidence limits on each side: when
    the interval excludes no effect only one of them is set together with ``nnt_ci_far``, the
    other end of the interval on the same side.
    """

    measure: str
    effect: float
    ci_lb: float
    ci_ub: float
    baseline_risk: float
    events_are_beneficial: bool
    level: float
    experimental_risk: float
    risk_difference: float
    rd_ci_lb: float
    rd_ci_ub: float
    nnt: float
    kind: str
    ci_crosses_no_effect: bool
    nntb_limit: float | None
    nnth_limit: float | None
    nnt_ci_far: float | None
    notes: tuple[str, ...]

    def text(self) -> str:
        """Altman-style summary, NNTs rounded up, e.g. ``NNTB 20 (95% CI NNTB 13 to NNTB 50)``."""
        lvl = f"{self.level:g}% CI"
        head = "no difference" if self.kind == "none" else f"{self.kind} {_up(self.nnt)}"
        if self.ci_crosses_no_effect:
            parts = []
            if self.nntb_limit is not None:
                parts.append(f"NNTB {_up(self.nntb_limit)}")
            parts.append("∞")
            if self.nnth_limit is not None:
                parts.append(f"NNTH {_up(self.nnth_limit)}")
            return f"{head} ({lvl} {' to '.join(parts)})"
        near = self.nntb_limit if self.kind == "NNTB" else self.nnth_limit
        far = self.nnt_ci_far
        return f"{head} ({lvl} {self.kind} {_up(near)} to {self.kind} {_up(far)})"

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (infinite NNT written as ``None``)."""
        return {
            "measure": self.measure,
            "effect": self.effect,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "baseline_risk": self.baseline_risk,
            "events_are_beneficial": self.events_are_beneficial,
            "level": self.level,
            "experimental_risk": self.experimental_risk,
            "risk_difference": self.risk_difference,
            "rd_ci_lb": self.rd_ci_lb,
            "rd_ci_ub": self.rd_ci_ub,
            "nnt": None if math.isinf(self.nnt) else self.nnt,
            "kind": self.kind,
            "ci_crosses_no_effect": self.ci_crosses_no_effect,
            "nntb_limit": self.nntb_limit,
            "nnth_limit": self.nnth_limit,
            "nnt_ci_far": self.nnt_ci_far,
            "text": self.text(),
            "notes": list(self.notes),
        }


def _up(x: float | None) -> str:
    if x is None or math.isinf(x):
        return "∞"
    return str(math.ceil(x - 1e-9))


def _recip(d: float) -> float:
    return math.inf if d == 0 else 1.0 / abs(d)


def nnt(
    measure: Measure,
    effect: float,
    ci_lb: float,
    ci_ub: float,
    *,
    baseline_risk: float,
    events_are_beneficial: bool,
    level: float = 95.0,
    log_scale: bool = False,
) -> NNTResult:
    """NNT (NNTB or NNTH) and its confidence interval from a pooled RR, OR or RD.

    ``effect``, ``ci_lb`` and ``ci_ub`` are the pooled measure and its confidence limits on the
    natural scale, or on the log scale for RR/OR with ``log_scale=True`` (as ``rma`` reports
    them). ``baseline_risk`` is the assumed control risk (0 < ACR < 1). Formulas: Cochrane
    Handbook 15.4.4 (point estimate) and Altman 1998, BMJ 317:1309 (interval, and the
    "NNTB to infinity to NNTH" form when the interval includes no effect); see the module
    docstring.

    Risks implied by a confidence limit that fall outside [0, 1] (possible for RR and RD) are
    truncated to the nearest bound and reported in ``notes``; a point estimate implying an
    impossible risk is an error.
    """
    if measure not in ("RR", "OR", "RD"):
        raise ValueError(f"NNT is defined for RR, OR and RD, not {measure!r}")
    if not 0.0 < baseline_risk < 1.0:
        raise ValueError("baseline_risk must be strictly between 0 and 1")
    if log_scale and measure != "RD":
        effect, ci_lb, ci_ub = math.exp(effect), math.exp(ci_lb), math.exp(ci_ub)
    lo, hi = sorted((ci_lb, ci_ub))
    if not lo <= effect <= hi:
        raise ValueError("the estimate must lie within its confidence interval")
    notes: list[str] = []
    eer = experimental_risk(measure, effect, baseline_risk)
    if not 0.0 <= eer <= 1.0:
        raise ValueError(
            f"{measure} = {effect:g} at baseline risk {baseline_risk:g} implies a risk of "
            f"{eer:g} in the treated group, which is not a probability"
        )
    limits: list[float] = []
    for bound in (lo, hi):
        r = experimental_risk(measure, bound, baseline_risk)
        if not 0.0 <= r <= 1.0:
            notes.append(
                f"confidence limit {measure} = {bound:g} implies a treated risk of {r:g}; "
                "truncated to [0, 1]"
            )
            r = min(1.0, max(0.0, r))
        limits.append(r - baseline_risk)
    rd = eer - baseline_risk
    rd_lo, rd_hi = min(limits), max(limits)
    # Beneficial direction of the risk difference: up when events are good, down otherwise.
    good = 1.0 if events_are_beneficial else -1.0

    def kind_of(d: float) -> str:
        if d == 0:
            return "none"
        return "NNTB" if d * good > 0 else "NNTH"

    crosses = rd_lo <= 0.0 <= rd_hi
    benefit_end = rd_hi if good > 0 else rd_lo  # limit furthest in the beneficial direction
    harm_end = rd_lo if good > 0 else rd_hi
    nntb_limit: float | None = None
    nnth_limit: float | None = None
    far: float | None = None
    if crosses:
        if benefit_end != 0.0:
            nntb_limit = _recip(benefit_end)
        if harm_end != 0.0:
            nnth_limit = _recip(harm_end)
    else:
        near_d, far_d = (rd_hi, rd_lo) if abs(rd_hi) > abs(rd_lo) else (rd_lo, rd_hi)
        if kind_of(rd) == "NNTB":
            nntb_limit = _recip(near_d)
        else:
            nnth_limit = _recip(near_d)
        far = _recip(far_d)
    return NNTResult(
        measure=measure,
        effect=effect,
        ci_lb=lo,
        ci_ub=hi,
        baseline_risk=baseline_risk,
        events_are_beneficial=events_are_beneficial,
        level=level,
        experimental_risk=eer,
        risk_difference=rd,
        rd_ci_lb=rd_lo,
        rd_ci_ub=rd_hi,
        nnt=_recip(rd),
        kind=kind_of(rd),
        ci_crosses_no_effect=crosses,
        nntb_limit=nntb_limit,
        nnth_limit=nnth_limit,
        nnt_ci_far=far,
        notes=tuple(notes),
    )
