"""A real server (uvicorn on loopback) and a real browser (Debian's chromium, headless)."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_steps import running_app
from playwright.sync_api import Browser, sync_playwright

from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.store import migrate

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
STAFF_PASSWORD = "a passphrase for the browser test"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Debian's chromium is missing: `make test` installs it (apt-get)")
    return path


@dataclass(frozen=True)
class ServerInfo:
    base: str
    database_url: str


@pytest.fixture(scope="module")
def server(server_info: ServerInfo) -> str:
    """The base URL of a running server (see ``server_info``)."""
    return server_info.base


@pytest.fixture(scope="module")
def server_info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    data_dir = tmp_path_factory.mktemp("server")
    url = f"sqlite:///{data_dir / 'glabella.db'}"
    migrate.upgrade(url)
    db = Database.from_url(url)
    create_user(
        db, username="dr.e2e", full_name="Dr E2E", role="clinician", password=STAFF_PASSWORD
    )
    db.engine.dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GLABELLA_DATA_DIR": str(data_dir),
        "GLABELLA_BASE_URL": base,
        "GLABELLA_SECRET_KEY": "e2e-secret-key-only-for-this-test",
    }
    with running_app(env, port, data_dir / "server.log") as served:
        assert served == base
        yield ServerInfo(base=base, database_url=url)


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (kept after the run for a person to look at)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def staff_password() -> str:
    return STAFF_PASSWORD


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        yield instance
        instance.close()
