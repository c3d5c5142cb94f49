"""Code systems, extension URLs and value maps shared by the FHIR export and import.

Standard systems are used where a verified code exists (LOINC for instruments, the HL7
terminology code systems of FHIR R4 for observation category, consent scope, adverse-event
seriousness, severity and outcome). Everything Glabella-specific lives under
:data:`BASE`, a placeholder namespace on the reserved ``.example`` domain (RFC 2606): it
never resolves and names no real organisation. A clinic that publishes its own canonical
URLs can change it in one place.
"""

from __future__ import annotations

import re
from typing import Final

BASE: Final = "https://glabella.example/fhir"
"""Namespace of Glabella's own code systems, extensions and canonical URLs."""

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
CONSENT_SCOPE: Final = "http://terminology.hl7.org/CodeSystem/consentscope"
AE_SERIOUSNESS: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
ORDINAL_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
"""R4 core extension: the score an answer option carries."""
CITATION: Final = "http://hl7.org/fhir/StructureDefinition/cqf-citation"

CONSENT_DOCUMENT_LOINC: Final = "59284-0"
"""LOINC "Consent Document", the category used by the R4 Consent examples."""

# Glabella code systems
SOURCE_SYSTEM: Final = f"{BASE}/CodeSystem/assessment-source"
INSTRUMENT_TOTAL_SYSTEM: Final = f"{BASE}/CodeSystem/instrument-total"
PROCEDURE_SYSTEM: Final = f"{BASE}/CodeSystem/procedure"
PRODUCT_SYSTEM: Final = f"{BASE}/CodeSystem/bont-a-product"
TOXIN_UNIT_SYSTEM: Final = f"{BASE}/CodeSystem/toxin-unit"
SITE_SYSTEM: Final = f"{BASE}/CodeSystem/injection-site"
AE_TYPE_SYSTEM: Final = f"{BASE}/CodeSystem/adverse-event-type"
CTCAE_GRADE_SYSTEM: Final = f"{BASE}/CodeSystem/ctcae-v5-grade"
MRN_SYSTEM: Final = f"{BASE}/NamingSystem/mrn"
FROWN_SYSTEM: Final = f"{BASE}/CodeSystem/frown-biomarker"
"""Codes of the frown biomarker and the glabellar line ratings (issue 18). No LOINC or SNOMED CT
code exists for these measures, so they are Glabella's own: ``frown-activity-index`` (the
per-visit index, with the six photo measures as components ``<measure>-rest`` /
``<measure>-frown``), ``glabellar-line-severity-rest`` and ``glabellar-line-severity-frown``
(the clinician's 0-3 ratings of instrument ``gls``)."""
FROWN_METHOD_SYSTEM: Final = f"{BASE}/CodeSystem/frown-biomarker-method"
"""Version of the measurement method (``glabella.services.biomarker.METHOD_VERSION``)."""

# Glabella extensions
EXT_PROTOCOL: Final = f"{BASE}/StructureDefinition/protocol"
EXT_CONSENT: Final = f"{BASE}/StructureDefinition/consent"
EXT_TOTAL_DOSE: Final = f"{BASE}/StructureDefinition/total-dose"
EXT_EXCEEDS_LABEL: Final = f"{BASE}/StructureDefinition/exceeds-label-dose"
EXT_VOLUME: Final = f"{BASE}/StructureDefinition/injected-volume"
EXT_SERIOUSNESS_CRITERION: Final = f"{BASE}/StructureDefinition/ich-e2a-criterion"
EXT_RELATEDNESS: Final = f"{BASE}/StructureDefinition/relatedness"
EXT_AE_ACTION: Final = f"{BASE}/StructureDefinition/adverse-event-action"
EXT_REPORTED_BY: Final = f"{BASE}/StructureDefinition/reported-by"
EXT_TEXT_SHA256: Final = f"{BASE}/StructureDefinition/consent-text-sha256"
EXT_SIGNED_NAME: Final = f"{BASE}/StructureDefinition/signed-name"

PROCEDURE_CODE: Final = "glabellar-bont-a-injection"
PROCEDURE_DISPLAY: Final = "Glabellar injection of botulinum toxin type A"
"""A local code: no SNOMED CT concept for this procedure was verified."""

AE_OUTCOME_TO_FHIR: Final = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not_recovered": "ongoing",
    "recovered_with_sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}
"""Glabella outcome -> R4 adverse-event-outcome code (one to one)."""
AE_OUTCOME_FROM_FHIR: Final = {v: k for k, v in AE_OUTCOME_TO_FHIR.items()}


FROWN_INDEX_CODE: Final = "frown-activity-index"
FROWN_MEASURES: Final = {
    "inner-brow-distance": "Inner-brow distance (inter-ocular distances)",
    "brow-eye-height": "Brow-to-eye height (inter-ocular distances)",
    "glabellar-line-intensity": "Glabellar line intensity (ridge filter, dimensionless)",
}
"""Photo measure code -> display; each is exported at rest and at maximal frown."""
GLS_RATING_CODES: Final = {
    "gls_1": ("glabellar-line-severity-rest", "Glabellar line severity at rest (0-3)"),
    "gls_2": ("glabellar-line-severity-frown", "Glabellar line severity at maximal frown (0-3)"),
}
"""Item of instrument ``gls`` -> (code, display) of its rating Observation."""


def ctcae_severity(grade: int) -> str:
    """The R4 adverse-event-severity code for a CTCAE grade (1 mild, 2 moderate, 3+ severe)."""
    return {1: "mild", 2: "moderate"}.get(grade, "severe")


def questionnaire_url(instrument_id: str) -> str:
    """The canonical URL of an instrument's Questionnaire."""
    return f"{BASE}/Questionnaire/{instrument_id}"


def options_system(instrument_id: str) -> str:
    """The code system of an instrument's answer options (code = the option's value)."""
    return f"{BASE}/CodeSystem/{instrument_id}-options"


def bands_system(instrument_id: str) -> str:
    """The code system of an instrument's severity bands (code = slug of the band label)."""
    return f"{BASE}/CodeSystem/{instrument_id}-bands"


def slug(text: str) -> str:
    """``"moderately severe"`` -> ``"moderately-severe"`` (a FHIR code has no spaces)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
