"""The QuestionnaireResponse parser never crashes: any input is parsed or refused by name."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fhir_import import foreign_phq9

from glabella.interop.fhir.parse import FhirInputError, parse_questionnaire_response

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 30) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = ["status", "questionnaire", "subject", "authored", "item", "meta", "resourceType"]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    key=st.sampled_from(KEYS),
    value=json_values,
    item=st.integers(0, 9),
    answer_value=json_values,
)
def test_mutated_responses_are_parsed_or_refused_naming_where(
    key: str, value: Any, item: int, answer_value: Any
) -> None:
    resource: dict[str, Any] = copy.deepcopy(foreign_phq9([1, 0, 2, 3, 0, 1, 2, 0, 1]))
    resource[key] = value
    if key != "item":
        resource["item"][item]["answer"] = [{"valueCoding": answer_value}]
    try:
        parsed = parse_questionnaire_response(resource)
    except FhirInputError as exc:
        assert exc.where.startswith("QuestionnaireResponse")
        assert exc.message
    else:
        assert parsed.instrument_id == "phq9"
        assert all(isinstance(v, int) for v in parsed.answers.values())
