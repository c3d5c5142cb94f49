"""The curated evidence base: trials, arms, outcomes, adverse events, each number with its source.

One YAML file per study lives in ``glabella/evidence/data/studies/``. Every clinical number in
a file is a *provenance object*::

    {value: 15, source: abstract, location: "Abstract, Methods", verified: true}

``source`` names an entry of the study's ``sources`` list (a URL and what kind of document it
is), ``location`` says where in that document the number was read (table, figure, page,
abstract sentence), ``verified`` says whether the number was read in the primary source by the
curator, and an optional ``derivation`` explains how a derived number was computed. A number
that is not verified must say why in ``note``. Missing numbers are simply absent: nothing is
imputed.

This module is pure: it only reads its own packaged data files (``importlib.resources``).
:func:`check` validates raw documents and returns a list of :class:`Problem`;
:func:`load_studies` parses the packaged files into frozen dataclasses and refuses invalid data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from glabella.evidence.convert import ConversionError, Effect
from glabella.evidence.derived import DIRECTIONS, ROUTES, compute_effect

__all__ = [
    "ARM_ROLES",
    "DESIGNS",
    "DISORDERS",
    "OUTCOME_KINDS",
    "ROB_DOMAINS",
    "SPONSORS",
    "AdverseEvent",
    "Arm",
    "ArmResult",
    "Change",
    "DerivedEffect",
    "EvidenceBase",
    "EvidenceDataError",
    "Num",
    "Outcome",
    "Problem",
    "Provenance",
    "ReportedResult",
    "RiskOfBias",
    "RobDomain",
    "Source",
    "Study",
    "check",
    "diff_documents",
    "effect_to_dict",
    "evidence_version",
    "load_evidence",
    "load_raw_documents",
    "load_studies",
    "num_to_dict",
    "packaged_data_dir",
    "parse_study",
    "read_yaml_file",
    "study_summary",
    "study_to_dict",
]

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

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_BOUND_RE = re.compile(r"\b[pP]\s*[<≤]")
_NUM_KEYS = frozenset({"value", "source", "location", "verified", "derivation", "note"})

# Fields of each record type that hold clinical numbers (must be provenance objects).
_ARM_NUMS = ("n_randomised", "n_analysed", "dose_units", "dose_units_women", "dose_units_men")
_RESULT_NUMS = ("events", "n", "mean", "sd", "percent")
_AE_NUMS = ("events", "n")
_REPORTED_NUMS = ("value", "ci_lb", "ci_ub", "k", "n", "p")
_POPULATION_NUMS = ("n_total", "n_analysed_total", "n_enrolled")


class EvidenceDataError(ValueError):
    """Raised when the evidence data fail validation; ``problems`` lists every failure."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "; ".join(str(p) for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{len(self.problems)} evidence data problem(s): {lines}{more}")


# ---------------------------------------------------------------------------------------------
# Dataclasses
# ---------------------------------------------------------------------------------------------


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
            for name in _ARM_NUMS:
                num = getattr(a, name)
                if num is not None:
                    out.append((f"arms.{a.id}.{name}", num))
        for o in self.outcomes:
            for r in o.results:
                for name in _RESULT_NUMS:
                    num = getattr(r, name)
                    if num is not None:
                        out.append((f"outcomes.{o.id}.{r.arm}.{name}", num))
            if o.effect is not None:
                for name, num in o.effect.inputs:
                    out.append((f"outcomes.{o.id}.effect.inputs.{name}", num))
        for i, ae in enumerate(self.adverse_events):
            for name in _AE_NUMS:
                num = getattr(ae, name)
                if num is not None:
                    out.append((f"adverse_events[{i}].{name}", num))
        for i, rr in enumerate(self.reported_results):
            for name in _REPORTED_NUMS:
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


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------


def _packaged_dir() -> Traversable:
    return resources.files("glabella.evidence").joinpath("data", "studies")


def read_yaml_file(text: str, name: str = "<text>") -> dict[str, Any]:
    """Parse one study document from YAML text; raises ``EvidenceDataError`` on bad YAML."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EvidenceDataError([Problem(name, "<file>", f"invalid YAML: {exc}")]) from exc
    if not isinstance(doc, dict):
        raise EvidenceDataError([Problem(name, "<file>", "a study file must be a YAML mapping")])
    return doc


def _iter_files(directory: Traversable | Path | None) -> list[tuple[str, str]]:
    base: Traversable | Path = _packaged_dir() if directory is None else directory
    files = [f for f in base.iterdir() if f.name.endswith((".yaml", ".yml"))]
    return sorted(((f.name, f.read_text(encoding="utf-8")) for f in files), key=lambda t: t[0])


def load_raw_documents(
    directory: Traversable | Path | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(file name, parsed mapping) for every study file, sorted by name."""
    return [(name, read_yaml_file(text, name)) for name, text in _iter_files(directory)]


def evidence_version(directory: Traversable | Path | None = None) -> str:
    """Content hash (SHA-256, first 16 hex digits) over file names and bytes of the data files.

    Any edit to any study file changes the version, so a pooled result can be tied to the exact
    data it was computed from.
    """
    h = hashlib.sha256()
    for name, text in _iter_files(directory):
        h.update(name.encode("utf-8"))
        h.update(b"\0")
        h.update(text.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


class _Checker:
    """Collects problems of one study document."""

    def __init__(self, doc: Mapping[str, Any], file_name: str | None) -> None:
        self.doc = doc
        raw_id = doc.get("id")
        self.sid = raw_id if isinstance(raw_id, str) and raw_id else (file_name or "<unknown>")
        self.file_name = file_name
        self.problems: list[Problem] = []
        src = doc.get("sources")
        self.source_keys: set[str] = set()
        if isinstance(src, list):
            for s in src:
                if isinstance(s, Mapping) and isinstance(s.get("key"), str):
                    self.source_keys.add(s["key"])

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.sid, path, message))

    # -- primitives ----------------------------------------------------------------------------
    def num(self, path: str, raw: object, *, required: bool = False) -> float | None:
        """Check a provenance object; return its value when usable."""
        if raw is None:
            if required:
                self.add(path, "required number is missing")
            return None
        if _is_number(raw):
            self.add(path, "number without provenance (use {value, source, location, verified})")
            return None
        if not isinstance(raw, Mapping):
            self.add(path, f"expected a provenance object, got {type(raw).__name__}")
            return None
        unknown = set(raw) - _NUM_KEYS
        if unknown:
            self.add(path, f"unknown provenance keys: {sorted(unknown)}")
        value = raw.get("value")
        ok = True
        if not _is_number(value):
            self.add(f"{path}.value", "value must be a number")
            ok = False
        src = raw.get("source")
        if not isinstance(src, str) or not src:
            self.add(f"{path}.source", "number without provenance: source is missing")
            ok = False
        elif src not in self.source_keys:
            self.add(f"{path}.source", f"broken reference: no source with key {src!r}")
        loc = raw.get("location")
        if not isinstance(loc, str) or not loc.strip():
            self.add(f"{path}.location", "number without provenance: location is missing")
            ok = False
        verified = raw.get("verified")
        if not isinstance(verified, bool):
            self.add(f"{path}.verified", "verified must be true or false")
            ok = False
        elif not verified:
            note = raw.get("note")
            if not isinstance(note, str) or not note.strip():
                self.add(f"{path}.note", "an unverified number must say why in note")
        deriv = raw.get("derivation")
        if deriv is not None and (not isinstance(deriv, str) or not deriv.strip()):
            self.add(f"{path}.derivation", "derivation must be a non-empty text")
        if ok and isinstance(value, int | float):
            return float(value)
        return None

    def text(self, path: str, raw: object, *, required: bool = False) -> None:
        if raw is None:
            if required:
                self.add(path, "required text is missing")
            return
        if not isinstance(raw, str) or not raw.strip():
            self.add(path, "expected a non-empty text")

    def choice(self, path: str, raw: object, options: Iterable[str], *, required: bool) -> None:
        opts = tuple(options)
        if raw is None:
            if required:
                self.add(path, f"required; one of {list(opts)}")
            return
        if raw not in opts:
            self.add(path, f"{raw!r} is not one of {list(opts)}")

    def items(self, path: str, raw: object) -> list[Mapping[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add(path, "expected a list")
            return []
        out: list[Mapping[str, Any]] = []
        for i, item in enumerate(raw):
            if isinstance(item, Mapping):
                out.append(item)
            else:
                self.add(f"{path}[{i}]", "expected a mapping")
        return out

    # -- the document --------------------------------------------------------------------------
    def run(self) -> list[Problem]:
        d = self.doc
        sid = d.get("id")
        if not isinstance(sid, str) or not _ID_RE.match(sid):
            self.add("id", "id must be lower-case words joined by '-'")
        elif self.file_name is not None:
            stem = self.file_name.rsplit(".", 1)[0]
            if stem != sid:
                self.add("id", f"file name {self.file_name!r} does not match id {sid!r}")
        self.text("short", d.get("short"), required=True)
        self.text("title", d.get("title"), required=True)
        self.text("summary", d.get("summary"), required=True)
        year = d.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2100:
            self.add("year", "year must be a four-digit integer")
        authors = d.get("authors")
        if (
            not isinstance(authors, list)
            or not authors
            or not all(isinstance(a, str) and a for a in authors)
        ):
            self.add("authors", "authors must be a non-empty list of names")
        self.choice("design", d.get("design"), DESIGNS, required=True)
        self.choice("disorder", d.get("disorder"), DISORDERS, required=True)
        for key in ("journal", "citation", "doi", "pmid", "country", "blinding", "control"):
            self.text(key, d.get(key))
        self.text("funding", d.get("funding"))
        self.choice("sponsor", d.get("sponsor"), SPONSORS, required=False)
        indep = d.get("independent")
        if indep is not None and not isinstance(indep, bool):
            self.add("independent", "must be true, false or absent")
        if indep is False:
            self.text("independence_note", d.get("independence_note"), required=True)
        for key in ("inconsistencies", "includes"):
            val = d.get(key, [])
            if not isinstance(val, list) or not all(isinstance(x, str) and x for x in val):
                self.add(key, f"{key} must be a list of texts")
        if d.get("includes") and d.get("design") not in ("meta_analysis", "pooled_analysis"):
            self.add("includes", "only a meta-analysis or pooled analysis includes other studies")
        tpw = d.get("timepoint_weeks")
        if tpw is not None and (not _is_number(tpw) or tpw < 0):
            self.add("timepoint_weeks", "timepoint must be a non-negative number")
        self.text("difference_note", d.get("difference_note"))
        fu = d.get("functional_unblinding")
        placebo = "placebo" in str(d.get("control") or "").lower()
        if fu is None and placebo and d.get("design") in RANDOMISED_DESIGNS:
            self.add(
                "functional_unblinding",
                "a placebo-controlled trial needs a judgement of participant blinding against "
                "the visible loss of frowning (judgement and reason)",
            )
        elif fu is not None:
            if not isinstance(fu, Mapping):
                self.add("functional_unblinding", "expected {judgement, reason}")
            else:
                self.choice(
                    "functional_unblinding.judgement",
                    fu.get("judgement"),
                    ROB_JUDGEMENTS,
                    required=True,
                )
                self.text("functional_unblinding.reason", fu.get("reason"), required=True)
        self.text("indirectness", d.get("indirectness"))
        reg = d.get("registry_ids", [])
        if not isinstance(reg, list) or not all(isinstance(r, str) for r in reg):
            self.add("registry_ids", "registry_ids must be a list of identifiers")
        pem = d.get("primary_endpoint_met")
        if pem is not None and not isinstance(pem, bool):
            self.add("primary_endpoint_met", "must be true, false or absent")
        notes = d.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            self.add("notes", "notes must be a list of texts")

        self._sources()
        self._population()
        arm_n = self._arms()
        self._outcomes(arm_n)
        self._adverse_events(arm_n)
        self._reported()
        self._rob()
        return self.problems

    def _sources(self) -> None:
        srcs = self.items("sources", self.doc.get("sources"))
        if not srcs:
            self.add("sources", "at least one source is required")
        seen: set[str] = set()
        for i, s in enumerate(srcs):
            key = s.get("key")
            if not isinstance(key, str) or not key:
                self.add(f"sources[{i}].key", "source key is required")
            elif key in seen:
                self.add(f"sources[{i}].key", f"duplicate source key {key!r}")
            else:
                seen.add(key)
            self.choice(f"sources[{i}].kind", s.get("kind"), SOURCE_KINDS, required=True)
            url = s.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "file:")):
                self.add(f"sources[{i}].url", "url must be an http(s) address")

    def _population(self) -> None:
        pop = self.doc.get("population", {})
        if pop is None:
            return
        if not isinstance(pop, Mapping):
            self.add("population", "population must be a mapping")
            return
        for key, val in pop.items():
            path = f"population.{key}"
            if key in _POPULATION_NUMS:
                v = self.num(path, val)
                if v is not None and (v < 0 or v != int(v)):
                    self.add(path, "impossible value: a count must be a non-negative integer")
            elif _is_number(val):
                self.add(path, "number without provenance")
            elif val is not None and not isinstance(val, str):
                self.add(path, "population entries are texts or provenance objects")
        n_total = pop.get("n_total")
        n_an = pop.get("n_analysed_total")
        if isinstance(n_total, Mapping) and isinstance(n_an, Mapping):
            t, a = n_total.get("value"), n_an.get("value")
            if isinstance(t, int | float) and isinstance(a, int | float) and a > t:
                self.add("population.n_analysed_total", "impossible value: analysed > randomised")

    def _arms(self) -> dict[str, float | None]:
        arms = self.items("arms", self.doc.get("arms"))
        arm_n: dict[str, float | None] = {}
        for i, a in enumerate(arms):
            aid = a.get("id")
            path = f"arms[{i}]"
            if not isinstance(aid, str) or not _ID_RE.match(aid):
                self.add(f"{path}.id", "arm id must be lower-case words joined by '-'")
                continue
            if aid in arm_n:
                self.add(f"{path}.id", f"duplicate arm id {aid!r}")
            path = f"arms.{aid}"
            self.text(f"{path}.label", a.get("label"), required=True)
            self.text(f"{path}.product", a.get("product"), required=True)
            self.text(f"{path}.sites", a.get("sites"))
            self.choice(f"{path}.role", a.get("role"), ARM_ROLES, required=True)
            n_r = self.num(f"{path}.n_randomised", a.get("n_randomised"))
            n_a = self.num(f"{path}.n_analysed", a.get("n_analysed"))
            for name, v in (("n_randomised", n_r), ("n_analysed", n_a)):
                if v is not None and (v <= 0 or v != int(v)):
                    self.add(f"{path}.{name}", "impossible value: N must be a positive integer")
            if n_r is not None and n_a is not None and n_a > n_r:
                self.add(f"{path}.n_analysed", "impossible value: N analysed > N randomised")
            for name in ("dose_units", "dose_units_women", "dose_units_men"):
                v = self.num(f"{path}.{name}", a.get(name))
                if v is not None and v < 0:
                    self.add(f"{path}.{name}", "impossible value: negative dose")
            arm_n[aid] = n_r
        return arm_n

    def _outcomes(self, arm_n: Mapping[str, float | None]) -> None:
        outs = self.items("outcomes", self.doc.get("outcomes"))
        seen: set[str] = set()
        crossover = self.doc.get("design") == "crossover_rct"
        for i, o in enumerate(outs):
            oid = o.get("id")
            if not isinstance(oid, str) or not _ID_RE.match(oid):
                self.add(f"outcomes[{i}].id", "outcome id must be lower-case words joined by '-'")
                continue
            if oid in seen:
                self.add(f"outcomes[{i}].id", f"duplicate outcome id {oid!r}")
            seen.add(oid)
            path = f"outcomes.{oid}"
            kind = o.get("kind")
            self.choice(f"{path}.kind", kind, OUTCOME_KINDS, required=True)
            self.text(f"{path}.label", o.get("label"), required=True)
            self.text(f"{path}.instrument", o.get("instrument"))
            self.text(f"{path}.definition", o.get("definition"))
            self.text(f"{path}.note", o.get("note"))
            period = o.get("period", "parallel")
            self.choice(f"{path}.period", period, PERIODS, required=True)
            if crossover and period == "parallel":
                self.add(f"{path}.period", "a crossover trial must say which period an outcome is")
            if not crossover and period not in ("parallel", None):
                self.add(f"{path}.period", "only crossover trials have periods")
            tp = o.get("timepoint_weeks")
            if tp is not None and (not _is_number(tp) or tp < 0):
                self.add(f"{path}.timepoint_weeks", "timepoint must be a non-negative number")
            if not isinstance(o.get("primary", False), bool):
                self.add(f"{path}.primary", "primary must be true or false")
            arms_used: set[str] = set()
            for j, r in enumerate(self.items(f"{path}.results", o.get("results"))):
                arm = r.get("arm")
                rpath = f"{path}.results[{j}]"
                if not isinstance(arm, str) or arm not in arm_n:
                    self.add(f"{rpath}.arm", f"broken reference: no arm {arm!r}")
                    continue
                if arm in arms_used:
                    self.add(f"{rpath}.arm", f"arm {arm!r} appears twice")
                arms_used.add(arm)
                rpath = f"{path}.{arm}"
                ev = self.num(f"{rpath}.events", r.get("events"))
                n = self.num(f"{rpath}.n", r.get("n"))
                self.num(f"{rpath}.mean", r.get("mean"))
                sd = self.num(f"{rpath}.sd", r.get("sd"))
                pct = self.num(f"{rpath}.percent", r.get("percent"))
                if ev is not None and (ev < 0 or ev != int(ev)):
                    self.add(f"{rpath}.events", "impossible value: events must be a count")
                if n is not None and (n <= 0 or n != int(n)):
                    self.add(f"{rpath}.n", "impossible value: N must be a positive integer")
                if ev is not None and n is not None and ev > n:
                    self.add(f"{rpath}.events", "impossible value: events > N")
                if sd is not None and sd <= 0:
                    self.add(f"{rpath}.sd", "impossible value: SD <= 0")
                if kind in ("response", "remission", "dropout", "adverse_events") and (
                    pct is not None and not 0 <= pct <= 100
                ):
                    self.add(f"{rpath}.percent", "impossible value: a rate outside 0-100%")
                n_r = arm_n.get(arm)
                if n is not None and n_r is not None and n > n_r and not crossover:
                    self.add(f"{rpath}.n", "impossible value: N analysed > N randomised")
            if o.get("effect") is not None:
                self._effect(f"{path}.effect", o.get("effect"), kind)

    def _effect(self, path: str, raw: object, kind: object) -> None:
        """A derived effect: known route, arms, direction, every input with provenance."""
        if not isinstance(raw, Mapping):
            self.add(path, "expected a mapping (statistic, intervention, control, inputs)")
            return
        if kind != "change":
            self.add(path, "a derived effect size belongs to a continuous (change) outcome")
        allowed = {"statistic", "intervention", "control", "direction", "inputs"}
        unknown = set(raw) - allowed - {"assumptions", "note"}
        if unknown:
            self.add(path, f"unknown keys {sorted(unknown)}")
        route = raw.get("statistic")
        self.choice(f"{path}.statistic", route, ROUTES, required=True)
        self.choice(f"{path}.direction", raw.get("direction"), DIRECTIONS, required=True)
        roles = {
            a.get("id"): a.get("role") for a in self.doc.get("arms") or [] if isinstance(a, Mapping)
        }
        for side, role in (("intervention", "intervention"), ("control", "control")):
            arm = raw.get(side)
            if arm not in roles:
                self.add(f"{path}.{side}", f"broken reference: no arm {arm!r}")
            elif roles[arm] != role:
                self.add(f"{path}.{side}", f"arm {arm!r} is not a {role} arm")
        assumptions = raw.get("assumptions", [])
        if not isinstance(assumptions, list) or not all(
            isinstance(a, str) and a.strip() for a in assumptions
        ):
            self.add(f"{path}.assumptions", "assumptions must be a list of texts")
        self.text(f"{path}.note", raw.get("note"))
        inputs = raw.get("inputs")
        if not isinstance(inputs, Mapping) or not inputs:
            self.add(f"{path}.inputs", "a derived number must record its inputs")
            return
        if route not in ROUTES:
            return
        spec = ROUTES[route]
        known = set(spec.required) | set(spec.optional) | set(spec.one_of)
        values: dict[str, float] = {}
        for name, val in inputs.items():
            ipath = f"{path}.inputs.{name}"
            if name not in known:
                self.add(ipath, f"not an input of statistic {route} (expected {sorted(known)})")
                continue
            v = self.num(ipath, val)
            if v is not None:
                values[str(name)] = v
        missing = [name for name in spec.required if name not in inputs]
        for name in missing:
            self.add(f"{path}.inputs.{name}", "derived number whose input is missing")
        p_raw = inputs.get("p")
        bound = isinstance(p_raw, Mapping) and _BOUND_RE.search(str(p_raw.get("location", "")))
        if route in ("p", "md") and bound:
            self.add(
                f"{path}.inputs.p",
                "the source prints a bound (p < x), not an exact p: use statistic "
                "p_bound, which keeps it as a labelled, conservative value",
            )
            return
        if missing or len(values) != len(inputs) or raw.get("direction") not in DIRECTIONS:
            return
        try:
            compute_effect(route, values, str(raw["direction"]))
        except ConversionError as exc:
            self.add(f"{path}.inputs.{exc.field}", str(exc))

    def _adverse_events(self, arm_n: Mapping[str, float | None]) -> None:
        for i, ae in enumerate(self.items("adverse_events", self.doc.get("adverse_events"))):
            path = f"adverse_events[{i}]"
            self.text(f"{path}.term", ae.get("term"), required=True)
            self.text(f"{path}.note", ae.get("note"))
            self.text(f"{path}.note_de", ae.get("note_de"))
            if ae.get("note_de") is not None and ae.get("note") is None:
                self.add(f"{path}.note_de", "a German note needs the English note it translates")
            arm = ae.get("arm")
            if arm is not None and arm not in arm_n:
                self.add(f"{path}.arm", f"broken reference: no arm {arm!r}")
            ev = self.num(f"{path}.events", ae.get("events"))
            n = self.num(f"{path}.n", ae.get("n"))
            if ev is not None and n is not None and ev > n:
                self.add(f"{path}.events", "impossible value: events > N")
            if ev is not None and ev < 0:
                self.add(f"{path}.events", "impossible value: negative count")

    def _reported(self) -> None:
        for i, rr in enumerate(self.items("reported_results", self.doc.get("reported_results"))):
            path = f"reported_results[{i}]"
            self.text(f"{path}.label", rr.get("label"), required=True)
            self.text(f"{path}.measure", rr.get("measure"))
            self.num(f"{path}.value", rr.get("value"), required=True)
            lb = self.num(f"{path}.ci_lb", rr.get("ci_lb"))
            ub = self.num(f"{path}.ci_ub", rr.get("ci_ub"))
            if lb is not None and ub is not None and lb > ub:
                self.add(f"{path}.ci_lb", "impossible value: CI lower bound > upper bound")
            for name in ("k", "n", "p"):
                self.num(f"{path}.{name}", rr.get(name))

    def _rob(self) -> None:
        rob = self.doc.get("risk_of_bias")
        design = self.doc.get("design")
        if rob is None:
            if design in RANDOMISED_DESIGNS:
                self.add("risk_of_bias", "a randomised trial needs a RoB 2 judgement")
            return
        if not isinstance(rob, Mapping):
            self.add("risk_of_bias", "expected a mapping of RoB 2 domains")
            return
        for dom in ROB_DOMAINS:
            entry = rob.get(dom)
            path = f"risk_of_bias.{dom}"
            if not isinstance(entry, Mapping):
                self.add(path, "missing RoB 2 domain")
                continue
            self.choice(f"{path}.judgement", entry.get("judgement"), ROB_JUDGEMENTS, required=True)
            self.text(f"{path}.reason", entry.get("reason"), required=True)
        extra = set(rob) - set(ROB_DOMAINS)
        if extra:
            self.add("risk_of_bias", f"unknown RoB 2 domains {sorted(extra)}")


def check(
    documents: Iterable[tuple[str | None, Mapping[str, Any]]] | None = None,
) -> list[Problem]:
    """Validate study documents; an empty list means the data are sound.

    ``documents`` are ``(file name or None, mapping)`` pairs; by default the packaged data files.
    Fails on: a number without provenance (bare number, missing source/location/verified, an
    unverified number without a note), impossible values (events > N, SD <= 0, N analysed > N
    randomised, negative counts, rates outside 0-100 %, CI bounds reversed), broken references
    (an arm or source key that does not exist), duplicate ids (studies, arms, outcomes, sources)
    and missing required fields (RoB 2 for randomised trials, with a reason per domain).
    """
    docs: list[tuple[str | None, Mapping[str, Any]]]
    if documents is None:
        docs = [(name, doc) for name, doc in load_raw_documents()]
    else:
        docs = list(documents)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for name, doc in docs:
        checker = _Checker(doc, name)
        problems.extend(checker.run())
        sid = doc.get("id")
        if isinstance(sid, str):
            if sid in seen:
                problems.append(Problem(sid, "id", f"duplicate study id (also in {seen[sid]})"))
            else:
                seen[sid] = name or "<document>"
    for _name, doc in docs:
        inc = doc.get("includes")
        if isinstance(inc, list):
            for ref in inc:
                if isinstance(ref, str) and ref not in seen:
                    problems.append(
                        Problem(
                            str(doc.get("id")), "includes", f"broken reference: no study {ref!r}"
                        )
                    )
    return problems


# ---------------------------------------------------------------------------------------------
# Parsing (after validation)
# ---------------------------------------------------------------------------------------------


def _num(raw: object) -> Num | None:
    if not isinstance(raw, Mapping):
        return None
    return Num(
        value=raw["value"],
        provenance=Provenance(
            source=raw["source"],
            location=raw["location"],
            verified=raw["verified"],
            derivation=raw.get("derivation"),
            note=raw.get("note"),
        ),
    )


def _req_num(raw: object) -> Num:
    num = _num(raw)
    if num is None:  # pragma: no cover - guarded by check()
        raise ValueError("missing number")
    return num


def _rob(raw: object) -> RiskOfBias | None:
    if not isinstance(raw, Mapping):
        return None
    doms = {
        name: RobDomain(judgement=raw[name]["judgement"], reason=raw[name]["reason"])
        for name in ROB_DOMAINS
    }
    return RiskOfBias(**doms)


def _effect(raw: object) -> DerivedEffect | None:
    if not isinstance(raw, Mapping):
        return None
    inputs = tuple((str(k), _req_num(v)) for k, v in raw["inputs"].items())
    values = {k: float(n.value) for k, n in inputs}
    return DerivedEffect(
        statistic=raw["statistic"],
        intervention=raw["intervention"],
        control=raw["control"],
        direction=raw["direction"],
        inputs=inputs,
        effect=compute_effect(raw["statistic"], values, raw["direction"]),
        assumptions=tuple(raw.get("assumptions") or ()),
        note=raw.get("note"),
    )


def effect_to_dict(
    effect: DerivedEffect | None, study: Study | None = None
) -> dict[str, Any] | None:
    """A derived effect with its inputs, formula, citation and the one-line chain."""
    if effect is None:
        return None
    e = effect.effect
    return {
        "statistic": effect.statistic,
        "route": ROUTES[effect.statistic].label,
        "intervention": effect.intervention,
        "control": effect.control,
        "direction": effect.direction,
        "inputs": {k: num_to_dict(n, study) for k, n in effect.inputs},
        "assumptions": list(effect.assumptions),
        "note": effect.note,
        "g": e.g,
        "var_g": e.var_g,
        "se_g": e.var_g**0.5,
        "d": e.d,
        "var_d": e.var_d,
        "formula": e.formula,
        "citation": e.citation,
        "bound": e.bound,
        "approximate": e.approximate,
        "sd_implied": e.sd_implied,
        "chain": effect.chain(study),
    }


def parse_study(doc: Mapping[str, Any]) -> Study:
    """Build a :class:`Study` from a validated document (call :func:`check` first)."""
    pop_raw = doc.get("population") or {}
    population: dict[str, Any] = {
        k: (_num(v) if k in _POPULATION_NUMS else v) for k, v in pop_raw.items()
    }
    arms = tuple(
        Arm(
            id=a["id"],
            label=a["label"],
            role=a["role"],
            product=a["product"],
            sites=a.get("sites"),
            **{name: _num(a.get(name)) for name in _ARM_NUMS},
        )
        for a in doc.get("arms") or []
    )
    outcomes = tuple(
        Outcome(
            id=o["id"],
            kind=o["kind"],
            label=o["label"],
            instrument=o.get("instrument"),
            timepoint_weeks=o.get("timepoint_weeks"),
            definition=o.get("definition"),
            period=o.get("period", "parallel"),
            primary=bool(o.get("primary", False)),
            note=o.get("note"),
            results=tuple(
                ArmResult(arm=r["arm"], **{name: _num(r.get(name)) for name in _RESULT_NUMS})
                for r in o.get("results") or []
            ),
            effect=_effect(o.get("effect")),
        )
        for o in doc.get("outcomes") or []
    )
    aes = tuple(
        AdverseEvent(
            term=ae["term"],
            arm=ae.get("arm"),
            events=_num(ae.get("events")),
            n=_num(ae.get("n")),
            note=ae.get("note"),
            note_de=ae.get("note_de"),
        )
        for ae in doc.get("adverse_events") or []
    )
    reported = tuple(
        ReportedResult(
            label=rr["label"],
            measure=rr.get("measure"),
            value=_req_num(rr.get("value")),
            ci_lb=_num(rr.get("ci_lb")),
            ci_ub=_num(rr.get("ci_ub")),
            k=_num(rr.get("k")),
            n=_num(rr.get("n")),
            p=_num(rr.get("p")),
            note=rr.get("note"),
        )
        for rr in doc.get("reported_results") or []
    )
    return Study(
        id=doc["id"],
        short=doc["short"],
        authors=tuple(doc["authors"]),
        year=doc["year"],
        title=doc["title"],
        journal=doc.get("journal"),
        citation=doc.get("citation"),
        doi=doc.get("doi"),
        pmid=str(doc["pmid"]) if doc.get("pmid") is not None else None,
        registry_ids=tuple(doc.get("registry_ids") or ()),
        country=doc.get("country"),
        design=doc["design"],
        disorder=doc["disorder"],
        blinding=doc.get("blinding"),
        control=doc.get("control"),
        funding=doc.get("funding"),
        population=population,
        summary=doc["summary"],
        primary_endpoint_met=doc.get("primary_endpoint_met"),
        sources=tuple(
            Source(key=s["key"], kind=s["kind"], url=s["url"], note=s.get("note"))
            for s in doc["sources"]
        ),
        arms=arms,
        outcomes=outcomes,
        adverse_events=aes,
        reported_results=reported,
        risk_of_bias=_rob(doc.get("risk_of_bias")),
        indirectness=doc.get("indirectness"),
        notes=tuple(doc.get("notes") or ()),
        sponsor=doc.get("sponsor"),
        independent=doc.get("independent"),
        independence_note=doc.get("independence_note"),
        inconsistencies=tuple(doc.get("inconsistencies") or ()),
        functional_unblinding=doc.get("functional_unblinding"),
        includes=tuple(doc.get("includes") or ()),
        timepoint_weeks=doc.get("timepoint_weeks"),
        difference_note=doc.get("difference_note"),
    )


def load_evidence(directory: Traversable | Path | None = None) -> EvidenceBase:
    """Validate and load every study (packaged data by default) with the data version.

    Raises :class:`EvidenceDataError` listing every problem when the data are invalid.
    """
    docs = load_raw_documents(directory)
    problems = check([(name, doc) for name, doc in docs])
    if problems:
        raise EvidenceDataError(problems)
    studies = tuple(parse_study(doc) for _, doc in docs)
    return EvidenceBase(studies=studies, version=evidence_version(directory))


def load_studies(directory: Traversable | Path | None = None) -> tuple[Study, ...]:
    """The validated studies (packaged data by default)."""
    return load_evidence(directory).studies


# ---------------------------------------------------------------------------------------------
# Plain-dict views (for the CLI, the JSON API and the web pages)
# ---------------------------------------------------------------------------------------------


def num_to_dict(num: Num | None, study: Study | None = None) -> dict[str, Any] | None:
    """A number with its provenance as a plain dict (with the source URL when ``study`` given)."""
    if num is None:
        return None
    prov = num.provenance
    out: dict[str, Any] = {
        "value": num.value,
        "source": prov.source,
        "location": prov.location,
        "verified": prov.verified,
        "derivation": prov.derivation,
        "note": prov.note,
    }
    if study is not None:
        try:
            out["url"] = study.source(prov.source).url
        except KeyError:  # pragma: no cover - guarded by check()
            out["url"] = None
    return out


def study_summary(study: Study) -> dict[str, Any]:
    """One row of a study list: identity, design, size and the one-paragraph summary."""
    return {
        "id": study.id,
        "short": study.short,
        "year": study.year,
        "title": study.title,
        "journal": study.journal,
        "design": study.design,
        "disorder": study.disorder,
        "disorder_name": DISORDERS[study.disorder],
        "n": study.n_randomised_total(),
        "primary_endpoint_met": study.primary_endpoint_met,
        "rob_overall": study.risk_of_bias.overall.judgement if study.risk_of_bias else None,
        "doi": study.doi,
        "pmid": study.pmid,
        "registry_ids": list(study.registry_ids),
        "summary": study.summary,
        "sponsor": study.sponsor,
        "independent": study.independent,
        "independence_note": study.independence_note,
        "includes": list(study.includes),
        "timepoint_weeks": study.timepoint_weeks,
        "difference_note": study.difference_note,
        "inconsistencies": list(study.inconsistencies),
        "functional_unblinding": dict(study.functional_unblinding)
        if study.functional_unblinding
        else None,
    }


def study_to_dict(study: Study) -> dict[str, Any]:
    """Every field and every number of a study, each number with its provenance."""
    arms = [
        {
            "id": a.id,
            "label": a.label,
            "role": a.role,
            "product": a.product,
            "sites": a.sites,
            **{name: num_to_dict(getattr(a, name), study) for name in _ARM_NUMS},
        }
        for a in study.arms
    ]
    outcomes = [
        {
            "id": o.id,
            "kind": o.kind,
            "label": o.label,
            "instrument": o.instrument,
            "timepoint_weeks": o.timepoint_weeks,
            "definition": o.definition,
            "period": o.period,
            "primary": o.primary,
            "note": o.note,
            "results": [
                {"arm": r.arm, **{n: num_to_dict(getattr(r, n), study) for n in _RESULT_NUMS}}
                for r in o.results
            ],
            "effect": effect_to_dict(o.effect, study),
        }
        for o in study.outcomes
    ]
    population = {
        k: (num_to_dict(v, study) if isinstance(v, Num) else v) for k, v in study.population.items()
    }
    rob = (
        {
            name: {"judgement": d.judgement, "reason": d.reason}
            for name, d in study.risk_of_bias.domains().items()
        }
        if study.risk_of_bias
        else None
    )
    return {
        **study_summary(study),
        "authors": list(study.authors),
        "citation": study.citation,
        "country": study.country,
        "blinding": study.blinding,
        "control": study.control,
        "funding": study.funding,
        "indirectness": study.indirectness,
        "population": population,
        "sources": [
            {"key": s.key, "kind": s.kind, "url": s.url, "note": s.note} for s in study.sources
        ],
        "arms": arms,
        "outcomes": outcomes,
        "adverse_events": [
            {
                "term": ae.term,
                "arm": ae.arm,
                "events": num_to_dict(ae.events, study),
                "n": num_to_dict(ae.n, study),
                "note": ae.note,
            }
            for ae in study.adverse_events
        ],
        "reported_results": [
            {
                "label": rr.label,
                "measure": rr.measure,
                "note": rr.note,
                **{n: num_to_dict(getattr(rr, n), study) for n in _REPORTED_NUMS},
            }
            for rr in study.reported_results
        ],
        "risk_of_bias": rob,
        "notes": list(study.notes),
        "numbers_total": len(study.numbers()),
        "numbers_verified": sum(1 for _, n in study.numbers() if n.provenance.verified),
    }


# ---------------------------------------------------------------------------------------------
# Diff of two versions of a study document (for `glabella evidence import`)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a study document."""

    path: str
    kind: str  # "added", "removed" or "changed"
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {self.new!r}"
        if self.kind == "removed":
            return f"- {self.path}: {self.old!r}"
        return f"~ {self.path}: {self.old!r} -> {self.new!r}"


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(obj, Mapping):
        if set(obj) >= {"value", "source"}:  # a provenance object is one leaf
            out[prefix] = dict(obj)
            return
        for key, val in obj.items():
            _flatten(val, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, list) and obj and all(isinstance(x, Mapping) for x in obj):
        for i, item in enumerate(obj):
            ident = next(
                (item[k] for k in ("id", "key", "arm", "term", "label") if k in item), str(i)
            )
            _flatten(item, f"{prefix}[{ident}]", out)
    else:
        out[prefix] = obj


def diff_documents(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """Every added, removed or changed field between two versions of a study document.

    Lists of records are matched by their id (``id``, ``key``, ``arm``, ``term`` or ``label``),
    and a provenance object is compared as a whole (value, source, location, verified, ...).
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if old is not None:
        _flatten(old, "", before)
    _flatten(new, "", after)
    changes: list[Change] = []
    for path in sorted(set(before) | set(after)):
        if path not in before:
            changes.append(Change(path, "added", new=after[path]))
        elif path not in after:
            changes.append(Change(path, "removed", old=before[path]))
        elif before[path] != after[path]:
            changes.append(Change(path, "changed", old=before[path], new=after[path]))
    return changes


def packaged_data_dir() -> Path:
    """Filesystem path of the packaged study files (the default target of an import)."""
    return Path(str(_packaged_dir()))
