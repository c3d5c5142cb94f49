"""FHIR R4 resources -> Glabella records, for import. Pure: no I/O.

Every refusal is a :class:`FhirInputError` whose ``where`` names the element
(``QuestionnaireResponse.item[3].answer[0]``, ``Bundle.entry[2].resource.birthDate``, ...).
Scoring is not done here: the service scores parsed answers with the instrument engine, so
an imported response raises the same safety alerts as one typed in the clinic.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from glabella.clinic import instruments
from glabella.clinic.chart import (
    AdverseEventData,
    ConsentData,
    PatientData,
    SiteData,
    TreatmentData,
)
from glabella.clinic.instruments import Instrument, Item
from glabella.interop.fhir import codes
from glabella.interop.fhir.validate import FhirInputError, validate_resource

__all__ = [
    "FhirInputError",
    "ParsedResponse",
    "bundle_resources",
    "local_id",
    "parse_adverse_event",
    "parse_consent",
    "parse_patient",
    "parse_questionnaire_response",
    "parse_treatment",
]

Resource = Mapping[str, Any]

_REFERENCE = re.compile(r"^(?:.*/)?([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


@dataclass(frozen=True)
class ParsedResponse:
    """A QuestionnaireResponse mapped onto an instrument: answers by item id."""

    instrument_id: str
    answers: Mapping[str, int]
    authored: dt.datetime | None
    subject_reference: str | None
    subject_mrn: str | None
    source: str | None


def _get(resource: Resource, key: str, where: str) -> Any:
    value = resource.get(key)
    if value is None or value == "" or value == []:
        raise FhirInputError(f"{key} is required", where)
    return value


def _datetime(raw: object, where: str) -> dt.datetime:
    if not isinstance(raw, str):
        raise FhirInputError("must be a dateTime string", where)
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FhirInputError(f"{raw!r} is not a date and time", where) from None
    if value.tzinfo is None:
        raise FhirInputError(f"{raw!r} has no timezone (a time must say its offset)", where)
    return value.astimezone(dt.UTC)


def _date(raw: object, where: str) -> dt.date:
    if not isinstance(raw, str):
        raise FhirInputError("must be a date string (YYYY-MM-DD)", where)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FhirInputError(f"{raw!r} is not a full date (YYYY-MM-DD)", where) from None


def _decimal(raw: object, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise FhirInputError("must be a number", where)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise FhirInputError(f"{raw!r} is not a number", where) from None
    if not value.is_finite():
        raise FhirInputError("must be a finite number", where)
    return value


def local_id(reference: object, resource_type: str, where: str) -> str:
    """The id in ``{"reference": "<Type>/<id>"}`` (absolute URLs accepted); type checked."""
    if not isinstance(reference, Mapping) or not isinstance(reference.get("reference"), str):
        raise FhirInputError(f"must be a reference to a {resource_type}", where)
    match = _REFERENCE.match(reference["reference"])
    if match is None or match.group(1) != resource_type:
        raise FhirInputError(
            f"{reference['reference']!r} is not a reference to a {resource_type}", where
        )
    return match.group(2)


def _extensions(resource: Resource, url: str) -> list[Mapping[str, Any]]:
    found = resource.get("extension") or []
    return [e for e in found if isinstance(e, Mapping) and e.get("url") == url]


def _extension_value(resource: Resource, url: str, key: str, where: str) -> Any:
    found = _extensions(resource, url)
    if not found or key not in found[0]:
        raise FhirInputError(f"extension {url} ({key}) is required", f"{where}.extension")
    return found[0][key]


def _optional_extension(resource: Resource, url: str, key: str) -> Any:
    found = _extensions(resource, url)
    return found[0].get(key) if found else None


def _codes(concept: object, system: str) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    return [
        str(c["code"])
        for c in concept.get("coding") or []
        if isinstance(c, Mapping) and c.get("system") == system and c.get("code") is not None
    ]


def _one_code(concept: object, system: str, where: str) -> str:
    found = _codes(concept, system)
    if not found:
        raise FhirInputError(f"needs a coding from {system}", where)
    return found[0]


# --- QuestionnaireResponse ----------------------------------------------------------------


def _instrument_for(canonical: object, where: str) -> Instrument:
    if not isinstance(canonical, str) or not canonical.strip():
        raise FhirInputError(
            "questionnaire is required (the canonical URL of the questionnaire answered)", where
        )
    url = canonical.split("|", 1)[0].rstrip("/")
    for instrument in instruments.all_instruments():
        accepted = {
            codes.questionnaire_url(instrument.id),
            f"Questionnaire/{instrument.id}",
        }
        if instrument.loinc_panel:
            accepted.add(f"http://loinc.org/q/{instrument.loinc_panel}")
        if url in accepted:
            return instrument
    known = ", ".join(
        f"{codes.questionnaire_url(i.id)}"
        + (f" or http://loinc.org/q/{i.loinc_panel}" if i.loinc_panel else "")
        for i in instruments.all_instruments()
    )
    raise FhirInputError(f"questionnaire {canonical!r} is not a known instrument ({known})", where)


def _walk_items(items: object, where: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every item, nested groups flattened, with its location."""
    if items is None:
        return
    if not isinstance(items, list):
        raise FhirInputError("must be a list", where)
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            raise FhirInputError("must be an object", here)
        yield item, here
        yield from _walk_items(item.get("item"), f"{here}.item")


def _match_item(instrument: Instrument, link_id: str) -> Item | None:
    bare = link_id.lstrip("/")
    for item in instrument.items:
        if bare == item.id or (item.loinc is not None and bare == item.loinc):
            return item
    return None


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def _answer_value(instrument: Instrument, item: Item, answer: Mapping[str, Any], where: str) -> int:
    allowed = "; ".join(f"{o.value} = {o.label}" for o in item.options)
    by_label = {_normal(o.label): o.value for o in item.options}
    if "valueInteger" in answer:
        value = answer["valueInteger"]
        if not isinstance(value, int) or isinstance(value, bool):
            raise FhirInputError("valueInteger must be a whole number", where)
        return value
    if "valueDecimal" in answer:
        number = _decimal(answer["valueDecimal"], f"{where}.valueDecimal")
        if number != number.to_integral_value():
            raise FhirInputError(f"{number} is not a whole number", f"{where}.valueDecimal")
        return int(number)
    if "valueString" in answer:
        text = answer["valueString"]
        if isinstance(text, str) and _normal(text) in by_label:
            return by_label[_normal(text)]
        raise FhirInputError(f"{text!r} is not one of the options ({allowed})", where)
    coding = answer.get("valueCoding")
    if isinstance(coding, Mapping):
        code, system = coding.get("code"), coding.get("system")
        if system == codes.options_system(instrument.id):
            try:
                return int(str(code))
            except ValueError:
                raise FhirInputError(
                    f"code {code!r} is not a score", f"{where}.valueCoding"
                ) from None
        for ext in coding.get("extension") or []:
            if isinstance(ext, Mapping) and ext.get("url") == codes.ORDINAL_VALUE:
                number = _decimal(ext.get("valueDecimal"), f"{where}.valueCoding.extension")
                if number == number.to_integral_value():
                    return int(number)
        display = coding.get("display")
        if isinstance(display, str) and _normal(display) in by_label:
            return by_label[_normal(display)]
        raise FhirInputError(
            f"coding {system}|{code} ({display!r}) matches no option: give the option's score "
            f"(valueInteger, or an ordinalValue extension) or its exact label ({allowed})",
            f"{where}.valueCoding",
        )
    raise FhirInputError(
        "answer needs valueCoding, valueInteger, valueDecimal or valueString", where
    )


def parse_questionnaire_response(
    resource: object, where: str = "QuestionnaireResponse"
) -> ParsedResponse:
    """Validate a QuestionnaireResponse and map its answers onto the instrument's items.

    Items are matched by ``linkId``: Glabella's item ids (``phq9_9``) or the item's LOINC
    code (``44260-8`` or ``/44260-8``, the LOINC questionnaire convention). An item carrying
    the instrument's LOINC total code is skipped: Glabella scores the answers itself.
    """
    validate_resource(resource, where)
    assert isinstance(resource, Mapping)
    if resource.get("resourceType") != "QuestionnaireResponse":
        raise FhirInputError(
            f"expected a QuestionnaireResponse, got {resource.get('resourceType')!r}", where
        )
    status = resource.get("status")
    if status not in ("completed", "amended"):
        raise FhirInputError(
            f"status {status!r}: only a completed (or amended) response can be scored",
            f"{where}.status",
        )
    instrument = _instrument_for(resource.get("questionnaire"), f"{where}.questionnaire")
    answers: dict[str, int] = {}
    seen: dict[str, str] = {}
    for item, here in _walk_items(resource.get("item"), f"{where}.item"):
        link_id = str(item.get("linkId", ""))
        raw_answers = item.get("answer") or []
        if not raw_answers:
            continue
        if instrument.loinc_total and link_id.lstrip("/") == instrument.loinc_total:
            continue
        matched = _match_item(instrument, link_id)
        if matched is None:
            items = ", ".join(i.id for i in instrument.items)
            raise FhirInputError(
                f"linkId {link_id!r} is not an item of {instrument.short_name} ({items})",
                f"{here}.linkId",
            )
        if matched.id in seen:
            raise FhirInputError(
                f"{matched.id} is answered twice (also at {seen[matched.id]})", here
            )
        if len(raw_answers) != 1:
            raise FhirInputError(f"{matched.id} needs exactly one answer", f"{here}.answer")
        seen[matched.id] = here
        answers[matched.id] = _answer_value(
            instrument, matched, raw_answers[0], f"{here}.answer[0]"
        )
    if not answers:
        raise FhirInputError("no answered items", f"{where}.item")
    authored = resource.get("authored")
    subject = resource.get("subject")
    subject_reference = subject.get("reference") if isinstance(subject, Mapping) else None
    subject_mrn = None
    if isinstance(subject, Mapping) and isinstance(subject.get("identifier"), Mapping):
        subject_mrn = subject["identifier"].get("value")
    tags = _codes({"coding": (resource.get("meta") or {}).get("tag") or []}, codes.SOURCE_SYSTEM)
    return ParsedResponse(
        instrument_id=instrument.id,
        answers=answers,
        authored=None if authored is None else _datetime(authored, f"{where}.authored"),
        subject_reference=subject_reference if isinstance(subject_reference, str) else None,
        subject_mrn=subject_mrn if isinstance(subject_mrn, str) else None,
        source=tags[0] if tags else None,
    )


# --- the other resources of a Glabella bundle ----------------------------------------------


def parse_patient(resource: Resource, where: str) -> PatientData:
    """Demographics: an MRN identifier, family and given name, birth date and gender."""
    identifiers = resource.get("identifier") or []
    mrn = next(
        (i.get("value") for i in identifiers if i.get("system") == codes.MRN_SYSTEM), None
    ) or next((i.get("value") for i in identifiers if i.get("value")), None)
    if not mrn:
        raise FhirInputError("an identifier (the MRN) is required", f"{where}.identifier")
    names = _get(resource, "name", where)
    family = names[0].get("family")
    given = names[0].get("given") or []
    if not family or not given:
        raise FhirInputError("family and given name are required", f"{where}.name[0]")
    telecom = {t.get("system"): t.get("value") for t in resource.get("telecom") or []}
    return PatientData(
        id=0,
        mrn=str(mrn),
        given_name=str(given[0]),
        family_name=str(family),
        date_of_birth=_date(_get(resource, "birthDate", where), f"{where}.birthDate"),
        sex=str(resource.get("gender") or "unknown"),
        phone=telecom.get("phone"),
        email=telecom.get("email"),
    )


def parse_consent(resource: Resource, where: str) -> ConsentData:
    """A signed consent exported by Glabella (text version, SHA-256 and signature required)."""
    policies = resource.get("policy") or []
    uri = policies[0].get("uri") if policies else None
    prefix = f"{codes.BASE}/consent-text/"
    if not isinstance(uri, str) or not uri.startswith(prefix):
        raise FhirInputError(f"policy[0].uri must be {prefix}<version>", f"{where}.policy")
    return ConsentData(
        id=0,
        patient_id=0,
        version=uri.removeprefix(prefix),
        text_sha256=str(_extension_value(resource, codes.EXT_TEXT_SHA256, "valueString", where)),
        signed_at=_datetime(_get(resource, "dateTime", where), f"{where}.dateTime"),
        signed_name=str(_extension_value(resource, codes.EXT_SIGNED_NAME, "valueString", where)),
    )


def _units(quantity: object, product_id: str, where: str) -> Decimal:
    """Units from a dose Quantity, refused unless its code names the same product."""
    if not isinstance(quantity, Mapping):
        raise FhirInputError("a dose quantity is required", where)
    expected = f"{product_id}-unit"
    if quantity.get("system") != codes.TOXIN_UNIT_SYSTEM or quantity.get("code") != expected:
        raise FhirInputError(
            f"units must be coded {codes.TOXIN_UNIT_SYSTEM}|{expected}: units of one product "
            "are never read as units of another",
            where,
        )
    return _decimal(quantity.get("value"), f"{where}.value")


def _ml(quantity: object, where: str) -> Decimal:
    if not isinstance(quantity, Mapping) or quantity.get("code") != "mL":
        raise FhirInputError("a volume in mL (UCUM code mL) is required", where)
    return _decimal(quantity.get("value"), f"{where}.value")


def parse_treatment(
    procedure: Resource,
    administrations: Sequence[tuple[Resource, str]],
    where: str,
) -> tuple[TreatmentData, str]:
    """A Procedure and its per-site MedicationAdministrations -> a treatment and its consent id.

    The product comes from ``Procedure.usedCode``; each site's dose must be coded in that
    product's units, and the sites must add up to the Procedure's total dose.
    """
    products = _codes((procedure.get("usedCode") or [{}])[0], codes.PRODUCT_SYSTEM)
    if not products:
        raise FhirInputError("usedCode must name the BoNT-A product", f"{where}.usedCode")
    product_id = products[0]
    consent_ref = _extension_value(procedure, codes.EXT_CONSENT, "valueReference", where)
    consent_id = local_id(consent_ref, "Consent", f"{where}.extension")
    total = _units(
        _extension_value(procedure, codes.EXT_TOTAL_DOSE, "valueQuantity", where),
        product_id,
        f"{where}.extension(total-dose)",
    )
    exceeds = _extension_value(procedure, codes.EXT_EXCEEDS_LABEL, "valueBoolean", where)
    if not administrations:
        raise FhirInputError("no MedicationAdministration is partOf this Procedure", where)
    sites: list[SiteData] = []
    lot: tuple[str, dt.date, Decimal, Decimal] | None = None
    for admin, here in administrations:
        dosage = _get(admin, "dosage", here)
        site_codes = _codes(dosage.get("site"), codes.SITE_SYSTEM)
        if not site_codes:
            raise FhirInputError("dosage.site must name the injection site", f"{here}.dosage.site")
        units = _units(dosage.get("dose"), product_id, f"{here}.dosage.dose")
        volume = _ml(
            _extension_value(dosage, codes.EXT_VOLUME, "valueQuantity", f"{here}.dosage"),
            f"{here}.dosage.extension",
        )
        sites.append(SiteData(site_codes[0], units, volume))
        contained = [
            c for c in admin.get("contained") or [] if c.get("resourceType") == "Medication"
        ]
        if not contained:
            raise FhirInputError("the contained Medication (lot, vial) is missing", here)
        medication = contained[0]
        if _codes(medication.get("code"), codes.PRODUCT_SYSTEM) != [product_id]:
            raise FhirInputError(
                f"the Medication is not {product_id}, the Procedure's product", f"{here}.contained"
            )
        batch = _get(medication, "batch", f"{here}.contained[0]")
        strength = _get(medication, "ingredient", f"{here}.contained[0]")[0].get("strength", {})
        this_lot = (
            str(_get(batch, "lotNumber", f"{here}.contained[0].batch")),
            _date(batch.get("expirationDate"), f"{here}.contained[0].batch.expirationDate"),
            _units(strength.get("numerator"), product_id, f"{here}.contained[0].strength"),
            _ml(strength.get("denominator"), f"{here}.contained[0].strength.denominator"),
        )
        if lot is not None and this_lot != lot:
            raise FhirInputError("all sites of one treatment must use the same vial", here)
        lot = this_lot
    assert lot is not None
    if sum((s.units for s in sites), Decimal(0)) != total:
        raise FhirInputError(
            f"the sites add up to {sum(s.units for s in sites)} U but the total dose is {total} U",
            f"{where}.extension(total-dose)",
        )
    performers = procedure.get("performer") or [{}]
    notes = procedure.get("note") or []
    return (
        TreatmentData(
            id=0,
            patient_id=0,
            treated_at=_datetime(
                _get(procedure, "performedDateTime", where), f"{where}.performedDateTime"
            ),
            injector_name=str(performers[0].get("actor", {}).get("display") or "unknown"),
            product_id=product_id,
            protocol_id=_optional_extension(procedure, codes.EXT_PROTOCOL, "valueString"),
            lot_number=lot[0],
            lot_expiry=lot[1],
            vial_units=lot[2],
            saline_ml=lot[3],
            total_units=total,
            exceeds_label_dose=bool(exceeds),
            consent_id=0,
            sites=tuple(sites),
            notes=notes[0].get("text") if notes else None,
        ),
        consent_id,
    )


def parse_adverse_event(resource: Resource, where: str) -> tuple[AdverseEventData, str | None]:
    """An adverse event and the local id of the suspected Procedure (if any)."""
    event = _get(resource, "event", where)
    grades = _codes(resource.get("severity"), codes.CTCAE_GRADE_SYSTEM)
    outcome_codes = _codes(resource.get("outcome"), codes.AE_OUTCOME)
    outcome = None
    if outcome_codes:
        if outcome_codes[0] not in codes.AE_OUTCOME_FROM_FHIR:
            raise FhirInputError(f"unknown outcome {outcome_codes[0]!r}", f"{where}.outcome")
        outcome = codes.AE_OUTCOME_FROM_FHIR[outcome_codes[0]]
    suspects = resource.get("suspectEntity") or []
    treatment_ref = (
        local_id(suspects[0].get("instance"), "Procedure", f"{where}.suspectEntity[0].instance")
        if suspects
        else None
    )
    reported_by = _optional_extension(resource, codes.EXT_REPORTED_BY, "valueCode") or "staff"
    return (
        AdverseEventData(
            id=0,
            patient_id=0,
            treatment_id=None,
            type=_one_code(event, codes.AE_TYPE_SYSTEM, f"{where}.event"),
            description=str(event.get("text") or ""),
            onset=_datetime(_get(resource, "date", where), f"{where}.date"),
            grade=int(grades[0]) if grades else None,
            seriousness=tuple(
                str(e.get("valueCode"))
                for e in _extensions(resource, codes.EXT_SERIOUSNESS_CRITERION)
            ),
            relatedness=_optional_extension(resource, codes.EXT_RELATEDNESS, "valueCode"),
            action=_optional_extension(resource, codes.EXT_AE_ACTION, "valueCode"),
            outcome=outcome,
            reported_by=str(reported_by),
            recorded_at=_datetime(
                resource.get("recordedDate") or resource.get("date"), f"{where}.recordedDate"
            ),
        ),
        treatment_ref,
    )


def bundle_resources(document: object) -> list[tuple[Resource, str]]:
    """The validated resources of a Bundle (or a single resource), each with its location."""
    if not isinstance(document, Mapping):
        raise FhirInputError("a FHIR document must be a JSON object", "document")
    if document.get("resourceType") != "Bundle":
        validate_resource(document)
        return [(document, str(document.get("resourceType")))]
    kind = document.get("type")
    if kind not in ("collection", "searchset", "batch", "transaction"):
        raise FhirInputError(
            f"bundle type {kind!r} cannot be imported (collection or searchset)", "Bundle.type"
        )
    out = []
    for index, entry in enumerate(document.get("entry") or []):
        where = f"Bundle.entry[{index}].resource"
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        validate_resource(resource, where)
        assert isinstance(resource, Mapping)
        out.append((resource, where))
    return out
