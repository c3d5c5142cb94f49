"""Adverse events after glabellar BoNT-A: record type, grading, seriousness, and alerts.

* Grade: CTCAE v5.0 general grading, 1 mild, 2 moderate, 3 severe or medically significant,
  4 life-threatening (urgent intervention indicated), 5 death related to the AE.
* Seriousness: ICH E2A criteria - results in death; is life-threatening; requires inpatient
  hospitalisation or prolongation of existing hospitalisation; results in persistent or
  significant disability/incapacity; is a congenital anomaly/birth defect; or is another
  important medical event. An event is serious if any criterion applies.
* Possible distant spread of toxin effect: dysphagia, dysphonia, dysarthria, breathing
  difficulty, diplopia and generalised weakness are among the symptoms named in the boxed
  warning of every US BoNT label ("Distant spread of toxin effect").

:func:`assess` returns alerts: every serious event and every possible distant spread
raises an ``urgent`` alert; grade >= 3 and mood worsening raise a ``high`` alert.

Follow-up: an event is updated later (outcome, resolution date, grade, seriousness) by
:func:`apply_update`, which re-checks the whole event and returns only the alerts the change
newly raises (:func:`new_alerts`), so an event graded up to 3 or found serious later alerts
then, and an unchanged event does not alert twice.

Nothing here has a default answer: seriousness, relatedness, action and outcome are judgements
a clinician must make (a pre-selected "not related / none / recovered" stored unread is wrong
safety data; docs/safety/hazard-log.md H-090).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "DISTANT_SPREAD_TYPES",
    "RESOLVED_OUTCOMES",
    "AEAlert",
    "AEOutcome",
    "AEType",
    "Action",
    "AdverseEvent",
    "Grade",
    "InconsistentAdverseEventError",
    "Relatedness",
    "Seriousness",
    "alerts_for",
    "apply_update",
    "assess",
    "check_course",
    "new_alerts",
]


class AEType(StrEnum):
    """Adverse event types recorded after glabellar injection."""

    INJECTION_SITE_PAIN = "injection_site_pain"
    HEADACHE = "headache"
    BRUISING = "bruising"
    EYELID_PTOSIS = "eyelid_ptosis"
    BROW_PTOSIS = "brow_ptosis"
    ASYMMETRY = "asymmetry"
    FLU_LIKE_SYMPTOMS = "flu_like_symptoms"
    DYSPHAGIA = "dysphagia"
    DYSPHONIA = "dysphonia"
    DYSARTHRIA = "dysarthria"
    BREATHING_DIFFICULTY = "breathing_difficulty"
    DIPLOPIA = "diplopia"
    GENERALISED_WEAKNESS = "generalised_weakness"
    MOOD_WORSENING = "mood_worsening"
    OTHER = "other"


DISTANT_SPREAD_TYPES: Final = frozenset(
    {
        AEType.DYSPHAGIA,
        AEType.DYSPHONIA,
        AEType.DYSARTHRIA,
        AEType.BREATHING_DIFFICULTY,
        AEType.DIPLOPIA,
        AEType.GENERALISED_WEAKNESS,
    }
)


class Grade(IntEnum):
    """CTCAE v5.0 grade."""

    MILD = 1
    MODERATE = 2
    SEVERE = 3
    LIFE_THREATENING = 4
    DEATH = 5


class Seriousness(StrEnum):
    """ICH E2A seriousness criteria."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "persistent_or_significant_disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"


#: What a person reads for each event type (forms, pages, alert messages, analytics).
TYPE_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "injection_site_pain": "Pain at the injection site",
        "headache": "Headache",
        "bruising": "Bruising",
        "eyelid_ptosis": "Drooping eyelid",
        "brow_ptosis": "Drooping eyebrow",
        "asymmetry": "Uneven look of the brow or face",
        "flu_like_symptoms": "Flu-like symptoms",
        "dysphagia": "Difficulty swallowing",
        "dysphonia": "Change in voice / hoarseness",
        "dysarthria": "Difficulty speaking clearly",
        "breathing_difficulty": "Difficulty breathing",
        "diplopia": "Double vision",
        "generalised_weakness": "Weakness beyond the face",
        "mood_worsening": "Mood getting worse",
        "other": "Something else",
    }
)

#: The ICH E2A criteria as the form words them.
SERIOUSNESS_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "death": "results in death",
        "life_threatening": "is life-threatening",
        "hospitalisation": "requires or prolongs hospitalisation",
        "persistent_or_significant_disability": "persistent or significant disability",
        "congenital_anomaly": "congenital anomaly / birth defect",
        "important_medical_event": "other important medical event",
    }
)


class Relatedness(StrEnum):
    """Causality to the toxin injection, as judged by the clinician."""

    NOT_RELATED = "not_related"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


class Action(StrEnum):
    """What was done about the event."""

    NONE = "none"
    SYMPTOMATIC_TREATMENT = "symptomatic_treatment"
    REFERRED = "referred"
    EMERGENCY_CARE = "emergency_care"
    RETREATMENT_WITHHELD = "retreatment_withheld"
    OTHER = "other"


class AEOutcome(StrEnum):
    """Outcome of the event."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


RESOLVED_OUTCOMES: Final = frozenset(
    {AEOutcome.RECOVERED, AEOutcome.RECOVERED_WITH_SEQUELAE, AEOutcome.FATAL}
)
"""Outcomes that end the event: only these can carry a resolution date (for a fatal event
the resolution date is the date of death, as in ICH E2B's "date of end of reaction")."""


class InconsistentAdverseEventError(ValueError):
    """Raised when grade, seriousness and outcome contradict each other."""


def check_course(
    onset: datetime,
    grade: Grade | None,
    seriousness: frozenset[Seriousness],
    outcome: AEOutcome | None,
    resolved_on: date | None,
) -> None:
    """Refuse a contradictory course: death recorded in one field only, a resolution date on
    an event still going on, or a resolution before the onset.

    ``onset`` is the onset in the clinic's timezone (its calendar date is compared).
    """
    fatal = (grade is Grade.DEATH, Seriousness.DEATH in seriousness, outcome is AEOutcome.FATAL)
    if any(fatal) and not all(fatal):
        raise InconsistentAdverseEventError(
            "grade 5, seriousness 'death' and outcome 'fatal' must be recorded together"
        )
    if resolved_on is not None:
        if outcome not in RESOLVED_OUTCOMES:
            raise InconsistentAdverseEventError(
                "a resolution date needs an outcome that ends the event (recovered, recovered "
                "with sequelae or fatal)"
            )
        if resolved_on < onset.date():
            raise InconsistentAdverseEventError(
                f"the resolution date {resolved_on.isoformat()} is before the onset "
                f"{onset.date().isoformat()}"
            )


@dataclass(frozen=True)
class AdverseEvent:
    """One adverse event as recorded by a clinician or reported by the patient."""

    type: AEType
    onset: datetime
    grade: Grade
    seriousness: frozenset[Seriousness]
    relatedness: Relatedness
    action: Action
    outcome: AEOutcome
    description: str = ""
    resolved_on: date | None = None

    def __post_init__(self) -> None:
        if self.onset.tzinfo is None or self.onset.utcoffset() is None:
            raise InconsistentAdverseEventError("onset must be timezone-aware")
        if self.type is AEType.OTHER and not self.description.strip():
            raise InconsistentAdverseEventError("an 'other' event needs a description")
        check_course(self.onset, self.grade, self.seriousness, self.outcome, self.resolved_on)

    @property
    def serious(self) -> bool:
        """True when any ICH E2A seriousness criterion applies."""
        return bool(self.seriousness)

    @property
    def possible_distant_spread(self) -> bool:
        """True for symptoms named in the boxed warning on distant spread of toxin effect."""
        return self.type in DISTANT_SPREAD_TYPES


@dataclass(frozen=True)
class AEAlert:
    """An alert raised by an adverse event; the service layer maps it to its own alerts."""

    level: Literal["urgent", "high"]
    code: str
    message: str
    ae_type: AEType


def assess(ae: AdverseEvent) -> tuple[AEAlert, ...]:
    """Alerts for one adverse event, most urgent first."""
    return alerts_for(ae.type, ae.grade, ae.seriousness)


def alerts_for(
    kind: AEType, grade: Grade | None, seriousness: frozenset[Seriousness]
) -> tuple[AEAlert, ...]:
    """Alerts for an event of this type, grade (``None``: not graded yet) and seriousness."""
    alerts: list[AEAlert] = []
    if kind in DISTANT_SPREAD_TYPES:
        alerts.append(
            AEAlert(
                "urgent",
                "possible_distant_spread",
                f"{TYPE_LABELS.get(kind.value, kind.value)}: possible distant spread of toxin "
                "effect. Swallowing and "
                "breathing difficulties can be life-threatening: assess now and arrange "
                "emergency care if breathing or swallowing is affected.",
                kind,
            )
        )
    if seriousness:
        criteria = ", ".join(
            SERIOUSNESS_LABELS.get(c.value, c.value) for c in sorted(seriousness, key=str)
        )
        alerts.append(
            AEAlert(
                "urgent",
                "serious_adverse_event",
                f"Serious adverse event ({criteria}): clinical review now and expedited "
                "pharmacovigilance reporting.",
                kind,
            )
        )
    if grade is not None and grade >= Grade.SEVERE and not seriousness:
        alerts.append(
            AEAlert(
                "high",
                "severe_grade",
                f"CTCAE grade {int(grade)} {TYPE_LABELS.get(kind.value, kind.value).lower()}: "
                "clinical review.",
                kind,
            )
        )
    if kind is AEType.MOOD_WORSENING:
        alerts.append(
            AEAlert(
                "high",
                "mood_worsening",
                "Mood worsening after treatment: assess suicide risk (C-SSRS) and review.",
                kind,
            )
        )
    return tuple(alerts)


def new_alerts(before: tuple[AEAlert, ...], after: tuple[AEAlert, ...]) -> tuple[AEAlert, ...]:
    """The alerts of ``after`` whose code ``before`` did not raise (an update alerts once)."""
    seen = {a.code for a in before}
    return tuple(a for a in after if a.code not in seen)


def apply_update(
    ae: AdverseEvent,
    *,
    grade: Grade,
    seriousness: frozenset[Seriousness],
    outcome: AEOutcome,
    resolved_on: date | None,
) -> tuple[AdverseEvent, tuple[AEAlert, ...]]:
    """The event after a follow-up update, re-checked whole, and the alerts the change raises."""
    updated = replace(
        ae, grade=grade, seriousness=seriousness, outcome=outcome, resolved_on=resolved_on
    )
    return updated, new_alerts(assess(ae), assess(updated))
