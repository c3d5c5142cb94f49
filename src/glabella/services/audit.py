"""The audit trail: one row per read or write of patient data, in the same transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from glabella.services.context import Actor, utcnow
from glabella.store.models import AuditEvent


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: object = None,
    **detail: Any,
) -> None:
    """Append an audit row to the current transaction (it commits or rolls back with it).

    ``detail`` must not carry names or other identifiers: ids and codes only.
    """
    session.add(
        AuditEvent(
            at=utcnow(),
            user_id=actor.user_id if actor else None,
            role=actor.role if actor else None,
            clinic_id=actor.clinic_id if actor else None,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
            source=actor.source if actor else None,
        )
    )
