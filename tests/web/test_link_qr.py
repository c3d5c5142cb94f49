"""The new link's QR code on the patient page encodes exactly the link (issue 16).

No QR decoder is installed, so the test reads the module grid back out of the page's SVG
path (segno draws each dark run of a row as ``h<n>``) and compares it with the grid of a
QR symbol made from the URL shown in the link box; a one-character change of the URL gives
another grid, so the comparison can fail.
"""

from __future__ import annotations

import html
import re

import segno
from fastapi.testclient import TestClient

from glabella.services.users import UserView

PASSWORD = "correct horse battery staple"
PATIENT = {
    "mrn": "Q-1",
    "given_name": "Grace",
    "family_name": "Hopper",
    "date_of_birth": "1966-12-09",
    "sex": "female",
}


def _dark_cells(path: str) -> set[tuple[int, int]]:
    """The (row, column) cells a segno ``qrline`` path darkens (M/m moves, h runs)."""
    x = y = 0.0
    cells: set[tuple[int, int]] = set()
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            run = int(float(a))
            cells.update((int(y), int(x) + i) for i in range(run))
            x += run
    return cells


def _grid(url: str, border: int = 4) -> set[tuple[int, int]]:
    qr = segno.make(url, error="m")
    return {
        (r + border, c + border)
        for r, row in enumerate(qr.matrix)
        for c, dark in enumerate(row)
        if dark
    }


def test_new_link_shows_a_qr_code_of_the_link(app_client: TestClient, clinician: UserView) -> None:
    login = re.search(r'name="csrf_token" value="([^"]+)"', app_client.get("/login").text)
    assert login is not None
    app_client.post(
        "/login",
        data={"username": clinician.username, "password": PASSWORD, "csrf_token": login[1]},
    )
    pid = app_client.post("/api/v1/patients", json=PATIENT).json()["id"]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', app_client.get(f"/patients/{pid}").text)
    assert csrf is not None
    page = app_client.post(
        f"/patients/{pid}/links", data={"instruments": "phq9", "csrf_token": csrf[1]}
    ).text
    shown = re.search(r'id="new-link-url" class="linkbox" readonly value="([^"]+)"', page)
    assert shown is not None
    url = html.unescape(shown[1])
    assert url.startswith("http://testserver/r/")
    figure = re.search(r'<figure class="qr qr-link" id="new-link-qr">(.*?)</figure>', page, re.S)
    assert figure is not None and 'aria-label="QR code of the questionnaire link' in figure[1]
    path = re.search(r' d="([^"]+)"', figure[1])
    assert path is not None
    cells = _dark_cells(path[1])
    assert cells == _grid(url)
    assert cells != _grid(url[:-1] + ("A" if url[-1] != "A" else "B"))
    # the token appears once in the box and nowhere as text inside the SVG
    assert url not in figure[1]
    # shown once: the next visit of the page has neither the link nor its code
    again = app_client.get(f"/patients/{pid}").text
    assert "new-link-qr" not in again and url not in again
