"""Assessment submission: scored, stored with alerts and audit in ONE transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from glabella.services import alerts as alert_svc
from glabella.services import assessments as svc
from glabella.services import links as link_svc
from glabella.services import patients as patient_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from glabella.store.models import Alert, Assessment, AssessmentAnswer, AuditEvent, SelfReportLink


def phq9(*values: int) -> dict[str, int]:
    assert len(values) == 9
    return {f"phq9_{i}": v for i, v in enumerate(values, start=1)}


def _patient(db: Database, actor: Actor) -> int:
    data = patient_svc.parse_patient_input(
        {
            "mrn": "P-1",
            "given_name": "Grace",
            "family_name": "Hopper",
            "date_of_birth": "1970-01-01",
            "sex": "female",
        }
    )
    return patient_svc.create_patient(db, actor, data).id


def _count(db: Database, model: type) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_submit_scores_bands_and_stores_answers(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    # 2+2+2+2+2+1+1+0+0 = 12 -> "moderate" (10-14)
    result = svc.submit_assessment(db, actor, pid, "phq9", phq9(2, 2, 2, 2, 2, 1, 1, 0, 0))
    assert result.assessment.total == 12
    assert result.assessment.band == "moderate"
    assert result.alerts == ()
    stored = svc.list_assessments(db, actor, pid)
    assert [a.total for a in stored] == [12]
    assert stored[0].answers["phq9_5"] == 2
    assert _count(db, AssessmentAnswer) == 9


def test_item9_above_zero_stores_an_open_alert(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    result = svc.submit_assessment(db, actor, pid, "phq9", phq9(0, 0, 0, 0, 0, 0, 0, 0, 1))
    assert [a.kind for a in result.alerts] == ["suicide_risk"]
    open_alerts = alert_svc.list_alerts(db, actor)
    assert len(open_alerts) == 1 and open_alerts[0].patient_id == pid


def test_alert_closes_only_with_a_recorded_action(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    svc.submit_assessment(db, actor, pid, "phq9", phq9(0, 0, 0, 0, 0, 0, 0, 0, 2))
    alert_id = alert_svc.list_alerts(db, actor)[0].id
    with pytest.raises(Invalid, match="describe the action taken"):
        alert_svc.record_action(db, actor, alert_id, "   ok ")
    assert alert_svc.list_alerts(db, actor)[0].status == "open"
    closed = alert_svc.record_action(db, actor, alert_id, "Phoned patient; safety plan agreed.")
    assert closed.status == "closed"
    assert closed.actioned_by == "Dr.Rivera"
    assert closed.actioned_at is not None
    assert alert_svc.list_alerts(db, actor) == []
    with pytest.raises(Conflict):
        alert_svc.record_action(db, actor, alert_id, "Phoned patient again, all fine.")


def test_receptionist_cannot_close_alerts_or_see_scores(
    db: Database, actor: Actor, make_user: Any
) -> None:
    pid = _patient(db, actor)
    svc.submit_assessment(db, actor, pid, "phq9", phq9(0, 0, 0, 0, 0, 0, 0, 0, 1))
    reception = make_user("front.desk", "receptionist").actor()
    with pytest.raises(Forbidden):
        alert_svc.list_alerts(db, reception)
    with pytest.raises(Forbidden):
        svc.list_assessments(db, reception, pid)


@pytest.mark.parametrize(
    ("answers", "fragment"),
    [
        ({**phq9(0, 0, 0, 0, 0, 0, 0, 0, 0), "phq9_3": 4}, "phq9_3"),
        ({k: v for k, v in phq9(1, 1, 1, 1, 1, 1, 1, 1, 1).items() if k != "phq9_9"}, "phq9_9"),
        ({**phq9(0, 0, 0, 0, 0, 0, 0, 0, 0), "phq9_99": 1}, "phq9_99"),
    ],
)
def test_bad_answers_store_nothing(
    db: Database, actor: Actor, answers: dict[str, int], fragment: str
) -> None:
    pid = _patient(db, actor)
    with pytest.raises(Invalid) as info:
        svc.submit_assessment(db, actor, pid, "phq9", answers)
    assert fragment in info.value.message
    assert _count(db, Assessment) == 0 and _count(db, AssessmentAnswer) == 0


def test_unknown_instrument_and_patient(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    with pytest.raises(Invalid, match="unknown instrument"):
        svc.submit_assessment(db, actor, pid, "phq10", {})
    with pytest.raises(NotFound):
        svc.submit_assessment(db, actor, 4242, "phq9", phq9(0, 0, 0, 0, 0, 0, 0, 0, 0))


def test_failure_after_scoring_leaves_nothing_stored(
    db: Database, actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit row is written last; if it fails, answers, score and alert roll back too."""
    pid = _patient(db, actor)
    audits_before = _count(db, AuditEvent)

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("glabella.services.audit.record", broken_audit)
    with pytest.raises(RuntimeError):
        svc.submit_assessment(db, actor, pid, "phq9", phq9(3, 3, 3, 3, 3, 3, 3, 3, 3))
    monkeypatch.undo()
    assert _count(db, Assessment) == 0
    assert _count(db, AssessmentAnswer) == 0
    assert _count(db, Alert) == 0
    assert _count(db, AuditEvent) == audits_before


def test_self_report_link_round_trip(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    issued = link_svc.create_link(db, actor, pid, ["phq9", "gad7"], valid_hours=24)
    asked = link_svc.open_link(db, issued.token).instruments
    assert [i.id for i in asked] == ["phq9", "gad7"]
    with db.transaction() as session:
        stored_hash = session.scalars(select(SelfReportLink.token_hash)).one()
    assert issued.token not in stored_hash  # only the hash is kept
    gad7 = {f"gad7_{i}": 1 for i in range(1, 8)}  # 7 x 1 = 7 -> mild (5-9)
    result = link_svc.submit_link(
        db, issued.token, {"phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 1), "gad7": gad7}
    )
    assert result.show_crisis_resources is True
    totals = {a.instrument_id: (a.total, a.band) for a in svc.list_assessments(db, actor, pid)}
    assert totals == {"phq9": (9, "mild"), "gad7": (7, "mild")}
    with pytest.raises(Gone, match="already been used"):
        link_svc.submit_link(db, issued.token, {"phq9": phq9(0, 0, 0, 0, 0, 0, 0, 0, 0)})
    with pytest.raises(Gone, match="already been used"):
        link_svc.open_link(db, issued.token)


def test_self_report_partial_answers_store_nothing_and_keep_link(
    db: Database, actor: Actor
) -> None:
    pid = _patient(db, actor)
    issued = link_svc.create_link(db, actor, pid, ["phq9", "gad7"], valid_hours=24)
    with pytest.raises(Invalid, match="gad7"):
        link_svc.submit_link(db, issued.token, {"phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)})
    assert _count(db, Assessment) == 0
    assert [i.id for i in link_svc.open_link(db, issued.token).instruments] == ["phq9", "gad7"]


def test_expired_link_is_refused(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    issued = link_svc.create_link(db, actor, pid, ["phq9"], valid_hours=1)
    later = db.now() + dt.timedelta(hours=1, seconds=1)
    db.clock = lambda: later
    with pytest.raises(Gone, match="expired"):
        link_svc.open_link(db, issued.token)
    with pytest.raises(Gone, match="expired"):
        link_svc.submit_link(db, issued.token, {"phq9": phq9(0, 0, 0, 0, 0, 0, 0, 0, 0)})
    assert _count(db, Assessment) == 0


def test_unknown_token_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="not valid"):
        link_svc.open_link(db, "no-such-token")


def test_link_for_unknown_instrument_is_refused(db: Database, actor: Actor) -> None:
    pid = _patient(db, actor)
    with pytest.raises(Invalid, match="unknown instrument"):
        link_svc.create_link(db, actor, pid, ["phq9", "bdi"], valid_hours=24)
    assert _count(db, SelfReportLink) == 0
