"""/api/docs renders in a browser with no network: Swagger UI is served by the app itself.

The browser runs with every request outside the app's own origin aborted, so a CDN asset
would leave the page blank (the defect this replaces).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_api_docs_render_offline_under_the_strict_csp(
    server: str, browser: Any, artifacts: Path
) -> None:
    base = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_own_origin(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_own_origin)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = page.goto(f"{base}/api/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_selector(".opblock", timeout=20_000)  # one block per operation
    assert page.locator(".opblock").count() > 20
    assert "Glabella" in page.locator(".info .title").inner_text()
    assert outside == []
    assert not [e for e in errors if "Content Security Policy" in e], errors
    page.screenshot(path=str(artifacts / "api_docs_offline.png"))
    page.close()
