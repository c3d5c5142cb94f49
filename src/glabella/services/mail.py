"""E-mail through SMTP (``smtplib``): the settings, and one message with a text and an HTML part."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from glabella.services.errors import Invalid
from glabella.settings import Settings


class MailError(Exception):
    """The message could not be handed to the mail server (the reason, no secrets)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = True
    timeout: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """The configuration, or ``None`` when ``GLABELLA_SMTP_HOST`` is blank (not set up)."""
        if not settings.smtp_host:
            return None
        password = ""
        if settings.smtp_password_file is not None:
            try:
                password = settings.smtp_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise Invalid(
                    f"GLABELLA_SMTP_PASSWORD_FILE {settings.smtp_password_file} cannot be read "
                    f"({exc.strerror}); nothing was sent",
                    field="smtp_password_file",
                ) from None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from or f"glabella@{settings.smtp_host}",
            user=settings.smtp_user,
            password=password,
            starttls=settings.smtp_starttls,
        )


def send(config: SmtpConfig, to: str, subject: str, text: str, html: str) -> str:
    """Send one message; returns its Message-ID. Raises ``MailError`` on any failure."""
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.user:
                smtp.login(config.user, config.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"the mail server {config.host}:{config.port} refused: {exc}") from None
    return str(message["Message-ID"])
