"""Does the name typed as a consent signature match the patient record? (hazard H-094)

A typed signature that silently differs from the record (another patient's name, a typo that
hides the wrong chart) must not be accepted. The comparison tolerates what a person typing
their own name varies without meaning another person:

* case (``str.casefold``, so "ß" matches "ss");
* accents and diacritics (Unicode NFKD, combining marks dropped: "Müller" = "Muller"),
  plus the German transliteration of umlauts ("Müller" = "Mueller", DIN 5007-2 variant 2)
  and letters NFKD does not decompose ("ø" = "o", "ł" = "l", "æ" = "ae", "đ" = "d");
* spaces, commas, hyphens, full stops and apostrophes ("O'Brien" = "OBrien",
  "Anna-Lena" = "Anna Lena");
* the order of the names ("Müller, Anna" = "anna muller").

Nothing else: a missing or extra name, an initial, or a different spelling is a mismatch,
which the clinician may accept only by stating why the patient signed with another name
(for example a carer or legal representative signing).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

__all__ = ["NameCheck", "check_signed_name", "name_tokens"]

_EXTRA: Final = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)
_GERMAN: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_SEPARATORS: Final = re.compile(r"[\s,;\-‐‑‒–—/]+")
_DROPPED: Final = re.compile(r"[.'’`´ʼ\"]")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_tokens(name: str, german_umlauts: bool = False) -> tuple[str, ...]:
    """The name as sorted, case- and accent-free parts (order-free comparison key).

    With ``german_umlauts`` the umlauts become ae/oe/ue before the accents are dropped.
    """
    text = unicodedata.normalize("NFC", name).casefold()
    if german_umlauts:
        text = text.translate(_GERMAN)
    text = _strip_marks(text).translate(_EXTRA)
    text = _DROPPED.sub("", text)
    return tuple(sorted(t for t in _SEPARATORS.split(text) if t))


@dataclass(frozen=True)
class NameCheck:
    """Result of :func:`check_signed_name`; truthy when the names match."""

    matches: bool
    typed: str
    record: str

    def __bool__(self) -> bool:
        return self.matches


def check_signed_name(typed: str, given_name: str, family_name: str) -> NameCheck:
    """Compare a typed signature with the record's given and family names (rules above)."""
    record = f"{family_name}, {given_name}"
    typed_keys = {name_tokens(typed), name_tokens(typed, german_umlauts=True)}
    record_keys = {
        name_tokens(f"{given_name} {family_name}"),
        name_tokens(f"{given_name} {family_name}", german_umlauts=True),
    }
    empty = not name_tokens(typed)
    return NameCheck(not empty and bool(typed_keys & record_keys), typed.strip(), record)
