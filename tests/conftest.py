"""Shared fixtures: a migrated temporary SQLite database, staff accounts, an app client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from glabella.services.context import Actor, Database
from glabella.services.users import UserView, create_user
from glabella.settings import Settings
from glabella.store import migrate
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    migrate.upgrade(url)
    database = Database.from_url(url)
    yield database
    database.engine.dispose()


MakeUser = Callable[[str, str], UserView]


@pytest.fixture
def make_user(db: Database) -> MakeUser:
    """Create a staff account with the known test password: ``make_user(username, role)``."""

    def make(username: str, role: str) -> UserView:
        user, _ = create_user(
            db, username=username, full_name=username.title(), role=role, password=PASSWORD
        )
        return user

    return make


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def clinician(make_user: MakeUser) -> UserView:
    return make_user("dr.rivera", "clinician")


@pytest.fixture
def actor(clinician: UserView) -> Actor:
    return clinician.actor("test")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-not-used-anywhere-else",
        base_url="http://testserver",
    )


@pytest.fixture
def app_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(settings, db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(app_client: TestClient, clinician: UserView) -> TestClient:
    """A client signed in to the JSON API as a clinician."""
    response = app_client.post(
        "/api/v1/auth/login", json={"username": clinician.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return app_client
