"""Glabella records -> FHIR R4 resources (JSON-ready dicts). Pure: no I/O.

* every instrument -> ``Questionnaire`` (LOINC panel and item codes where they exist);
* every assessment -> ``QuestionnaireResponse`` + a score ``Observation`` (the total, coded
  with the instrument's LOINC total code where there is one, the severity band as its
  ``interpretation``);
* patient -> ``Patient``; treatment -> ``Procedure`` + one ``MedicationAdministration`` per
  injection site (product, lot and expiry in a contained ``Medication``; every dose is a
  Quantity whose unit and code name the product: units are never shown without it);
* adverse event -> ``AdverseEvent``; consent -> ``Consent``; a chart -> ``Bundle``;
* frown biomarker (issue 18): each measured photo pair -> one ``Observation``
  ``frown-<pair>`` (the frown activity index, with the six numeric photo measures as
  components), and each ``gls`` assessment -> two rating ``Observation``s
  ``<assessment>-gls-rest`` / ``<assessment>-gls-frown``. These codes are Glabella's own
  (:data:`codes.FROWN_SYSTEM`: no LOINC code exists for them). Images never leave: a
  :class:`FrownMeasureData` holds numbers only, and the service puts a pair into the chart only
  when the patient's photo consent allows it.

Resource ids are the local database ids (``Observation`` ``<assessment>-total``,
``MedicationAdministration`` ``<treatment>-<n>``). Decimals become JSON numbers (an ``int``
when whole, else a ``float``: every stored dose has far fewer than 15 significant digits,
so ``Decimal(str(x))`` gives the value back exactly).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from glabella.clinic import instruments
from glabella.clinic.chart import (
    AdverseEventData,
    AssessmentData,
    ConsentData,
    FrownMeasureData,
    PatientChart,
    PatientData,
    TreatmentData,
)
from glabella.clinic.instruments import Instrument
from glabella.clinic.products import Product, get_product
from glabella.clinic.protocol import load_sites
from glabella.interop.fhir import codes

Resource = dict[str, Any]

__all__ = [
    "Resource",
    "adverse_event",
    "bundle",
    "chart_resources",
    "consent",
    "dose_quantity",
    "frown_observation",
    "gls_rating_observations",
    "medication_administrations",
    "patient",
    "procedure",
    "questionnaire",
    "questionnaire_response",
    "score_observation",
]


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _instant(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime: every exported time is timezone-aware")
    return value.astimezone(dt.UTC).isoformat()


def _ref(resource_type: str, local_id: object) -> dict[str, str]:
    return {"reference": f"{resource_type}/{local_id}"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


# --- instruments --------------------------------------------------------------------------


def _answer_coding(instrument: Instrument, value: int, label: str) -> dict[str, str]:
    return _coding(codes.options_system(instrument.id), str(value), label)


def questionnaire(instrument: Instrument) -> Resource:
    """The instrument as a Questionnaire: items, options with their scores, LOINC codes."""
    items = []
    for item in instrument.items:
        entry: Resource = {
            "linkId": item.id,
            "prefix": str(item.number),
            "text": item.text,
            "type": "choice",
            "required": item.required,
            "answerOption": [
                {
                    "extension": [{"url": codes.ORDINAL_VALUE, "valueDecimal": option.value}],
                    "valueCoding": _answer_coding(instrument, option.value, option.label),
                }
                for option in item.options
            ],
        }
        if item.loinc:
            entry["code"] = [_coding(codes.LOINC, item.loinc, item.text)]
        items.append(entry)
    out: Resource = {
        "resourceType": "Questionnaire",
        "id": instrument.id,
        "extension": [{"url": codes.CITATION, "valueString": instrument.citation.strip()}],
        "url": codes.questionnaire_url(instrument.id),
        "name": re.sub(r"[^A-Za-z0-9]", "", instrument.short_name),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": instrument.preamble,
        "copyright": instrument.licence.strip(),
        "item": items,
    }
    if instrument.loinc_panel:
        out["code"] = [_coding(codes.LOINC, instrument.loinc_panel, instrument.name)]
    return out


# --- patients and assessments -------------------------------------------------------------


def patient(data: PatientData) -> Resource:
    """Demographics: MRN identifier, name, birth date, administrative gender, contacts."""
    out: Resource = {
        "resourceType": "Patient",
        "id": str(data.id),
        "identifier": [{"system": codes.MRN_SYSTEM, "value": data.mrn}],
        "name": [{"family": data.family_name, "given": [data.given_name]}],
        "gender": data.sex,
        "birthDate": data.date_of_birth.isoformat(),
    }
    telecom = []
    if data.phone:
        telecom.append({"system": "phone", "value": data.phone})
    if data.email:
        telecom.append({"system": "email", "value": data.email})
    if telecom:
        out["telecom"] = telecom
    return out


def questionnaire_response(data: AssessmentData) -> Resource:
    """The answers, each as the option's coding (code = its score, display = its label)."""
    instrument = instruments.get(data.instrument_id)
    items = []
    for item_id, value in data.answers:
        item = instrument.item(item_id)
        option = item.option_for(value)
        label = option.label if option is not None else str(value)
        items.append(
            {
                "linkId": item.id,
                "text": item.text,
                "answer": [{"valueCoding": _answer_coding(instrument, value, label)}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(data.id),
        "meta": {"tag": [_coding(codes.SOURCE_SYSTEM, data.source)]},
        "questionnaire": codes.questionnaire_url(instrument.id),
        "status": "completed",
        "subject": _ref("Patient", data.patient_id),
        "authored": _instant(data.submitted_at),
        "item": items,
    }


def score_observation(data: AssessmentData) -> Resource:
    """The total score (LOINC-coded where the instrument has a code); band as interpretation."""
    instrument = instruments.get(data.instrument_id)
    text = f"{instrument.short_name} total score"
    if instrument.loinc_total:
        code = _coding(codes.LOINC, instrument.loinc_total, text)
    else:
        code = _coding(codes.INSTRUMENT_TOTAL_SYSTEM, instrument.id, text)
    return {
        "resourceType": "Observation",
        "id": f"{data.id}-total",
        "status": "final",
        "category": [_concept(codes.OBSERVATION_CATEGORY, "survey", "Survey")],
        "code": {"coding": [code], "text": text},
        "subject": _ref("Patient", data.patient_id),
        "effectiveDateTime": _instant(data.submitted_at),
        "valueInteger": data.total,
        "interpretation": [
            {
                "coding": [
                    _coding(codes.bands_system(instrument.id), codes.slug(data.band), data.band)
                ],
                "text": data.band,
            }
        ],
        "referenceRange": [
            {
                "low": {"value": instrument.min_total},
                "high": {"value": instrument.max_total},
                "text": f"possible totals {instrument.min_total}-{instrument.max_total}",
            }
        ],
        "derivedFrom": [_ref("QuestionnaireResponse", data.id)],
    }


# --- frown biomarker ----------------------------------------------------------------------

_EXAM = ("exam", "Exam")


def _dimensionless(value: float, unit: str) -> Resource:
    """A Quantity with UCUM code ``1`` (unity): the measures are ratios (of the inter-ocular
    distance) or dimensionless filter responses."""
    return {"value": round(float(value), 6), "unit": unit, "system": codes.UCUM, "code": "1"}


def frown_observation(data: FrownMeasureData) -> Resource:
    """One visit's frown activity index with its six photo measures as components (numbers
    only: no image, no image reference)."""
    measures = {
        "inner-brow-distance": (data.rest_inner_brow_distance, data.frown_inner_brow_distance),
        "brow-eye-height": (data.rest_brow_eye_height, data.frown_brow_eye_height),
        "glabellar-line-intensity": (data.rest_line_intensity, data.frown_line_intensity),
    }
    components = []
    for code, (rest, frown) in measures.items():
        display = codes.FROWN_MEASURES[code]
        unit = "IOD" if code != "glabellar-line-intensity" else "1"
        for condition, value in (("rest", rest), ("frown", frown)):
            label = f"{display}, {'at rest' if condition == 'rest' else 'at maximal frown'}"
            components.append(
                {
                    "code": {
                        "coding": [_coding(codes.FROWN_SYSTEM, f"{code}-{condition}", label)],
                        "text": label,
                    },
                    "valueQuantity": _dimensionless(value, unit),
                }
            )
    text = "Frown activity index (0 = frown photo as at rest; larger = stronger frown)"
    return {
        "resourceType": "Observation",
        "id": f"frown-{data.id}",
        "status": "final",
        "category": [_concept(codes.OBSERVATION_CATEGORY, *_EXAM)],
        "code": {
            "coding": [_coding(codes.FROWN_SYSTEM, codes.FROWN_INDEX_CODE, text)],
            "text": text,
        },
        "subject": _ref("Patient", data.patient_id),
        "effectiveDateTime": _instant(data.taken_at),
        "valueQuantity": _dimensionless(data.frown_activity_index, "index"),
        "method": _concept(codes.FROWN_METHOD_SYSTEM, data.method_version),
        "component": components,
    }


def gls_rating_observations(data: AssessmentData) -> list[Resource]:
    """The two 0-3 ratings of a ``gls`` assessment (at rest, at maximal frown); [] otherwise."""
    if data.instrument_id != "gls":
        return []
    instrument = instruments.get("gls")
    out = []
    for item_id, value in data.answers:
        if item_id not in codes.GLS_RATING_CODES:
            continue
        code, display = codes.GLS_RATING_CODES[item_id]
        option = instrument.item(item_id).option_for(value)
        label = option.label if option is not None else str(value)
        out.append(
            {
                "resourceType": "Observation",
                "id": f"{data.id}-gls-{code.rsplit('-', 1)[1]}",  # -gls-rest / -gls-frown
                "status": "final",
                "category": [_concept(codes.OBSERVATION_CATEGORY, *_EXAM)],
                "code": {"coding": [_coding(codes.FROWN_SYSTEM, code, display)], "text": display},
                "subject": _ref("Patient", data.patient_id),
                "effectiveDateTime": _instant(data.submitted_at),
                "valueInteger": value,
                "interpretation": [
                    {"coding": [_answer_coding(instrument, value, label)], "text": label}
                ],
                "derivedFrom": [_ref("QuestionnaireResponse", data.id)],
            }
        )
    return out


# --- treatments ---------------------------------------------------------------------------


def _product_concept(product: Product) -> Resource:
    return {
        "coding": [_coding(codes.PRODUCT_SYSTEM, product.id, f"{product.id} ({product.brand})")],
        "text": f"{product.id} ({product.brand})",
    }


def dose_quantity(units: Decimal, product: Product) -> Resource:
    """Units of toxin as a Quantity whose unit text and code both name the product."""
    return {
        "value": _number(units),
        "unit": f"{product.unit_name} ({product.id}, {product.brand})",
        "system": codes.TOXIN_UNIT_SYSTEM,
        "code": f"{product.id}-unit",
    }


def _ml(value: Decimal) -> Resource:
    return {"value": _number(value), "unit": "mL", "system": codes.UCUM, "code": "mL"}


def _site_concept(site_id: str) -> Resource:
    site = load_sites().get(site_id)
    return _concept(codes.SITE_SYSTEM, site_id, site.label if site else None)


def procedure(data: TreatmentData) -> Resource:
    """The injection session: when, who, where, with which product, under which consent."""
    product = get_product(data.product_id)
    extension: list[Resource] = []
    if data.protocol_id:
        extension.append({"url": codes.EXT_PROTOCOL, "valueString": data.protocol_id})
    extension += [
        {"url": codes.EXT_CONSENT, "valueReference": _ref("Consent", data.consent_id)},
        {"url": codes.EXT_TOTAL_DOSE, "valueQuantity": dose_quantity(data.total_units, product)},
        {"url": codes.EXT_EXCEEDS_LABEL, "valueBoolean": data.exceeds_label_dose},
    ]
    out: Resource = {
        "resourceType": "Procedure",
        "id": str(data.id),
        "extension": extension,
        "status": "completed",
        "code": {
            "coding": [_coding(codes.PROCEDURE_SYSTEM, codes.PROCEDURE_CODE)],
            "text": codes.PROCEDURE_DISPLAY,
        },
        "subject": _ref("Patient", data.patient_id),
        "performedDateTime": _instant(data.treated_at),
        "performer": [{"actor": {"display": data.injector_name}}],
        "bodySite": [_site_concept(site.site_id) for site in data.sites],
        "usedCode": [_product_concept(product)],
    }
    if data.notes:
        out["note"] = [{"text": data.notes}]
    return out


def _medication(data: TreatmentData, product: Product) -> Resource:
    """The reconstituted vial: product, lot, expiry, units per mL of saline."""
    return {
        "resourceType": "Medication",
        "id": "product",
        "code": _product_concept(product),
        "ingredient": [
            {
                "itemCodeableConcept": _product_concept(product),
                "isActive": True,
                "strength": {
                    "numerator": dose_quantity(data.vial_units, product),
                    "denominator": _ml(data.saline_ml),
                },
            }
        ],
        "batch": {
            "lotNumber": data.lot_number,
            "expirationDate": data.lot_expiry.isoformat(),
        },
    }


def medication_administrations(data: TreatmentData) -> list[Resource]:
    """One administration per site: the dose (units of the named product) and the volume."""
    product = get_product(data.product_id)
    out = []
    for number, site in enumerate(data.sites, start=1):
        out.append(
            {
                "resourceType": "MedicationAdministration",
                "id": f"{data.id}-{number}",
                "contained": [_medication(data, product)],
                "status": "completed",
                "medicationReference": {
                    "reference": "#product",
                    "display": f"{product.id} ({product.brand})",
                },
                "subject": _ref("Patient", data.patient_id),
                "partOf": [_ref("Procedure", data.id)],
                "effectiveDateTime": _instant(data.treated_at),
                "performer": [{"actor": {"display": data.injector_name}}],
                "dosage": {
                    "extension": [{"url": codes.EXT_VOLUME, "valueQuantity": _ml(site.volume_ml)}],
                    "site": _site_concept(site.site_id),
                    "route": {"text": "intramuscular"},
                    "dose": dose_quantity(site.units, product),
                },
            }
        )
    return out


# --- adverse events and consent -----------------------------------------------------------


def adverse_event(data: AdverseEventData) -> Resource:
    """An adverse event: type, onset, CTCAE grade, ICH E2A criteria, causality, outcome."""
    extension: list[Resource] = [
        {"url": codes.EXT_SERIOUSNESS_CRITERION, "valueCode": criterion}
        for criterion in data.seriousness
    ]
    if data.relatedness:
        extension.append({"url": codes.EXT_RELATEDNESS, "valueCode": data.relatedness})
    if data.action:
        extension.append({"url": codes.EXT_AE_ACTION, "valueCode": data.action})
    extension.append({"url": codes.EXT_REPORTED_BY, "valueCode": data.reported_by})
    event: Resource = _concept(codes.AE_TYPE_SYSTEM, data.type, data.label or None)
    if data.description:
        event["text"] = data.description
    out: Resource = {
        "resourceType": "AdverseEvent",
        "id": str(data.id),
        "extension": extension,
        "actuality": "actual",
        "event": event,
        "subject": _ref("Patient", data.patient_id),
        "date": _instant(data.onset),
        "recordedDate": _instant(data.recorded_at),
    }
    if data.grade is not None or data.seriousness:
        serious = bool(data.seriousness)
        out["seriousness"] = _concept(
            codes.AE_SERIOUSNESS,
            "serious" if serious else "non-serious",
            "Serious" if serious else "Non-serious",
        )
    if data.grade is not None:
        severity = codes.ctcae_severity(data.grade)
        out["severity"] = {
            "coding": [
                _coding(codes.AE_SEVERITY, severity, severity.title()),
                _coding(
                    codes.CTCAE_GRADE_SYSTEM, str(data.grade), f"CTCAE v5.0 grade {data.grade}"
                ),
            ]
        }
    if data.outcome:
        out["outcome"] = _concept(codes.AE_OUTCOME, codes.AE_OUTCOME_TO_FHIR[data.outcome])
    if data.treatment_id is not None:
        out["suspectEntity"] = [{"instance": _ref("Procedure", data.treatment_id)}]
    return out


def consent(data: ConsentData) -> Resource:
    """A signed treatment consent: the text version (policy), its SHA-256 and the signature."""
    return {
        "resourceType": "Consent",
        "id": str(data.id),
        "extension": [
            {"url": codes.EXT_TEXT_SHA256, "valueString": data.text_sha256},
            {"url": codes.EXT_SIGNED_NAME, "valueString": data.signed_name},
        ],
        # R4 Consent.status: a consent the patient withdrew is no longer in force
        "status": "inactive" if data.withdrawn else "active",
        "scope": _concept(codes.CONSENT_SCOPE, "treatment", "Treatment"),
        "category": [_concept(codes.LOINC, codes.CONSENT_DOCUMENT_LOINC, "Consent Document")],
        "patient": _ref("Patient", data.patient_id),
        "dateTime": _instant(data.signed_at),
        "policy": [{"uri": f"{codes.BASE}/consent-text/{data.version}"}],
    }


# --- bundles ------------------------------------------------------------------------------


def chart_resources(chart: PatientChart) -> Iterator[Resource]:
    """Every resource of one patient, in import order (consents before the procedures)."""
    yield patient(chart.patient)
    for assessment in chart.assessments:
        yield questionnaire_response(assessment)
        yield score_observation(assessment)
        yield from gls_rating_observations(assessment)
    for signed in chart.consents:
        yield consent(signed)
    for treatment in chart.treatments:
        yield procedure(treatment)
        yield from medication_administrations(treatment)
    for event in chart.adverse_events:
        yield adverse_event(event)
    for measured in chart.frown_measures:
        yield frown_observation(measured)


def bundle_entry(
    resource: Resource, *, kind: str = "collection", base: str = codes.BASE
) -> Resource:
    """One ``Bundle.entry``: the resource and its full URL under ``base``."""
    entry: Resource = {
        "fullUrl": f"{base.rstrip('/')}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }
    if kind == "searchset":
        entry["search"] = {"mode": "match"}
    return entry


def bundle(
    resources: Iterable[Resource], *, kind: str = "collection", base: str = codes.BASE
) -> Resource:
    """A Bundle (``searchset`` for ``$everything``, ``collection`` for a file)."""
    entries = [bundle_entry(resource, kind=kind, base=base) for resource in resources]
    out: Resource = {"resourceType": "Bundle", "type": kind}
    if kind == "searchset":
        out["total"] = len(entries)
    out["entry"] = entries
    return out


# --- the server's capabilities ------------------------------------------------------------


def capability_statement(base: str, software_version: str, date: dt.date) -> Resource:
    """The CapabilityStatement of Glabella's FHIR endpoint (``GET /fhir/metadata``).

    It lists exactly the interactions the server implements: read of an instrument's
    Questionnaire, ``Patient/$everything`` and create of a QuestionnaireResponse, JSON only.
    """
    questionnaires = [codes.questionnaire_url(i.id) for i in instruments.all_instruments()]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.isoformat(),
        "publisher": "Glabella",
        "kind": "instance",
        "software": {"name": "Glabella", "version": software_version},
        "implementation": {
            "description": "Glabella: BoNT-A for depression, clinical pathway and outcomes",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": (
                        "Session sign-in (POST /api/v1/auth/login); every interaction except "
                        "this statement needs a signed-in clinical role (Questionnaire: any "
                        "staff role). Every read and write of patient data is audited."
                    )
                },
                "resource": [
                    {
                        "type": "Questionnaire",
                        "interaction": [{"code": "read"}],
                        "documentation": "One per instrument: " + ", ".join(questionnaires),
                    },
                    {
                        "type": "Patient",
                        "operation": [
                            {
                                "name": "everything",
                                "definition": (
                                    "http://hl7.org/fhir/OperationDefinition/Patient-everything"
                                ),
                            }
                        ],
                    },
                    {
                        "type": "QuestionnaireResponse",
                        "interaction": [{"code": "create"}],
                        "documentation": (
                            "A completed response is scored by the instrument engine and may "
                            "raise safety alerts; one already stored is refused (409)."
                        ),
                    },
                ],
            }
        ],
    }
