"""The baseline of the submission benchmark: a bare FastAPI endpoint inserting into SQLite.

Same server (uvicorn, one worker), same framework and the same JSON body as the real
submission, but no session, no access matrix, no scoring, no audit chain: one validated body
and one INSERT in WAL mode per request. ``BARE_DB`` names the SQLite file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading

from fastapi import FastAPI
from pydantic import BaseModel

DB_PATH = os.environ.get("BARE_DB", "bare.db")
_local = threading.local()


def _conn() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB_PATH, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        _local.conn = conn
    return conn


class Body(BaseModel):
    instrument: str
    answers: dict[str, int]


app = FastAPI()


@app.on_event("startup")
def _create() -> None:
    _conn().execute(
        "CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY, patient_id INTEGER, "
        "instrument TEXT, answers TEXT, total INTEGER)"
    )


@app.post("/submit/{patient_id}", status_code=201)
def submit(patient_id: int, body: Body) -> dict[str, int]:
    conn = _conn()
    total = sum(body.answers.values())
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute(
        "INSERT INTO submissions (patient_id, instrument, answers, total) VALUES (?, ?, ?, ?)",
        (patient_id, body.instrument, json.dumps(body.answers), total),
    )
    conn.execute("COMMIT")
    return {"id": int(cur.lastrowid or 0), "total": total}
