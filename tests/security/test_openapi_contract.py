"""The OpenAPI document is the contract: schemathesis' conformance checks, signed in as each role.

One account per staff role (and no session: ``anonymous``) over a seeded SQLite clinic. For
each role, schemathesis' engine sends generated requests (valid and invalid) to every documented
operation (fuzzing phase, bounded: ``EXAMPLES`` cases per operation and mode); signed in as
admin, the one role every operation lets in, its coverage phase adds boundary values,
undocumented methods and missing headers. *All* its checks are enabled, not only "no 5xx":

* the status, content type, headers and body of every answer are the documented ones;
* a request that matches the schema is accepted (``positive_data_acceptance``), one that does
  not is refused (``negative_data_rejection``), a missing required header is refused;
* an undocumented method gets 405 with an ``Allow`` listing exactly the documented methods;
* an operation that declares the session cookie refuses a request without it (``ignored_auth``);
* plus :func:`domain_refusal_names_its_field` (below): a schema-valid request may still be
  refused with 422 by a rule JSON Schema cannot express, but then the error names the input.

Excluded, and why (each is tested on its own below, nothing is dropped silently):

* ``POST /api/v1/auth/logout`` ends the server-side session of the account, so every later
  case of that role would run signed out: :func:`test_logout_follows_the_contract`.

The time cap (``MAX_SECONDS_PER_ROLE``) is a guard, not a budget: the test fails if it is
reached, naming the operations left untested, rather than passing over them.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis import checks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.schemas import BaseSchema

from glabella.services import assessments, links, patients
from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.settings import Settings
from glabella.web.access import ALL_ROLES, ANONYMOUS, MATRIX, PUBLIC
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"
EXAMPLES = 3
"""Generated cases per operation and generation mode, per role (~4,000 requests in all; the
module takes ~45 s of CPU)."""
MAX_SECONDS_PER_ROLE = 150
"""A guard against a hung run: reaching it fails the test (see the module docstring)."""

EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/logout"): "ends the session; see test_logout_follows_the_contract",
}

POSITIVE_EXPECTED = ["2xx", "401", "403", "404", "409", "410", "422", "429"]
"""Answers to a schema-valid request: success, the access answers, a record that is not there
(404), already used (409, 410), a sign-in lock (429), or a 422 that names its field (checked
by :func:`domain_refusal_names_its_field`). Never a redirect, never a 5xx."""


def _input_names(document: dict[str, Any], method: str, path: str) -> set[str]:
    """The parameter names and top-level body properties of one documented operation."""
    operation = document["paths"][path][method.lower()]
    names = {p["name"] for p in operation.get("parameters", [])}
    for media in (operation.get("requestBody") or {}).get("content", {}).values():
        schema = media.get("schema", {})
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        names |= set(schema.get("properties", {}))
    return names


_DOCUMENT: dict[str, Any] = {}


@schemathesis.check
def domain_refusal_names_its_field(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request refused with 422 names an input of the operation in ``field``.

    The rules JSON Schema cannot express (a dose ceiling per product, a date relative to today,
    answers that depend on the instrument, a reason of at least 10 characters) are checked by
    the services; their refusal must say which input is wrong, never an anonymous 422.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if not _DOCUMENT:
        return None
    body = json.loads(response.content)
    where = body["error"]["field"]
    names = _input_names(_DOCUMENT, case.operation.method, case.operation.path)
    root = None if where is None else str(where).split(".")[0].split("[")[0]
    assert root in names, (
        f"schema-valid input refused without naming one of its inputs {sorted(names)}: "
        f"field={where!r}, message={body['error']['message']!r}"
    )
    return True


@dataclass
class RoleRun:
    role: str
    operations: set[str] = field(default_factory=set)
    requests: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stop_reason: str = ""


@dataclass
class Clinic:
    app: FastAPI
    sessions: dict[str, str | None]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Clinic]:
    """A seeded clinic (patient, assessment with an alert, a self-report link) and signed-in
    sessions: one per staff role for the run, one more per role for the sign-out test (which
    ends its user's sessions). All signed in before fuzzing: fuzzed sign-ins lock the address.
    Shared by the module's tests (creating accounts is slow: argon2)."""
    base = tmp_path_factory.mktemp("openapi-contract")
    shutil.copyfile(sqlite_template, base / "contract.db")
    db = Database.from_url(f"sqlite:///{base / 'contract.db'}")
    settings = Settings(
        data_dir=base,
        secret_key="test-secret-key-not-used-anywhere-else",
        base_url="http://testserver",
    )
    users = {
        f"{purpose}.{role}": create_user(
            db, username=f"{purpose}.{role}", full_name=role.title(), role=role, password=PASSWORD
        )[0]
        for purpose in ("contract", "logout")
        for role in ALL_ROLES
        if role != ANONYMOUS
    }
    actor = users["contract.admin"].actor("contract")
    pid = patients.create_patient(
        db,
        actor,
        patients.parse_patient_input(
            {
                "mrn": "C-1",
                "given_name": "Cora",
                "family_name": "Tract",
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
    sessions: dict[str, str | None] = {ANONYMOUS: None}
    for name in users:
        with TestClient(app) as client:
            response = client.post(
                "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            key = name.split(".", 1)[1] if name.startswith("contract.") else name
            sessions[key] = client.cookies["glabella_session"]
    try:
        yield Clinic(app, sessions)
    finally:
        db.engine.dispose()


PHASES: dict[str, dict[str, Any]] = {
    role: {
        "coverage": {
            "enabled": role == "admin",
            "unexpected-methods": ["PUT", "DELETE", "OPTIONS", "PATCH"],
            "generate-duplicate-query-parameters": False,
        }
    }
    for role in ALL_ROLES
}
"""Every role runs the fuzzing phase over every operation. The coverage phase (boundary values,
undocumented methods, missing headers: ~2,000 requests) runs signed in as admin, the one role
every operation lets in, so that its cases reach the endpoints rather than the access gate."""


def _run_role(
    app: FastAPI, role: str, cookie: str | None, only: tuple[str, str] | None = None
) -> RoleRun:
    config: dict[str, Any] = {
        "seed": 17,
        "cache": {"enabled": False},  # no state kept between runs (nor a .schemathesis/ dir)
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "checks": {
            "enabled": True,
            "positive_data_acceptance": {"expected-statuses": POSITIVE_EXPECTED},
        },
        "phases": {"stateful": {"enabled": False}, **PHASES.get(role, {})},
    }
    if cookie is not None:
        config["auth"] = {"openapi": {"session": {"api_key": cookie}}}
    schema: BaseSchema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, config=SchemathesisConfig.from_dict(config)
    )
    for method, path in EXCLUDED:
        schema = schema.exclude(method=method, path=path)
    if only is not None:
        schema = schema.include(method=only[0], path=only[1])
    run = RoleRun(role)
    started = time.monotonic()
    stream = from_schema(schema).execute()
    for event in stream:
        if time.monotonic() - started > MAX_SECONDS_PER_ROLE and not run.stop_reason:
            run.stop_reason = f"time cap of {MAX_SECONDS_PER_ROLE} s reached"
            stream.stop()
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            if recorder.interactions:
                run.operations.add(recorder.label)
            run.requests += len(recorder.interactions)
            for case_id, nodes in recorder.checks.items():
                for node in nodes:
                    if node.failure_info is None:
                        continue
                    interaction = recorder.interactions.get(case_id)
                    sent = ""
                    if interaction is not None and interaction.response is not None:
                        request = interaction.request
                        sent = (
                            f"{request.method} {request.uri} {(request.body or b'')[:200]!r}"
                            f" -> {interaction.response.status_code}"
                            f" {interaction.response.content[:200]!r}"
                        )
                    failure = node.failure_info.failure
                    problems = run.failures.setdefault(f"{recorder.label} [{node.name}]", [])
                    if len(problems) < 2:
                        problems.append(f"{failure.title}: {failure.message[:300]} | {sent}")
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.value!r}"[:500])
        elif isinstance(event, events.FatalError):
            run.errors.append(f"fatal: {event.exception!r}"[:500])
        elif isinstance(event, events.EngineFinished) and not run.stop_reason:
            run.stop_reason = str(event.stop_reason)
    run.seconds = time.monotonic() - started
    return run


def test_every_operation_keeps_the_contract_for_every_role(clinic: Clinic) -> None:
    document = clinic.app.openapi()
    _DOCUMENT.clear()
    _DOCUMENT.update(document)
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    excluded = {f"{method} {path}" for method, path in EXCLUDED}
    expected = documented - excluded
    runs = [_run_role(clinic.app, role, clinic.sessions[role]) for role in ALL_ROLES]
    report: list[str] = []
    for run in runs:
        report.append(
            f"{run.role}: {len(run.operations)} operations, {run.requests} requests, "
            f"{run.seconds:.1f} s, {run.stop_reason}"
        )
        assert run.operations == expected, (
            f"{run.role} ({run.stop_reason}): not exercised {sorted(expected - run.operations)}, "
            f"not documented {sorted(run.operations - expected)}"
        )
        assert run.stop_reason == "completed", f"{run.role}: stopped ({run.stop_reason})"
    print("\n".join(report))
    failures = {
        f"{run.role}: {label}": problems for run in runs for label, problems in run.failures.items()
    }
    errors = [f"{run.role}: {e}" for run in runs for e in run.errors]
    assert not errors, "\n".join(errors)
    assert not failures, "\n".join(
        f"{label}\n  " + "\n  ".join(problems) for label, problems in sorted(failures.items())
    )
    # Every operation of the access matrix that the document publishes was exercised 6 times.
    assert len(expected) >= 60 and all(tuple(op.split(" ", 1)) in MATRIX for op in expected), (
        sorted(op for op in expected if tuple(op.split(" ", 1)) not in MATRIX)
    )


LOGOUT_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != ANONYMOUS])
def test_logout_follows_the_contract(clinic: Clinic, role: str) -> None:
    """The operation the run excludes: refused from another site (403), then signed out (200),
    both answers as documented; afterwards the session is over (401, also documented)."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", clinic.app)
    logout = schema["/api/v1/auth/logout"]["POST"]
    me = schema["/api/v1/me"]["GET"]
    cookies = {"glabella_session": clinic.sessions[f"logout.{role}"] or ""}
    cross_site = logout.Case()
    refused = cross_site.call(cookies=cookies, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403, refused.text
    cross_site.validate_response(refused, checks=LOGOUT_CHECKS)
    signed_in = me.Case()
    still = signed_in.call(cookies=cookies)
    assert still.status_code == 200 and still.json()["username"] == f"logout.{role}"
    case = logout.Case()
    response = case.call(cookies=cookies)
    assert response.status_code == 200 and response.json() == {"signed_out": True}
    case.validate_response(response, checks=LOGOUT_CHECKS)
    after = me.Case()
    gone = after.call(cookies=cookies)
    assert gone.status_code == 401, gone.text
    after.validate_response(gone, checks=LOGOUT_CHECKS)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # A literal path beside a template: /patients/search is not patient "search".
        ("PUT", "/api/v1/patients/search", "POST"),
        ("GET", "/api/v1/patients/search", "POST"),
        # Several routes on one template: Allow lists all of them (Starlette named only one).
        ("OPTIONS", "/api/v1/patients/1", "GET, HEAD, PUT"),
        ("DELETE", "/api/v1/patients/1/assessments", "GET, HEAD, POST"),
        ("PATCH", "/api/v1/patients/1/photos", "GET, HEAD, POST, DELETE"),
        ("GET", "/api/v1/auth/logout", "POST"),
    ],
)
@pytest.mark.parametrize("role", ["researcher", ANONYMOUS])
def test_405_lists_exactly_the_methods_of_the_path(
    clinic: Clinic, method: str, path: str, allow: str, role: str
) -> None:
    """Before the access matrix: a researcher (no access to patients) and an anonymous caller
    get the same 405 as anyone, not a 403/401 or a 422 about a path parameter."""
    cookie = clinic.sessions[role]
    with TestClient(clinic.app) as client:
        if cookie is not None:
            client.cookies.set("glabella_session", cookie)
        response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "http"
    assert method in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "statuses", "body_bytes"),
    [
        # Signed-in reference data: only the access answers can go wrong.
        ("get", "/api/v1/instruments", {"200", "401", "403"}, None),
        # Sign-in: public (no 403), credentials (401), locks (429), a small body (16 KiB).
        ("post", "/api/v1/auth/login", {"200", "400", "401", "413", "422", "429"}, 16 * 1024),
        # The patient's link: no session at all; unknown (404), used or expired (410).
        (
            "post",
            "/api/v1/self-report/{token}",
            {"200", "400", "404", "410", "413", "422"},
            16 * 1024,
        ),
        # A clinical write under the 1 MiB API limit.
        (
            "post",
            "/api/v1/alerts/{alert_id}/action",
            {"200", "400", "401", "403", "404", "409", "413", "422"},
            1024 * 1024,
        ),
    ],
)
def test_each_operation_documents_exactly_its_answers(
    clinic: Clinic, method: str, path: str, statuses: set[str], body_bytes: int | None
) -> None:
    operation = clinic.app.openapi()["paths"][path][method]
    assert set(operation["responses"]) == statuses
    assert operation["responses"]["200"]["content"]
    if body_bytes is None:
        assert "x-body-limit" not in operation
    else:
        assert operation["x-body-limit"]["max_bytes"] == body_bytes
        assert f"At most {body_bytes} bytes" in operation["requestBody"]["description"]
    assert ("security" in operation) == (MATRIX[(method.upper(), path)] != PUBLIC)
