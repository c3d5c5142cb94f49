"""Write a synthetic clinic into the database: bulk inserts, one transaction, one audit row.

SQLAlchemy Core ``insert()`` with many rows per statement (the driver's executemany); ids are
assigned by the generator from the current maxima, and PostgreSQL sequences are moved past
them afterwards. Run it on a database nobody else writes to at the same time (a demo or a
benchmark database): the ids are read once at the start.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, func, select, text

from glabella.clinic import consent
from glabella.demo import synth
from glabella.demo.params import DemoParameters
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden
from glabella.services.roles import Role
from glabella.store import pathway as _pathway_tables  # noqa: F401  (registers screenings, ...)
from glabella.store.models import Base, Clinic, User

SYNTHETIC_USER_PREFIX = "synthetic.injector."
UNUSABLE_PASSWORD_HASH = "!synthetic-account-cannot-sign-in"


@dataclass(frozen=True)
class GenerateReport:
    """What was written, and how long it took."""

    clinic_id: int
    counts: dict[str, int]
    seconds: float
    as_of: dt.datetime
    parameters: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "clinic_id": self.clinic_id,
            "counts": dict(self.counts),
            "seconds": round(self.seconds, 2),
            "as_of": self.as_of.isoformat(),
            "parameters": dict(self.parameters),
        }


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _injectors(
    conn: Connection, params: DemoParameters, clinic_id: int, now: dt.datetime
) -> list[tuple[int, str, float]]:
    out = []
    users = _table("users")
    for n, spec in enumerate(params.injectors, start=1):
        username = f"{SYNTHETIC_USER_PREFIX}{n}"
        uid = conn.execute(select(User.id).where(User.username == username)).scalar()
        if uid is None:
            uid = conn.execute(
                users.insert().returning(users.c.id),
                {
                    "clinic_id": clinic_id,
                    "username": username,
                    "full_name": spec.name,
                    "role": Role.CLINICIAN.value,
                    "password_hash": UNUSABLE_PASSWORD_HASH,
                    "must_change_password": True,
                    "active": False,
                    "created_at": now,
                },
            ).scalar_one()
        out.append((int(uid), spec.name, spec.effect))
    return out


def _first_day(as_of: dt.datetime, params: DemoParameters, tz: ZoneInfo) -> dt.date:
    earliest = min(v.effective_from for v in consent.load_consent_versions().values())
    start = as_of.astimezone(tz).date() - dt.timedelta(days=params.history_days)
    return max(start, earliest + dt.timedelta(days=14))


def _reset_sequences(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        return
    for name in (*synth.TABLE_ORDER, "users"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"
            )
        )


def generate_clinic(db: Database, actor: Actor, params: DemoParameters) -> GenerateReport:
    """Fill the actor's clinic with ``params.patients`` synthetic patients (administrators)."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may generate a synthetic clinic")
    started = time.perf_counter()
    as_of = params.as_of or db.now()
    counts = dict.fromkeys(synth.TABLE_ORDER, 0)
    with db.transaction() as session:
        conn = session.connection()
        clinic = session.get(Clinic, actor.clinic_id)
        if clinic is None:
            raise Forbidden("the acting user's clinic does not exist")
        tz = ZoneInfo(clinic.timezone)
        injectors = _injectors(conn, params, clinic.id, as_of)
        ids = synth.IdStart(
            {
                name: int(conn.execute(select(func.max(_table(name).c.id))).scalar() or 0) + 1
                for name in synth.TABLE_ORDER
            }
        )
        ctx = synth.Context(
            clinic_id=clinic.id,
            tz=tz,
            injectors=tuple(injectors),
            as_of=as_of,
            first_day=_first_day(as_of, params, tz),
        )
        for batch in synth.generate(params, ctx, ids):
            for name in synth.TABLE_ORDER:
                rows = batch.rows[name]
                if rows:
                    conn.execute(_table(name).insert(), rows)
                    counts[name] += len(rows)
        _reset_sequences(conn)
        audit.record(
            session,
            actor,
            "demo.generate",
            "clinic",
            clinic.id,
            patients=counts["patients"],
            assessments=counts["assessments"],
            seed=params.seed,
        )
    return GenerateReport(
        clinic_id=ctx.clinic_id,
        counts=counts,
        seconds=time.perf_counter() - started,
        as_of=as_of,
        parameters={
            "patients": params.patients,
            "seed": params.seed,
            "history_days": params.history_days,
            "item_answers": params.item_answers,
        },
    )
