"""E-mailed self-report links and the follow-up schedule, against a real local SMTP server
(aiosmtpd on loopback): the received message is parsed and its link followed (issue 16).

Clock (Europe/London, GMT in November): treated Monday 2026-11-02 10:00. Week 2 targets
11-16 with a window of +/- 3 days, 11-13 to 11-19; week 6 targets 12-14, window 12-07 to
12-21 (clinic.schedule). Reminder after 3 days.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner, Result

from builders import safe_screening, treated_patient
from glabella.cli import app as cli_app
from glabella.services import delivery
from glabella.services import links as link_svc
from glabella.services import patients as patient_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Gone, Invalid
from glabella.services.mail import SmtpConfig
from glabella.services.users import UserView
from glabella.settings import Settings, get_settings
from glabella.store.delivery import LinkDelivery
from glabella.web import app as app_module
from glabella.web.app import create_app

TREATED = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
BASE = "https://clinic.example.org"
PASSWORD = "correct horse battery staple"
SAFE_ANSWERS = safe_screening(cssrs=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpConfig]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield (
            inbox,
            SmtpConfig(host="127.0.0.1", port=port, sender="clinic@example.org", starttls=False),
        )
    finally:
        controller.stop()


@pytest.fixture
def clock(db: Database) -> dict[str, dt.datetime]:
    state = {"now": TREATED}
    db.clock = lambda: state["now"]
    return state


def _treated_patient(db: Database, actor: Actor, mrn: str, mail: str | None) -> int:
    return treated_patient(
        db,
        actor,
        mrn=mrn,
        given_name="Jane",
        family_name="Doe",
        email=mail or "",
        answers=SAFE_ANSWERS,
    ).patient_id


def _text_and_link(message: EmailMessage) -> tuple[str, str]:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    found = re.search(rf"{re.escape(BASE)}/r/([A-Za-z0-9_-]+)", text)
    assert found is not None, text
    html = message.get_body(preferencelist=("html",))
    assert html is not None and f'href="{found[0]}"' in html.get_content()
    return text, found[1]


def _url(token: str) -> str:
    return f"{BASE}/r/{token}"


def _at(clock: dict[str, dt.datetime], day: int, month: int = 11, hour: int = 9) -> None:
    clock["now"] = dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


PHQ9_ANSWERS = {"phq9": {f"phq9_{i}": 1 for i in range(1, 10)}}


def test_schedule_sends_each_visit_once_with_one_reminder(
    db: Database,
    actor: Actor,
    clock: dict[str, dt.datetime],
    smtp: tuple[Inbox, SmtpConfig],
) -> None:
    inbox, config = smtp
    pid = _treated_patient(db, actor, "S-1", "jane.doe@example.org")

    def run() -> delivery.SendReport:
        return delivery.send_due(db, config, _url, reminder_days=3)

    _at(clock, 12)  # the day before the week-2 window opens
    assert run().sent == 0 and inbox.messages == []
    _at(clock, 13)  # window opens
    assert run().to_dict() == {"sent": 1, "reminders": 0, "failed": 0, "no_address": 0}
    assert run().to_dict() == {"sent": 0, "reminders": 0, "failed": 0, "no_address": 0}
    assert len(inbox.messages) == 1
    to, first = inbox.messages[0]
    assert to == ["jane.doe@example.org"] and first["To"] == "jane.doe@example.org"
    subject = str(first["Subject"])
    for secret in ("PHQ", "depress", "Jane", "Doe", "S-1", "suicid", "botulinum"):
        assert secret.lower() not in subject.lower()
    text, token1 = _text_and_link(first)
    assert "PHQ" not in text and "Jane" not in text
    # the link the patient received opens the questionnaire, valid until the window closes
    opened = link_svc.open_link(db, token1)
    assert [i.id for i in opened.instruments] == ["phq9"]
    assert "20 November 2026, 00:00" in text  # window closes 11-19: valid to its end

    _at(clock, 15)  # 2 days later: no reminder yet
    assert run().reminders == 0
    _at(clock, 16)  # 3 days after the first e-mail: one reminder
    assert run().reminders == 1
    assert run().reminders == 0 and len(inbox.messages) == 2
    reminder = inbox.messages[1][1]
    assert str(reminder["Subject"]).startswith("Reminder:")
    _, token2 = _text_and_link(reminder)
    assert token2 != token1
    with pytest.raises(Gone):  # only the newest link is usable
        link_svc.open_link(db, token1)
    link_svc.submit_link(db, token2, PHQ9_ANSWERS)

    _at(clock, 18)
    assert run().to_dict()["sent"] == 0 and len(inbox.messages) == 2
    log = delivery.list_deliveries(db, actor, pid)
    assert [(d.kind, d.visit_key, d.status) for d in log] == [
        ("reminder", "week2", "sent"),
        ("initial", "week2", "sent"),
    ]
    assert log[0].address == "j…@example.org"
    assert log[1].sent_at == dt.datetime(2026, 11, 13, 9, 0, tzinfo=dt.UTC)
    assert log[0].answered_at == dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)

    _at(clock, 7, month=12)  # the week-6 window opens
    assert run().sent == 1 and len(inbox.messages) == 3


def test_answered_visit_gets_no_reminder(
    db: Database,
    actor: Actor,
    clock: dict[str, dt.datetime],
    smtp: tuple[Inbox, SmtpConfig],
) -> None:
    inbox, config = smtp
    _treated_patient(db, actor, "S-2", "x@example.org")
    _at(clock, 13)
    delivery.send_due(db, config, _url, reminder_days=3)
    _, token = _text_and_link(inbox.messages[0][1])
    link_svc.submit_link(db, token, PHQ9_ANSWERS)
    _at(clock, 17)
    assert delivery.send_due(db, config, _url, reminder_days=3).reminders == 0
    assert len(inbox.messages) == 1


def test_no_address_and_a_refusing_server_are_retried_never_lost(
    db: Database,
    actor: Actor,
    clock: dict[str, dt.datetime],
    smtp: tuple[Inbox, SmtpConfig],
) -> None:
    inbox, config = smtp
    pid = _treated_patient(db, actor, "S-3", None)
    _at(clock, 13)
    report = delivery.send_due(db, config, _url, reminder_days=3)
    assert report.no_address == 1 and report.sent == 0
    assert [d.status for d in delivery.list_deliveries(db, actor, pid)] == ["not_sent"]
    patient_svc.update_patient(
        db,
        actor,
        pid,
        patient_svc.parse_patient_input(
            {
                "mrn": "S-3",
                "given_name": "Jane",
                "family_name": "Doe",
                "date_of_birth": "1980-05-05",
                "sex": "female",
                "email": "late@example.org",
            }
        ),
    )
    dead = SmtpConfig(host="127.0.0.1", port=_free_port(), sender="c@example.org", starttls=False)
    _at(clock, 14)
    failed = delivery.send_due(db, dead, _url, reminder_days=3)
    assert failed.failed == 1 and "refused" in failed.messages[0]
    assert [d.status for d in delivery.list_deliveries(db, actor, pid)] == ["failed"]
    _at(clock, 14, hour=10)
    assert delivery.send_due(db, config, _url, reminder_days=3).sent == 1
    assert [to for to, _ in inbox.messages] == [["late@example.org"]]
    with db.read() as session:  # one row per visit and kind, updated in place
        assert len(session.scalars(select(LinkDelivery)).all()) == 1
    assert delivery.undelivered(db, actor) == []


def test_dashboard_lists_follow_up_e_mails_that_did_not_go_out(
    db: Database,
    actor: Actor,
    clinician: UserView,
    clock: dict[str, dt.datetime],
    smtp: tuple[Inbox, SmtpConfig],
    tmp_path: Path,
) -> None:
    _, config = smtp
    pid = _treated_patient(db, actor, "D-1", None)
    _at(clock, 13)
    assert delivery.send_due(db, config, _url, reminder_days=3).no_address == 1
    [missing] = delivery.undelivered(db, actor)
    assert (missing.patient_id, missing.visit_key, missing.status) == (pid, "week2", "not_sent")
    settings = Settings(data_dir=tmp_path, secret_key="dash-test-key", base_url=BASE)
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        _signed_in(client, clinician.username)
        board = re.search(
            r'<section[^>]*id="undelivered">(.*?)</section>', client.get("/").text, re.S
        )
    assert board is not None
    assert "Doe, Jane" in board[1] and "Week 2" in board[1] and "no e-mail address" in board[1]


def test_staff_e_mail_of_a_new_link(
    db: Database, actor: Actor, clock: dict[str, dt.datetime], smtp: tuple[Inbox, SmtpConfig]
) -> None:
    inbox, config = smtp
    pid = _treated_patient(db, actor, "S-4", "pat@example.org")
    issued = link_svc.create_link(db, actor, pid, ["phq9", "gad7"], valid_hours=72)
    sent = delivery.email_link(db, actor, issued.link.id, _url(issued.token), config)
    assert sent.status == "sent" and sent.address == "p…@example.org"
    _, token = _text_and_link(inbox.messages[0][1])
    assert token == issued.token
    assert "GAD" not in str(inbox.messages[0][1]["Subject"])
    with pytest.raises(Invalid, match="not set up"):
        delivery.check_can_email(db, actor, pid, None)


def test_schedule_needs_a_base_url_and_smtp(db: Database) -> None:
    with pytest.raises(Invalid, match="GLABELLA_BASE_URL"):
        delivery.schedule_link_url(Settings(base_url=""))
    with pytest.raises(Invalid, match="not set up"):
        delivery.run_schedule(db, Settings(base_url=BASE, smtp_host=""))
    assert delivery.mask_address("jane@example.org") == "j…@example.org"


# --- web page, JSON API and CLI -----------------------------------------------------------


def _signed_in(client: TestClient, username: str) -> str:
    login = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert login is not None
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": login[1]})
    page = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text)
    assert page is not None
    return page[1]


def test_web_sends_the_link_by_e_mail_and_the_e_mailed_link_opens(
    db: Database,
    actor: Actor,
    clinician: UserView,
    clock: dict[str, dt.datetime],
    smtp: tuple[Inbox, SmtpConfig],
    tmp_path: Path,
) -> None:
    inbox, config = smtp
    pid = _treated_patient(db, actor, "W-1", "jane.doe@example.org")
    settings = Settings(
        data_dir=tmp_path,
        secret_key="web-mail-test-key",
        base_url=BASE,
        smtp_host=config.host,
        smtp_port=config.port,
        smtp_starttls=False,
        smtp_from="clinic@example.org",
    )
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        csrf = _signed_in(client, clinician.username)
        page = client.get(f"/patients/{pid}").text
        assert 'name="deliver" value="email"' in page and "not set up" not in page
        done = client.post(
            f"/patients/{pid}/links",
            data={"instruments": "phq9", "deliver": "email", "csrf_token": csrf},
        ).text
        assert "E-mailed to j…@example.org." in done
        assert len(inbox.messages) == 1
        _, token = _text_and_link(inbox.messages[0][1])
        assert f"{BASE}/r/{token}" in done  # the same link as on screen (and its QR code)
        # the patient follows the e-mailed link (path of the URL, on this app)
        opened = client.get(f"/r/{token}")
        assert opened.status_code == 200 and "little interest or pleasure" in opened.text.lower()
        log = re.search(
            r'<table id="deliveries">(.*?)</table>', client.get(f"/patients/{pid}").text, re.S
        )
        assert log is not None and "sent by staff" in log[1] and "j…@example.org" in log[1]
        api = client.get(f"/api/v1/patients/{pid}/deliveries").json()
        assert api[0]["status"] == "sent" and api[0]["address"] == "j…@example.org"


def test_without_smtp_the_page_says_so_and_nothing_half_made(
    db: Database, actor: Actor, clinician: UserView, clock: dict[str, dt.datetime], tmp_path: Path
) -> None:
    pid = _treated_patient(db, actor, "W-2", "jane.doe@example.org")
    settings = Settings(data_dir=tmp_path, secret_key="web-mail-test-key", base_url=BASE)
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        _signed_in(client, clinician.username)
        page = client.get(f"/patients/{pid}").text
        assert 'id="email-not-set-up"' in page and 'value="email"' not in page
        refused = client.post(
            f"/api/v1/patients/{pid}/links", json={"instruments": ["phq9"], "deliver": "email"}
        )
        assert refused.status_code == 422 and "not set up" in refused.json()["error"]["message"]
        assert client.get(f"/api/v1/patients/{pid}/links").json() == []


def test_cli_send_due(
    db: Database, actor: Actor, smtp: tuple[Inbox, SmtpConfig], tmp_path: Path
) -> None:
    inbox, config = smtp
    now = dt.datetime.now(dt.UTC)
    db.clock = lambda: now - dt.timedelta(days=14)  # treated 14 days ago: week 2 is due today
    _treated_patient(db, actor, "C-1", "cli@example.org")
    env = {
        "GLABELLA_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "GLABELLA_DATA_DIR": str(tmp_path),
        "GLABELLA_BASE_URL": BASE,
        "GLABELLA_SMTP_HOST": config.host,
        "GLABELLA_SMTP_PORT": str(config.port),
        "GLABELLA_SMTP_STARTTLS": "false",
    }

    def run(**changes: str) -> Result:
        get_settings.cache_clear()  # each run reads its own environment
        try:
            return CliRunner().invoke(cli_app, ["followup", "send-due"], env={**env, **changes})
        finally:
            get_settings.cache_clear()

    first, again, no_base = run(), run(), run(GLABELLA_BASE_URL="")
    assert first.exit_code == 0 and "sent 1, reminders 0" in first.output, first.output
    assert again.exit_code == 0 and "sent 0, reminders 0" in again.output
    assert no_base.exit_code == 2 and "GLABELLA_BASE_URL" in no_base.output
    assert [to for to, _ in inbox.messages] == [["cli@example.org"]]


def test_smtp_password_comes_from_its_file_and_a_missing_file_is_named(tmp_path: Path) -> None:
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret-pass\n", encoding="utf-8")
    conf = SmtpConfig.from_settings(
        Settings(smtp_host="mail.example.org", smtp_user="clinic", smtp_password_file=secret)
    )
    assert conf is not None and conf.password == "s3cret-pass"
    assert conf.sender == "glabella@mail.example.org" and conf.port == 587 and conf.starttls
    assert SmtpConfig.from_settings(Settings(smtp_host="")) is None
    missing = Settings(smtp_host="mail.example.org", smtp_password_file=tmp_path / "nope")
    with pytest.raises(Invalid, match=r"GLABELLA_SMTP_PASSWORD_FILE \S*nope cannot be read"):
        SmtpConfig.from_settings(missing)


@pytest.mark.parametrize("minutes", [0, 5])
def test_the_server_sends_due_questionnaires_itself_only_when_told(
    db: Database,
    actor: Actor,
    clock: dict[str, dt.datetime],
    smtp: tuple[Inbox, SmtpConfig],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    minutes: int,
) -> None:
    inbox, config = smtp
    _treated_patient(db, actor, "B-1", "bg@example.org")
    _at(clock, 13)  # week 2 due
    rounds: list[float] = []

    async def quick(seconds: float) -> None:
        rounds.append(seconds)
        await asyncio.sleep(0.02)

    monkeypatch.setattr(app_module, "_followup_sleep", quick)
    settings = Settings(
        data_dir=tmp_path,
        secret_key="bg-test-key",
        base_url=BASE,
        smtp_host=config.host,
        smtp_port=config.port,
        smtp_starttls=False,
        followup_send_minutes=minutes,
    )
    with TestClient(create_app(settings, db)):
        deadline = time.monotonic() + 10
        while len(rounds) < 5 and time.monotonic() < deadline and minutes:
            time.sleep(0.05)
        time.sleep(0.2)
    if minutes == 0:  # the default: off, no task, nothing sent
        assert rounds == [] and inbox.messages == []
    else:  # several rounds at the configured interval, one e-mail
        assert len(rounds) >= 5 and set(rounds) == {300}
        assert [to for to, _ in inbox.messages] == [["bg@example.org"]]
