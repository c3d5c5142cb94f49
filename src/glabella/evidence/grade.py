"""GRADE-style certainty of a pooled estimate, with a reason for every downgrade.

The rules are deliberately simple, explicit and reproducible; they follow the GRADE handbook
(Schünemann et al., 2013) and the GRADE guideline series in J Clin Epidemiol (Guyatt et al.
2011: 4 risk of bias, 64:407-415; 5 publication bias, 64:1277-1282; 6 imprecision,
64:1283-1293; 7 inconsistency, 64:1294-1302; 8 indirectness, 64:1303-1310):

* Start: **high** for randomised trials, **low** otherwise.
* Risk of bias (RoB 2 overall judgement, weighted by the studies' meta-analytic weights):
  -2 when studies at *high* risk carry >= 50 % of the weight; -1 when any weight is at high risk
  or studies with *some concerns* (or no judgement) carry >= 50 %; else 0.
* Inconsistency (I²): -2 when I² >= 75 %; -1 when I² >= 50 %; else 0. Not assessable with k < 2.
* Indirectness: -1 when studies carrying >= 50 % of the weight have a recorded indirectness
  concern (population, intervention or comparator differ from the question); else 0.
* Imprecision: -1 when fewer than 400 patients were pooled (rule-of-thumb optimal information
  size); -1 more when the confidence interval includes the null value (no effect). At most -2.
* Publication bias: formal tests need >= 10 studies. -1 when k < 10 and every study has fewer
  than 100 patients (small-study effects cannot be excluded); else 0, saying the test was not
  possible when k < 10.

The certainty falls one level per downgrade (high > moderate > low > very low), never below
very low.

Each :class:`Downgrade` carries an English ``reason`` (JSON, CLI, web) and a machine ``code``
with ``params`` (numbers unformatted, shares as fractions 0..1) so that a report can say the
same in another language (keys ``grade.reason.<code>`` in ``glabella/reports/locales``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from glabella.formatting import readable

__all__ = [
    "LEVELS",
    "Certainty",
    "Downgrade",
    "GradeStudy",
    "rate_certainty",
]

LEVELS: tuple[str, ...] = ("very low", "low", "moderate", "high")
OIS_PATIENTS = 400
SMALL_STUDY_N = 100
PUBLICATION_BIAS_MIN_K = 10


@dataclass(frozen=True)
class GradeStudy:
    """What the rating needs to know about one pooled study."""

    study_id: str
    weight: float
    n: int
    rob_overall: str | None
    indirectness: str | None = None


@dataclass(frozen=True)
class Downgrade:
    """One GRADE domain: how many levels it costs (0, 1 or 2) and why."""

    domain: str
    levels: int
    reason: str
    code: str = ""
    params: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {"domain": self.domain, "levels": self.levels, "reason": self.reason}


@dataclass(frozen=True)
class Certainty:
    """The certainty rating with the reason for each domain."""

    level: str
    start: str
    domains: tuple[Downgrade, ...]

    @property
    def total_downgrade(self) -> int:
        """Sum of levels lost over all domains."""
        return sum(d.levels for d in self.domains)

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            "level": self.level,
            "start": self.start,
            "total_downgrade": self.total_downgrade,
            "domains": [d.to_dict() for d in self.domains],
        }


def _shares(studies: Sequence[GradeStudy]) -> list[float]:
    total = sum(max(s.weight, 0.0) for s in studies)
    if total <= 0:
        return [1.0 / len(studies)] * len(studies) if studies else []
    return [max(s.weight, 0.0) / total for s in studies]


def _risk_of_bias(studies: Sequence[GradeStudy], shares: Sequence[float]) -> Downgrade:
    high = sum(w for s, w in zip(studies, shares, strict=True) if s.rob_overall == "high")
    concern = sum(
        w for s, w in zip(studies, shares, strict=True) if s.rob_overall in (None, "some_concerns")
    )
    high_ids = [s.study_id for s in studies if s.rob_overall == "high"]
    if high >= 0.5:
        return Downgrade(
            "risk_of_bias",
            2,
            f"Studies at high risk of bias carry {high:.0%} of the weight ({', '.join(high_ids)}).",
            "rob_high_majority",
            {"share": high, "ids": ", ".join(high_ids)},
        )
    if high > 0 or concern + high >= 0.5:
        parts = []
        if high > 0:
            parts.append(f"high risk in {', '.join(high_ids)} ({high:.0%} of the weight)")
        if concern > 0:
            parts.append(f"some concerns or no judgement for {concern:.0%} of the weight")
        params: dict[str, object] = {"ids": ", ".join(high_ids), "high": high, "concern": concern}
        code = "rob_serious_" + ("high_" if high > 0 else "") + ("concerns" if concern > 0 else "")
        return Downgrade(
            "risk_of_bias", 1, "Serious: " + "; ".join(parts) + ".", code.rstrip("_"), params
        )
    return Downgrade(
        "risk_of_bias", 0, "Most of the weight comes from studies at low risk.", "rob_low"
    )


def _inconsistency(i2: float | None, k: int) -> Downgrade:
    if k < 2 or i2 is None:
        return Downgrade(
            "inconsistency", 0, "Not assessable with a single study.", "inconsistency_single"
        )
    note = " With so few studies I² is itself very uncertain." if k < 5 else ""
    few = "_few" if k < 5 else ""
    params = {"i2": i2}
    if i2 >= 75:
        text = f"Very serious: I² = {i2:.0f}%.{note}"
        return Downgrade("inconsistency", 2, text, "inconsistency_very_serious" + few, params)
    if i2 >= 50:
        text = f"Serious: I² = {i2:.0f}%.{note}"
        return Downgrade("inconsistency", 1, text, "inconsistency_serious" + few, params)
    text = f"I² = {i2:.0f}%, below 50%.{note}"
    return Downgrade("inconsistency", 0, text, "inconsistency_low" + few, params)


def _indirectness(studies: Sequence[GradeStudy], shares: Sequence[float]) -> Downgrade:
    flagged = [(s, w) for s, w in zip(studies, shares, strict=True) if s.indirectness]
    share = sum(w for _, w in flagged)
    if share >= 0.5:
        unique = {s.study_id: s.indirectness for s, _ in flagged}
        reasons = "; ".join(f"{sid}: {why}" for sid, why in unique.items())
        return Downgrade(
            "indirectness",
            1,
            f"Studies with {share:.0%} of the weight differ: {reasons}.",
            "indirectness_serious",
            {"share": share, "details": reasons},
        )
    if flagged:
        ids = ", ".join(dict.fromkeys(s.study_id for s, _ in flagged))
        return Downgrade(
            "indirectness",
            0,
            f"Indirectness noted for {ids} but under half of the weight.",
            "indirectness_minor",
            {"ids": ids},
        )
    return Downgrade("indirectness", 0, "No indirectness concern recorded.", "indirectness_none")


def _imprecision(
    total_n: int, ci_lb: float, ci_ub: float, null_value: float, measure: str
) -> Downgrade:
    levels = 0
    parts: list[str] = []
    codes: list[str] = []
    params: dict[str, object] = {
        "n": total_n,
        "ois": OIS_PATIENTS,
        "lo": ci_lb,
        "hi": ci_ub,
        "measure": measure,
    }
    if total_n < OIS_PATIENTS:
        levels += 1
        parts.append(f"only {total_n} patients (fewer than {OIS_PATIENTS})")
        codes.append("small_n")
    if ci_lb <= null_value <= ci_ub:
        levels += 1
        parts.append(f"the 95% CI ({readable(ci_lb)} to {readable(ci_ub)}) includes no effect")
        codes.append("null")
    if not parts:
        return Downgrade(
            "imprecision",
            0,
            f"{total_n} patients and a CI that excludes no effect ({measure}).",
            "imprecision_ok",
            params,
        )
    text = "; ".join(parts)
    return Downgrade(
        "imprecision",
        min(levels, 2),
        text[0].upper() + text[1:] + ".",
        "imprecision_" + "_".join(codes),
        params,
    )


def _publication_bias(studies: Sequence[GradeStudy]) -> Downgrade:
    k = len(studies)
    if k >= PUBLICATION_BIAS_MIN_K:
        return Downgrade(
            "publication_bias",
            0,
            "Not downgraded; assess with funnel-plot tests (k >= 10).",
            "publication_bias_testable",
            {"k": k, "min_k": PUBLICATION_BIAS_MIN_K},
        )
    if all(s.n < SMALL_STUDY_N for s in studies):
        return Downgrade(
            "publication_bias",
            1,
            f"Suspected: all {k} studies have fewer than {SMALL_STUDY_N} patients and small-study "
            f"effects cannot be tested with fewer than {PUBLICATION_BIAS_MIN_K} studies.",
            "publication_bias_suspected",
            {"k": k, "small_n": SMALL_STUDY_N, "min_k": PUBLICATION_BIAS_MIN_K},
        )
    return Downgrade(
        "publication_bias",
        0,
        f"Not downgraded, but not testable with fewer than {PUBLICATION_BIAS_MIN_K} studies.",
        "publication_bias_untestable",
        {"k": k, "min_k": PUBLICATION_BIAS_MIN_K},
    )


def rate_certainty(
    studies: Sequence[GradeStudy],
    *,
    i2: float | None,
    ci_lb: float,
    ci_ub: float,
    null_value: float,
    measure: str,
    randomised: bool = True,
) -> Certainty:
    """Rate the certainty of one pooled estimate by the rules in the module docstring.

    ``ci_lb``/``ci_ub`` and ``null_value`` must be on the same scale (e.g. RR with null 1, or
    log RR with null 0). ``studies`` carry the meta-analytic weights of the pooled studies.
    """
    if not studies:
        raise ValueError("rate_certainty needs at least one study")
    shares = _shares(studies)
    domains = (
        _risk_of_bias(studies, shares),
        _inconsistency(i2, len(studies)),
        _indirectness(studies, shares),
        _imprecision(sum(s.n for s in studies), ci_lb, ci_ub, null_value, measure),
        _publication_bias(studies),
    )
    start = "high" if randomised else "low"
    index = LEVELS.index(start) - sum(d.levels for d in domains)
    return Certainty(level=LEVELS[max(index, 0)], start=start, domains=domains)
