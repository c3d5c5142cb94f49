"""The main menu: the links a role may open, read off the access matrix (one source of truth).

Each entry names the page it links to and the matrix rule that decides whether it is shown: a
link is offered only when ``MATRIX`` lets the role ``GET`` it (or, for the dashboard, the route
that shows the dashboard's data), so the menu never offers a page that answers 403.
``tests/web/test_menu.py`` opens every link of every role's menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from glabella.web.access import MATRIX
from glabella.web.deps import home_page


@dataclass(frozen=True)
class MenuLink:
    label: str
    href: str
    rule: tuple[str, str]
    """The matrix entry that must admit the role for the link to be shown."""


MENU: tuple[MenuLink, ...] = (
    # "/" answers every register role, but shows the dashboard only to those who may read it
    # (a receptionist is sent on to the patient list): gated by the dashboard's data route.
    MenuLink("Dashboard", "/", ("GET", "/api/v1/dashboard")),
    MenuLink("Patients", "/patients", ("GET", "/patients")),
    MenuLink("Alerts", "/alerts", ("GET", "/alerts")),
    MenuLink("Evidence", "/evidence", ("GET", "/evidence")),
    MenuLink("Trial planning", "/evidence/planning", ("GET", "/evidence/planning")),
    MenuLink("Outcomes", "/analytics", ("GET", "/analytics")),
    MenuLink("Staff", "/admin/staff", ("GET", "/admin/staff")),
    MenuLink("API", "/api/docs", ("GET", "/api/docs")),
)

ACCOUNT_LINK = MenuLink("Account", "/account", ("GET", "/account"))


def menu_for(role: str | None) -> list[MenuLink]:
    """The menu links ``role`` may open, in menu order (none without a role)."""
    if role is None:
        return []
    return [link for link in MENU if role in MATRIX.get(link.rule, frozenset())]


def home_for(role: str | None) -> str:
    """Where the brand link of the header leads the role: its first page, and the patient list
    for a role that may not read the dashboard ("/" would only redirect it there)."""
    if role is None:
        return "/login"
    home = home_page(role)
    if home == "/" and role not in MATRIX.get(MENU[0].rule, frozenset()):
        return "/patients"
    return home
