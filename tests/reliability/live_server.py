"""A real server for the reliability tests: uvicorn in a subprocess on loopback.

Unlike the browser tests' module-wide server, this one can be started on any database URL
(SQLite file or PostgreSQL), killed with SIGKILL and started again on the same database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BACKENDS = [
    b.strip() for b in os.environ.get("GLABELLA_TEST_BACKENDS", "sqlite,postgresql").split(",")
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """``glabella.web.app:create_app`` served by uvicorn (one process) on ``database_url``."""

    database_url: str
    data_dir: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment of the server (e.g. ``GLABELLA_TRUSTED_PROXIES``)."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "GLABELLA_DATA_DIR": str(self.data_dir),
            "GLABELLA_DATABASE_URL": self.database_url,
            "GLABELLA_BASE_URL": self.base,
            "GLABELLA_SECRET_KEY": "reliability-test-secret-key",
            **self.env,
        }
        self.starts += 1
        log = (self.data_dir / f"server-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "glabella.web.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                # Longer than any pause of a test client, so that the server never closes an
                # idle keep-alive connection just as a client reuses it (a client-side race
                # that a browser answers by retrying, but that would muddle the counts here).
                "--timeout-keep-alive",
                "300",
                "--log-level",
                "warning",
                # As ``make run``: uvicorn believes X-Forwarded-For from the same proxies as
                # the app (none by default; uvicorn's own default would be loopback).
                "--forwarded-allow-ips",
                env.get("GLABELLA_TRUSTED_PROXIES", ""),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 120  # a loaded machine can take long to start it
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, open transactions are cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.data_dir.glob("server-*.log"))
        )
