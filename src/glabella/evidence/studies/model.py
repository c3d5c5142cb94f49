"""The records of the evidence base: studies, arms, outcomes, adverse events, numbers.

Every clinical number of a study is a :class:`Num`: a value with its :class:`Provenance` (the
source it was read from, where in that source, whether the curator verified it in the primary
source, how a derived number was computed and, for an unverified number, why). Missing numbers
are simply absent (``None``): nothing is imputed.

The vocabularies below (designs, disorders, outcome kinds, RoB 2 domains, ...) are shared by
:mod:`~glabella.evidence.studies.validation` (which refuses anything outside them) and the
synthesis rules. The records are frozen and built only by
:func:`~glabella.evidence.studies.loading.parse_study` from validated documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from glabella.evidence.convert import Effect

#: Study designs understood by the loader and the synthesis rules.
DESIGNS: tuple[str, ...] = (
    "parallel_rct",
    "crossover_rct",
    "open_label",
    "case_series",
    "pooled_analysis",
    "meta_analysis",
    "systematic_review",
    "pharmacovigilance",
    "registry_only",
)
RANDOMISED_DESIGNS: frozenset[str] = frozenset({"parallel_rct", "crossover_rct"})

#: Disorder codes used to group studies (``mdd`` = major depressive disorder).
DISORDERS: dict[str, str] = {
    "mdd": "major depressive disorder",
    "bpd": "borderline personality disorder",
    "sad": "social anxiety disorder",
    "bipolar": "bipolar depression",
    "mixed": "several disorders",
}

#: Outcome kinds. Binary kinds carry events/n per arm, ``change`` carries mean/sd/n per arm.
OUTCOME_KINDS: dict[str, str] = {
    "response": "binary",
    "remission": "binary",
    "dropout": "binary",
    "adverse_events": "binary",
    "change": "continuous",
    "other": "other",
}
ARM_ROLES: tuple[str, ...] = ("intervention", "control")
ROB_DOMAINS: tuple[str, ...] = (
    "randomisation",
    "deviations",
    "missing_data",
    "measurement",
    "reporting",
    "overall",
)
ROB_JUDGEMENTS: tuple[str, ...] = ("low", "some_concerns", "high")
SOURCE_KINDS: tuple[str, ...] = (
    "abstract",
    "full_text",
    "registry",
    "secondary",
    "press",
    "leads",
)
PERIODS: tuple[str, ...] = ("parallel", "first", "second", "pooled_periods")
#: Who paid for a trial: the manufacturer, an academic or public funder, or not read.
SPONSORS: dict[str, str] = {
    "industry": "industry-sponsored",
    "academic": "academic or public funding",
    "not_read": "funding not read",
}

# Fields of each record type that hold clinical numbers (must be provenance objects).
ARM_NUMS = ("n_randomised", "n_analysed", "dose_units", "dose_units_women", "dose_units_men")
RESULT_NUMS = ("events", "n", "mean", "sd", "percent")
AE_NUMS = ("events", "n")
REPORTED_NUMS = ("value", "ci_lb", "ci_ub", "k", "n", "p")
POPULATION_NUMS = ("n_total", "n_analysed_total", "n_enrolled")


class EvidenceDataError(ValueError):
    """Raised when the evidence data fail validation; ``problems`` lists every failure."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "; ".join(str(p) for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{len(self.problems)} evidence data problem(s): {lines}{more}")


@dataclass(frozen=True)
class Problem:
    """One validation failure: which study, which field (a dotted path) and what is wrong."""

    study_id: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.study_id}: {self.path}: {self.message}"


@dataclass(frozen=True)
class Source:
    """A document a number was read from."""

    key: str
    kind: str
    url: str
    note: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Where a number was read and whether the curator read it in the primary source."""

    source: str
    location: str
    verified: bool
    derivation: str | None = None
    note: str | None = None

    @property
    def derived(self) -> bool:
        """True when the number was computed from other reported numbers."""
        return self.derivation is not None


@dataclass(frozen=True)
class Num:
    """A clinical number with its provenance."""

    value: float
    provenance: Provenance

    def as_int(self) -> int:
        """The value as an int (counts); raises if it is not integral."""
        if float(self.value) != int(self.value):
            raise ValueError(f"{self.value!r} is not a whole number")
        return int(self.value)


@dataclass(frozen=True)
class Arm:
    """One randomised arm (or one cohort of an uncontrolled study)."""

    id: str
    label: str
    role: str
    product: str
    sites: str | None = None
    n_randomised: Num | None = None
    n_analysed: Num | None = None
    dose_units: Num | None = None
    dose_units_women: Num | None = None
    dose_units_men: Num | None = None


@dataclass(frozen=True)
class ArmResult:
    """Per-arm numbers of one outcome."""

    arm: str
    events: Num | None = None
    n: Num | None = None
    mean: Num | None = None
    sd: Num | None = None
    percent: Num | None = None


@dataclass(frozen=True)
class DerivedEffect:
    """Hedges' g of one comparison derived from reported statistics, with its whole chain.

    ``inputs`` are the printed statistics (each a :class:`Num` with its own source), ``effect``
    what :func:`glabella.evidence.derived.compute_effect` made of them (formula and citation
    included) and ``assumptions`` anything the curator had to assume (e.g. an equal split).
    """

    statistic: str
    intervention: str
    control: str
    direction: str
    inputs: tuple[tuple[str, Num], ...]
    effect: Effect
    assumptions: tuple[str, ...] = ()
    note: str | None = None

    def input(self, name: str) -> Num | None:
        """The input called ``name`` or None."""
        return next((num for key, num in self.inputs if key == name), None)

    @property
    def bound(self) -> bool:
        """True when the effect comes from a bound (p < x): a conservative value, not exact."""
        return self.effect.bound

    @property
    def unverified(self) -> tuple[str, ...]:
        """Names of the inputs not verified in the primary source."""
        return tuple(k for k, n in self.inputs if not n.provenance.verified)

    def statistic_text(self) -> str:
        """The printed statistic as a reader would write it, e.g. ``F(1,28) = 12.30``."""
        v = {k: float(n.value) for k, n in self.inputs}

        def g(x: float) -> str:
            return f"{x:g}"

        n = f"n {g(v['n1'])}/{g(v['n2'])}"
        if self.statistic == "F":
            df = f"{g(v.get('df1', 1))},{g(v['df2'])}" if "df2" in v else g(v.get("df1", 1))
            return f"F({df}) = {g(v['F'])} with {n}"
        if self.statistic == "p_bound":
            return f"p < {g(v['p'])} (a bound) with {n}"
        if self.statistic == "md":
            extra = (
                f"SE {g(v['se'])}"
                if "se" in v
                else f"95% CI {g(v['ci_lb'])} to {g(v['ci_ub'])}"
                if "ci_lb" in v
                else f"p = {g(v['p'])}"
            )
            return f"mean difference {g(v['md'])} ({extra}) with {n}"
        if self.statistic == "counts":
            return f"responders {g(v['events1'])}/{g(v['n1'])} vs {g(v['events2'])}/{g(v['n2'])}"
        name = {"eta2": "η²", "chi2": "χ²(1)"}.get(self.statistic, self.statistic)
        return f"{name} = {g(v[self.statistic])} with {n}"

    def chain(self, study: Study | None = None) -> str:
        """One line from the reported statistic to g, every input with where it was read."""
        e = self.effect
        rel = "≤" if e.bound and e.g < 0 else "≥" if e.bound else ""
        head = f"g {rel}{e.g:.2f} (SE {e.var_g**0.5:.2f}) from {self.statistic_text()}"
        places: list[str] = []
        for key, num in self.inputs:
            prov = num.provenance
            flag = "" if prov.verified else ", not verified"
            places.append(f"{key} {num.value:g}: {prov.source}, {prov.location}{flag}")
        tail = f"{e.formula}; {e.citation}"
        assume = f" Assumed: {'; '.join(self.assumptions)}." if self.assumptions else ""
        return f"{head} — {' | '.join(places)}; {tail}.{assume}"


@dataclass(frozen=True)
class Outcome:
    """One outcome at one timepoint, with per-arm results."""

    id: str
    kind: str
    label: str
    instrument: str | None
    timepoint_weeks: float | None
    definition: str | None
    period: str
    primary: bool
    results: tuple[ArmResult, ...]
    note: str | None = None
    effect: DerivedEffect | None = None

    def result_for(self, arm_id: str) -> ArmResult | None:
        """The result row for ``arm_id`` or None."""
        for r in self.results:
            if r.arm == arm_id:
                return r
        return None


@dataclass(frozen=True)
class AdverseEvent:
    """An adverse event as reported (per arm when the source gives it per arm)."""

    term: str
    arm: str | None = None
    events: Num | None = None
    n: Num | None = None
    note: str | None = None
    #: The note in German for the German consultation report (optional; same facts).
    note_de: str | None = None


@dataclass(frozen=True)
class RobDomain:
    """One RoB 2 domain judgement with its reason."""

    judgement: str
    reason: str


@dataclass(frozen=True)
class RiskOfBias:
    """Cochrane RoB 2 judgements (Sterne et al., BMJ 2019;366:l4898), each with a reason."""

    randomisation: RobDomain
    deviations: RobDomain
    missing_data: RobDomain
    measurement: RobDomain
    reporting: RobDomain
    overall: RobDomain

    def domains(self) -> dict[str, RobDomain]:
        """Domains by name, in RoB 2 order."""
        return {name: getattr(self, name) for name in ROB_DOMAINS}


@dataclass(frozen=True)
class ReportedResult:
    """A result as reported by the source (e.g. a published pooled estimate); never recomputed."""

    label: str
    value: Num
    measure: str | None = None
    ci_lb: Num | None = None
    ci_ub: Num | None = None
    k: Num | None = None
    n: Num | None = None
    p: Num | None = None
    note: str | None = None


@dataclass(frozen=True)
class Study:
    """One study record of the evidence base."""

    id: str
    short: str
    authors: tuple[str, ...]
    year: int
    title: str
    journal: str | None
    citation: str | None
    doi: str | None
    pmid: str | None
    registry_ids: tuple[str, ...]
    country: str | None
    design: str
    disorder: str
    blinding: str | None
    control: str | None
    funding: str | None
    population: Mapping[str, Any]
    summary: str
    primary_endpoint_met: bool | None
    sources: tuple[Source, ...]
    arms: tuple[Arm, ...]
    outcomes: tuple[Outcome, ...]
    adverse_events: tuple[AdverseEvent, ...]
    reported_results: tuple[ReportedResult, ...]
    risk_of_bias: RiskOfBias | None
    indirectness: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)
    sponsor: str | None = None
    independent: bool | None = None
    independence_note: str | None = None
    inconsistencies: tuple[str, ...] = ()
    functional_unblinding: Mapping[str, str] | None = None
    includes: tuple[str, ...] = ()
    timepoint_weeks: float | None = None
    difference_note: str | None = None

    @property
    def randomised(self) -> bool:
        """True for parallel and crossover randomised trials."""
        return self.design in RANDOMISED_DESIGNS

    @property
    def crossover(self) -> bool:
        """True for crossover trials."""
        return self.design == "crossover_rct"

    def arm(self, arm_id: str) -> Arm:
        """The arm with id ``arm_id`` (KeyError if absent)."""
        for a in self.arms:
            if a.id == arm_id:
                return a
        raise KeyError(arm_id)

    def source(self, key: str) -> Source:
        """The source with key ``key`` (KeyError if absent)."""
        for s in self.sources:
            if s.key == key:
                return s
        raise KeyError(key)

    def n_randomised_total(self) -> int | None:
        """Sum of arm N randomised, or the population total, or None when unknown."""
        ns = [a.n_randomised for a in self.arms]
        if ns and all(n is not None for n in ns):
            return sum(n.as_int() for n in ns if n is not None)
        total = self.population.get("n_total")
        if isinstance(total, Num):
            return total.as_int()
        return None

    def numbers(self) -> list[tuple[str, Num]]:
        """Every number of the record with its dotted path (for provenance displays)."""
        out: list[tuple[str, Num]] = []
        for key, val in self.population.items():
            if isinstance(val, Num):
                out.append((f"population.{key}", val))
        for a in self.arms:
            for name in ARM_NUMS:
                num = getattr(a, name)
                if num is not None:
                    out.append((f"arms.{a.id}.{name}", num))
        for o in self.outcomes:
            for r in o.results:
                for name in RESULT_NUMS:
                    num = getattr(r, name)
                    if num is not None:
                        out.append((f"outcomes.{o.id}.{r.arm}.{name}", num))
            if o.effect is not None:
                for name, num in o.effect.inputs:
                    out.append((f"outcomes.{o.id}.effect.inputs.{name}", num))
        for i, ae in enumerate(self.adverse_events):
            for name in AE_NUMS:
                num = getattr(ae, name)
                if num is not None:
                    out.append((f"adverse_events[{i}].{name}", num))
        for i, rr in enumerate(self.reported_results):
            for name in REPORTED_NUMS:
                num = getattr(rr, name)
                if num is not None:
                    out.append((f"reported_results[{i}].{name}", num))
        return out


@dataclass(frozen=True)
class EvidenceBase:
    """All studies plus the content hash of the data files they came from."""

    studies: tuple[Study, ...]
    version: str

    def get(self, study_id: str) -> Study:
        """The study with ``study_id`` (KeyError if absent)."""
        for s in self.studies:
            if s.id == study_id:
                return s
        raise KeyError(study_id)

    def by_disorder(self, disorder: str) -> tuple[Study, ...]:
        """Studies of one disorder."""
        return tuple(s for s in self.studies if s.disorder == disorder)
