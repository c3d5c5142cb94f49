"""Fixtures of the reliability tests (the server itself is in ``live_server.py``)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import BACKENDS, LiveServer
from sqlalchemy import create_engine, text


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[[str], LiveServer]]:
    """``live_server(database_url)``: a (not yet started) server, stopped after the test."""
    made: list[LiveServer] = []

    def make(database_url: str) -> LiveServer:
        data_dir = tmp_path / f"server-{len(made)}"
        data_dir.mkdir()
        made.append(LiveServer(database_url=database_url, data_dir=data_dir))
        return made[-1]

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def backend_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh migrated database on every backend of ``GLABELLA_TEST_BACKENDS`` at once
    (copies of the session templates of tests/conftest.py), for tests that load all
    backends simultaneously."""
    urls: dict[str, str] = {}
    drops: list[tuple[Any, str]] = []
    for backend in BACKENDS:
        if backend == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            target = tmp_path / "reliability.db"
            shutil.copyfile(template, target)
            urls["sqlite"] = f"sqlite:///{target}"
            continue
        server = request.getfixturevalue("postgres_template")
        name = f"rel{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE glabella_template"))
        drops.append((admin, name))
        urls["postgresql"] = server.url(name)
    try:
        yield urls
    finally:
        for admin, name in drops:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()
