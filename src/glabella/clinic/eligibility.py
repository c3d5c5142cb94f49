"""Eligibility for glabellar BoNT-A: screening answers + patient facts -> decision with reasons.

The rules are data (``clinic/data/eligibility_rules.yaml``): each names a predicate below,
a severity, parameters, a message and a source. :func:`screen` evaluates every rule and
returns a :class:`Decision`:

* any ``refer_now`` reason          -> outcome ``"refer_now"``
* else any lasting ``contraindication`` -> ``"not_eligible"``
* else any contraindication, each with a time to reassess (pregnancy, infection at the
  sites, a recent dose, an aminoglycoside course) -> ``"not_eligible_now"``; every such
  reason names when to reassess (:attr:`Reason.reassess`, :attr:`Decision.reassess`)
* else any precaution not overridden -> ``"eligible_with_precautions"``
* else                               -> ``"eligible"``

Typed medicines, conditions and allergies are read through the coded vocabulary
(:mod:`glabella.clinic.vocabulary`); each match says what it matched ("Eliquis → apixaban,
B01AF02"). An entry that matches nothing gives a precaution ``unrecognised_<kind>_<n>``
("not recognised — confirm it is not relevant"), so the screening cannot be finalised until
a clinician confirms each one (:func:`confirm_unrecognised`).

A precaution may be overridden only with a recorded reason (:func:`override`), which returns
a new Decision and an :class:`Override` record; contraindications and refer-now reasons
cannot be overridden. Treatment may proceed only when ``decision.can_treat`` is True, i.e.
when the outcome is ``"eligible"`` (every precaution acknowledged with a reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import yaml

from glabella.clinic.products import Product
from glabella.clinic.vocabulary import Kind, Match, Vocabulary, load_vocabulary

__all__ = [
    "CHECKS",
    "UNRECOGNISED_MESSAGE",
    "Decision",
    "Finding",
    "Outcome",
    "Override",
    "OverrideRefusedError",
    "PatientFacts",
    "Reason",
    "Rule",
    "RuleSet",
    "ScreeningAnswers",
    "Severity",
    "SuicideScreen",
    "age_in_years",
    "confirm_unrecognised",
    "is_unrecognised",
    "load_rules",
    "outcome_text",
    "override",
    "screen",
]

Severity = Literal["refer_now", "contraindication", "precaution"]
Outcome = Literal[
    "eligible", "eligible_with_precautions", "not_eligible_now", "not_eligible", "refer_now"
]
YesNoUnsure = Literal["yes", "no", "unsure"]

_SEVERITIES: Final = ("refer_now", "contraindication", "precaution")


@dataclass(frozen=True)
class SuicideScreen:
    """Suicide-risk screen answers; None means the item was not asked.

    ``cssrs_1``..``cssrs_5`` are the C-SSRS screener ideation items (past month):
    1 wish to be dead, 2 non-specific active thoughts, 3 thoughts with method,
    4 some intent to act without specific plan, 5 specific plan and intent.
    ``cssrs_behaviour_3_months`` is suicidal behaviour in the past 3 months.
    ``phq9_item9`` is the PHQ-9 item 9 score (0-3).
    """

    cssrs_1: bool | None = None
    cssrs_2: bool | None = None
    cssrs_3: bool | None = None
    cssrs_4: bool | None = None
    cssrs_5: bool | None = None
    cssrs_behaviour_3_months: bool | None = None
    phq9_item9: int | None = None

    def __post_init__(self) -> None:
        if self.phq9_item9 is not None and not 0 <= self.phq9_item9 <= 3:
            raise ValueError(f"PHQ-9 item 9 must be 0-3, got {self.phq9_item9}")

    @property
    def answered(self) -> bool:
        """True when at least one C-SSRS item or PHQ-9 item 9 was answered."""
        cssrs = (self.cssrs_1, self.cssrs_2, self.cssrs_3, self.cssrs_4, self.cssrs_5)
        return any(v is not None for v in cssrs) or self.phq9_item9 is not None


@dataclass(frozen=True)
class ScreeningAnswers:
    """The pre-treatment screening questionnaire (every safety item must be answered)."""

    prior_bont_reaction: bool
    allergies: tuple[str, ...]
    infection_or_inflammation_at_sites: bool
    pregnant: bool
    breastfeeding: bool
    bont_last_12_weeks: YesNoUnsure
    prior_eyelid_ptosis: bool
    psychotic_symptoms_current: bool
    psychotic_disorder_history: bool
    suicide: SuicideScreen = field(default_factory=SuicideScreen)


@dataclass(frozen=True)
class PatientFacts:
    """What the record knows about the patient."""

    date_of_birth: date
    sex: Literal["female", "male", "other", "unknown"]
    last_bont_date: date | None = None
    medications: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    mdq_positive: bool | None = None


@dataclass(frozen=True)
class Rule:
    """One eligibility rule as loaded from the YAML rule set."""

    id: str
    check: str
    severity: Severity
    params: Mapping[str, Any]
    message: str
    source: str
    reassess: str = ""


@dataclass(frozen=True)
class RuleSet:
    """A versioned set of rules."""

    version: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Reason:
    """Why a rule fired, with its source; ``override`` is set once a clinician overrode it."""

    rule_id: str
    severity: Severity
    message: str
    source: str
    detail: str = ""
    override: Override | None = None
    reassess: str = ""
    """For a contraindication that passes: when to reassess (empty for a lasting one)."""


@dataclass(frozen=True)
class Finding:
    """What a check found, with when to reassess if the reason is temporary."""

    detail: str
    reassess: str = ""


@dataclass(frozen=True)
class Override:
    """A recorded override of one precaution."""

    rule_id: str
    clinician: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class Decision:
    """The screening result: outcome plus every reason and its source."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    rules_version: str
    screened_on: date
    matches: tuple[Match, ...] = ()

    @property
    def reassess(self) -> tuple[str, ...]:
        """When to reassess, one line per temporary contraindication (empty otherwise)."""
        if self.outcome != "not_eligible_now":
            return ()
        return tuple(
            f"{r.rule_id}: {r.reassess}"
            for r in self.reasons
            if r.severity == "contraindication" and r.reassess
        )

    @property
    def outcome_text(self) -> str:
        """E.g. "Not eligible now — reassess on 2027-02-17 (12 weeks after the last dose)"."""
        return outcome_text(
            self.outcome,
            [r.reassess for r in self.reasons if r.severity == "contraindication"],
        )

    @property
    def unconfirmed(self) -> tuple[Reason, ...]:
        """Entries not recognised by the vocabulary and not yet confirmed as not relevant."""
        return tuple(r for r in self.reasons if is_unrecognised(r.rule_id) and r.override is None)

    @property
    def can_treat(self) -> bool:
        """True only when the outcome is eligible (precautions all overridden with reasons)."""
        return self.outcome == "eligible"

    @property
    def open_precautions(self) -> tuple[Reason, ...]:
        """Precautions not yet overridden."""
        return tuple(r for r in self.reasons if r.severity == "precaution" and r.override is None)


OUTCOME_LABELS: Final[Mapping[str, str]] = {
    "eligible": "Eligible",
    "eligible_with_precautions": "Eligible with precautions",
    "not_eligible_now": "Not eligible now",
    "not_eligible": "Not eligible",
    "refer_now": "Refer now",
}


def outcome_text(outcome: str, reassess: Sequence[str] = ()) -> str:
    """The outcome as shown to people, a temporary one with when to reassess.

    ``"Not eligible now — reassess on 2027-02-17 (12 weeks after the last dose)"``; with two
    temporary reasons, each is named and all must have passed. A lasting contraindication
    reads ``"Not eligible (lasting contraindication)"`` so the two are never confused.
    """
    label = OUTCOME_LABELS.get(outcome, outcome.replace("_", " "))
    if outcome == "not_eligible":
        return f"{label} (lasting contraindication)"
    if outcome != "not_eligible_now":
        return label
    when = [r for r in dict.fromkeys(reassess) if r]
    if not when:
        return label
    if len(when) == 1:
        return f"{label} — reassess {when[0]}"
    return f"{label} — reassess when each has passed: {'; '.join(when)}"


class OverrideRefusedError(ValueError):
    """Raised when an override is not allowed (contraindication, refer-now, no reason...)."""


# --- facts helpers -----------------------------------------------------------------------


def age_in_years(date_of_birth: date, on: date) -> int:
    """Completed years of age on ``on`` (the birthday itself counts as a new year).

    A 29 February birthday is reached on 1 March in non-leap years.
    """
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


UNRECOGNISED_MESSAGE: Final = "Not recognised — confirm it is not relevant."
_UNRECOGNISED_PREFIX: Final = "unrecognised_"
_KIND_LABEL: Final[Mapping[Kind, str]] = {
    "medication": "medicine",
    "condition": "condition",
    "allergy": "allergy",
}


def is_unrecognised(rule_id: str) -> bool:
    """True for the reason ids of entries the vocabulary did not recognise."""
    return rule_id.startswith(_UNRECOGNISED_PREFIX)


def _entries(kind: Kind, a: ScreeningAnswers, f: PatientFacts) -> tuple[str, ...]:
    if kind == "allergy":
        return a.allergies
    return f.medications if kind == "medication" else f.conditions


def _group_hits(
    vocab: Vocabulary, items: tuple[str, ...], kind: Kind, groups: list[str]
) -> list[Match]:
    wanted = set(groups)
    for g in wanted:
        vocab.group(g)  # unknown group ids fail loudly
    return [m for item in items for m in vocab.match(item, kind) if m.group_id in wanted]


# --- predicates: (answers, facts, product, on, params) -> detail or None --------------------

Check = Callable[
    [ScreeningAnswers, PatientFacts, Product, date, Mapping[str, Any]], str | Finding | None
]


def _hypersensitivity(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    """Any botulinum toxin product blocks every product; an excipient only its products."""
    hits: list[str] = []
    if a.prior_bont_reaction:
        hits.append("previous allergic reaction to a botulinum toxin product")
    vocab = load_vocabulary()
    for m in _group_hits(vocab, a.allergies, "allergy", list(params["toxin_groups"])):
        hits.append(f"allergy: {m.describe()}")
    for m in _group_hits(vocab, a.allergies, "allergy", [str(params["excipient_group"])]):
        if m.concept_id in p.excipients:
            hits.append(f"allergy: {m.describe()} (an excipient of {p.id})")
    return "; ".join(hits) if hits else None


def _excipients_unverified(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    if a.allergies and not p.excipients_verified:
        return f"{p.id}: {p.excipients_source}"
    return None


def _flag(name: str) -> Check:
    def check(
        a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
    ) -> str | Finding | None:
        return "yes" if getattr(a, name) else None

    return check


def _condition_present(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    hits = _group_hits(load_vocabulary(), f.conditions, "condition", list(params["groups"]))
    return "; ".join(m.describe() for m in hits) if hits else None


def _medication_present(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    hits = _group_hits(load_vocabulary(), f.medications, "medication", list(params["groups"]))
    return "; ".join(m.describe() for m in hits) if hits else None


def _recent_bont(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> Finding | None:
    weeks = int(params["min_interval_weeks"])
    interval = timedelta(weeks=weeks)
    if f.last_bont_date is not None:
        allowed_from = f.last_bont_date + interval
        if on < allowed_from:
            return Finding(
                f"last dose {f.last_bont_date.isoformat()}; "
                f"allowed from {allowed_from.isoformat()}",
                f"on {allowed_from.isoformat()} ({weeks} weeks after the last dose)",
            )
        return None
    if a.bont_last_12_weeks == "yes":
        return Finding(
            "patient reports a dose within the last 12 weeks (date not recorded)",
            f"{weeks} weeks after the last dose: record its date to see the day",
        )
    return None


def _recent_bont_unsure(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    if f.last_bont_date is None and a.bont_last_12_weeks == "unsure":
        return "unsure"
    return None


def _birthday(date_of_birth: date, age: int) -> date:
    """The day a person born on ``date_of_birth`` turns ``age`` (29 Feb -> 1 Mar)."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + age)
    except ValueError:
        return date(date_of_birth.year + age, 3, 1)


def _age_below(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> Finding | None:
    minimum = int(params["min_age_years"])
    age = age_in_years(f.date_of_birth, on)
    if age >= minimum:
        return None
    return Finding(
        f"age {age}", f"on {_birthday(f.date_of_birth, minimum).isoformat()} (age {minimum})"
    )


def _product_age_limit(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    limit = params["contraindicated_from_age"].get(p.id)
    if limit is None:
        return None
    age = age_in_years(f.date_of_birth, on)
    return f"age {age}; {p.id} contraindicated from {limit}" if age >= int(limit) else None


def _suicidal_intent_or_plan(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    s = a.suicide
    hits = [
        label
        for label, value in (
            ("C-SSRS 4 (intent)", s.cssrs_4),
            ("C-SSRS 5 (plan and intent)", s.cssrs_5),
            ("C-SSRS behaviour in past 3 months", s.cssrs_behaviour_3_months),
        )
        if value
    ]
    return ", ".join(hits) if hits else None


def _suicidal_ideation_other(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    s = a.suicide
    hits = [
        label
        for label, value in (
            ("C-SSRS 1", s.cssrs_1),
            ("C-SSRS 2", s.cssrs_2),
            ("C-SSRS 3", s.cssrs_3),
        )
        if value
    ]
    if s.phq9_item9 is not None and s.phq9_item9 > 0:
        hits.append(f"PHQ-9 item 9 = {s.phq9_item9}")
    return ", ".join(hits) if hits else None


def _suicide_screen_missing(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    return None if a.suicide.answered else "not screened"


def _mdq_positive(
    a: ScreeningAnswers, f: PatientFacts, p: Product, on: date, params: Mapping[str, Any]
) -> str | None:
    return "MDQ positive" if f.mdq_positive else None


CHECKS: Final[dict[str, Check]] = {
    "hypersensitivity": _hypersensitivity,
    "excipients_unverified": _excipients_unverified,
    "infection_at_sites": _flag("infection_or_inflammation_at_sites"),
    "pregnant": _flag("pregnant"),
    "breastfeeding": _flag("breastfeeding"),
    "condition_present": _condition_present,
    "medication_present": _medication_present,
    "recent_bont": _recent_bont,
    "recent_bont_unsure": _recent_bont_unsure,
    "age_below": _age_below,
    "product_age_limit": _product_age_limit,
    "prior_eyelid_ptosis": _flag("prior_eyelid_ptosis"),
    "suicidal_intent_or_plan": _suicidal_intent_or_plan,
    "suicidal_ideation_other": _suicidal_ideation_other,
    "suicide_screen_missing": _suicide_screen_missing,
    "mdq_positive": _mdq_positive,
    "psychosis_current": _flag("psychotic_symptoms_current"),
    "psychosis_history": _flag("psychotic_disorder_history"),
}


# --- rule set ------------------------------------------------------------------------------


def _rule(raw: Mapping[str, Any]) -> Rule:
    severity = raw["severity"]
    if severity not in _SEVERITIES:
        raise ValueError(f"rule {raw['id']}: unknown severity {severity!r}")
    if raw["check"] not in CHECKS:
        raise ValueError(f"rule {raw['id']}: unknown check {raw['check']!r}")
    return Rule(
        id=str(raw["id"]),
        check=str(raw["check"]),
        severity=severity,
        params=dict(raw.get("params") or {}),
        message=" ".join(str(raw["message"]).split()),
        source=" ".join(str(raw["source"]).split()),
        reassess=" ".join(str(raw.get("reassess") or "").split()),
    )


@cache
def load_rules() -> RuleSet:
    """The packaged rule set (validated: known checks and severities, unique ids)."""
    path = resources.files("glabella.clinic").joinpath("data/eligibility_rules.yaml")
    data = yaml.safe_load(path.read_text("utf-8"))
    rules = tuple(_rule(r) for r in data["rules"])
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate rule ids in eligibility_rules.yaml")
    return RuleSet(version=str(data["version"]), rules=rules)


def _outcome(reasons: tuple[Reason, ...]) -> Outcome:
    severities = {r.severity for r in reasons}
    if "refer_now" in severities:
        return "refer_now"
    contraindications = [r for r in reasons if r.severity == "contraindication"]
    if contraindications:
        return "not_eligible_now" if all(r.reassess for r in contraindications) else "not_eligible"
    if any(r.severity == "precaution" and r.override is None for r in reasons):
        return "eligible_with_precautions"
    return "eligible"


def screen(
    answers: ScreeningAnswers,
    facts: PatientFacts,
    product: Product,
    on: date,
    rules: RuleSet | None = None,
) -> Decision:
    """Evaluate every rule for a planned treatment with ``product`` on date ``on``.

    Raises ``ValueError`` for a date of birth or a last BoNT date after ``on``: an age below
    zero ("age -4") or a dose in the future is a typing error, never a screening fact (H-059).
    """
    if facts.date_of_birth > on:
        raise ValueError(
            f"date of birth: is after the screening date {on.isoformat()} "
            f"({facts.date_of_birth.isoformat()})"
        )
    if facts.last_bont_date is not None and facts.last_bont_date > on:
        raise ValueError(
            f"last BoNT date: is after the screening date {on.isoformat()} "
            f"({facts.last_bont_date.isoformat()})"
        )
    ruleset = rules if rules is not None else load_rules()
    reasons: list[Reason] = []
    for rule in ruleset.rules:
        found = CHECKS[rule.check](answers, facts, product, on, rule.params)
        if found is None:
            continue
        finding = found if isinstance(found, Finding) else Finding(found, rule.reassess)
        reassess = finding.reassess if rule.severity == "contraindication" else ""
        reasons.append(
            Reason(
                rule.id, rule.severity, rule.message, rule.source, finding.detail, None, reassess
            )
        )
    vocab = load_vocabulary()
    matches: list[Match] = []
    for kind in ("medication", "condition", "allergy"):
        n = 0
        for entry in _entries(kind, answers, facts):
            if vocab.is_nothing(entry):
                continue
            got = vocab.match(entry, kind)
            matches.extend(got)
            if not got:
                n += 1
                reasons.append(
                    Reason(
                        f"{_UNRECOGNISED_PREFIX}{kind}_{n}",
                        "precaution",
                        UNRECOGNISED_MESSAGE,
                        f"Glabella vocabulary {vocab.version}: no {_KIND_LABEL[kind]} term "
                        "matched this entry",
                        f"{_KIND_LABEL[kind]}: {entry}",
                    )
                )
    ordered = tuple(sorted(reasons, key=lambda r: _SEVERITIES.index(r.severity)))
    return Decision(_outcome(ordered), ordered, ruleset.version, on, tuple(matches))


def override(
    decision: Decision, rule_id: str, clinician: str, reason: str, at: datetime
) -> tuple[Decision, Override]:
    """Override one open precaution with a recorded reason; return the new Decision and record.

    Raises:
        OverrideRefusedError: if the rule did not fire, is not a precaution, is already
            overridden, the reason or clinician is blank, or ``at`` is naive.
    """
    if not reason.strip() or not clinician.strip():
        raise OverrideRefusedError("an override needs the clinician and a written reason")
    if at.tzinfo is None or at.utcoffset() is None:
        raise OverrideRefusedError("override time must be timezone-aware")
    match = [r for r in decision.reasons if r.rule_id == rule_id]
    if not match:
        raise OverrideRefusedError(f"rule {rule_id!r} did not fire in this decision")
    target = match[0]
    if target.severity != "precaution":  # unrecognised entries are precautions too
        raise OverrideRefusedError(
            f"{rule_id!r} is a {target.severity.replace('_', ' ')}; only precautions "
            "can be overridden"
        )
    if target.override is not None:
        raise OverrideRefusedError(f"{rule_id!r} is already overridden")
    record = Override(rule_id, clinician.strip(), reason.strip(), at)
    reasons = tuple(
        replace(r, override=record) if r.rule_id == rule_id else r for r in decision.reasons
    )
    return replace(decision, reasons=reasons, outcome=_outcome(reasons)), record


CONFIRMATION_TEXT: Final = "confirmed not relevant to this screening"


def confirm_unrecognised(
    decision: Decision, rule_id: str, clinician: str, at: datetime
) -> tuple[Decision, Override]:
    """Record that an unrecognised entry was checked and is not relevant.

    Raises:
        OverrideRefusedError: if ``rule_id`` is not an unrecognised entry of this decision,
            is already confirmed, the clinician is blank or ``at`` is naive.
    """
    if not is_unrecognised(rule_id):
        raise OverrideRefusedError(
            f"{rule_id!r} is not an unrecognised entry; only those can be confirmed"
        )
    return override(decision, rule_id, clinician, CONFIRMATION_TEXT, at)
