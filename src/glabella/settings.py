"""Runtime settings, read from the environment (prefix ``GLABELLA_``) with safe defaults."""

from __future__ import annotations

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
    base_url: str = "http://127.0.0.1:8000"
    trusted_proxies: str = ""
    """Comma-separated addresses of reverse proxies whose ``X-Forwarded-For`` is believed
    (default none: the peer's own address is the client's). ``make run`` passes it to uvicorn's
    ``--forwarded-allow-ips``; the app applies the same rule itself (``web.proxies``)."""
    research_key: str = ""
    """HMAC key of the research export's pseudonyms and date offsets (see glabella.research)."""

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings``)."""
    return Settings()
