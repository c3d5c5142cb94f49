"""Password hashing (argon2id) and the password rule (NIST SP 800-63B rev. 4, section 3.1.1.2)."""

from __future__ import annotations

import itertools
import secrets
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from glabella.services.errors import Invalid

_HASHER = PasswordHasher()

MIN_LENGTH = 15
"""NIST SP 800-63B rev. 4: at least 15 characters when a password is the only factor."""
MAX_LENGTH = 128

CONTEXT_WORDS = ("glabella", "botox", "botulinum", "password", "clinic")
"""Words specific to this service (NIST: context-specific words are blocklisted)."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The packaged blocklist (services/data/common-passwords.csv), lower-cased.

    Source: the 1,000 most common passwords of the "10 million passwords" list (xato.net,
    published in SecLists, MIT licence), offensive entries removed, plus a few words of this
    domain (admin, clinic, doctor, ...).
    """
    raw = resources.files("glabella.services").joinpath("data/common-passwords.csv")
    lines = raw.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines[1:] if line.strip())


def _is_repetition(text: str) -> bool:
    """True when ``text`` is one short unit repeated ("aaaa...", "abcabc...", "pwpwpw...")."""
    n = len(text)
    return any(n % size == 0 and text == text[:size] * (n // size) for size in range(1, n // 2 + 1))


_KEYBOARD_WALKS = (
    "1234567890qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)


def _is_sequence(text: str) -> bool:
    """True for a run of consecutive characters, up or down ("123456789012345", "abcdef..."),
    or a walk along the keyboard ("qwertyuiopasdfgh")."""
    if any(text in walk or text[::-1] in walk for walk in _KEYBOARD_WALKS):
        return True
    steps = {
        (ord(b) - ord(a)) % 10 if a.isdigit() and b.isdigit() else ord(b) - ord(a)
        for a, b in itertools.pairwise(text)
    }
    return len(steps) == 1 and steps <= {1, -1, 9}


def _core(text: str) -> str:
    """The password without leading/trailing digits and symbols ("password2024!" -> "password")."""
    return text.strip("0123456789!@#$%^&*()-_=+.,;:?/ ")


def blocklisted(password: str, *, username: str = "") -> str | None:
    """Why ``password`` is too easy to guess (NIST SP 800-63B rev. 4, 3.1.1.2), or None."""
    low = password.lower()
    squashed = "".join(low.split())
    blocklist = common_passwords()
    if low in blocklist or squashed in blocklist:
        return "it is a commonly used password"
    if username and username.lower() in low:
        return "it contains the username"
    if _is_repetition(squashed) or _is_sequence(squashed):
        return "it is a repeated or sequential pattern"
    core = _core(squashed)
    if core in blocklist or core in CONTEXT_WORDS or (core and _is_repetition(core)):
        return "it is a common password with digits or symbols added"
    for unit in blocklist | set(CONTEXT_WORDS):
        if (
            len(unit) >= 4
            and len(squashed) % len(unit) == 0
            and squashed == unit * (len(squashed) // len(unit))
        ):
            return "it is a common password repeated"
    return None


def hash_password(password: str) -> str:
    """An argon2id hash with a random salt."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong password or a bad hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rule(password: str, *, username: str = "") -> None:
    """Length 15-128 and not blocklisted (:func:`blocklisted`); no composition rules.

    NIST SP 800-63B rev. 4 section 3.1.1.2: minimum 15 characters for a single-factor
    password, at least 64 allowed, all printing characters and spaces accepted, no composition
    rules, and a check against a blocklist of common, expected or compromised values.
    """
    if len(password) < MIN_LENGTH:
        raise Invalid(f"password must be at least {MIN_LENGTH} characters long", field="password")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"password must be at most {MAX_LENGTH} characters long", field="password")
    reason = blocklisted(password, username=username)
    if reason is not None:
        raise Invalid(f"password is too easy to guess ({reason}); choose another", field="password")


ONE_TIME_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
"""Characters of a one-time password: read off a screen and typed by hand, so none that are
mistaken for another (no 0/o, 1/l/i) and no case to get wrong."""


def generate_password() -> str:
    """A random one-time password: 24 characters of :data:`ONE_TIME_ALPHABET` (31 symbols,
    24 x log2(31) = about 119 bits) in six groups of four (``k7fm-2xqa-...``)."""
    raw = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(24))
    return "-".join(raw[i : i + 4] for i in range(0, 24, 4))
