"""Versioned informed-consent text and the rule that no treatment is recorded without consent.

Texts are packaged markdown files listed in ``clinic/data/consent/versions.yaml`` with the
SHA-256 of their bytes; :func:`load_consent_versions` refuses a text whose hash does not
match, so a text cannot change silently under a version number.

Rule (:func:`can_record_treatment`): a treatment at ``treated_at`` may be recorded only if

1. consent was signed (``signed_at`` is not None) and both times are timezone-aware;
2. the signed version is a known version;
3. that version was in force on the clinic-local date of signing
   (``effective_from <= signed date`` and not retired on or before that date);
4. consent was signed no later than the treatment;
5. consent was signed at most ``max_age`` before the treatment (default 30 days, a clinic
   choice: consent is per treatment, not a standing permission).

A consent the patient withdrew is refused by the treatment gate
(:mod:`glabella.clinic.treatment`, hazard H-095).

The texts are CommonMark; :func:`render_consent_html` turns one into HTML for the page and
the patient's PDF copy with raw HTML disabled in the parser (a ``<script>`` in a text is shown
as text, never run) and markdown-it's default link check (no ``javascript:`` links).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

import yaml
from markdown_it import MarkdownIt

__all__ = [
    "DEFAULT_MAX_CONSENT_AGE",
    "ConsentCheck",
    "ConsentVersion",
    "can_record_treatment",
    "current_version",
    "load_consent_versions",
    "render_consent_html",
]

DEFAULT_MAX_CONSENT_AGE: Final = timedelta(days=30)


@dataclass(frozen=True)
class ConsentVersion:
    """One version of the consent text."""

    version: str
    text: str
    sha256: str
    effective_from: date
    retired_on: date | None

    def in_force_on(self, day: date) -> bool:
        """True when this version is the one to sign on ``day``."""
        return self.effective_from <= day and (self.retired_on is None or day < self.retired_on)


@dataclass(frozen=True)
class ConsentCheck:
    """Result of :func:`can_record_treatment`; truthy only when allowed."""

    allowed: bool
    reasons: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.allowed


@cache
def load_consent_versions() -> Mapping[str, ConsentVersion]:
    """All packaged consent versions by version id, each hash-checked against its text."""
    base = resources.files("glabella.clinic").joinpath("data/consent")
    index = yaml.safe_load(base.joinpath("versions.yaml").read_text("utf-8"))
    out: dict[str, ConsentVersion] = {}
    for raw in index["versions"]:
        data = base.joinpath(str(raw["file"])).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != raw["sha256"]:
            raise ValueError(
                f"consent version {raw['version']}: text hash {digest} does not match the "
                "recorded hash; add a new version instead of editing a text"
            )
        retired = raw.get("retired_on")
        out[str(raw["version"])] = ConsentVersion(
            version=str(raw["version"]),
            text=data.decode("utf-8"),
            sha256=digest,
            effective_from=date.fromisoformat(str(raw["effective_from"])),
            retired_on=None if retired is None else date.fromisoformat(str(retired)),
        )
    return MappingProxyType(out)


@cache
def _markdown() -> MarkdownIt:
    # "commonmark" preset with html off: raw HTML blocks and inline tags are escaped, not
    # passed through (markdown-it-py docs, "Security"); typographer off keeps the text as
    # written and hashed.
    return MarkdownIt("commonmark", {"html": False})


def render_consent_html(text: str) -> str:
    """The consent text (CommonMark) as an HTML fragment; raw HTML in the text is escaped."""
    html: str = _markdown().render(text)
    return html


def current_version(on: date) -> ConsentVersion:
    """The version in force on ``on``; raises LookupError if none is."""
    for v in load_consent_versions().values():
        if v.in_force_on(on):
            return v
    raise LookupError(f"no consent version in force on {on.isoformat()}")


def _aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def can_record_treatment(
    consent_signed_at: datetime | None,
    consent_version: str | None,
    treatment_date: datetime,
    clinic_tz: ZoneInfo | None = None,
    max_age: timedelta = DEFAULT_MAX_CONSENT_AGE,
) -> ConsentCheck:
    """Whether a treatment at ``treatment_date`` may be recorded (rules in module docstring).

    ``clinic_tz`` gives the calendar in which the signing date is read (default UTC).
    """
    tz = clinic_tz if clinic_tz is not None else ZoneInfo("UTC")
    reasons: list[str] = []
    if not _aware(treatment_date):
        return ConsentCheck(False, ("treatment time must be timezone-aware",))
    if consent_signed_at is None or consent_version is None:
        return ConsentCheck(False, ("no signed consent for this treatment",))
    if not _aware(consent_signed_at):
        return ConsentCheck(False, ("consent time must be timezone-aware",))
    versions = load_consent_versions()
    version = versions.get(consent_version)
    signed_day = consent_signed_at.astimezone(tz).date()
    if version is None:
        reasons.append(f"unknown consent version {consent_version!r}")
    elif not version.in_force_on(signed_day):
        reasons.append(
            f"consent version {consent_version} was not in force on {signed_day.isoformat()}"
        )
    if consent_signed_at > treatment_date:
        reasons.append("consent was signed after the treatment")
    elif treatment_date - consent_signed_at > max_age:
        reasons.append(f"consent is older than {max_age.days} days; sign again")
    return ConsentCheck(not reasons, tuple(reasons))
