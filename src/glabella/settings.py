"""Runtime settings, read from the environment (prefix ``GLABELLA_``) with safe defaults."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of a running Glabella.

    Defaults give an embedded SQLite database under ``./var`` and a secret key generated once
    and kept in ``./var/secret_key`` (never in the repository).
    """

    model_config = SettingsConfigDict(env_prefix="GLABELLA_", env_file=None)

    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    timezone: str = "Europe/London"
    clinic_name: str = "Glabella Clinic"
    self_report_link_hours: int = 72
    session_max_age_seconds: int = 8 * 60 * 60
    session_idle_seconds: int = 30 * 60
    https: bool = False
    base_url: str = ""
    """The address patients and staff reach the app at, e.g. ``https://clinic.example.org``.
    Blank (the default): every link is built from the address of the request that made it
    (scheme and host, ``X-Forwarded-Proto``/``-Host`` believed from a trusted proxy only).
    When set and different from the address actually served, a warning is logged at start-up
    and shown to admins on the dashboard (``web.base_url``)."""
    host: str = "127.0.0.1"
    port: int = 8000
    """The address uvicorn listens on (``make run HOST=... PORT=...`` passes both): the CLI's
    printed sign-in address when ``base_url`` is blank, and the start-up mismatch check."""
    trusted_proxies: str = ""
    """Comma-separated addresses of reverse proxies whose ``X-Forwarded-For`` is believed
    (default none: the peer's own address is the client's). ``make run`` passes it to uvicorn's
    ``--forwarded-allow-ips``; the app applies the same rule itself (``web.proxies``)."""
    smtp_host: str = ""
    """The mail server self-report links are e-mailed through; blank (default): e-mail is
    not set up, and the link page offers copying and the QR code only."""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password_file: Path | None = None
    """A file holding the SMTP password (never the password itself in the environment)."""
    smtp_from: str = ""
    """The sender address (default ``glabella@<smtp_host>``)."""
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS before signing in (off only for a local relay)."""
    followup_send_minutes: float = 0
    """How often the server sends due follow-up questionnaires by itself (minutes, fractions
    allowed: 0.5 is every 30 s); 0, the default, leaves it to ``glabella followup send-due``
    (cron, systemd timer)."""
    followup_reminder_days: int = 3
    """Days after the first e-mail of a visit's questionnaire before one reminder is sent."""
    research_key: str = ""
    """HMAC key of the research export's pseudonyms and date offsets (see glabella.interop.deid)."""
    photo_key: str = ""
    """Fernet key that encrypts patient photos at rest (urlsafe base64 of 32 bytes)."""

    audit_key: str = ""
    """HMAC key of the audit chain (never stored in the database; see services.audit)."""
    audit_key_file: Path | None = None
    """Where the audit key is kept when ``audit_key`` is empty (default ``data_dir/audit_key``,
    created 0600 on first use). Every app process on one database must use the same key."""
    audit_checkpoint_file: Path | None = None
    """The append-only file of signed checkpoints (default ``data_dir/audit_checkpoints``)."""

    def public_base_url(self) -> str:
        """``base_url``, or the listening address when it is blank (for the CLI's messages)."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'glabella.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The session-signing key: configured, or generated once into ``data_dir/secret_key``."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    def resolved_research_key(self) -> bytes:
        """The research export's HMAC key: configured, or generated once into ``data_dir``."""
        if self.research_key:
            return self.research_key.encode("utf-8")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "research_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip().encode("utf-8")

    def resolved_photo_key(self) -> bytes:
        """The photo encryption key: configured (``GLABELLA_PHOTO_KEY``), or generated once
        into ``data_dir/photo_key`` (mode 0600), never in the database. Losing it loses the
        photos (the measures stay readable); back it up apart from the database backup."""
        if self.photo_key:
            return self.photo_key.encode("ascii")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "photo_key"
        if not path.exists():
            import base64

            path.write_bytes(base64.urlsafe_b64encode(secrets.token_bytes(32)))
            path.chmod(0o600)
        return path.read_bytes().strip()

    def resolved_audit_key(self) -> bytes:
        """The audit chain's HMAC key: configured, or generated once into its key file."""
        if self.audit_key:
            return self.audit_key.encode("utf-8")
        path = self.audit_key_file or self.data_dir / "audit_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(48))
        return path.read_text(encoding="utf-8").strip().encode("utf-8")

    def resolved_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit_checkpoints"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings``)."""
    return Settings()
