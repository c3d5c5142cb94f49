"""Issue 16, "Done means": a clinic's first week in a real browser, on a phone and a desktop.

Each viewport gets a clinic of its own: a fresh database, a real local SMTP server (aiosmtpd)
and a server whose own follow-up task is on (``GLABELLA_FOLLOWUP_SEND_MINUTES=0.05``, every
3 s, so the test need not wait a minute). The only records made outside the browser are the
first administrator (made with ``glabella users add`` in real life), the 500 demo patients
(``glabella demo``'s loader) and one patient seen two weeks ago by a locum whose screening,
consent and baseline PHQ-9 are on file from then (seeded with the clock set back, as in
test_pathway_flow.py): the locum's treatment of that day was written on paper.

The walk (screenshots ``tests/artifacts/16-week-<nn>-<step>-<viewport>.png``):

1. the admin adds a receptionist and a clinician in the web UI (one-time passwords);
2. the clinician signs in, chooses a password and turns on two-factor sign-in from the QR page
   (the key read off the page, the code computed with pyotp as an authenticator app would);
3. the receptionist registers a patient with an e-mail address and e-mails the PHQ-9 link;
4. the patient opens the link from the e-mail the SMTP server received and answers;
5. the clinician signs in with password and code, screens, reads the consent (rendered, no
   Markdown marks), records it, downloads the PDF copy (a PDF naming the patient) and records
   the treatment with its injector;
6. the clinician enters the locum's paper treatment, dated 14 days earlier with a reason: the
   week-2 questionnaire is then due, and the server e-mails it by itself; the patient answers;
7. an adverse event of that patient is submitted with one wrong field (an onset in the
   future): the form names it and keeps every other answer; corrected, recorded, and updated
   "a week later" (recovered, resolution date a week after the onset), kept as history;
8. 500 demo patients are loaded and the dashboard pages through them.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

import pyotp
import pytest
from aiosmtpd.controller import Controller
from browser_steps import running_app
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from pypdf import PdfReader

from builders import safe_screening
from glabella.demo.params import DemoParameters
from glabella.services import assessments, consent, patients, screening, users
from glabella.services.context import Database
from glabella.services.demo_load import generate_clinic
from glabella.store import migrate

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "a passphrase for the first week walk"
LOCUM_PASSWORD = "the locum's own long passphrase"
CLINICIAN_PASSWORD = "willow branches over the river"
RECEPTION_PASSWORD = "seven herons on a grey morning"
DEMO_PATIENTS = 500
FOLLOWUP_MINUTES = "0.05"  # 3 s between two rounds of the server's own follow-up e-mails

SAFE_SCREENING = safe_screening()  # tests/builders.py: every answer "no", item 9 "0"

VIEWPORTS = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 900},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """What the local SMTP server received (aiosmtpd calls ``handle_DATA`` per message)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def wait_for(self, to: str, count: int = 1, seconds: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + seconds
        while True:
            mine = [m for m in list(self.messages) if m["To"] == to]
            if len(mine) >= count or time.monotonic() > deadline:
                return mine
            time.sleep(0.1)


@dataclass(frozen=True)
class FirstWeekClinic:
    base: str
    database_url: str
    inbox: Inbox
    locum_patient: int


def _seed(url: str) -> int:
    """The first admin and the locum (CLI in real life), and the locum's patient of two weeks
    ago: registered, baseline PHQ-9, screened and consented 15 days back."""
    db = Database.from_url(url)
    try:
        users.create_user(
            db, username="ada.admin", full_name="Ada Admin", role="admin", password=ADMIN_PASSWORD
        )
        users.create_user(
            db,
            username="dr.locum",
            full_name="Dr Lena Locum",
            role="clinician",
            password=LOCUM_PASSWORD,
        )
        actor = users.authenticate(db, "dr.locum", LOCUM_PASSWORD, "seed").actor("seed")
        then = dt.datetime.now(dt.UTC) - dt.timedelta(days=15)
        db.clock = lambda: then
        pid = patients.create_patient(
            db,
            actor,
            patients.parse_patient_input(
                {
                    "mrn": "OUT-7",
                    "given_name": "Tomasz",
                    "family_name": "Nowak",
                    "date_of_birth": "1969-03-21",
                    "sex": "male",
                    "email": "tomasz.nowak@example.org",
                }
            ),
        ).id
        # baseline PHQ-9: items 1-8 = 2, item 9 = 0 -> 16
        assessments.submit_assessment(
            db, actor, pid, "phq9", {f"phq9_{i}": 2 if i < 9 else 0 for i in range(1, 10)}
        )
        screening.run_screening(
            db,
            actor,
            pid,
            "onabotulinumtoxinA",
            screening.parse_screening_answers(SAFE_SCREENING),
        )
        version = consent.current_text(db).version
        consent.sign_consent(db, actor, pid, version, "Tomasz Nowak", True)
        return pid
    finally:
        db.engine.dispose()


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[FirstWeekClinic]:
    """A server of its own with e-mail and the follow-up task on (a variant of conftest's)."""
    inbox = Inbox()
    smtp_port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    url = f"sqlite:///{tmp_path / 'glabella.db'}"
    migrate.upgrade(url)
    locum_patient = _seed(url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GLABELLA_DATA_DIR": str(tmp_path),
        "GLABELLA_SECRET_KEY": "e2e-first-week-secret-key",
        "GLABELLA_BASE_URL": base,
        "GLABELLA_PORT": str(port),
        "GLABELLA_SMTP_HOST": "127.0.0.1",
        "GLABELLA_SMTP_PORT": str(smtp_port),
        "GLABELLA_SMTP_STARTTLS": "false",
        "GLABELLA_SMTP_FROM": "clinic@example.org",
        "GLABELLA_FOLLOWUP_SEND_MINUTES": FOLLOWUP_MINUTES,
    }
    try:
        with running_app(env, port, tmp_path / "server.log") as served:
            assert served == base
            yield FirstWeekClinic(base, url, inbox, locum_patient)
    finally:
        controller.stop()


class Walk:
    """Screenshots numbered in walk order, one viewport."""

    def __init__(self, artifacts: Path, device: str) -> None:
        self.artifacts, self.device, self.n = artifacts, device, 0
        for old in artifacts.glob(f"16-week-*-{device}.*"):  # an earlier run's, renumbered
            old.unlink()

    def shot(self, page: Page, step: str) -> None:
        self.n += 1
        name = f"16-week-{self.n:02d}-{step}-{self.device}.png"
        page.screenshot(path=str(self.artifacts / name), full_page=True)
        _no_sideways_scroll(page)


def _no_sideways_scroll(page: Page) -> None:
    """Nothing is cut off at the right edge (the page does not scroll sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px viewport"


def _within_width(page: Page, text: Locator) -> None:
    """``text`` is within the page's width, not past the right edge in a table that scrolls
    sideways inside its card (not scrolled into view: that would scroll the table too)."""
    box = text.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.evaluate("window.innerWidth") + 1


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()


def _choose_password(page: Page, one_time: str, password: str) -> None:
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    page.fill("#current_password", one_time)
    page.fill("#new_password", password)
    page.fill("#confirm_password", password)
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def _add_staff(page: Page, full_name: str, username: str, role: str) -> str:
    page.fill("#full_name", full_name)
    page.fill("#username", username)
    page.select_option("#role", role)
    page.get_by_role("button", name="Add staff member").click()
    expect(page.get_by_role("heading", name=f"Account created: {full_name}")).to_be_visible()
    one_time = page.locator("#one-time-password").inner_text().strip()
    assert len(one_time) >= 20 and not set("0O1lIi") & set(one_time)  # no look-alikes to type
    row = page.locator("table.staff tr", has=page.get_by_role("link", name=full_name))
    expect(row).to_contain_text(username)
    return one_time


def _answer_phq9(page: Page, scores: dict[int, int]) -> None:
    expect(page.get_by_text("Little interest or pleasure in doing things")).to_be_visible()
    for number, value in scores.items():
        page.check(f"input[name=phq9__phq9_{number}][value='{value}']")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()


def _open_from_e_mail(page: Page, message: EmailMessage) -> str:
    """Show the HTML e-mail as a mail app would and follow its button; the URL opened."""
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    href = re.search(r'href="([^"]+)"', content)
    assert href is not None
    page.set_content(content)
    page.get_by_role("link", name="Open the questionnaire").click()
    page.wait_for_url(href[1])
    return href[1]


def _no_health_details(message: EmailMessage, family_name: str) -> None:
    """The subject is read on lock screens: the clinic's questionnaire, nothing more."""
    subject = str(message["Subject"])
    assert subject == "A short questionnaire from Glabella Clinic", subject
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content().lower()
    for word in ("phq", "depress", "botulinum", "score", family_name.lower()):
        assert word not in text, word


def _local_input(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_a_clinics_first_week(
    clinic: FirstWeekClinic, browser: Browser, artifacts: Path, device: str
) -> None:
    base, walk = clinic.base, Walk(artifacts, device)
    options: dict[str, Any] = {"viewport": VIEWPORTS[device]}
    if device == "phone":
        options |= {"is_mobile": True, "has_touch": True}

    def context(**extra: Any) -> BrowserContext:
        return browser.new_context(**options, **extra)

    # 1. The admin adds the receptionist and the clinician.
    admin_ctx = context()
    admin = admin_ctx.new_page()
    _sign_in(admin, base, "ada.admin", ADMIN_PASSWORD)
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    expect(admin.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    reception_otp = _add_staff(admin, "Rita Reception", "r.rita", "receptionist")
    clinician_otp = _add_staff(admin, "Dr Clara Klein", "c.klein", "clinician")
    staff = admin.locator("table.staff")
    expect(staff.locator("tr", has_text="Rita Reception")).to_contain_text("Receptionist")
    expect(staff.locator("tr", has_text="Dr Clara Klein")).to_contain_text("Clinician")
    walk.shot(admin, "staff-added")
    admin_ctx.close()

    # 2. The clinician: her own password, then two-factor sign-in from the QR page.
    clin_ctx = context(accept_downloads=True)
    clin = clin_ctx.new_page()
    _sign_in(clin, base, "c.klein", clinician_otp)
    _choose_password(clin, clinician_otp, CLINICIAN_PASSWORD)
    clin.locator("a.who").click()
    clin.get_by_role("link", name="Two-factor sign-in").click()
    qr = clin.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150  # big enough to scan
    secret = clin.locator("#secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    key_box = clin.locator("#secret").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert key_box[0] <= key_box[1], f"the key is cut off in its box: {key_box}"
    walk.shot(clin, "two-factor-qr")
    enrol_step = int(time.time() // 30)
    clin.fill("#code", pyotp.TOTP(secret).at(enrol_step * 30))
    clin.get_by_role("button", name="Turn on").click()
    expect(clin.get_by_text("The second factor is on")).to_be_visible()
    expect(clin.locator("#recovery-codes li")).to_have_count(10)
    walk.shot(clin, "recovery-codes")
    clin.get_by_role("button", name="Sign out").click()

    # 3. The receptionist registers the patient and e-mails the questionnaire link.
    desk_ctx = context()
    desk = desk_ctx.new_page()
    _sign_in(desk, base, "r.rita", reception_otp)
    _choose_password(desk, reception_otp, RECEPTION_PASSWORD)
    menu = desk.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    assert "Patients" in menu and "Staff" not in menu and "Dashboard" not in menu
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    desk.get_by_role("link", name="New patient").click()
    desk.get_by_label("Medical record number (MRN)").fill("W1-001")
    desk.get_by_label("Given name").fill("Maria")
    desk.get_by_label("Family name").fill("Santos")
    desk.get_by_label("Date of birth").fill("1985-06-14")
    desk.select_option("#sex", "female")
    desk.get_by_label("Email").fill("maria.santos@example.org")
    walk.shot(desk, "register-patient")
    desk.get_by_role("button", name="Register patient").click()
    expect(desk.get_by_role("heading", name="Santos, Maria")).to_be_visible()
    desk.get_by_role("button", name="Create and send by e-mail to maria.santos@example.org").click()
    expect(desk.locator("#new-link-delivery")).to_contain_text("m…@example.org")
    shown = desk.input_value("#new-link-url")
    assert shown.startswith(f"{base}/r/")
    expect(desk.locator("#new-link-qr svg")).to_be_visible()
    walk.shot(desk, "link-e-mailed")
    patient_url = desk.url.split("#")[0].split("?")[0]
    desk_ctx.close()

    # 4. The patient opens the e-mail and answers the PHQ-9.
    received = clinic.inbox.wait_for("maria.santos@example.org")
    assert len(received) == 1
    _no_health_details(received[0], "Santos")
    pat_ctx = context()
    pat = pat_ctx.new_page()
    assert _open_from_e_mail(pat, received[0]) == shown
    walk.shot(pat, "patient-questionnaire")
    # items 1-8 = 2, item 9 = 0 -> 16 (moderately severe)
    _answer_phq9(pat, {i: 2 if i < 9 else 0 for i in range(1, 10)})
    walk.shot(pat, "patient-thanks")
    pat_ctx.close()

    # 5. The clinician signs in with the second factor: screening, consent, treatment.
    _sign_in(clin, base, "c.klein", CLINICIAN_PASSWORD)
    expect(clin.get_by_role("heading", name="One-time code")).to_be_visible()
    step = max(enrol_step + 1, int(time.time() // 30))  # the enrolment's code is spent
    clin.fill("#code", pyotp.TOTP(secret).at(step * 30))
    clin.get_by_role("button", name="Sign in", exact=True).click()
    expect(clin.get_by_role("heading", name="Dashboard")).to_be_visible()
    clin.goto(patient_url)
    expect(clin.locator("table.results")).to_contain_text("16")
    clin.get_by_role("link", name="Screening", exact=True).click()
    expect(clin.locator("#stored-item9")).to_contain_text("highest item 9: 0")
    clin.select_option("#product", "onabotulinumtoxinA")
    for name, value in SAFE_SCREENING.items():
        if name != "phq9_item9":
            clin.check(f"input[name={name}][value={value}]")
    clin.get_by_role("button", name="Screen").click()
    expect(clin.locator("#latest .outcome")).to_have_text("Eligible")
    walk.shot(clin, "screened")
    clin.get_by_role("link", name="Next: consent").click()
    text = clin.locator(".consent-rendered")
    expect(text.get_by_role("heading", name="This use is off-label")).to_be_visible()
    shown_text = text.inner_text()
    assert "#" not in shown_text and "**" not in shown_text
    walk.shot(clin, "consent-text")
    clin.get_by_label("The patient has read this text").check()
    clin.get_by_label("Patient's full name (typed signature)").fill("Maria Santos")
    clin.get_by_role("button", name="Record signed consent").click()
    expect(clin.get_by_role("heading", name="Record treatment: Santos, Maria")).to_be_visible()

    clin.goto(f"{patient_url}/consent")
    with clin.expect_download() as info:
        clin.locator("#signed").get_by_role("link", name="PDF").click()
    pdf = artifacts / f"16-week-consent-copy-{device}.pdf"
    info.value.save_as(pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pdf_text = " ".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages)
    assert "Maria Santos" in pdf_text and "off-label" in pdf_text
    clin.goto(f"{patient_url}/treatments/new")
    today = dt.datetime.fromisoformat(clin.input_value("#treated_at")).date()  # clinic time
    clin.select_option("#product", "onabotulinumtoxinA")
    clin.fill("#lot_number", "C3912")
    clin.fill("#lot_expiry", (dt.date.today() + dt.timedelta(days=240)).isoformat())
    expect(clin.locator("#injector_id option:checked")).to_have_text("Dr Clara Klein (Clinician)")
    # 100 U in 2.5 mL = 40 U per mL; 5 sites x 5 U = 25 U (hand sum); 25 / 40 = 0.625 mL
    units = {
        "procerus": "5",
        "corrugator_medial_left": "5",
        "corrugator_medial_right": "5",
        "corrugator_lateral_left": "5",
        "corrugator_lateral_right": "5",
    }
    for site, value in units.items():
        clin.fill(f"#site_{site}", value)
    expect(clin.locator("#total-units")).to_have_text("25")
    expect(clin.locator("#total-volume")).to_have_text("0.625 mL")
    walk.shot(clin, "treatment-form")
    clin.get_by_role("button", name="Record treatment").click()
    treated = clin.locator("table.treatments")
    expect(treated).to_contain_text("25 U")
    # 25 U is above the 20 U of the glabellar-lines label (Botox PI: 0.1 mL = 4 U at 5 sites)
    expect(treated.get_by_text("above label dose")).to_be_visible()
    _within_width(clin, treated.get_by_text("Dr Clara Klein"))
    week2 = clin.locator("table.visits tr", has_text="Week 2")
    expect(week2).to_contain_text((today + dt.timedelta(days=14)).isoformat())
    walk.shot(clin, "treated")

    # 6. The locum's paper treatment of two weeks ago; the server sends the week-2 PHQ-9.
    clin.goto(f"{base}/patients/{clinic.locum_patient}/treatments/new")
    expect(clin.get_by_role("heading", name="Record treatment: Nowak, Tomasz")).to_be_visible()
    now_shown = dt.datetime.fromisoformat(clin.input_value("#treated_at"))
    treated_at = now_shown - dt.timedelta(days=14)
    clin.select_option("#product", "onabotulinumtoxinA")
    clin.fill("#lot_number", "C3877")
    clin.fill("#lot_expiry", (dt.date.today() + dt.timedelta(days=200)).isoformat())
    clin.select_option("#injector_id", label="Dr Lena Locum (Clinician)")
    clin.fill("#treated_at", _local_input(treated_at))
    for site, value in units.items():
        clin.fill(f"#site_{site}", value)
    clin.get_by_role("button", name="Record treatment").click()
    # An earlier time needs a reason: refused, the field named, nothing else lost.
    expect(clin.locator("#error-backdate_reason")).to_be_visible()
    expect(clin.locator("#treated_at")).to_have_value(_local_input(treated_at))
    expect(clin.locator("#site_procerus")).to_have_value("5")
    walk.shot(clin, "backdated-needs-reason")
    clin.fill("#backdate_reason", "Given at the outreach clinic on paper; entered from the record")
    clin.get_by_role("button", name="Record treatment").click()
    treated = clin.locator("table.treatments")
    expect(treated).to_contain_text(treated_at.date().isoformat())
    expect(treated).to_contain_text("Dr Lena Locum")
    expect(clin.locator("table.visits tr", has_text="Week 2")).to_contain_text("due")

    # Nobody clicks anything: the server's own round e-mails the week-2 questionnaire.
    week2_mail = clinic.inbox.wait_for("tomasz.nowak@example.org")
    assert len(week2_mail) == 1, "the week-2 questionnaire was not e-mailed"
    _no_health_details(week2_mail[0], "Nowak")
    clin.reload()
    deliveries = clin.locator("#deliveries")
    expect(deliveries).to_contain_text("Week 2 questionnaire")
    expect(deliveries).to_contain_text("t…@example.org")
    _within_width(clin, deliveries.get_by_text("Week 2 questionnaire"))
    walk.shot(clin, "week2-e-mailed")
    pat_ctx = context()
    pat = pat_ctx.new_page()
    _open_from_e_mail(pat, week2_mail[0])
    expect(pat.get_by_text("Side effects since your injection")).to_be_visible()
    walk.shot(pat, "week2-questionnaire")
    # week 2: items 1-7 = 1, 8-9 = 0 -> 7; against baseline 16: -9 (-56 %), a response
    _answer_phq9(pat, {i: 1 if i < 8 else 0 for i in range(1, 10)})
    pat_ctx.close()
    clin.reload()
    expect(clin.locator("table.visits tr", has_text="Week 2")).to_contain_text("completed")
    outcomes = clin.locator("table.outcomes:not(.visit-outcomes)")
    expect(outcomes).to_contain_text("-9 (-56%)")
    expect(outcomes.locator("td.response")).to_have_text("responder")
    _within_width(clin, outcomes.locator("td.response"))
    walk.shot(clin, "week2-answered")

    # 7. An adverse event: one wrong field, every other answer kept; then a week later.
    clin.get_by_role("link", name="Adverse event", exact=True).click()
    onset = treated_at.replace(hour=9, minute=0) + dt.timedelta(days=2)
    typo = onset.replace(year=onset.year + 1)  # the year mistyped: in the future
    clin.select_option("#type", label="Headache")
    clin.fill("#description", "frontal, in the evening, paracetamol helped")
    clin.fill("#onset", _local_input(typo))
    clin.select_option("#grade", "1")
    clin.get_by_label("No — none of the criteria apply").check()
    clin.select_option("#relatedness", label="probable")
    clin.select_option("#action", label="symptomatic treatment")
    clin.select_option("#outcome", label="recovering")
    clin.get_by_role("button", name="Record adverse event").click()
    error = clin.get_by_role("alert")
    expect(error).to_contain_text(clin.locator("label[for=onset]").inner_text().strip())
    expect(clin.locator("#onset")).to_have_attribute("aria-invalid", "true")
    expect(clin.locator("#type option:checked")).to_have_text("Headache")
    expect(clin.locator("#description")).to_have_value(
        "frontal, in the evening, paracetamol helped"
    )
    expect(clin.locator("#onset")).to_have_value(_local_input(typo))
    expect(clin.locator("#grade")).to_have_value("1")
    expect(clin.get_by_label("No — none of the criteria apply")).to_be_checked()
    expect(clin.locator("#relatedness option:checked")).to_have_text("probable")
    expect(clin.locator("#action option:checked")).to_have_text("symptomatic treatment")
    expect(clin.locator("#outcome option:checked")).to_have_text("recovering")
    walk.shot(clin, "adverse-event-error")
    clin.fill("#onset", _local_input(onset))
    clin.get_by_role("button", name="Record adverse event").click()
    events = clin.locator("table.adverse-events")
    expect(events).to_contain_text("Headache")
    expect(events).to_contain_text(treated_at.date().isoformat())  # linked to the treatment
    events.get_by_role("link", name="Update").click()
    expect(clin.get_by_text("Nothing is pre-selected")).to_have_count(0)  # it is, from the record
    expect(clin.locator("#outcome option:checked")).to_have_text("recovering")
    resolved = onset.date() + dt.timedelta(days=7)
    clin.select_option("#outcome", label="recovered")
    clin.fill("#resolved_on", resolved.isoformat())
    clin.fill("#note", "Week-2 call: the headache stopped a week after it began")
    clin.get_by_role("button", name="Save update").click()
    facts = clin.locator("dl.facts")
    expect(facts.locator("dd.relatedness")).to_have_text("probable")
    expect(facts.locator("dd.action")).to_have_text("symptomatic treatment")
    expect(facts).to_contain_text(f"recovered, resolved {resolved.isoformat()}")
    history = clin.locator("table.ae-history")
    expect(history).to_contain_text("Dr Clara Klein")
    expect(history).to_contain_text("recovering")
    expect(history).to_contain_text("Week-2 call: the headache stopped")
    walk.shot(clin, "adverse-event-updated")

    # 8. The clinic at scale: 500 demo patients on the dashboard's pages.
    db = Database.from_url(clinic.database_url)
    try:
        admin_actor = users.authenticate(db, "ada.admin", ADMIN_PASSWORD, "demo").actor("demo")
        generate_clinic(db, admin_actor, DemoParameters(patients=DEMO_PATIENTS, seed=16))
    finally:
        db.engine.dispose()
    total = DEMO_PATIENTS + 2  # the demo clinic, Maria Santos and Tomasz Nowak
    pages = -(-total // 50)
    clin.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    summary = clin.locator(".paging-summary")
    expect(summary).to_have_text(f"Patients 1–50 of {total} · page 1 of {pages}")
    rows = clin.locator("table.worklist tbody tr")
    expect(rows).to_have_count(50)
    first_page = rows.all_inner_texts()
    walk.shot(clin, "dashboard-page1")
    clin.get_by_role("link", name="Next ›").click()
    expect(summary).to_have_text(f"Patients 51–100 of {total} · page 2 of {pages}")
    expect(rows).to_have_count(50)
    second_page = rows.all_inner_texts()
    assert not set(first_page) & set(second_page)
    walk.shot(clin, "dashboard-page2")
    clin_ctx.close()
