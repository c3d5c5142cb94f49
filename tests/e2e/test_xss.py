"""Script payloads stored in every free-text field are shown as text, never run, in a browser.

Each free-text field a person can fill in (patient names, MRN and phone, staff name, consent
signature, screening medications / conditions / override reason, treatment lot and notes,
adverse-event description, a patient's own side-effect description, the action closing a
safety alert) gets a payload that would open a dialog and add an element with a known id if
it were ever parsed as HTML. Then every page that shows a patient is opened - the pages are
taken from the access matrix, so a new patient page is checked too - and the patient search
is used: no dialog opens, no payload element exists, and each payload is visible as text.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from browser_steps import sign_in
from playwright.sync_api import Browser, Dialog, Page

from builders import judgement, safe_screening
from glabella.services import (
    adverse_events,
    alerts,
    assessments,
    consent,
    links,
    patients,
    screening,
    treatments,
    users,
)
from glabella.services.context import Database
from glabella.web.access import MATRIX
from reliability_figures import record_figures

pytestmark = pytest.mark.e2e

PASSWORD = "a passphrase for the xss test"


def payload(tag: str, short: bool = False) -> str:
    """A payload that would show a dialog and add ``#xss-<tag>`` if parsed as HTML."""
    img = f"<img src=x id=xss-{tag} onerror=alert(1)>"
    if short:
        return img
    return f"{img}<script id=xss-s-{tag}>alert(2)</script>"


# a precaution, so that an override reason can be stored
SAFE = safe_screening(prior_eyelid_ptosis="yes")


def _seed(database_url: str) -> tuple[int, dict[str, str]]:
    """Store a payload in every free-text field; returns the patient id and field -> payload."""
    fields = {
        "staff full name": payload("staff"),
        "given name": payload("given"),
        "family name": payload("family"),
        "MRN": payload("mrn", short=True),
        "phone": payload("ph", short=True),
        "consent signed name": payload("signed"),
        "screening medication": payload("med"),
        "screening condition": payload("cond"),
        "override reason": payload("override"),
        "lot number": payload("lot", short=True),
        "treatment notes": payload("notes"),
        "adverse event description": payload("ae"),
        "patient-reported side effect": payload("selfae"),
        "alert action": payload("action"),
    }
    db = Database.from_url(database_url)
    try:
        user, _ = users.create_user(
            db,
            username="dr.xss",
            full_name=fields["staff full name"],
            role="clinician",
            password=PASSWORD,
        )
        actor = user.actor("seed")
        pid = patients.create_patient(
            db,
            actor,
            patients.parse_patient_input(
                {
                    "mrn": fields["MRN"],
                    "given_name": fields["given name"],
                    "family_name": fields["family name"],
                    "date_of_birth": "1970-07-07",
                    "sex": "female",
                    "phone": fields["phone"],
                }
            ),
        ).id
        screened = screening.run_screening(
            db,
            actor,
            pid,
            "onabotulinumtoxinA",
            screening.parse_screening_answers(SAFE),
            medications=(fields["screening medication"],),
            conditions=(fields["screening condition"],),
        )
        screening.override_precaution(
            db, actor, screened.id, "prior_eyelid_ptosis", fields["override reason"]
        )
        # The payloads match no known medicine or condition: confirm them as not relevant.
        assert screened.unconfirmed
        screening.confirm_unrecognised(
            db, actor, screened.id, [r.rule_id for r in screened.unconfirmed]
        )
        version = consent.current_text(db).version
        consent_id = consent.sign_consent(
            db,
            actor,
            pid,
            version,
            fields["consent signed name"],
            True,
            different_name_reason="the payload name differs from the record on purpose",
        ).id
        treatments.record_treatment(
            db,
            actor,
            pid,
            treatments.TreatmentInput(
                product_id="onabotulinumtoxinA",
                lot_number=fields["lot number"],
                lot_expiry=dt.date.today() + dt.timedelta(days=300),
                vial_units="100",
                saline_ml="2.5",
                sites={"procerus": "4", "corrugator_medial_left": "5"},
                consent_id=consent_id,
                notes=fields["treatment notes"],
            ),
        )
        adverse_events.record_adverse_event(
            db,
            actor,
            pid,
            type_="headache",
            onset=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
            judgement=judgement("1", outcome="recovering"),
            description=fields["adverse event description"],
        )
        issued = links.create_link(db, actor, pid, ["phq9"], valid_hours=24)
        links.submit_link(
            db,
            issued.token,
            {"phq9": {f"phq9_{i}": (1 if i == 9 else 0) for i in range(1, 10)}},
            "seed",
            side_effects=[("other", fields["patient-reported side effect"])],
        )
        # Two item-9 alerts (self-report above, clinician entry here): close one with a
        # payload; the other stays open on the dashboard.
        assessments.submit_assessment(
            db, actor, pid, "phq9", {f"phq9_{i}": (2 if i == 9 else 0) for i in range(1, 10)}
        )
        first = alerts.list_alerts(db, actor, patient_id=pid)[0]
        alerts.record_action(db, actor, first.id, fields["alert action"])
    finally:
        db.engine.dispose()
    return pid, fields


def _patient_pages(pid: int) -> list[str]:
    """Every GET page of the app whose only path parameter is the patient (from the matrix)."""
    pages = ["/", "/patients"]
    for method, path in sorted(MATRIX):
        if method != "GET" or path.startswith(("/api/", "/r/", "/static", "/docs")):
            continue
        params = re.findall(r"\{(\w+)\}", path)
        if params == ["patient_id"]:
            pages.append(path.replace("{patient_id}", str(pid)))
    return pages


def _injected(page: Page) -> list[str]:
    found: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll('[id^="xss-"], img[src="x"], svg[onload]'))
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    return found


def test_payloads_in_every_free_text_field_render_inert(
    server_info: Any, browser: Browser, artifacts: Path
) -> None:
    pid, fields = _seed(server_info.database_url)
    server = server_info.base
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{page.url}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, server, PASSWORD, "dr.xss")
    page.wait_for_url(f"{server}/")

    shown = ""
    visited = _patient_pages(pid)
    assert f"/patients/{pid}" in visited and len(visited) >= 6, visited
    html_pages = 0
    for path in visited:
        head = page.request.get(f"{server}{path}")
        assert head.status < 500, (path, head.status)
        if not head.headers.get("content-type", "").startswith("text/html"):
            continue  # a PDF or data download, not a page
        html_pages += 1
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status < 500, (path, response)
        page.wait_for_load_state("networkidle")
        assert _injected(page) == [], path
        shown += page.inner_text("body")
    assert html_pages >= 6
    page.goto(f"{server}/patients/{pid}")
    page.screenshot(path=str(artifacts / "20-xss-payloads-inert.png"), full_page=True)

    # The live search (htmx swaps the rows in): the payload name comes back as text, and the
    # name typed stays out of the address bar.
    page.goto(f"{server}/patients")
    page.fill("#q", "xss-family")
    page.wait_for_selector("#patient-rows tr a")
    page.wait_for_load_state("networkidle")
    assert _injected(page) == []
    assert "xss-family" in page.inner_text("#patient-rows")
    assert "xss" not in page.url and page.url == f"{server}/patients"
    page.screenshot(path=str(artifacts / "21-xss-search-inert.png"), full_page=True)

    # Fields no page shows once stored are rendered only when their form comes back with an
    # error: type the payload into the real form, get it refused for another reason, check.
    page.goto(f"{server}/patients/{pid}/screening")
    page.select_option("#product", "onabotulinumtoxinA")
    page.fill("#conditions", fields["screening condition"])
    page.get_by_role("button", name="Screen").click()  # no answers given: refused, shown again
    page.wait_for_load_state("networkidle")
    assert page.input_value("#conditions") == fields["screening condition"]
    assert _injected(page) == []
    page.goto(f"{server}/patients/{pid}/treatments/new")
    for selector, value in {
        "#lot_number": "L1",
        "#lot_expiry": (dt.date.today() - dt.timedelta(days=1)).isoformat(),  # expired: refused
        "#vial_units": "100",
        "#saline_ml": "2.5",
        "#site_procerus": "4",
        "#notes": fields["treatment notes"],
    }.items():
        page.fill(selector, value)
    page.get_by_role("button", name="Record treatment").click()
    page.wait_for_load_state("networkidle")
    assert page.input_value("#notes") == fields["treatment notes"]
    assert _injected(page) == []
    # The action closing an alert, typed into the dashboard's form: stored verbatim, and the
    # closed alert is shown nowhere as HTML (the JSON API returns it as a string).
    page.goto(f"{server}/")
    page.locator(".action-form textarea").first.fill(fields["alert action"])
    page.locator(".action-form button").first.click()
    page.wait_for_load_state("networkidle")
    assert _injected(page) == []
    closed = page.request.get(f"{server}/api/v1/alerts?status=closed").json()
    assert [a["action_text"] for a in closed] == [fields["alert action"]] * 2
    context.close()

    form_only = {"screening condition", "treatment notes", "alert action"}
    not_shown = [n for n, v in fields.items() if v not in shown and n not in form_only]
    record_figures(
        "xss-browser",
        {
            "free-text fields with a payload": len(fields),
            "patient pages checked (from the access matrix)": html_pages,
            "forms re-displayed with a payload": 2,
            "dialogs opened": len(dialogs),
            "payloads not shown as text": len(not_shown),
        },
    )
    assert dialogs == []
    assert not_shown == [], f"these payloads were not displayed as text anywhere: {not_shown}"
