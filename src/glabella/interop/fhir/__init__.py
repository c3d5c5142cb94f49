"""FHIR R4 exchange: the chart's records (:mod:`glabella.clinic.chart`) <-> FHIR resources.

Pure mapping, no I/O.

* :mod:`.export`: instruments, patients, assessments, treatments, adverse events, consents
  -> Questionnaire, Patient, QuestionnaireResponse + Observation, Procedure +
  MedicationAdministration, AdverseEvent, Consent, Bundle.
* :mod:`.parse`: FHIR resources -> records for import, with errors naming the element.
* :mod:`.validate`: structural validation with ``fhir.resources`` (R4B models; see there).
* :mod:`.codes`: code systems and extension URLs.

The service layer (:mod:`glabella.services.fhir`) reads the store through the chart read model
(:mod:`glabella.services.chart`) and writes imports back.
"""

from __future__ import annotations

from glabella.interop.fhir.validate import FhirInputError, validate_resource

__all__ = ["FhirInputError", "validate_resource"]
