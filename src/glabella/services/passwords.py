"""Password hashing (argon2id) and the password rule (NIST SP 800-63B rev. 4, section 3.1.1.2)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from glabella.services.errors import Invalid

_HASHER = PasswordHasher()

MIN_LENGTH = 15
"""NIST SP 800-63B rev. 4: at least 15 characters when a password is the only factor."""
MAX_LENGTH = 128

_COMMON = frozenset(
    {
        "passwordpassword",
        "password1234567",
        "123456789012345",
        "qwertyuiopasdfgh",
        "glabellaglabella",
        "letmeinletmein1",
    }
)


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
    """Length 15-128, not a known-common password, not the username; no composition rules."""
    if len(password) < MIN_LENGTH:
        raise Invalid(f"password must be at least {MIN_LENGTH} characters long", field="password")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"password must be at most {MAX_LENGTH} characters long", field="password")
    if password.lower() in _COMMON or (username and username.lower() in password.lower()):
        raise Invalid("password is too easy to guess; choose another", field="password")


def generate_password() -> str:
    """A random one-time password (24 URL-safe characters, about 144 bits)."""
    return secrets.token_urlsafe(18)
