"""The main menu offers each role only what it can open: every link of every role's menu
answers 200, and the menu is read off the access matrix."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.settings import Settings
from glabella.web.access import ALL_ROLES, ANONYMOUS, MATRIX
from glabella.web.app import create_app
from glabella.web.menu import MENU, menu_for

PASSWORD = "correct horse battery staple"
STAFF_ROLES = [r for r in ALL_ROLES if r != ANONYMOUS]


def _nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert nav is not None
    return re.findall(r'href="([^"]+)"', nav.group(1))


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_menu_link_of_every_role_answers_200(
    role: str, settings: Settings, db: Database
) -> None:
    create_user(db, username=f"u.{role}", full_name=role.title(), role=role, password=PASSWORD)
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/auth/login", json={"username": f"u.{role}", "password": PASSWORD}
        )
        assert response.status_code == 200
        page = client.get("/evidence")  # a page every role may open
        links = _nav_links(page.text)
        assert links == [link.href for link in menu_for(role)]
        assert links, role
        brand = re.search(r'<a class="brand" href="([^"]+)"', page.text)
        assert brand is not None
        for href in [*links, brand.group(1), "/account"]:
            opened = client.get(href, follow_redirects=False)
            assert opened.status_code == 200, f"{role}: {href} answered {opened.status_code}"


def test_menus_by_role() -> None:
    labels = {role: [link.label for link in menu_for(role)] for role in STAFF_ROLES}
    assert labels["researcher"] == ["Evidence", "Trial planning", "Outcomes", "API"]
    assert labels["receptionist"] == ["Patients", "Evidence", "Trial planning", "API"]
    assert labels["nurse"] == [
        "Dashboard",
        "Patients",
        "Alerts",
        "Evidence",
        "Trial planning",
        "Outcomes",
        "API",
    ]
    assert labels["admin"] == [*labels["nurse"][:-1], "Staff", "API"]
    assert menu_for(None) == []


def test_the_menu_follows_the_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen a rule and the link appears; the menu keeps no role list of its own."""
    for link in MENU:
        assert link.rule in MATRIX, link
    assert "Staff" not in [link.label for link in menu_for("nurse")]
    monkeypatch.setitem(MATRIX, ("GET", "/admin/staff"), frozenset({"admin", "nurse"}))
    assert "Staff" in [link.label for link in menu_for("nurse")]
