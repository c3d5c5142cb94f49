"""The clinician's assessment submission on the hot path: confirm who is asking, look the
``Idempotency-Key`` up, store the scored answers with any alert, store the key, all in one
transaction (issue 14, item 2).

The web API scores the answers on the request (pure, :func:`assessments.score_answers`) and
hands :func:`record_assessment` to the group-commit writer, which runs it in a transaction it
shares with other submissions (``glabella.services.group_commit``). The signed session cookie
only *claims* a user and role (:class:`SessionClaim`): :func:`confirm_actor` checks the claim
against the database inside that same transaction, so a deactivated or signed-out account, or
one given another role meanwhile, writes nothing. A stored key with the same request is
answered from the key and stores nothing new (``glabella.services.idempotency``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from glabella.clinic import instruments, safety
from glabella.services import assessments, idempotency
from glabella.services.context import Actor
from glabella.services.errors import Forbidden, Unauthorized
from glabella.services.users import UserView, active_user_in


@dataclass(frozen=True)
class SessionClaim:
    """Who the signed session cookie says is signed in, before the database has confirmed it.

    The cookie is signed, so the claim is not forged; but it can be stale: the account may
    have been deactivated, signed out everywhere or given another role since. It is confirmed
    against the database by :meth:`confirmed_by` (``glabella.web.deps.session_user``) or, on a
    route that confirms it inside its own write transaction, by :func:`confirm_actor`.
    """

    user_id: int
    generation: object
    role: object
    source: str | None

    def confirmed_by(self, user: UserView | None) -> bool:
        """Whether the database's view of the account still backs this session."""
        return user is not None and self.generation == user.session_generation


def confirm_actor(
    session: Session, claim: SessionClaim, allowed_roles: frozenset[str], route: str
) -> Actor:
    """The claim confirmed inside the caller's transaction: the account is active, the
    session was not ended, the role the database holds may use ``route``, and no one-time
    password is pending. Raises like the access matrix and ``api_actor`` would.

    Pure of the request, so it can run on the group-commit writer's thread.
    """
    user = active_user_in(session, claim.user_id)
    if user is None or not claim.confirmed_by(user):
        raise Unauthorized("your session has ended: sign in again (POST /api/v1/auth/login)")
    if user.role not in allowed_roles:
        raise Forbidden(f"your role ({user.role}) has no access to {route}")
    if user.must_change_password:
        raise Forbidden("change your one-time password first: POST /api/v1/auth/password")
    return user.actor(claim.source)


def alert_dict(alert: safety.Alert) -> dict[str, object]:
    """A safety rule's alert as the API shows it."""
    return {
        "kind": alert.kind,
        "level": alert.level,
        "item": alert.item_id,
        "message": alert.message,
    }


@dataclass(frozen=True)
class Answer:
    """The submission's answer: its status and body, and whether it is a replay of a stored
    answer (an ``Idempotency-Key`` seen before with the same request)."""

    status: int
    body: object
    replayed: bool


@dataclass(frozen=True)
class AssessmentSubmission:
    """One submission as the route received it (answers already scored)."""

    claim: SessionClaim
    allowed_roles: frozenset[str]
    route: str
    """``"POST /api/v1/patients/{patient_id}/assessments"``: scopes the key, names the route."""
    patient_id: int
    scored: instruments.Score
    now: dt.datetime
    key: str | None = None
    request_hash: str = ""


def record_assessment(session: Session, sub: AssessmentSubmission) -> Answer:
    """Confirm the actor, answer a known key from its stored answer, or store the assessment
    (with its alerts and audit row) and the key; in the caller's transaction."""
    actor = confirm_actor(session, sub.claim, sub.allowed_roles, sub.route)
    user_id = sub.claim.user_id
    if sub.key is not None:
        stored = idempotency.find(
            session,
            user_id=user_id,
            route=sub.route,
            key=sub.key,
            request_hash=sub.request_hash,
            now=sub.now,
        )
        if stored is not None:
            return Answer(stored.status, stored.body, True)
    result = assessments.record_submission(session, actor, sub.patient_id, sub.scored, now=sub.now)
    out = result.assessment.to_dict()
    out["alerts"] = [alert_dict(a) for a in result.alerts]
    if sub.key is not None:
        idempotency.record(
            session,
            user_id=user_id,
            route=sub.route,
            key=sub.key,
            request_hash=sub.request_hash,
            now=sub.now,
            status=201,
            body=out,
        )
    return Answer(201, out, False)
