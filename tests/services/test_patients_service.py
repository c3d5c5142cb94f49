"""Patient register use cases on a real (temporary) SQLite database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from glabella.services import patients as svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Forbidden, Invalid, NotFound
from glabella.store.models import AuditEvent, Patient


def _input(**overrides: object) -> svc.PatientInput:
    data: dict[str, object] = {
        "mrn": "MRN-001",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "date_of_birth": "1985-12-10",
        "sex": "female",
        "phone": "",
        "email": "ada@example.org",
    }
    data.update(overrides)
    return svc.parse_patient_input(data)


def test_create_and_get_patient_records_audit(db: Database, actor: Actor) -> None:
    created = svc.create_patient(db, actor, _input())
    fetched = svc.get_patient(db, actor, created.id)
    assert fetched.display_name == "Lovelace, Ada"
    assert fetched.date_of_birth == dt.date(1985, 12, 10)
    assert fetched.phone is None
    with db.transaction() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "patient.create" in actions and "patient.view" in actions


def test_duplicate_mrn_is_refused_and_nothing_changes(db: Database, actor: Actor) -> None:
    svc.create_patient(db, actor, _input())
    with pytest.raises(Conflict, match="MRN 'MRN-001' is already registered"):
        svc.create_patient(db, actor, _input(given_name="Someone", family_name="Else"))
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 1


def test_update_to_a_taken_mrn_is_refused(db: Database, actor: Actor) -> None:
    svc.create_patient(db, actor, _input())
    other = svc.create_patient(db, actor, _input(mrn="MRN-002"))
    with pytest.raises(Conflict):
        svc.update_patient(db, actor, other.id, _input(mrn="MRN-001"))
    assert svc.get_patient(db, actor, other.id).mrn == "MRN-002"


def test_update_changes_fields(db: Database, actor: Actor) -> None:
    p = svc.create_patient(db, actor, _input())
    svc.update_patient(db, actor, p.id, _input(phone="+44 20 7946 0000"))
    assert svc.get_patient(db, actor, p.id).phone == "+44 20 7946 0000"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sex", "robot", "sex: must be one of female, male, other, unknown"),
        ("date_of_birth", "2999-01-01", "date of birth: is in the future (2999-01-01)"),
        (
            "date_of_birth",
            "10/12/1985",
            'date of birth: must be a date written YYYY-MM-DD, not the text "10/12/1985"',
        ),
        ("date_of_birth", "2023-02-30", "date of birth: is not a real date (2023-02-30)"),
        ("email", "not-an-email", "email"),
        ("mrn", "", "MRN: must not be empty"),
    ],
)
def test_bad_patient_input_names_the_field(field: str, value: str, message: str) -> None:
    with pytest.raises(Invalid) as info:
        _input(**{field: value})
    assert message in info.value.message
    assert info.value.field == field


def test_search_by_name_mrn_and_dob(db: Database, actor: Actor) -> None:
    svc.create_patient(db, actor, _input())
    svc.create_patient(
        db,
        actor,
        _input(mrn="X-9", given_name="Alan", family_name="Turing", date_of_birth="1912-06-23"),
    )
    assert [p.family_name for p in svc.search_patients(db, actor, "turi")] == ["Turing"]
    assert [p.mrn for p in svc.search_patients(db, actor, "mrn-0")] == ["MRN-001"]
    assert [p.family_name for p in svc.search_patients(db, actor, "1912-06-23")] == ["Turing"]
    assert len(svc.search_patients(db, actor, "")) == 2
    assert svc.search_patients(db, actor, "nobody") == []


def test_missing_patient_is_not_found(db: Database, actor: Actor) -> None:
    with pytest.raises(NotFound, match="no patient with id 999"):
        svc.get_patient(db, actor, 999)


def test_researcher_cannot_register_patients(db: Database, make_user: Any) -> None:
    researcher = make_user("res", "researcher").actor()
    with pytest.raises(Forbidden):
        svc.create_patient(db, researcher, _input())
