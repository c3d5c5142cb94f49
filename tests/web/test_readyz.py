"""``/readyz``: the health check of a load balancer in front of several app processes (README
"Deployment"). Unlike ``/healthz`` it reaches the database, so a process that lost its
database is taken out of rotation instead of answering every request with an error."""

from __future__ import annotations

from fastapi.testclient import TestClient

from glabella.services.context import Database
from glabella.settings import Settings
from glabella.web.app import create_app


def test_ready_when_the_database_answers(app_client: TestClient) -> None:
    r = app_client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["database"] == "ok"


def test_unavailable_when_the_database_does_not(settings: Settings) -> None:
    # A PostgreSQL URL whose socket directory does not exist: every connection fails at once.
    gone = Database.from_url("postgresql+psycopg://nobody@/glabella?host=/nonexistent-dir&port=1")
    try:
        client = TestClient(create_app(settings, gone))  # no lifespan: it would need the database
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "database": "unreachable"}
        # /healthz still answers: it says only that the process is up.
        assert client.get("/healthz").status_code == 200
    finally:
        gone.engine.dispose()
