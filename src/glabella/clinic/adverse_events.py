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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Final, Literal

__all__ = [
    "DISTANT_SPREAD_TYPES",
    "AEAlert",
    "AEOutcome",
    "AEType",
    "Action",
    "AdverseEvent",
    "Grade",
    "InconsistentAdverseEventError",
    "Relatedness",
    "Seriousness",
    "assess",
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


class InconsistentAdverseEventError(ValueError):
    """Raised when grade, seriousness and outcome contradict each other."""


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

    def __post_init__(self) -> None:
        if self.onset.tzinfo is None or self.onset.utcoffset() is None:
            raise InconsistentAdverseEventError("onset must be timezone-aware")
        if self.type is AEType.OTHER and not self.description.strip():
            raise InconsistentAdverseEventError("an 'other' event needs a description")
        fatal = (
            self.grade is Grade.DEATH,
            Seriousness.DEATH in self.seriousness,
            self.outcome is AEOutcome.FATAL,
        )
        if any(fatal) and not all(fatal):
            raise InconsistentAdverseEventError(
                "grade 5, seriousness 'death' and outcome 'fatal' must be recorded together"
            )

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
    alerts: list[AEAlert] = []
    if ae.possible_distant_spread:
        alerts.append(
            AEAlert(
                "urgent",
                "possible_distant_spread",
                f"{ae.type.value}: possible distant spread of toxin effect. Swallowing and "
                "breathing difficulties can be life-threatening: assess now and arrange "
                "emergency care if breathing or swallowing is affected.",
                ae.type,
            )
        )
    if ae.serious:
        criteria = ", ".join(sorted(c.value for c in ae.seriousness))
        alerts.append(
            AEAlert(
                "urgent",
                "serious_adverse_event",
                f"Serious adverse event ({criteria}): clinical review now and expedited "
                "pharmacovigilance reporting.",
                ae.type,
            )
        )
    if ae.grade >= Grade.SEVERE and not ae.serious:
        alerts.append(
            AEAlert(
                "high",
                "severe_grade",
                f"CTCAE grade {int(ae.grade)} {ae.type.value}: clinical review.",
                ae.type,
            )
        )
    if ae.type is AEType.MOOD_WORSENING:
        alerts.append(
            AEAlert(
                "high",
                "mood_worsening",
                "Mood worsening after treatment: assess suicide risk (C-SSRS) and review.",
                ae.type,
            )
        )
    return tuple(alerts)
