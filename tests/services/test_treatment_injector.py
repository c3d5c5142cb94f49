"""Who injected and when: the treatment record's injector and time (issue 16, item 5).

The injector is chosen from the clinic's active clinicians and nurses (README: the nurse is
the injector, the clinician the prescriber); the signed-in user is the default only when they
may inject. An earlier time needs a reason and still passes every interval check.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from builders import new_patient, safe_screening, screen, sign_consent, treat
from glabella.services import consent as consent_svc
from glabella.services import screening as screening_svc
from glabella.services import staff as staff_svc
from glabella.services import treatments as treatment_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.users import create_user
from glabella.store.models import AuditEvent
from glabella.store.pathway import Treatment

START = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # Europe/London is GMT (UTC+0) then

SAFE = safe_screening()
SITES = {"procerus": "4", "corrugator_medial_right": "4", "corrugator_medial_left": "4"}


@pytest.fixture
def clock(db: Database) -> dict[str, dt.datetime]:
    state = {"now": START}
    db.clock = lambda: state["now"]
    return state


def _ready_patient(db: Database, actor: Actor, mrn: str = "INJ-1") -> tuple[int, int]:
    pid = new_patient(
        db, actor, mrn=mrn, given_name="Ina", family_name="Jector", date_of_birth="1979-03-03"
    )
    screen(db, actor, pid, SAFE)
    return pid, sign_consent(db, actor, pid, "Ina Jector")


def _treat(db: Database, actor: Actor, pid: int, consent_id: int, **changes: Any) -> Any:
    return treat(db, actor, pid, consent_id, lot_number="L1", sites=dict(SITES), **changes)


def _staff(db: Database, username: str, full_name: str, role: str, **kw: Any) -> int:
    user, _ = create_user(db, username=username, full_name=full_name, role=role, **kw)
    return user.id


def test_choices_are_the_clinics_active_clinicians_and_nurses(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    nurse = _staff(db, "nurse.frost", "Nurse Ada Frost", "nurse")
    _staff(db, "desk", "Desk Person", "receptionist")
    _staff(db, "boss", "Admin Person", "admin")
    gone = _staff(db, "nurse.gone", "Nurse Gone", "nurse")
    _staff(db, "dr.far", "Dr Far Away", "clinician", clinic="Far Clinic")
    admin = Actor(None, "cli", "admin", actor.clinic_id)
    staff_svc.set_active(db, admin, gone, False)
    choices = treatment_svc.injector_choices(db, actor)
    # By name: "Dr.Rivera" (the conftest clinician) sorts before "Nurse Ada Frost".
    assert [(c.full_name, c.role_label) for c in choices] == [
        ("Dr.Rivera", "Clinician"),
        ("Nurse Ada Frost", "Nurse"),
    ]
    assert treatment_svc.default_injector(actor, choices) == actor.user_id
    assert treatment_svc.default_injector(admin, choices) is None
    assert nurse in {c.id for c in choices}


def test_default_is_the_signed_in_clinician_with_their_full_name(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid, consent_id = _ready_patient(db, actor)
    view = _treat(db, actor, pid, consent_id)
    assert view.injector_id == actor.user_id
    assert view.injector_name == "Dr.Rivera"  # the full name, not the username dr.rivera
    assert view.to_dict()["injector_id"] == actor.user_id


def test_a_nurse_chosen_by_the_clinician_is_stored_and_audited(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    nurse = _staff(db, "nurse.frost", "Nurse Ada Frost", "nurse")
    pid, consent_id = _ready_patient(db, actor)
    view = _treat(db, actor, pid, consent_id, injector_id=nurse)
    assert (view.injector_id, view.injector_name) == (nurse, "Nurse Ada Frost")
    with db.read() as session:
        row = session.get(Treatment, view.id)
        assert row is not None and row.injector_id == nurse
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "treatment.record")
        ).one()
        # Who recorded it is the audit row's actor; who injected is in its detail.
        assert event.user_id == actor.user_id
        assert event.detail is not None and f'"injector_id": {nurse}' in event.detail


@pytest.mark.parametrize(
    ("role", "active", "clinic", "expected"),
    [
        ("receptionist", True, None, "is receptionist, not a clinician or nurse"),
        ("admin", True, None, "is administrator, not a clinician or nurse"),
        ("nurse", False, None, "is deactivated"),
        ("nurse", True, "Other Clinic", "is not a member of staff of this clinic"),
    ],
)
def test_an_ineligible_injector_is_refused_and_nothing_is_stored(
    db: Database,
    actor: Actor,
    clock: dict[str, dt.datetime],
    role: str,
    active: bool,
    clinic: str | None,
    expected: str,
) -> None:
    other = _staff(db, "someone", "Some One", role, clinic=clinic)
    if not active:
        staff_svc.set_active(db, Actor(None, "cli", "admin", actor.clinic_id), other, False)
    pid, consent_id = _ready_patient(db, actor)
    with pytest.raises(Invalid) as info:
        _treat(db, actor, pid, consent_id, injector_id=other)
    assert expected in info.value.message
    assert info.value.problems[0]["field"] == "injector_id"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Treatment)) == 0


def test_a_user_who_may_not_inject_must_choose_the_injector(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid, consent_id = _ready_patient(db, actor)
    admin = Actor(None, "cli", "admin", actor.clinic_id)
    with pytest.raises(Invalid) as info:
        _treat(db, admin, pid, consent_id)
    assert info.value.problems[0]["code"] == "injector_required"
    view = _treat(db, admin, pid, consent_id, injector_id=actor.user_id)
    assert view.injector_name == "Dr.Rivera"


def test_an_earlier_time_needs_a_reason_and_passes_the_interval_checks(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid, first_consent = _ready_patient(db, actor)
    _treat(db, actor, pid, first_consent)  # today, 2026-11-02 10:00
    # 2027-01-31 05:00: screened again (the first is stale) and consent signed again ...
    clock["now"] = START + dt.timedelta(days=90, hours=-5)
    answers = screening_svc.parse_screening_answers(SAFE)
    screening_svc.run_screening(db, actor, pid, "onabotulinumtoxinA", answers)
    version = consent_svc.current_text(db).version
    second = consent_svc.sign_consent(db, actor, pid, version, "Ina Jector", True).id
    clock["now"] = START + dt.timedelta(days=90)  # ... and recorded at 10:00 the same day
    # Future (10 minutes ahead, beyond the 5 minutes' clock tolerance) is refused.
    with pytest.raises(Invalid, match="cannot be recorded in the future"):
        _treat(db, actor, pid, second, treated_at=clock["now"] + dt.timedelta(minutes=10))
    # 3 hours earlier without a reason: refused, naming the reason field.
    earlier = clock["now"] - dt.timedelta(hours=3)
    with pytest.raises(Invalid) as info:
        _treat(db, actor, pid, second, treated_at=earlier)
    assert "backdate_reason" in {p["field"] for p in info.value.problems}
    # Back-dated to 2027-01-20 with a reason: 2027-01-20 - 2026-11-02 = 79 days < 84 days
    # (12 weeks), so the interval check refuses it even though the reason is given.
    with pytest.raises(Invalid, match=r"re-treatment is allowed from 2027-01-25"):
        _treat(
            db,
            actor,
            pid,
            second,
            treated_at=dt.datetime(2027, 1, 20, 9, 0, tzinfo=dt.UTC),
            backdate_reason="paper record typed in late",
        )
    # 3 hours earlier with a reason: 2027-01-31 - 2026-11-02 = 90 days >= 84: recorded.
    view = _treat(
        db, actor, pid, second, treated_at=earlier, backdate_reason="paper record typed in late"
    )
    assert view.treated_at == earlier and view.backdate_reason == "paper record typed in late"


def test_the_chosen_injector_is_the_fhir_procedure_performer(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    from glabella.services import fhir

    nurse = _staff(db, "nurse.frost", "Nurse Ada Frost", "nurse")
    pid, consent_id = _ready_patient(db, actor)
    _treat(db, actor, pid, consent_id, injector_id=nurse)
    procedures = [
        r for r in fhir.export_patient(db, actor, pid) if r["resourceType"] == "Procedure"
    ]
    assert [p["performer"] for p in procedures] == [[{"actor": {"display": "Nurse Ada Frost"}}]]
