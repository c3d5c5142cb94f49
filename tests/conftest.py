"""Shared fixtures: a migrated temporary database, staff accounts, an app client.

The ``db`` fixture runs every test that uses it twice: on SQLite (a temporary file) and on
PostgreSQL (a throwaway server started once per test session - per xdist worker - from
Debian's ``postgresql`` binaries, initdb'd as an unprivileged user, listening only on a
unix socket in a temporary directory, and removed afterwards). Each PostgreSQL test gets its
own database, copied from a migrated template. ``GLABELLA_TEST_BACKENDS=sqlite`` limits a run
to SQLite (for a quick local loop; ``make test`` runs both).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from glabella.services.context import Actor, Database
from glabella.services.users import UserView, create_user
from glabella.settings import Settings
from glabella.store import migrate
from glabella.web.app import create_app

PASSWORD = "correct horse battery staple"

# One audit key for the test process, the in-process CLI and the live servers it starts
# (an app process and the CLI on one database must share the key: see services.audit).
os.environ.setdefault("GLABELLA_AUDIT_KEY", "test-audit-key-not-used-anywhere-else")


BACKENDS = [
    b.strip() for b in os.environ.get("GLABELLA_TEST_BACKENDS", "sqlite,postgresql").split(",")
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bindir() -> Path:
    """Debian's PostgreSQL binaries (``scripts/system-deps.sh`` installs them)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is missing: `make test` installs it (apt-get postgresql)")
    return Path(initdb).parent


def _unprivileged_user() -> str | None:
    """Root may not run initdb: use the ``postgres`` account, or create ``glabella-pg``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "glabella-pg"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "glabella-pg"],
        check=True,
    )
    return "glabella-pg"


@dataclass
class PostgresServer:
    """A running throwaway server: connect through its unix socket as ``postgres``."""

    base: Path
    port: int
    bindir: Path
    user: str | None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.base}&port={self.port}"

    def _as_user(self, argv: list[str]) -> list[str]:
        return argv if self.user is None else ["runuser", "-u", self.user, "--", *argv]

    def start(self) -> None:
        data = self.base / "data"
        subprocess.run(
            self._as_user(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-k {self.base} -p {self.port} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            self._as_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(self.base / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        subprocess.run(
            self._as_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.base / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test session (per xdist worker), removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="glabella-pg-"))
    user = _unprivileged_user()
    if user is not None:
        shutil.chown(base, user, user)
    server = PostgresServer(base=base, port=_free_port(), bindir=postgres_bindir(), user=user)
    try:
        server.start()
        yield server
    finally:
        server.stop()


_TEMPLATE = "glabella_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> PostgresServer:
    """A migrated template database: each test copies it (CREATE DATABASE ... TEMPLATE)."""
    admin = create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {_TEMPLATE}"))
    admin.dispose()
    migrate.upgrade(postgres_server.url(_TEMPLATE))
    return postgres_server


@contextlib.contextmanager
def postgres_database(server: PostgresServer, *, migrated: bool = True) -> Iterator[str]:
    """A fresh database on ``server`` (a migrated copy, or empty); dropped afterwards."""
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        template = f" TEMPLATE {_TEMPLATE}" if migrated else ""
        conn.execute(text(f"CREATE DATABASE {name}{template}"))
    try:
        yield server.url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied by each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _fresh_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / f"test-{next(_counter)}.db"  # `db` and `database_url` may both be used
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_template")
    with postgres_database(server) as url:
        yield url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database (``indirect`` parametrisation picks the backend)."""
    yield from _fresh_url(request, getattr(request, "param", "sqlite"), tmp_path)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, *empty* database (no tables; for migration tests)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with postgres_database(server, migrated=False) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated database on each backend in ``BACKENDS``."""
    for url in _fresh_url(request, request.param, tmp_path):
        database = Database.from_url(url)
        try:
            yield database
        finally:
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
