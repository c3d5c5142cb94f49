"""Staff administration and recovery codes at the service layer: every change audited (who,
what, whom), the last administrator kept, one-time passwords, locks, single-use codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pyotp
import pytest
from sqlalchemy import select

from glabella.services import security, staff, throttle, users
from glabella.services.context import Database
from glabella.services.errors import Conflict, Forbidden, Invalid, Unauthorized
from glabella.services.users import UserView, create_user
from glabella.store.models import AuditEvent, RecoveryCode, User

PASSWORD = "correct horse battery staple"
T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


def _user(db: Database, username: str, role: str) -> UserView:
    user, _ = create_user(
        db, username=username, full_name=username.title(), role=role, password=PASSWORD
    )
    return user


def _audit(db: Database, action: str) -> list[AuditEvent]:
    with db.transaction() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).all()
        session.expunge_all()
        return list(rows)


@pytest.fixture
def admin(db: Database) -> UserView:
    return _user(db, "boss", "admin")


def test_add_staff_gives_a_one_time_password_and_is_audited(db: Database, admin: UserView) -> None:
    member, one_time = staff.add_staff(
        db, admin.actor("t"), username="N.Nurse", full_name="Nia Nurse", role="nurse"
    )
    assert member.username == "n.nurse" and member.role_label == "Nurse"
    assert member.must_change_password and member.active and not member.totp_enabled
    assert member.clinic_id == admin.clinic_id
    signed = users.authenticate(db, "n.nurse", one_time, None)
    assert signed.must_change_password  # sent to choose a password first
    (row,) = _audit(db, "user.create")[-1:]
    assert (row.user_id, row.entity_id) == (admin.id, str(member.id))  # who, whom
    assert one_time not in (row.detail or "")


def test_only_an_administrator_may_manage_staff(db: Database, admin: UserView) -> None:
    clinician = _user(db, "dr.c", "clinician")
    for call in (
        lambda: staff.list_staff(db, clinician.actor()),
        lambda: staff.add_staff(db, clinician.actor(), username="x", full_name="X", role="nurse"),
        lambda: staff.set_active(db, clinician.actor(), admin.id, False),
        lambda: staff.reset_password(db, clinician.actor(), admin.id),
        lambda: staff.update_staff(db, clinician.actor(), clinician.id, role="admin"),
        lambda: staff.unlock(db, clinician.actor(), admin.id),
    ):
        with pytest.raises(Forbidden):
            call()
    with db.transaction() as session:
        assert session.get(User, clinician.id).role == "clinician"  # type: ignore[union-attr]


def test_deactivation_ends_sessions_and_sign_in_and_is_reversible(
    db: Database, admin: UserView
) -> None:
    nurse = _user(db, "n.one", "nurse")
    member = staff.set_active(db, admin.actor("t"), nurse.id, False)
    assert not member.active
    assert users.get_user(db, nurse.id) is None  # every session check now fails
    with db.transaction() as session:
        assert session.get(User, nurse.id).session_generation == nurse.session_generation + 1  # type: ignore[union-attr]
    with pytest.raises(Unauthorized):
        users.authenticate(db, "n.one", PASSWORD, None)
    with pytest.raises(Conflict, match="already deactivated"):
        staff.set_active(db, admin.actor("t"), nurse.id, False)
    staff.set_active(db, admin.actor("t"), nurse.id, True)
    assert users.authenticate(db, "n.one", PASSWORD, None).id == nurse.id
    (off,) = _audit(db, "user.deactivate")
    (on,) = _audit(db, "user.reactivate")
    assert (off.user_id, off.entity_id, on.entity_id) == (admin.id, str(nurse.id), str(nurse.id))


def test_the_last_administrator_can_neither_be_deactivated_nor_demoted(
    db: Database, admin: UserView
) -> None:
    with pytest.raises(Conflict, match="last active administrator") as exc:
        staff.set_active(db, admin.actor(), admin.id, False)
    assert "Make another account an administrator first" in exc.value.message
    with pytest.raises(Conflict, match="last active administrator"):
        staff.update_staff(db, admin.actor(), admin.id, role="clinician")
    assert users.get_user(db, admin.id) is not None
    assert _audit(db, "user.deactivate") == [] and _audit(db, "user.update") == []
    # With a second administrator the first may step down.
    second = _user(db, "boss2", "admin")
    staff.update_staff(db, admin.actor(), admin.id, role="clinician")
    with pytest.raises(Conflict, match="last active administrator"):
        staff.set_active(db, second.actor(), second.id, False)
    # A deactivated admin does not count as the remaining one.
    third = _user(db, "boss3", "admin")
    staff.set_active(db, second.actor(), third.id, False)
    with pytest.raises(Conflict):
        staff.update_staff(db, second.actor(), second.id, role="nurse")


def test_reset_password_is_one_time_ends_sessions_and_lifts_the_lock(
    db: Database, admin: UserView
) -> None:
    nurse = _user(db, "n.two", "nurse")
    for _ in range(throttle.USERNAME_LIMIT):
        with pytest.raises(Unauthorized):
            users.authenticate(db, "n.two", "not the password at all", None)
    assert staff.get_staff(db, admin.actor(), nurse.id).locked
    member, one_time = staff.reset_password(db, admin.actor("t"), nurse.id)
    assert member.must_change_password and not member.locked
    assert len(one_time) >= 20
    with pytest.raises(Unauthorized):
        users.authenticate(db, "n.two", PASSWORD, None)  # the old password is gone
    signed = users.authenticate(db, "n.two", one_time, None)
    assert signed.must_change_password and signed.session_generation == nurse.session_generation + 1
    (row,) = _audit(db, "user.password_reset")
    assert row.entity_id == str(nurse.id) and json.loads(row.detail or "{}") == {"unlocked": True}
    with pytest.raises(Conflict, match="account page"):
        staff.reset_password(db, admin.actor(), admin.id)


def test_role_clinic_and_name_changes_record_before_and_after(
    db: Database, admin: UserView
) -> None:
    nurse = _user(db, "n.three", "nurse")
    other = users.create_clinic(db, "North Clinic")
    member = staff.update_staff(
        db, admin.actor("t"), nurse.id, role="clinician", clinic_id=other.id, full_name="Dr  Three"
    )
    assert (member.role, member.clinic_id, member.clinic_name, member.full_name) == (
        "clinician",
        other.id,
        "North Clinic",
        "Dr Three",
    )
    (row,) = _audit(db, "user.update")
    assert json.loads(row.detail or "{}") == {
        "role": ["nurse", "clinician"],
        "clinic_id": [nurse.clinic_id, other.id],
        "full_name": "changed",
    }
    assert "Three" not in (row.detail or "")  # no names in the trail
    with pytest.raises(Invalid, match="unknown role 'surgeon'"):
        staff.update_staff(db, admin.actor(), nurse.id, role="surgeon")
    with pytest.raises(Invalid, match="no clinic with id 999"):
        staff.update_staff(db, admin.actor(), nurse.id, clinic_id=999)
    with pytest.raises(Invalid, match="nothing to change"):
        staff.update_staff(db, admin.actor(), nurse.id, role="clinician")


def test_unlock_lifts_a_lock_and_says_when_there_was_none(db: Database, admin: UserView) -> None:
    nurse = _user(db, "n.four", "nurse")
    assert staff.unlock(db, admin.actor(), nurse.id) is False
    for _ in range(throttle.USERNAME_LIMIT):
        with pytest.raises(Unauthorized):
            users.authenticate(db, "n.four", "not the password at all", None)
    with pytest.raises(throttle.TooManyAttempts):
        users.authenticate(db, "n.four", PASSWORD, None)
    assert staff.unlock(db, admin.actor(), nurse.id) is True
    assert users.authenticate(db, "n.four", PASSWORD, None).id == nurse.id
    details = [json.loads(r.detail or "{}") for r in _audit(db, "auth.unlock")]
    assert details == [{"lifted": False}, {"lifted": True}]


# --- recovery codes -------------------------------------------------------------------------


def _enrol(db: Database, user: UserView) -> tuple[str, list[str]]:
    db.clock = lambda: T0
    secret = security.new_secret()
    codes = security.enable_totp(db, user.actor(), secret, pyotp.TOTP(secret).at(T0))
    return secret, codes


def test_enrolment_issues_ten_distinct_codes_stored_only_as_sha256(
    db: Database, admin: UserView
) -> None:
    _, codes = _enrol(db, admin)
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    with db.transaction() as session:
        stored = set(session.scalars(select(RecoveryCode.code_hash)).all())
    expected = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert stored == expected
    assert security.recovery_codes_left(db, admin.id) == 10
    assert staff.get_staff(db, admin.actor(), admin.id).recovery_codes_left == 10


def test_a_recovery_code_signs_in_once_in_any_spelling(db: Database, admin: UserView) -> None:
    _, codes = _enrol(db, admin)
    # Case, spaces and dashes do not matter, nor a digit typed for the letter it looks like
    # (base32 has no 0, 1 or 8).
    typed = codes[3].lower().replace("-", " ").replace("o", "0").replace("i", "1")
    view = security.verify_second_factor(db, admin.id, typed, "t")
    assert view.id == admin.id
    assert security.recovery_codes_left(db, admin.id) == 9
    with pytest.raises(Unauthorized):
        security.verify_second_factor(db, admin.id, codes[3], "t")  # used up
    (row,) = _audit(db, "auth.login_recovery_code")
    assert json.loads(row.detail or "{}") == {"left": 9}
    assert _audit(db, "auth.second_factor_failed")[0].entity_id == str(admin.id)


def test_regenerating_invalidates_every_earlier_code(db: Database, admin: UserView) -> None:
    secret, old = _enrol(db, admin)
    with pytest.raises(Invalid):
        security.regenerate_recovery_codes(db, admin.actor(), "000000x")
    db.clock = lambda: T0 + dt.timedelta(seconds=30)
    new = security.regenerate_recovery_codes(
        db, admin.actor(), pyotp.TOTP(secret).at(T0 + dt.timedelta(seconds=30))
    )
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(Unauthorized):
        security.verify_second_factor(db, admin.id, old[0], None)
    assert security.verify_second_factor(db, admin.id, new[0], None).id == admin.id
    assert len(_audit(db, "auth.recovery_codes_regenerate")) == 1


def test_turning_the_second_factor_off_deletes_the_codes(db: Database, admin: UserView) -> None:
    _, codes = _enrol(db, admin)
    security.disable_totp(db, admin.actor(), codes[0])  # a recovery code is accepted here too
    assert security.recovery_codes_left(db, admin.id) == 0
    with db.transaction() as session:
        assert session.scalars(select(RecoveryCode)).all() == []
    with pytest.raises(Conflict, match="turn the second factor on first"):
        security.regenerate_recovery_codes(db, admin.actor(), codes[1])


def test_a_recovery_code_is_read_the_way_a_person_types_it() -> None:
    stored = hashlib.sha256(b"ABCDEFGHIJKLMNOB").hexdigest()
    assert security.recovery_hash("ABCD-EFGH-IJKL-MNOB") == stored
    assert security.recovery_hash(" abcd efgh 1jkl mn08 ") == stored  # 1 for I, 0 for O, 8 for B
    assert security.looks_like_recovery_code("abcd-efgh-1jkl-mn08")
    assert not security.looks_like_recovery_code("123456")  # a 6-digit app code
    assert not security.looks_like_recovery_code("ABCD-EFGH-IJKL-MNO")  # 15 characters


def test_an_admin_turns_off_a_lost_second_factor_and_its_codes(
    db: Database, admin: UserView
) -> None:
    nurse = _user(db, "n.lost", "nurse")
    _, codes = _enrol(db, nurse)
    with pytest.raises(Forbidden):
        staff.reset_two_factor(db, nurse.actor(), nurse.id)
    member = staff.reset_two_factor(db, admin.actor("t"), nurse.id)
    assert not member.totp_enabled and member.recovery_codes_left == 0
    after = users.authenticate(db, "n.lost", PASSWORD, None)
    assert not after.totp_enabled  # the password alone signs in again
    assert after.session_generation == nurse.session_generation + 1  # old sessions ended
    with pytest.raises(Unauthorized):
        security.verify_second_factor(db, nurse.id, codes[0], None)
    with pytest.raises(Conflict, match="no second factor to reset"):
        staff.reset_two_factor(db, admin.actor(), nurse.id)
    (row,) = _audit(db, "auth.totp_reset")
    assert (row.user_id, row.entity_id) == (admin.id, str(nurse.id))
