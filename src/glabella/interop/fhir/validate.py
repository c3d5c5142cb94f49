"""Structural validation of FHIR resources with ``fhir.resources`` (R4B models).

``fhir.resources`` 8.x ships FHIR R5 as its default package and R4B (4.3.0) as
``fhir.resources.R4B``; no release that works with pydantic 2 ships R4 (4.0.1) itself (R4 was
the default of 5.x, built on pydantic 1). R4B changed none of the resources used here
(Patient, Questionnaire, QuestionnaireResponse, Observation, Procedure,
MedicationAdministration, Medication, AdverseEvent, Consent, Bundle), so the R4B models check
the R4 shape of these resources. The mapping uses only R4 elements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

__all__ = ["FhirInputError", "validate_resource"]

SUPPORTED = frozenset(
    {
        "Bundle",
        "Patient",
        "Questionnaire",
        "QuestionnaireResponse",
        "Observation",
        "Procedure",
        "MedicationAdministration",
        "AdverseEvent",
        "Consent",
    }
)


class FhirInputError(ValueError):
    """A FHIR document that cannot be used: ``where`` is a FHIRPath-like location."""

    def __init__(self, message: str, where: str) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}")


def _location(where: str, loc: tuple[int | str, ...]) -> str:
    out = where
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_resource(resource: object, where: str = "") -> None:
    """Refuse (``FhirInputError`` naming the element) what the R4B model of the type refuses."""
    if not isinstance(resource, Mapping):
        raise FhirInputError("a FHIR resource must be a JSON object", where or "resource")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise FhirInputError("resourceType is missing", where or "resource")
    label = where or resource_type
    if resource_type not in SUPPORTED:
        raise FhirInputError(
            f"resourceType {resource_type!r} is not supported "
            f"(supported: {', '.join(sorted(SUPPORTED))})",
            label,
        )
    model = get_fhir_model_class(resource_type)
    data: dict[str, Any] = dict(resource)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if p != "__root__")
        raise FhirInputError(
            f"not a valid {resource_type}: {first['msg']}", _location(label, loc)
        ) from None
    except ValueError as exc:  # fhir.resources raises plain ValueError for some checks
        raise FhirInputError(f"not a valid {resource_type}: {exc}", label) from None
