"""Issue 16 in a real browser: a server on a port of its own with GLABELLA_BASE_URL blank; the
clinician e-mails a new link (a real local SMTP server, aiosmtpd), the QR code is on screen,
and the patient opens the link *from the received e-mail* on a phone and answers."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from browser_steps import running_app, signed_in_page
from playwright.sync_api import Browser, expect

from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.store import migrate

pytestmark = pytest.mark.e2e

PASSWORD = "a passphrase for the mail browser test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()
    smtp_port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    data_dir = tmp_path_factory.mktemp("mail-server")
    url = f"sqlite:///{data_dir / 'glabella.db'}"
    migrate.upgrade(url)
    db = Database.from_url(url)
    create_user(db, username="dr.mail", full_name="Dr Mail", role="clinician", password=PASSWORD)
    db.engine.dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "GLABELLA_BASE_URL"}
    env.update(
        GLABELLA_DATA_DIR=str(data_dir),
        GLABELLA_SECRET_KEY="e2e-mail-secret-key",
        GLABELLA_PORT=str(port),
        GLABELLA_SMTP_HOST="127.0.0.1",
        GLABELLA_SMTP_PORT=str(smtp_port),
        GLABELLA_SMTP_STARTTLS="false",
        GLABELLA_SMTP_FROM="clinic@example.org",
    )
    try:
        with running_app(env, port, data_dir / "server.log") as served:
            assert served == base
            yield base, inbox
    finally:
        controller.stop()


def test_link_e_mailed_and_opened_from_the_e_mail(
    mail_server: tuple[str, Inbox], browser: Browser, artifacts: Path
) -> None:
    base, inbox = mail_server
    page = signed_in_page(
        browser, base, PASSWORD, "dr.mail", viewport={"width": 1280, "height": 900}, dashboard=True
    )
    staff = page.context
    page.goto(f"{base}/patients/new")
    page.fill("#mrn", "M-001")
    page.fill("#given_name", "Lise")
    page.fill("#family_name", "Meitner")
    page.fill("#date_of_birth", "1978-11-07")
    page.select_option("#sex", "female")
    page.fill("#email", "lise.meitner@example.org")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="Meitner, Lise")).to_be_visible()

    page.get_by_role("button", name="Create and send by e-mail to lise.meitner@example.org").click()
    expect(page.locator("#new-link-delivery")).to_have_text("E-mailed to l…@example.org.")
    shown = page.input_value("#new-link-url")
    assert shown.startswith(f"{base}/r/")  # the port actually served, not 8000
    qr = page.locator("#new-link-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 200
    page.screenshot(path=str(artifacts / "16-link-emailed-with-qr.png"), full_page=True)

    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "lise.meitner@example.org"
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    href = re.search(r'href="([^"]+)"', html.get_content())
    assert href is not None and href[1] == shown

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    mail = phone.new_page()
    mail.set_content(html.get_content())  # the e-mail as a mail app shows it
    mail.get_by_role("link", name="Open the questionnaire").click()
    expect(mail.get_by_text("Little interest or pleasure in doing things")).to_be_visible()
    assert mail.url == shown
    for number in range(1, 10):
        mail.check(f"input[name=phq9__phq9_{number}][value='0']")
    mail.get_by_role("button", name="Send my answers").click()
    expect(mail.get_by_role("heading", name="Thank you")).to_be_visible()
    phone.close()

    page.reload()
    log = page.locator("#deliveries")
    expect(log).to_contain_text("l…@example.org")
    expect(log).to_contain_text("sent by staff")
    page.screenshot(path=str(artifacts / "16-delivery-log.png"), full_page=True)
    staff.close()
