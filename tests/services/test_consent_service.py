"""Consent service: the typed name against the record (H-094), withdrawal (H-095), the copy."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from builders import new_patient, safe_screening, screen, treat
from glabella.services import biomarker as bio_svc
from glabella.services import consent as consent_svc
from glabella.services import treatments as treatment_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid
from glabella.store.models import AuditEvent
from glabella.store.pathway import ConsentRecord, Treatment

START = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
SAFE = safe_screening(cssrs=True)


@pytest.fixture
def clock(db: Database) -> dict[str, dt.datetime]:
    state = {"now": START}
    db.clock = lambda: state["now"]
    return state


def _patient(db: Database, actor: Actor) -> int:
    return new_patient(db, actor, mrn="CN-1", given_name="Anna", family_name="Müller")


def _sign(db: Database, actor: Actor, pid: int, name: str, reason: str | None = None) -> int:
    version = consent_svc.current_text(db).version
    return consent_svc.sign_consent(
        db, actor, pid, version, name, True, different_name_reason=reason
    ).id


def _treat(db: Database, actor: Actor, pid: int, consent_id: int) -> treatment_svc.TreatmentView:
    screen(db, actor, pid, SAFE)
    sites = {"procerus": "4", "corrugator_medial_left": "5", "corrugator_medial_right": "5"}
    return treat(db, actor, pid, consent_id, sites=sites)


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _audit(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_name_typed_differently_is_accepted(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    cid = _sign(db, actor, pid, "  müller,   ANNA ")
    (view,) = consent_svc.list_consents(db, actor, pid)
    assert view.id == cid and view.signed_name == "müller, ANNA"
    assert view.name_mismatch_reason is None
    (event,) = _audit(db, "consent.sign")
    assert json.loads(event.detail or "{}")["name_matches_record"] is True


def test_a_name_that_does_not_match_is_refused_and_nothing_stored(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    with pytest.raises(Invalid, match='"Anna Meier" does not match the patient record') as info:
        _sign(db, actor, pid, "Anna Meier")
    assert info.value.field == "signed_name"
    assert '"Müller, Anna"' in info.value.message
    # ticked, but no usable reason: still refused
    with pytest.raises(Invalid, match="reason the patient signed with a different name") as bad:
        _sign(db, actor, pid, "Anna Meier", reason="  ab ")
    assert bad.value.field == "different_name_reason"
    assert _count(db, ConsentRecord) == 0
    assert _audit(db, "consent.sign") == []


def test_a_confirmed_different_name_is_stored_with_its_reason_and_audited(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    reason = "signed by her daughter Eva Meier, legal representative"
    cid = _sign(db, actor, pid, "Eva Meier", reason=reason)
    (view,) = consent_svc.list_consents(db, actor, pid)
    assert view.signed_name == "Eva Meier" and view.name_mismatch_reason == reason
    assert view.to_dict()["name_mismatch_reason"] == reason
    (sign,) = _audit(db, "consent.sign")
    assert json.loads(sign.detail or "{}")["name_matches_record"] is False
    (confirmed,) = _audit(db, "consent.name_mismatch_confirmed")
    assert confirmed.entity_id == str(cid) and confirmed.user_id == actor.user_id
    assert "Eva" not in (confirmed.detail or "")  # the audit carries ids, not names
    # a matching name ignores a stray reason: nothing to confirm
    _sign(db, actor, pid, "Anna Müller", reason="not needed here")
    assert consent_svc.list_consents(db, actor, pid)[0].name_mismatch_reason is None


def test_treatment_on_a_withdrawn_consent_is_refused(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    cid = _sign(db, actor, pid, "Anna Müller")
    clock["now"] = START + dt.timedelta(minutes=20)
    view = consent_svc.withdraw_consent(db, actor, pid, cid, "changed her mind after reading")
    assert view.withdrawn_at == START + dt.timedelta(minutes=20)
    assert view.withdrawn_reason == "changed her mind after reading"
    assert view.withdrawn_by is not None and not view.usable
    clock["now"] = START + dt.timedelta(minutes=30)
    with pytest.raises(Invalid, match="the patient withdrew this consent") as refused:
        _treat(db, actor, pid, cid)
    assert {p["code"] for p in refused.value.problems} >= {"consent_withdrawn"}
    assert _count(db, Treatment) == 0
    assert len(_audit(db, "consent.withdraw")) == 1
    # the record shows it
    (listed,) = consent_svc.list_consents(db, actor, pid)
    assert listed.to_dict()["withdrawn_at"] == "2026-11-02T10:20:00+00:00"


def test_withdrawal_needs_a_reason_and_happens_once_and_not_after_use(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    cid = _sign(db, actor, pid, "Anna Müller")
    with pytest.raises(Invalid, match="reason for the withdrawal"):
        consent_svc.withdraw_consent(db, actor, pid, cid, "no")
    consent_svc.withdraw_consent(db, actor, pid, cid, "does not want it now")
    with pytest.raises(Conflict, match="already withdrawn"):
        consent_svc.withdraw_consent(db, actor, pid, cid, "does not want it now")
    used = _sign(db, actor, pid, "Anna Müller")
    treatment = _treat(db, actor, pid, used)
    with pytest.raises(Conflict, match=f"used for treatment {treatment.id}"):
        consent_svc.withdraw_consent(db, actor, pid, used, "too late for this one")


def test_photo_consent_withdrawal_is_recorded_and_stops_photos(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    with pytest.raises(Conflict, match="no photo consent in force"):
        bio_svc.withdraw_photo_consent(db, actor, pid, "nothing to withdraw")
    bio_svc.grant_photo_consent(db, actor, pid, allow_research=True, confirmed=True)
    assert bio_svc.photo_consent_status(db, actor, pid) is not None
    clock["now"] = START + dt.timedelta(days=3)
    assert bio_svc.withdraw_photo_consent(db, actor, pid, "no more photographs") == 1
    assert bio_svc.photo_consent_status(db, actor, pid) is None
    (w,) = bio_svc.photo_consent_withdrawals(db, actor, pid)
    assert w.withdrawn_at == START + dt.timedelta(days=3) and w.reason == "no more photographs"
    assert w.withdrawn_by is not None
    assert len(_audit(db, "photo_consent.withdraw")) == 1


def test_consent_copy_has_the_signed_text_and_who_recorded_it(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    cid = _sign(db, actor, pid, "Eva Meier", reason="daughter, legal representative")
    doc = consent_svc.consent_copy(db, actor, pid, cid)
    assert doc.patient_name == "Müller, Anna" and doc.signed_name == "Eva Meier"
    assert doc.name_mismatch_reason == "daughter, legal representative"
    assert doc.text.startswith("# Consent to glabellar botulinum toxin A")
    assert doc.signed_at == START and doc.recorded_by != "unknown"
    assert len(_audit(db, "consent.copy")) == 1
