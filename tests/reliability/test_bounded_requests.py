"""Issue 17 item 1: a 36 MB body of 3 million keys sent to the sign-in API.

Before the limits it took 47 s, grew the server from 280 MB to 3.76 GB and held up a parallel
``/healthz`` for 9.8 s. Now: refused at once (413, unread), the server's resident memory stays
flat, and ``/healthz`` answers meanwhile. A real uvicorn server in a subprocess.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from live_server import LiveServer

from glabella.web.limits import API, SMALL
from reliability_figures import record_figures

KEYS = 3_000_000


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _huge_body() -> bytes:
    members = b",".join(b'"k%07d":1' % i for i in range(KEYS))
    return b"{" + members + b"}"


def test_a_36_mb_sign_in_body_is_refused_fast_with_flat_memory(
    live_server: Callable[[str], LiveServer], sqlite_template: Path, tmp_path: Path
) -> None:
    db_file = tmp_path / "bounded.db"
    db_file.write_bytes(sqlite_template.read_bytes())
    server = live_server(f"sqlite:///{db_file}")
    server.start()
    assert server.process is not None
    pid = server.process.pid
    body = _huge_body()
    assert len(body) > 35_000_000
    before = _rss_kib(pid)

    health: list[float] = []
    stop = threading.Event()

    def poll_health() -> None:
        with httpx.Client(base_url=server.base, timeout=10) as c:
            while not stop.is_set():
                t0 = time.monotonic()
                assert c.get("/healthz").status_code == 200
                health.append(time.monotonic() - t0)
                time.sleep(0.02)

    poller = threading.Thread(target=poll_health)
    poller.start()

    def wait_for_polls(n: int) -> None:
        """Until the poller has n answers (a loaded machine can be slow to run it)."""
        deadline = time.monotonic() + 30
        while len(health) < n and poller.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    wait_for_polls(1)
    try:
        # With a Content-Length: refused before a byte of the body is read.
        t0 = time.monotonic()
        response = httpx.post(
            f"{server.base}/api/v1/auth/login",
            content=body,
            headers={"content-type": "application/json"},
            timeout=30,
        )
        declared_seconds = time.monotonic() - t0
        assert response.status_code == 413, response.text
        assert str(SMALL.max_bytes) in response.json()["error"]["message"]

        # Streamed (chunked, no length): counted as it arrives and cut off at the limit.
        def chunks() -> object:
            for i in range(0, len(body), 65536):
                yield body[i : i + 65536]

        t0 = time.monotonic()
        try:
            streamed = httpx.post(
                f"{server.base}/api/v1/auth/login",
                content=chunks(),  # type: ignore[arg-type]
                headers={"content-type": "application/json"},
                timeout=30,
            )
            streamed_status = streamed.status_code
        except httpx.HTTPError:  # the server closed the connection after answering 413
            streamed_status = 413
        streamed_seconds = time.monotonic() - t0
        assert streamed_status == 413
        answered = len(health)
        wait_for_polls(answered + 1)  # /healthz still answers right after the two uploads
    finally:
        stop.set()
        poller.join()
    after = _rss_kib(pid)

    # A small body of many members under the size limit is refused before JSON parsing.
    many = b"[" + b",".join(b"0" for _ in range(API.max_members + 10)) + b"]"
    assert len(many) < API.max_bytes
    shaped = httpx.post(
        f"{server.base}/api/v1/score",
        content=many,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert shaped.status_code == 422 and "members" in shaped.json()["error"]["message"]

    assert declared_seconds < 1.0
    assert streamed_seconds < 5.0
    assert after - before < 20_000, (before, after)  # KiB: flat, not +3.5 GB
    assert health and max(health) < 1.0
    record_figures(
        "oversized-body",
        {
            "body (bytes)": len(body),
            "keys": KEYS,
            "refused with Content-Length (s)": round(declared_seconds, 3),
            "refused streamed (s)": round(streamed_seconds, 3),
            "server RSS before (MiB)": round(before / 1024, 1),
            "server RSS after (MiB)": round(after / 1024, 1),
            "/healthz answers meanwhile": len(health),
            "slowest /healthz (s)": round(max(health), 3),
        },
    )
