"""Issue 17: ``X-Forwarded-For`` is believed only from a peer in GLABELLA_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope, Send

from glabella.web.proxies import TrustedProxies, client_address, parse_trusted

PROXY = "10.0.0.5"


def test_parse_trusted_default_is_none() -> None:
    assert parse_trusted("") == frozenset()
    assert parse_trusted(" 10.0.0.5 , 10.0.0.6,") == {"10.0.0.5", "10.0.0.6"}


def test_untrusted_peer_cannot_name_an_address() -> None:
    # With no trusted proxy (the default), even loopback's header is ignored (uvicorn's own
    # default would have believed it).
    assert client_address("127.0.0.1", "198.51.100.1", frozenset()) == "127.0.0.1"
    assert client_address("203.0.113.9", "198.51.100.1", parse_trusted(PROXY)) == "203.0.113.9"


def test_trusted_peer_gives_right_most_untrusted_hop() -> None:
    trusted = parse_trusted(PROXY)
    assert client_address(PROXY, "198.51.100.1", trusted) == "198.51.100.1"
    # An attacker's own spoofed first hop is not believed: the proxy appended the real one.
    assert client_address(PROXY, "1.2.3.4, 203.0.113.9", trusted) == "203.0.113.9"
    assert client_address(PROXY, None, trusted) == PROXY


def _client_seen(peer: str, forwarded: str, trusted: str) -> str:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"][0])

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    scope: Scope = {
        "type": "http",
        "client": (peer, 40000),
        "headers": [(b"x-forwarded-for", forwarded.encode())],
    }
    asyncio.run(TrustedProxies(inner, parse_trusted(trusted))(scope, receive, send))
    return seen[0]


def test_middleware_rewrites_client_only_for_a_trusted_peer() -> None:
    assert _client_seen(PROXY, "198.51.100.1", PROXY) == "198.51.100.1"
    assert _client_seen("203.0.113.9", "198.51.100.1", PROXY) == "203.0.113.9"
    assert _client_seen("127.0.0.1", "198.51.100.1", "") == "127.0.0.1"
