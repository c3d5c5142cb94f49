"""The client's address: ``X-Forwarded-For`` is believed only from a trusted proxy.

uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 by default, so behind (or beside) a local
proxy anyone could name any address: escape the per-address sign-in delay, or write a false
address into the audit trail. This middleware (pure ASGI) rebuilds ``scope["client"]`` from
the peer's real address: when the peer is in ``GLABELLA_TRUSTED_PROXIES`` (default none), the
client is the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy
(the same rule as uvicorn's ``--forwarded-allow-ips``, which ``make run`` sets to the same
list, so that both agree); otherwise the header is ignored. From a trusted proxy only,
``X-Forwarded-Proto`` (http/https) and ``X-Forwarded-Host`` also replace the scheme and the
``Host`` header, so that links built from the request (``web.base_url``) carry the address the
patient reaches, not the proxy's upstream one.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def parse_trusted(value: str) -> frozenset[str]:
    """``"10.0.0.1, 10.0.0.2"`` -> the set of addresses (blank: none)."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def client_address(peer: str | None, forwarded_for: str | None, trusted: frozenset[str]) -> str:
    """The client's address from the peer and its ``X-Forwarded-For`` header (pure)."""
    if peer is None:
        return ""
    if peer not in trusted or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return hops[0] if hops else peer


class TrustedProxies:
    """Middleware: ``scope["client"]`` is the client's address by :func:`client_address`."""

    def __init__(self, app: ASGIApp, trusted: frozenset[str]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            host, port = scope["client"]
            forwarded = proto = fwd_host = None
            for name, value in scope.get("headers") or []:
                if name == b"x-forwarded-for":
                    forwarded = value.decode("latin-1")
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").split(",")[0].strip().lower()
                elif name == b"x-forwarded-host":
                    fwd_host = value.split(b",")[0].strip()
            address = client_address(host, forwarded, self.trusted)
            if address != host:
                scope = {**scope, "client": (address, port)}
            if host in self.trusted:
                if proto in ("http", "https") and scope["type"] == "http":
                    scope = {**scope, "scheme": proto}
                if fwd_host:
                    headers = [(n, v) for n, v in scope.get("headers") or [] if n != b"host"]
                    scope = {**scope, "headers": [(b"host", fwd_host), *headers]}
        await self.app(scope, receive, send)
