"""Fuzzing: the whole OpenAPI schema with schemathesis, and every input parser with hypothesis.

Schema fuzzing signs in as an admin (the widest role) over a seeded clinic, then sends
generated requests - valid ones and deliberately invalid ones (schemathesis' negative mode) -
to every operation the app publishes, on both database backends. Every answer must be: no
5xx, a status the schema documents, the documented content type, and a body matching the
documented schema. A new route is fuzzed without anyone touching this file.

Parser fuzzing: arbitrary input to each parser either parses, or raises the parser's own
error type naming what is wrong (never another exception, never a crash).
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Ok

from glabella.clinic import instruments
from glabella.evidence.effects import MEASURES
from glabella.interop.csvinput import CSVInputError, parse_csv, prepare
from glabella.services import assessments, links, patients, screening
from glabella.services.context import Database
from glabella.services.errors import Invalid, ServiceError
from glabella.services.users import create_user
from glabella.settings import Settings
from glabella.web.app import create_app
from glabella.web.forms import answers_from_form
from reliability_figures import record_figures

PASSWORD = "correct horse battery staple"
EXAMPLES_PER_OPERATION = 15
"""Per operation and generation mode (valid / invalid), per backend (budget: ~20 s in all)."""

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@dataclass
class FuzzRun:
    requests: int = 0
    operations: int = 0
    failures: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def signed_in_app(settings: Settings, db: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app over a seeded clinic (patient 1 with an assessment, alert and link) + a session."""
    admin, _ = create_user(
        db, username="fuzz.admin", full_name="F", role="admin", password=PASSWORD
    )
    actor = admin.actor("fuzz")
    pid = patients.create_patient(
        db,
        actor,
        patients.parse_patient_input(
            {
                "mrn": "F-1",
                "given_name": "Fay",
                "family_name": "Zed",
                "date_of_birth": "1980-01-01",
                "sex": "female",
            }
        ),
    ).id
    assessments.submit_assessment(
        db, actor, pid, "phq9", {f"phq9_{i}": (1 if i == 9 else 0) for i in range(1, 10)}
    )
    links.create_link(db, actor, pid, ["phq9"], valid_hours=24)
    app = create_app(settings, db)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/auth/login", json={"username": "fuzz.admin", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        yield client, {"glabella_session": client.cookies["glabella_session"]}


def _fuzz_operation(operation: Any, cookies: dict[str, str], run: FuzzRun) -> None:
    """Valid and invalid generated requests to one operation; the first failure is kept."""
    label = f"{operation.method.upper()} {operation.path}"
    strategy = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE) | (
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    )

    @given(case=strategy)
    @settings(
        max_examples=2 * EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        if label in run.failures:
            return
        run.requests += 1
        response = case.call(cookies=cookies)
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # one report per operation
            run.failures[label] = str(exc)[:1500]

    fuzz()


def test_schemathesis_over_the_whole_api(
    signed_in_app: tuple[TestClient, dict[str, str]], request: pytest.FixtureRequest
) -> None:
    client, cookies = signed_in_app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    run = FuzzRun()
    for result in schema.get_all_operations():
        run.operations += 1
        assert isinstance(result, Ok), result  # every documented operation can be loaded
        _fuzz_operation(result.ok(), cookies, run)
    # Signing out (a fuzzed /auth/logout) ends nothing server-side that later cases need: the
    # cookie is re-sent on each call. The count is the evidence the fuzzer reached everything.
    assert run.operations >= 40
    record_figures(
        f"fuzzing-api-{request.node.callspec.params['db']}",
        {
            "operations fuzzed": run.operations,
            "requests sent": run.requests,
            "server errors or schema violations": len(run.failures),
        },
    )
    assert run.failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in run.failures.items())


# --- parsers ----------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, database=None)

csv_cells = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "NA", "1", "0", "-1", "2.5", "1e308", "inf", "nan", '"', "x,y"]),
    st.integers(-5, 300).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
csv_columns = st.sampled_from(
    ["study", "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "yi", "vi", "x"]
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.text(max_size=200))
    header = draw(st.lists(csv_columns, min_size=1, max_size=7))
    rows = draw(st.lists(st.lists(csv_cells, min_size=0, max_size=len(header) + 1), max_size=6))
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


@FUZZ
@given(text=csv_texts(), measure=st.sampled_from([*MEASURES, "XX"]))
def test_evidence_csv_parser_fails_only_with_a_named_error(text: str, measure: str) -> None:
    try:
        table = parse_csv(text)
        prepared = prepare(table, measure)
    except CSVInputError as exc:
        assert str(exc)
        return
    assert prepared is not None and table.k >= 1


patient_values = st.one_of(
    st.none(),
    st.text(max_size=130),
    st.integers(),
    st.floats(allow_nan=True),
    st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat),
    st.sampled_from(["female", "MALE ", "x@y.org", "2999-01-01", "1899-12-31", ""]),
    st.lists(st.text(max_size=3), max_size=2),
)
patient_keys = st.sampled_from(
    ["mrn", "given_name", "family_name", "date_of_birth", "sex", "phone", "email", "extra"]
)


@FUZZ
@given(data=st.dictionaries(patient_keys, patient_values, max_size=8))
def test_patient_input_parser_fails_only_with_a_named_error(data: dict[str, object]) -> None:
    try:
        parsed = patients.parse_patient_input(data)
    except Invalid as exc:
        # the message starts with the field as a person reads it ("date of birth: ...")
        field = patients.PatientInput.model_fields.get(str(exc.field))
        label = field.title if field is not None and field.title else exc.field
        assert exc.field and label and exc.message.startswith(f"{label}:"), exc.message
        return
    assert parsed.mrn.strip() == parsed.mrn and parsed.sex in patients.SEXES
    assert parsed.date_of_birth <= dt.date.today()


INSTRUMENTS = instruments.all_instruments()


@st.composite
def answer_sets(draw: st.DrawFn) -> tuple[str, dict[str, int]]:
    instrument = draw(st.sampled_from(INSTRUMENTS))
    item_ids = [i.id for i in instrument.items]
    keys = st.one_of(st.sampled_from(item_ids), st.text(max_size=10))
    values = st.one_of(st.integers(-3, 12), st.integers())
    return instrument.id, draw(st.dictionaries(keys, values, max_size=len(item_ids) + 2))


@FUZZ
@given(case=answer_sets())
def test_instrument_answers_score_or_fail_naming_the_item(case: tuple[str, dict[str, int]]) -> None:
    instrument_id, answers = case
    try:
        scored = assessments.score_answers(instrument_id, answers)
    except Invalid as exc:
        assert exc.field and exc.message
        return
    # Accepted answers score within the instrument's own range.
    instrument = instruments.get(instrument_id)
    assert dict(scored.answers).keys() <= {i.id for i in instrument.items}
    assert instrument.min_total <= scored.total <= instrument.max_total


form_values = st.one_of(
    st.text(max_size=6), st.integers(-2, 9).map(str), st.sampled_from(["", " 1", "١", "9" * 5000])
)


@FUZZ
@given(
    form=st.dictionaries(
        st.one_of(
            st.sampled_from([f"phq9__phq9_{i}" for i in range(1, 10)]),
            st.text(alphabet=string.ascii_lowercase + "_", max_size=12),
        ),
        form_values,
        max_size=12,
    )
)
def test_form_answers_parser_fails_only_with_a_named_error(form: dict[str, str]) -> None:
    phq9 = instruments.get("phq9")
    try:
        parsed = answers_from_form([phq9], form)
    except Invalid as exc:
        assert exc.field is not None and "PHQ-9 question" in exc.message
        return
    assert set(parsed) == {"phq9"} and all(isinstance(v, int) for v in parsed["phq9"].values())


screening_keys = st.sampled_from(
    [
        "prior_bont_reaction",
        "infection_or_inflammation_at_sites",
        "pregnant",
        "breastfeeding",
        "bont_last_12_weeks",
        "prior_eyelid_ptosis",
        "psychotic_symptoms_current",
        "psychotic_disorder_history",
        "phq9_item9",
        "mdq_positive",
        "last_bont_date",
    ]
)
screening_values = st.one_of(
    st.sampled_from(["yes", "no", "unsure", "", "0", "3", "4", "-1", "2026-13-01", "2020-01-01"]),
    st.text(max_size=8),
    st.integers(),
    st.none(),
)


@FUZZ
@given(data=st.dictionaries(screening_keys, screening_values, max_size=11))
def test_screening_answers_parser_fails_only_with_a_named_error(data: dict[str, Any]) -> None:
    try:
        parsed = screening.parse_screening_answers(data)
    except ServiceError as exc:
        assert exc.status_code == 422 and exc.field and exc.message
        return
    assert parsed is not None


@pytest.mark.parametrize("number", [2**31 + 1, 2**63 + 1, 10**30])
def test_an_id_too_large_for_the_database_is_a_clear_422(
    signed_in_app: tuple[TestClient, dict[str, str]], number: int
) -> None:
    """Found by the schema fuzzer: a huge id used to crash the query (500); now it is refused
    (PostgreSQL's INTEGER overflows at 2**31, SQLite's at 2**63, Python's int never)."""
    client, _ = signed_in_app
    for path in (f"/api/v1/patients/{number}", f"/api/v1/assessments/{number}"):
        response = client.get(path)
        assert response.status_code in (404, 422), (path, response.text)
        if response.status_code == 422:
            assert "out of range" in response.json()["error"]["message"]
    page = client.get(f"/patients/{number}")
    assert page.status_code in (404, 422) and "something went wrong" not in page.text
