"""Validated instruments as data, with one engine that scores them all.

Each instrument (PHQ-9, PHQ-2, GAD-7, GAD-2, ...) is one declarative YAML file under
``definitions/``: items with their exact wording, options and values, scoring rule, bands,
missing-item rule, licence statement and source, citation, LOINC codes and safety rules.
:mod:`.loader` validates and caches them; :mod:`.engine` validates answers and scores.

Public API::

    get("phq9") -> Instrument
    all_instruments() -> tuple[Instrument, ...]
    score(instrument, {"phq9_1": 2, ...}) -> Score
    derive(phq9_score, get("phq2")) -> Score
"""

from __future__ import annotations

from glabella.clinic.instruments.engine import derive, score, validate_answers
from glabella.clinic.instruments.loader import all_instruments, get, loinc_check_digit_ok
from glabella.clinic.instruments.model import (
    Band,
    DerivedFrom,
    Instrument,
    InstrumentError,
    Item,
    ResponseOption,
    SafetyRule,
    Score,
    ScoringRule,
)

__all__ = [
    "Band",
    "DerivedFrom",
    "Instrument",
    "InstrumentError",
    "Item",
    "ResponseOption",
    "SafetyRule",
    "Score",
    "ScoringRule",
    "all_instruments",
    "derive",
    "get",
    "loinc_check_digit_ok",
    "score",
    "validate_answers",
]
