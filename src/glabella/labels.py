"""What a person reads instead of an internal code: one map (or lookup) per vocabulary.

Codes (``onabotulinumtoxinA``, ``phq9``, ``mdd``, ``finzi2014_female``, ``finzi-2014``,
``parallel_rct``, ``urgent``, ...) stay in the database, the JSON API and the exports, where
machines read them. Pages, the consultation report and the CLI summaries show
:func:`label` of them. Every label comes from the project's own data: product brands from
:mod:`glabella.clinic.products`, instrument short names from the instrument definitions,
protocol names from ``clinic/data/protocols.yaml``, study names (``short``: authors and year)
and arm labels from the study files, disorder names from :data:`evidence.studies.DISORDERS`.
Nothing here is invented: a code without a label is shown as it is.

Pure: reads only packaged data files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from types import MappingProxyType
from typing import Final

from glabella.clinic import instruments
from glabella.clinic.adverse_events import TYPE_LABELS as AE_TYPES
from glabella.clinic.eligibility import OUTCOME_LABELS as ELIGIBILITY_OUTCOMES
from glabella.clinic.products import PRODUCTS
from glabella.clinic.protocol import load_protocols
from glabella.evidence.studies import DISORDERS, load_raw_documents

__all__ = [
    "AE_TYPES",
    "ALERT_KINDS",
    "ALERT_LEVELS",
    "ANALYTICS_TERMS",
    "ASSESSMENT_SOURCES",
    "ELIGIBILITY_OUTCOMES",
    "EVIDENCE_OUTCOMES",
    "LANGUAGES",
    "STUDY_DESIGNS",
    "VOCABULARIES",
    "arm",
    "disorder",
    "instrument",
    "label",
    "name_studies",
    "product",
    "protocol",
    "study",
]

ALERT_LEVELS: Final[Mapping[str, str]] = MappingProxyType(
    {"urgent": "Urgent", "high": "High", "moderate": "Moderate"}
)

#: Alert kinds raised by the instruments' safety rules and the adverse-event rules
#: (``clinic/instruments/definitions/*.yaml`` ``alert:``, :func:`clinic.adverse_events.alerts_for`).
ALERT_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "suicide_risk": "Suicide risk",
        "possible_distant_spread": "Possible distant spread of the toxin",
        "serious_adverse_event": "Serious adverse event",
        "severe_grade": "Severe adverse event (CTCAE grade 3 or higher)",
        "mood_worsening": "Mood getting worse",
    }
)

#: The languages of the consultation report (``report/locales/*.yaml``), each in its own name.
LANGUAGES: Final[Mapping[str, str]] = MappingProxyType({"en": "English", "de": "Deutsch"})

#: Who entered an assessment (``assessments.source``).
ASSESSMENT_SOURCES: Final[Mapping[str, str]] = MappingProxyType(
    {"clinician": "entered by staff", "self_report": "patient (self-report)"}
)

#: Outcome kinds of the evidence base and the clinic analytics (as the evidence pages title them).
EVIDENCE_OUTCOMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "response": "Response",
        "remission": "Remission",
        "change": "Change in symptom score",
        "dropout": "Dropping out",
        "adverse_events": "Adverse events",
    }
)

#: Terms of the clinic analytics' definitions (``services.analytics.DEFINITIONS``, frown too).
ANALYTICS_TERMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "week6": "week 6",
        "week12": "week 12",
        "itt": "missing counted as no response",
        "lost_to_follow_up": "lost to follow-up",
        "phq9_trajectory": "PHQ-9 trajectory",
        "week2_frown": "week-2 frown",
        "phq9_change": "PHQ-9 change",
        "frown_activity_index": "frown activity index",
        "frown_reduction": "frown reduction",
        "frown_return": "frown return",
        "mood_benefit_end": "mood benefit end",
    }
)

#: Study designs of the evidence files (:data:`evidence.studies.DESIGNS`).
STUDY_DESIGNS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "parallel_rct": "parallel-group randomised trial",
        "crossover_rct": "crossover randomised trial",
        "open_label": "open-label study",
        "case_series": "case series",
        "pooled_analysis": "pooled analysis",
        "meta_analysis": "meta-analysis",
        "systematic_review": "systematic review",
        "pharmacovigilance": "pharmacovigilance study",
        "registry_only": "trial registration only",
    }
)


def product(code: str) -> str:
    """``"onabotulinumtoxinA"`` -> ``"onabotulinumtoxinA (Botox)"``: the INN with its brand."""
    p = PRODUCTS.get(code)
    return code if p is None else f"{p.id} ({p.brand})"


def instrument(code: str) -> str:
    """``"phq9"`` -> ``"PHQ-9"``: the instrument's short name from its definition."""
    try:
        return instruments.get(code).short_name
    except (KeyError, instruments.InstrumentError):
        return code


def disorder(code: str) -> str:
    """``"mdd"`` -> ``"major depressive disorder"`` (the evidence base's disorder names)."""
    return DISORDERS.get(code, code)


def protocol(code: str) -> str:
    """``"finzi2014_female"`` -> ``"Finzi & Rosenthal 2014, women"`` (the protocol's name)."""
    p = load_protocols().get(code)
    return code if p is None else p.name


@cache
def _studies() -> Mapping[str, tuple[str, Mapping[str, str]]]:
    """Study id -> (short name, arm id -> arm label), read from the study files."""
    out: dict[str, tuple[str, Mapping[str, str]]] = {}
    for _, doc in load_raw_documents():
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            continue
        arms = {
            str(a["id"]): str(a["label"])
            for a in doc.get("arms") or ()
            if isinstance(a, dict) and "id" in a and "label" in a
        }
        out[doc["id"]] = (str(doc.get("short") or doc["id"]), MappingProxyType(arms))
    return MappingProxyType(out)


def study(code: str) -> str:
    """``"finzi-2014"`` -> ``"Finzi & Rosenthal 2014"`` (the study file's ``short``)."""
    found = _studies().get(code)
    return code if found is None else found[0]


@cache
def _study_id_pattern() -> re.Pattern[str]:
    ids = sorted(_studies(), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(i) for i in ids) + r")(?![\w-])")


def name_studies(text: str) -> str:
    """Every study id in ``text`` replaced by the study's name.

    ``"high risk in finzi-2014, zamanian-2017"`` -> ``"high risk in Finzi & Rosenthal 2014,
    Zamanian 2017"``. For texts the evidence engine writes with ids (GRADE reasons, synthesis
    notes): they are stored as they are (a recorded report rebuilds identically) and named
    when shown. An id is replaced only as a whole word (not inside ``finzi-2014-x``).
    """
    if not text:
        return text
    return _study_id_pattern().sub(lambda m: study(m.group(1)), text)


def arm(study_id: str, arm_id: str) -> str:
    """An arm's label from its study file (``"bont"`` -> ``"OnabotulinumtoxinA (...)"``)."""
    found = _studies().get(study_id)
    return arm_id if found is None else found[1].get(arm_id, arm_id)


def _from(mapping: Mapping[str, str]) -> Callable[[str], str]:
    return lambda code: mapping.get(code, code)


#: Every vocabulary by name, as the templates' ``label`` filter and the CLI use them.
VOCABULARIES: Final[Mapping[str, Callable[[str], str]]] = MappingProxyType(
    {
        "product": product,
        "instrument": instrument,
        "disorder": disorder,
        "condition": disorder,
        "protocol": protocol,
        "study": study,
        "design": _from(STUDY_DESIGNS),
        "outcome": _from(EVIDENCE_OUTCOMES),
        "analytics_term": _from(ANALYTICS_TERMS),
        "language": _from(LANGUAGES),
        "alert_level": _from(ALERT_LEVELS),
        "alert_kind": _from(ALERT_KINDS),
        "assessment_source": _from(ASSESSMENT_SOURCES),
        "eligibility": _from(ELIGIBILITY_OUTCOMES),
        "ae_type": _from(AE_TYPES),
    }
)


def label(code: object, vocabulary: str) -> str:
    """The label of ``code`` in ``vocabulary``; the code itself when it has none.

    ``None`` and ``""`` give ``""``. An unknown vocabulary is a programming error (KeyError).
    """
    if code is None or code == "":
        return ""
    return VOCABULARIES[vocabulary](str(code))
