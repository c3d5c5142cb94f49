"""The consultation report as data: built from a patient snapshot and the evidence base.

Pure: no I/O, no framework. :func:`build_report` takes a :class:`PatientSnapshot` and an
:class:`~glabella.evidence.studies.EvidenceBase` and returns a :class:`ConsultationReport`
that holds numbers, codes and citations only - every sentence a reader sees comes from the
translation files (:mod:`glabella.reports.i18n`) when it is rendered.

Numbers and where they come from
--------------------------------
* Chance of response/remission: the pooled synthesis of the condition
  (:func:`glabella.evidence.synthesis.pool`, random-effects RR with the Knapp-Hartung interval).
  *With placebo* is the pooled control-group risk (control events / control N over the included
  comparisons), the anchor the synthesis uses for its NNT; *with BoNT-A* is that risk times the
  pooled RR (Cochrane Handbook 15.4.4), with the interval from the RR's confidence limits
  (clipped to 0-100 %). The absolute difference and the NNT (with the Altman 1998 interval) are
  the synthesis's own :class:`~glabella.evidence.nnt.NNTResult`, not recomputed here. The raw
  counts per arm in the trials are shown beside them.
* Where the synthesis did not pool (fewer than two comparisons) or the condition is one with
  thin evidence (BPD, bipolar depression, social anxiety), no number is shown: the report lists
  the studies that exist and says there is not enough evidence.
* Adverse events: only counts recorded in the trial files; a term without counts is shown as
  unknown, never estimated.
* Every number carries a footnote to the study or synthesis it came from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from glabella.clinic import eligibility as eligibility_rules
from glabella.clinic import instruments, outcomes, protocol, schedule
from glabella.clinic.products import PRODUCTS, Product
from glabella.evidence import reexpress, scales
from glabella.evidence import synthesis as synth
from glabella.evidence.studies import DISORDERS, EvidenceBase, Study
from glabella.reports.snapshot import AssessmentPoint, PatientSnapshot

__all__ = [
    "ANTIDEPRESSANTS",
    "CONDITIONS",
    "THIN_EVIDENCE_CONDITIONS",
    "AdverseEventRow",
    "BaselineScore",
    "ChangeEvidence",
    "ConsultationReport",
    "DoseData",
    "EligibilityData",
    "EvidenceSection",
    "Footnote",
    "LeftOut",
    "MatchRow",
    "OutcomeEvidence",
    "PlanData",
    "StudyLine",
    "build_report",
    "canonical_json",
]

#: Conditions a report can be made for (codes of the evidence base).
CONDITIONS: tuple[str, ...] = ("mdd", "bpd", "bipolar", "sad")
#: Conditions whose evidence is too thin for any pooled number, whatever the synthesis says.
THIN_EVIDENCE_CONDITIONS: frozenset[str] = frozenset({"bpd", "bipolar", "sad"})
#: Antidepressant INNs (WHO ATC group N06A and esketamine) recognised in a medication list.
ANTIDEPRESSANTS: tuple[str, ...] = (
    "agomelatine",
    "amitriptyline",
    "bupropion",
    "citalopram",
    "clomipramine",
    "desvenlafaxine",
    "dosulepin",
    "doxepin",
    "duloxetine",
    "escitalopram",
    "esketamine",
    "fluoxetine",
    "fluvoxamine",
    "imipramine",
    "levomilnacipran",
    "mianserin",
    "milnacipran",
    "mirtazapine",
    "moclobemide",
    "nortriptyline",
    "paroxetine",
    "phenelzine",
    "reboxetine",
    "sertraline",
    "tranylcypromine",
    "trazodone",
    "trimipramine",
    "venlafaxine",
    "vilazodone",
    "vortioxetine",
)
#: Adverse events every report names (key -> words that identify it in a trial's AE term).
NAMED_ADVERSE_EVENTS: dict[str, tuple[str, ...]] = {
    "injection_site_pain": ("injection site", "injection-site", "pain at"),
    "headache": ("headache",),
    "eyelid_ptosis": ("ptosis",),
}
_OUTCOMES: tuple[str, ...] = ("response", "remission")
_BASELINE_ORDER: tuple[str, ...] = ("phq9", "gad7", "who5", "cgis", "phq2", "gad2", "cgii")


# ---------------------------------------------------------------------------------------------
# Report data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Footnote:
    """A numbered source: a study citation or the synthesis that produced a number."""

    number: int
    kind: str  # "study" | "synthesis" | "source"
    key: str
    text: str
    url: str | None = None
    #: Locale key of the report's own wording of ``text`` (method descriptions), with its
    #: parameters; params named ``cite*`` are citations and stay in their original language.
    msg: str = ""
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DoseData:
    """Units always travel with their product (units are not interchangeable between products)."""

    units: str
    product_id: str
    brand: str
    unit_name: str


@dataclass(frozen=True)
class BaselineScore:
    """A baseline questionnaire score with its severity band."""

    instrument_id: str
    short_name: str
    total: int
    min_total: int
    max_total: int
    band: str
    submitted_on: dt.date
    footnote: int


@dataclass(frozen=True)
class EligibilityReason:
    """One reason of the eligibility decision, with any override."""

    rule_id: str
    severity: str
    message: str
    source: str
    detail: str
    overridden_by: str | None
    override_reason: str | None
    reassess: str = ""
    """When to reassess, for a temporary contraindication of a "not eligible now" outcome."""
    reassess_on: dt.date | None = None
    """The day to reassess when ``reassess`` names one ("on 2026-12-24 (...)")."""


_REASSESS_ON: Final = re.compile(r"on (\d{4}-\d{2}-\d{2})\b")


def _reassess_day(text: str) -> dt.date | None:
    """The date of a reassessment written "on YYYY-MM-DD ..." (see clinic.eligibility)."""
    found = _REASSESS_ON.match(text)
    if found is None:
        return None
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        return None


@dataclass(frozen=True)
class EligibilityData:
    """The latest screening: outcome and every reason and precaution."""

    product_id: str
    screened_on: dt.date
    outcome: str
    rules_version: str
    reasons: tuple[EligibilityReason, ...]


@dataclass(frozen=True)
class RecordedTreatment:
    """A BoNT-A session already given."""

    treatment_date: dt.date
    dose: DoseData
    sites: tuple[tuple[str, DoseData], ...]


@dataclass(frozen=True)
class GradeDomain:
    """One GRADE domain of a certainty rating.

    ``reason`` is the English sentence of :mod:`glabella.evidence.grade`; ``code`` and
    ``params`` let the report say it in its own language (locale keys ``grade.reason.<code>``).
    """

    domain: str
    levels: int
    reason: str
    code: str = ""
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class OutcomeEvidence:
    """What the pooled trials say about one outcome, as absolute chances out of 100."""

    outcome: str
    k: int
    n_trials: int
    n_patients: int
    bont_events: int
    bont_n: int
    placebo_events: int
    placebo_n: int
    placebo_risk: float
    bont_risk: float
    bont_risk_lo: float
    bont_risk_hi: float
    rr: float
    rr_lo: float
    rr_hi: float
    rd: float
    rd_lo: float
    rd_hi: float
    crosses_no_effect: bool
    nnt_kind: str
    nnt: float | None
    nntb_limit: float | None
    nnth_limit: float | None
    nnt_far: float | None
    certainty: str
    certainty_domains: tuple[GradeDomain, ...]
    study_ids: tuple[str, ...]
    synthesis_footnote: int
    study_footnotes: tuple[int, ...]
    timepoint_weeks: tuple[float, ...]


@dataclass(frozen=True)
class ChangeEvidence:
    """The headline: the pooled change in depression score, re-expressed for the patient.

    ``smd`` is the pooled Hedges' g (negative = fewer symptoms with the toxin). ``phq9_*`` is
    that SMD times a cited PHQ-9 SD (:data:`glabella.evidence.scales.PHQ9_SD`); ``resp_*`` the
    chance of response with the toxin from the SMD via ln OR = (π/√3)·SMD (Chinn 2000) at the
    trials' placebo response rate (Cochrane Handbook 15.5.3; :mod:`glabella.evidence.reexpress`).
    """

    k: int
    n_trials: int
    n_patients: int
    smd: float
    smd_lo: float
    smd_hi: float
    bayes_smd: float | None
    bayes_lo: float | None
    bayes_hi: float | None
    phq9_points: float
    phq9_lo: float
    phq9_hi: float
    phq9_sd: float
    phq9_mid: float
    placebo_events: int
    placebo_n: int
    placebo_rate: float
    resp_rate: float
    resp_lo: float
    resp_hi: float
    certainty: str
    certainty_domains: tuple[GradeDomain, ...]
    left_out: tuple[LeftOut, ...]
    study_ids: tuple[str, ...]
    synthesis_footnote: int
    sd_footnote: int
    conversion_footnote: int
    study_footnotes: tuple[int, ...]


@dataclass(frozen=True)
class MatchRow:
    """How one pooled trial's population compares with this patient."""

    study_id: str
    short: str
    footnote: int
    disorder: str
    sex_text: str | None
    sex_match: str  # "match" | "differs" | "unknown"
    antidepressants_text: str | None
    antidepressants_match: str
    severity_text: str | None


@dataclass(frozen=True)
class StudyLine:
    """A study listed (not pooled) where the evidence is thin."""

    study_id: str
    short: str
    design: str
    n: int | None
    primary_endpoint_met: bool | None
    summary: str
    footnote: int


@dataclass(frozen=True)
class EvidenceSection:
    """The evidence for the patient's condition: pooled outcomes, or a plain 'too thin'."""

    condition: str
    thin: bool
    outcomes: tuple[OutcomeEvidence, ...]
    not_pooled: tuple[str, ...]
    match: tuple[MatchRow, ...]
    studies: tuple[StudyLine, ...]
    patient_on_antidepressant: bool | None
    patient_band: str | None
    change: ChangeEvidence | None = None


@dataclass(frozen=True)
class AdverseEventRow:
    """An adverse event as reported in one trial (counts None = not known)."""

    term_key: str | None
    term: str
    study_id: str
    short: str
    arm: str | None
    events: int | None
    n: int | None
    note: str | None
    footnote: int
    note_de: str | None = None


@dataclass(frozen=True)
class PlanSite:
    """Units planned or given at one site."""

    site_id: str
    label: str
    dose: DoseData | None


@dataclass(frozen=True)
class PlanVisit:
    """A follow-up visit: a date when treatment is recorded, else weeks after the treatment."""

    key: str
    week: int
    target: dt.date | None
    opens: dt.date | None
    closes: dt.date | None
    status: str | None


@dataclass(frozen=True)
class PlanData:
    """Protocol, follow-up and how outcomes will be measured."""

    source: str  # "recorded" | "protocol" | "none"
    protocol_id: str | None
    protocol_name: str | None
    total: DoseData | None
    sites: tuple[PlanSite, ...]
    sites_known: bool
    protocol_footnote: int | None
    visits: tuple[PlanVisit, ...]
    retreatment_from: dt.date | None
    retreatment_weeks: int
    outcome_instrument: str
    response_threshold_percent: int
    remission_rule: str
    remission_footnote: int


@dataclass(frozen=True)
class ConsultationReport:
    """The whole report as data (language-independent)."""

    patient_id: int
    patient_name: str
    mrn: str
    date_of_birth: dt.date
    sex: str
    as_of: dt.date
    condition: str
    generated_at: dt.datetime
    app_version: str
    evidence_version: str
    baseline: tuple[BaselineScore, ...]
    eligibility: EligibilityData | None
    medications: tuple[str, ...]
    antidepressants: tuple[str, ...]
    treatments: tuple[RecordedTreatment, ...]
    evidence: EvidenceSection
    adverse_events: tuple[AdverseEventRow, ...]
    missing_named_events: tuple[str, ...]
    plan: PlanData
    footnotes: tuple[Footnote, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (dates as ISO strings)."""
        return _jsonable(dataclasses.asdict(self))  # type: ignore[no-any-return]

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON: equal hashes mean identical reports."""
        return hashlib.sha256(canonical_json(self).encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def canonical_json(report: ConsultationReport) -> str:
    """Sorted-key compact JSON of a report: the text its content hash is taken over."""
    return json.dumps(report.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


class _Notes:
    """Collects footnotes in order of first use; the same source keeps its number."""

    def __init__(self) -> None:
        self._items: dict[str, Footnote] = {}

    def add(
        self,
        key: str,
        kind: str,
        text: str,
        url: str | None = None,
        msg: str = "",
        params: Mapping[str, object] | None = None,
    ) -> int:
        if key not in self._items:
            self._items[key] = Footnote(
                len(self._items) + 1, kind, key, text, url, msg, dict(params or {})
            )
        return self._items[key].number

    def study(self, s: Study) -> int:
        authors = ", ".join(s.authors[:3]) + (" et al." if len(s.authors) > 3 else "")
        parts = [f"{authors} ({s.year}). {s.title}."]
        if s.journal:
            parts.append(f"{s.journal}{' ' + s.citation if s.citation else ''}.")
        if s.doi:
            parts.append(f"doi:{s.doi}")
        if s.pmid:
            parts.append(f"PMID {s.pmid}")
        if s.registry_ids:
            parts.append(", ".join(s.registry_ids))
        url = f"https://doi.org/{s.doi}" if s.doi else None
        return self.add(f"study:{s.id}", "study", " ".join(parts), url)

    def all(self) -> tuple[Footnote, ...]:
        return tuple(sorted(self._items.values(), key=lambda f: f.number))


def _dose(units: Decimal | str, product: Product) -> DoseData:
    return DoseData(str(units), product.id, product.brand, product.unit_name)


def _baseline(
    snap_assessments: Sequence[AssessmentPoint], first_treatment: dt.date | None
) -> list[AssessmentPoint]:
    """Latest score per instrument on or before the first treatment (or latest when untreated)."""
    chosen: dict[str, AssessmentPoint] = {}
    for a in sorted(snap_assessments, key=lambda a: a.submitted_on):
        if first_treatment is not None and a.submitted_on > first_treatment:
            continue
        chosen[a.instrument_id] = a
    order = {k: i for i, k in enumerate(_BASELINE_ORDER)}
    return sorted(chosen.values(), key=lambda a: (order.get(a.instrument_id, 99), a.instrument_id))


def _words(text: str) -> str:
    return " " + " ".join(text.lower().replace("-", " ").replace("/", " ").split()) + " "


def antidepressants_in(medications: Sequence[str]) -> tuple[str, ...]:
    """The entries of a medication list that name an antidepressant (whole-word match)."""
    found = []
    for med in medications:
        words = _words(med)
        if any(f" {a} " in words for a in ANTIDEPRESSANTS):
            found.append(med)
    return tuple(found)


def _sex_match(text: str | None, sex: str) -> str:
    if not text:
        return "unknown"
    t = text.lower()
    if "women only" in t or "female only" in t or "females only" in t:
        if sex == "female":
            return "match"
        return "differs" if sex == "male" else "unknown"
    if t.startswith("mixed") or "women and men" in t:
        return "match" if sex in ("female", "male") else "unknown"
    return "unknown"


def _ad_match(text: str | None, on_ad: bool | None) -> str:
    if not text or on_ad is None:
        return "unknown"
    t = text.lower()
    if t.startswith("excluded") or t.startswith("no"):
        return "differs" if on_ad else "match"
    if t.startswith("yes") or t.startswith("allowed") or t.startswith("required"):
        return "match" if on_ad else "differs"
    return "unknown"


def _pop_text(study: Study, key: str) -> str | None:
    value = study.population.get(key)
    return None if value is None else str(value)


def _outcome_evidence(
    syn: synth.Synthesis, notes: _Notes, ev: EvidenceBase
) -> OutcomeEvidence | None:
    """Absolute chances from a pooled synthesis, or None when it gives none."""
    est = syn.estimate("RR")
    res = syn.nnt
    if not syn.pooled or est is None or res is None or syn.certainty is None:
        return None
    study_notes = tuple(notes.study(ev.get(c.study_id)) for c in syn.comparisons)
    labels = ", ".join(c.label for c in syn.comparisons)
    syn_note = notes.add(
        f"synthesis:{syn.disorder}:{syn.outcome}",
        "synthesis",
        f"Glabella synthesis {syn.disorder}/{syn.outcome} ({labels}): {synth.METHOD_TEXT} "
        f"Evidence base {syn.evidence_version}.",
        msg="sources.synthesis",
        params={
            "disorder": syn.disorder,
            "outcome": syn.outcome,
            "labels": labels,
            "version": syn.evidence_version,
        },
    )
    acr = res.baseline_risk
    lo = min(1.0, max(0.0, acr * est.ci_lb))
    hi = min(1.0, max(0.0, acr * est.ci_ub))
    return OutcomeEvidence(
        outcome=syn.outcome,
        k=len(syn.comparisons),
        n_trials=syn.n_trials,
        n_patients=syn.n_patients,
        bont_events=sum(c.ai or 0 for c in syn.comparisons),
        bont_n=sum(c.n1i for c in syn.comparisons),
        placebo_events=sum(c.ci or 0 for c in syn.comparisons),
        placebo_n=sum(c.n2i for c in syn.comparisons),
        placebo_risk=acr,
        bont_risk=res.experimental_risk,
        bont_risk_lo=lo,
        bont_risk_hi=hi,
        rr=est.estimate,
        rr_lo=est.ci_lb,
        rr_hi=est.ci_ub,
        rd=res.risk_difference,
        rd_lo=res.rd_ci_lb,
        rd_hi=res.rd_ci_ub,
        crosses_no_effect=res.ci_crosses_no_effect,
        nnt_kind=res.kind,
        nnt=None if math.isinf(res.nnt) else res.nnt,
        nntb_limit=res.nntb_limit,
        nnth_limit=res.nnth_limit,
        nnt_far=res.nnt_ci_far,
        certainty=syn.certainty.level,
        certainty_domains=tuple(
            GradeDomain(d.domain, d.levels, d.reason, d.code, dict(d.params))
            for d in syn.certainty.domains
        ),
        study_ids=tuple(c.study_id for c in syn.comparisons),
        synthesis_footnote=syn_note,
        study_footnotes=study_notes,
        timepoint_weeks=tuple(
            sorted({float(c.timepoint_weeks) for c in syn.comparisons if c.timepoint_weeks})
        ),
    )


@dataclass(frozen=True)
class LeftOut:
    """A randomised trial left out of the headline, or one dose comparison of it."""

    short: str
    dose_units: float | None = None
    product: str | None = None


def _left_out(study: Study, arm_ids: Sequence[str]) -> tuple[LeftOut, ...]:
    if not arm_ids:
        return (LeftOut(study.short),)
    out = []
    for arm_id in arm_ids:
        arm = study.arm(arm_id)
        dose = float(arm.dose_units.value) if arm.dose_units is not None else None
        out.append(LeftOut(study.short, dose, arm.product if dose is not None else None))
    return tuple(out)


def _change_evidence(condition: str, ev: EvidenceBase, notes: _Notes) -> ChangeEvidence | None:
    """The headline change-score synthesis re-expressed in PHQ-9 points and chance of response.

    None unless the condition's headline (:func:`glabella.evidence.synthesis.headline`) is the
    change score and the response synthesis gives a placebo response rate strictly between 0
    and 1 to anchor the chance of response.
    """
    lead = synth.headline(condition, base=ev)
    syn = lead.lead
    if syn is None or syn.outcome != "change" or syn.certainty is None:
        return None
    est = syn.primary
    assert est is not None
    resp = synth.pool(condition, "response", base=ev)
    p_events = sum(c.ci or 0 for c in resp.comparisons)
    p_n = sum(c.n2i for c in resp.comparisons)
    if not p_n or not 0 < p_events < p_n:
        return None
    p0 = p_events / p_n
    points = reexpress.smd_to_points(
        est.estimate,
        est.ci_lb,
        est.ci_ub,
        sd=scales.PHQ9_SD.value,
        scale="PHQ-9",
        sd_source=scales.PHQ9_SD.citation,
    )
    chance = reexpress.smd_to_response(est.estimate, est.ci_lb, est.ci_ub, placebo_rate=p0)
    labels = ", ".join(c.label for c in syn.comparisons)
    syn_note = notes.add(
        f"synthesis:{syn.disorder}:change",
        "synthesis",
        f"Glabella synthesis {syn.disorder}/change at week 6 ({labels}): Hedges' g per trial, "
        f"several derived from reported statistics (see each trial's page). {synth.METHOD_TEXT} "
        f"Evidence base {syn.evidence_version}.",
        msg="sources.synthesis_change",
        params={"disorder": syn.disorder, "labels": labels, "version": syn.evidence_version},
    )
    sd_note = notes.add(
        "scale:phq9-sd",
        "source",
        f"{scales.PHQ9_SD.what}: SD {scales.PHQ9_SD.value:g}. {scales.PHQ9_SD.citation}. "
        f"Minimal important difference {scales.PHQ9_MID.value:g} points: "
        f"{scales.PHQ9_MID.citation}.",
        scales.PHQ9_SD.url,
        msg="sources.phq9_sd",
        params={
            "sd": scales.PHQ9_SD.value,
            "mid": scales.PHQ9_MID.value,
            "cite_sd": scales.PHQ9_SD.citation,
            "cite_mid": scales.PHQ9_MID.citation,
        },
    )
    conv_note = notes.add(
        "method:smd-to-response",
        "method",
        "Chance of response from the pooled SMD: ln OR = (π/√3) × SMD (Hasselblad & Hedges "
        "1995; Chinn 2000, Stat Med 19:3127), applied to the placebo response rate of the "
        f"trials that report response ({p_events} of {p_n}); Cochrane Handbook v6.4, 15.5.3. "
        "Assumes the depression score is spread the same way in both groups.",
        msg="sources.smd_to_response",
        params={"events": p_events, "n": p_n},
    )
    bayes = syn.bayes
    return ChangeEvidence(
        k=len(syn.comparisons),
        n_trials=syn.n_trials,
        n_patients=syn.n_patients,
        smd=est.estimate,
        smd_lo=est.ci_lb,
        smd_hi=est.ci_ub,
        bayes_smd=bayes["estimate"] if bayes else None,
        bayes_lo=bayes["ci_lb"] if bayes else None,
        bayes_hi=bayes["ci_ub"] if bayes else None,
        phq9_points=points.points,
        phq9_lo=points.lo,
        phq9_hi=points.hi,
        phq9_sd=scales.PHQ9_SD.value,
        phq9_mid=scales.PHQ9_MID.value,
        placebo_events=p_events,
        placebo_n=p_n,
        placebo_rate=p0,
        resp_rate=chance.toxin_rate,
        resp_lo=chance.toxin_lo,
        resp_hi=chance.toxin_hi,
        certainty=syn.certainty.level,
        certainty_domains=tuple(
            GradeDomain(d.domain, d.levels, d.reason, d.code, dict(d.params))
            for d in syn.certainty.domains
        ),
        left_out=tuple(x for e in lead.left_out for x in _left_out(ev.get(e.study_id), e.arms)),
        study_ids=tuple(dict.fromkeys(c.study_id for c in syn.comparisons)),
        synthesis_footnote=syn_note,
        sd_footnote=sd_note,
        conversion_footnote=conv_note,
        study_footnotes=tuple(
            notes.study(ev.get(i)) for i in dict.fromkeys(c.study_id for c in syn.comparisons)
        ),
    )


def _evidence(
    condition: str,
    ev: EvidenceBase,
    notes: _Notes,
    sex: str,
    on_ad: bool | None,
    band: str | None,
) -> EvidenceSection:
    outs: list[OutcomeEvidence] = []
    not_pooled: list[str] = []
    thin = condition in THIN_EVIDENCE_CONDITIONS
    pooled_ids: list[str] = []
    change = None if thin else _change_evidence(condition, ev, notes)
    if change is not None:
        pooled_ids.extend(change.study_ids)
    if not thin:
        for name in _OUTCOMES:
            syn = synth.pool(condition, name, base=ev)
            got = _outcome_evidence(syn, notes, ev)
            if got is None:
                not_pooled.append(name)
            else:
                outs.append(got)
                pooled_ids.extend(i for i in got.study_ids if i not in pooled_ids)
        thin = not outs and change is None
    match = tuple(
        MatchRow(
            study_id=s.id,
            short=s.short,
            footnote=notes.study(s),
            disorder=s.disorder,
            sex_text=_pop_text(s, "sex"),
            sex_match=_sex_match(_pop_text(s, "sex"), sex),
            antidepressants_text=_pop_text(s, "concurrent_antidepressants"),
            antidepressants_match=_ad_match(_pop_text(s, "concurrent_antidepressants"), on_ad),
            severity_text=_pop_text(s, "diagnostic_criteria"),
        )
        for s in (ev.get(i) for i in pooled_ids)
    )
    studies: tuple[StudyLine, ...] = ()
    if thin:
        studies = tuple(
            StudyLine(
                study_id=s.id,
                short=s.short,
                design=s.design,
                n=s.n_randomised_total(),
                primary_endpoint_met=s.primary_endpoint_met,
                summary=s.summary,
                footnote=notes.study(s),
            )
            for s in ev.by_disorder(condition)
        )
    return EvidenceSection(
        condition=condition,
        thin=thin,
        outcomes=tuple(outs),
        not_pooled=tuple(not_pooled),
        match=match,
        studies=studies,
        patient_on_antidepressant=on_ad,
        patient_band=band,
        change=change,
    )


def _term_key(term: str) -> str | None:
    t = term.lower()
    for key, words in NAMED_ADVERSE_EVENTS.items():
        if any(w in t for w in words):
            return key
    return None


def _adverse_events(ev: EvidenceBase, notes: _Notes) -> tuple[list[AdverseEventRow], list[str]]:
    rows: list[AdverseEventRow] = []
    for s in ev.studies:
        if not s.randomised:
            continue
        for ae in s.adverse_events:
            arm_label = None
            if ae.arm is not None:
                try:
                    arm_label = s.arm(ae.arm).label
                except KeyError:
                    arm_label = ae.arm
            rows.append(
                AdverseEventRow(
                    term_key=_term_key(ae.term),
                    term=ae.term,
                    study_id=s.id,
                    short=s.short,
                    arm=arm_label,
                    events=ae.events.as_int() if ae.events is not None else None,
                    n=ae.n.as_int() if ae.n is not None else None,
                    note=ae.note,
                    footnote=notes.study(s),
                    note_de=ae.note_de,
                )
            )
    seen = {r.term_key for r in rows if r.term_key is not None}
    missing = [k for k in NAMED_ADVERSE_EVENTS if k not in seen]
    return rows, missing


def _plan(snap: Any, notes: _Notes, product_id: str | None, protocol_id: str | None) -> PlanData:
    sites = protocol.load_sites()
    visits: list[PlanVisit] = []
    weeks = {v.key: v.week for v in schedule.DEFAULT_VISITS}
    source = "none"
    proto: protocol.Protocol | None = None
    total: DoseData | None = None
    plan_sites: list[PlanSite] = []
    sites_known = False
    proto_note: int | None = None
    treatments = sorted(snap.treatments, key=lambda t: t.treatment_date)
    protocols = protocol.load_protocols()
    if treatments:
        last = treatments[-1]
        product = PRODUCTS[last.product_id]
        source = "recorded"
        proto = protocols.get(last.protocol_id) if last.protocol_id else None
        total = _dose(last.total_units, product)
        plan_sites = [
            PlanSite(
                s.site_id,
                sites[s.site_id].label if s.site_id in sites else s.site_id,
                _dose(s.units, product),
            )
            for s in last.sites
        ]
        sites_known = True
        visits = [
            PlanVisit(v.key, weeks.get(v.key, 0), v.target, v.opens, v.closes, v.status)
            for v in snap.visits
        ]
    else:
        if protocol_id is not None:
            proto = protocols.get(protocol_id)
            if proto is None:
                raise ValueError(f"unknown protocol {protocol_id!r}")
        else:
            pid = product_id or "onabotulinumtoxinA"
            candidates = [
                p for p in protocols.values() if p.product.id == pid and p.sex in (snap.sex, "any")
            ]
            verified = [p for p in candidates if p.site_units_known]
            pick = verified or candidates
            proto = pick[0] if pick else None
        if proto is not None:
            source = "protocol"
            total = _dose(proto.total_units, proto.product)
            sites_known = proto.site_units_known
            if sites_known:
                plan_sites = [
                    PlanSite(
                        s.site_id,
                        sites[s.site_id].label if s.site_id in sites else s.site_id,
                        _dose(s.units, proto.product),
                    )
                    for s in proto.sites
                ]
        visits = [
            PlanVisit(v.key, v.week, None, None, None, None)
            for v in schedule.DEFAULT_VISITS
            if v.week > 0
        ]
    if proto is not None:
        c = proto.citation
        text = (
            f"{c.authors} ({c.year}). {c.title}. {c.journal}." + (f" doi:{c.doi}" if c.doi else "")
            if c
            else f"Product label: {proto.name}."
        )
        proto_note = notes.add(
            f"protocol:{proto.id}",
            "source",
            f"{text} Protocol {proto.id} ({proto.product.id}); per-site split "
            + ("verified against the source." if proto.site_units_known else "not verified."),
            f"https://doi.org/{c.doi}" if c and c.doi else None,
        )
    cutoff = outcomes.REMISSION_CUTOFFS["phq9"]
    remission_note = notes.add("remission:phq9", "source", cutoff.source)
    return PlanData(
        source=source,
        protocol_id=proto.id if proto else None,
        protocol_name=proto.name if proto else None,
        total=total,
        sites=tuple(plan_sites),
        sites_known=sites_known,
        protocol_footnote=proto_note,
        visits=tuple(visits),
        retreatment_from=snap.retreatment_from,
        retreatment_weeks=schedule.RETREATMENT_INTERVAL.days // 7,
        outcome_instrument="phq9",
        response_threshold_percent=int(outcomes.RESPONSE_THRESHOLD_PERCENT),
        remission_rule=cutoff.rule,
        remission_footnote=remission_note,
    )


def build_report(
    snap: PatientSnapshot,
    evidence: EvidenceBase,
    *,
    condition: str = "mdd",
    generated_at: dt.datetime,
    app_version: str,
    protocol_id: str | None = None,
) -> ConsultationReport:
    """The consultation report for one patient snapshot against one version of the evidence.

    ``snap`` is a :class:`glabella.reports.snapshot.PatientSnapshot`; ``condition`` one of
    :data:`CONDITIONS`; ``protocol_id`` chooses the planned protocol for an untreated patient
    (default: a verified protocol of the screened product for the patient's sex).
    Raises ``ValueError`` naming a bad condition or protocol.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}, got {condition!r}")
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    notes = _Notes()
    treatments = sorted(snap.treatments, key=lambda t: t.treatment_date)
    first = treatments[0].treatment_date if treatments else None
    baseline: list[BaselineScore] = []
    for a in _baseline(snap.assessments, first):
        try:
            inst = instruments.get(a.instrument_id)
        except instruments.InstrumentError:
            continue
        baseline.append(
            BaselineScore(
                instrument_id=a.instrument_id,
                short_name=inst.short_name,
                total=a.total,
                min_total=inst.min_total,
                max_total=inst.max_total,
                band=a.band,
                submitted_on=a.submitted_on,
                footnote=notes.add(f"instrument:{inst.id}", "source", inst.citation),
            )
        )
    scr = snap.screening
    eligibility = None
    medications: tuple[str, ...] = ()
    on_ad: bool | None = None
    if scr is not None:
        rule_sources = {r.id: r.source for r in eligibility_rules.load_rules().rules}
        eligibility = EligibilityData(
            product_id=scr.product_id,
            screened_on=scr.screened_on,
            outcome=scr.outcome,
            rules_version=scr.rules_version,
            reasons=tuple(
                EligibilityReason(
                    rule_id=r.rule_id,
                    severity=r.severity,
                    message=r.message,
                    source=r.source or rule_sources.get(r.rule_id, ""),
                    detail=r.detail,
                    overridden_by=r.overridden_by,
                    override_reason=r.override_reason,
                    reassess=r.reassess if scr.outcome == "not_eligible_now" else "",
                    reassess_on=_reassess_day(r.reassess)
                    if scr.outcome == "not_eligible_now"
                    else None,
                )
                for r in scr.reasons
            ),
        )
        medications = tuple(scr.medications)
        on_ad = bool(antidepressants_in(medications))
    phq9 = next((b for b in baseline if b.instrument_id == "phq9"), None)
    evidence_section = _evidence(
        condition, evidence, notes, snap.sex, on_ad, phq9.band if phq9 else None
    )
    aes, missing = _adverse_events(evidence, notes)
    recorded = tuple(
        RecordedTreatment(
            treatment_date=t.treatment_date,
            dose=_dose(t.total_units, PRODUCTS[t.product_id]),
            sites=tuple((s.site_id, _dose(s.units, PRODUCTS[t.product_id])) for s in t.sites),
        )
        for t in treatments
    )
    plan = _plan(snap, notes, scr.product_id if scr else None, protocol_id)
    return ConsultationReport(
        patient_id=snap.patient_id,
        patient_name=f"{snap.given_name} {snap.family_name}",
        mrn=snap.mrn,
        date_of_birth=snap.date_of_birth,
        sex=snap.sex,
        as_of=snap.as_of,
        condition=condition,
        generated_at=generated_at,
        app_version=app_version,
        evidence_version=evidence.version,
        baseline=tuple(baseline),
        eligibility=eligibility,
        medications=medications,
        antidepressants=antidepressants_in(medications),
        treatments=recorded,
        evidence=evidence_section,
        adverse_events=tuple(aes),
        missing_named_events=tuple(missing),
        plan=plan,
        footnotes=notes.all(),
    )


def condition_name(code: str) -> str:
    """The evidence base's English name of a condition code (for logs and errors)."""
    return DISORDERS[code]


def as_mapping(report: ConsultationReport) -> Mapping[str, Any]:
    """Alias of :meth:`ConsultationReport.to_dict` for the JSON API."""
    return report.to_dict()
