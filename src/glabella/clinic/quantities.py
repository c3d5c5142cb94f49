"""Safe parsing of typed clinical numbers (units of toxin, millilitres of saline).

A number typed into a form, a JSON body or a CLI file becomes a :class:`~decimal.Decimal`
only through :func:`parse_quantity`, which never raises and never does unbounded work:

* the raw text may be at most :data:`MAX_RAW_LENGTH` (64) characters, and at most
  :data:`MAX_TRIMMED_LENGTH` (8) once surrounding spaces are removed;
* it may contain only ASCII digits and at most one decimal point: no sign, no exponent
  ("1e-999999999" is refused before ``Decimal`` ever sees it, so no arithmetic on a huge
  exponent can stall the server or overflow), no "NaN", "Infinity", underscores or
  non-ASCII digits;
* a JSON float is read through its ``repr`` and then the same rules apply (``1e-05`` is
  refused, ``4.0`` is accepted); ``True``/``False`` are refused (in Python they are ints);
* an int is read through ``str`` and then the same rules apply;
* a refusal says what to change: a decimal comma ("20,5"), a unit ("4 U"), an exponent
  ("1e3") or a sign each get their own hint.

Eight characters hold every real dose ("12345.67" is already absurd), so the bound costs
nothing clinically. With at most 8 digits, every later Decimal operation on the value is
cheap and exact under the default context.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

__all__ = [
    "HALF_UNIT",
    "MAX_RAW_LENGTH",
    "MAX_TRIMMED_LENGTH",
    "ParsedQuantity",
    "is_multiple_of",
    "parse_quantity",
]

MAX_RAW_LENGTH: Final = 64
MAX_TRIMMED_LENGTH: Final = 8
HALF_UNIT: Final = Decimal("0.5")
_DIGITS: Final = frozenset("0123456789")


@dataclass(frozen=True)
class ParsedQuantity:
    """Either a value or the reason there is none (``error``), never both."""

    value: Decimal | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.value is not None


def _text_of(raw: object) -> str | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int):
        # Bound the digits before str(): a 10**5000 int would hit Python's digit limit.
        return str(raw) if -(10**MAX_TRIMMED_LENGTH) < raw < 10**MAX_TRIMMED_LENGTH else "9" * 99
    if isinstance(raw, float):
        return repr(raw)
    return None


def parse_quantity(raw: object, label: str) -> ParsedQuantity:
    """Parse ``raw`` as a non-negative decimal (rules in the module docstring).

    ``label`` names the field in the message ("units at procerus"). Never raises.
    """
    text = _text_of(raw)
    if text is None:
        return ParsedQuantity(None, f"{label}: expected a number written as text or a number")
    if len(text) > MAX_RAW_LENGTH:
        return ParsedQuantity(None, f"{label}: too long (at most {MAX_TRIMMED_LENGTH} characters)")
    trimmed = text.strip()
    if not trimmed:
        return ParsedQuantity(None, f"{label}: a number is required")
    if len(trimmed) > MAX_TRIMMED_LENGTH:
        return ParsedQuantity(None, f"{label}: too long (at most {MAX_TRIMMED_LENGTH} characters)")
    dots = trimmed.count(".")
    if dots > 1 or not set(trimmed.replace(".", "", 1)) <= _DIGITS or trimmed == ".":
        return ParsedQuantity(None, f"{label}: {trimmed!r} is not a number here ({_hint(trimmed)})")
    return ParsedQuantity(Decimal(trimmed), None)


def _hint(text: str) -> str:
    """What is wrong with a typed number, in the words a clinician would use."""
    lowered = text.casefold()
    if "," in text:
        return "write the decimal with a point, e.g. 4.5, and no thousands separator"
    if lowered.rstrip().endswith(("u", "ml", "units", "unit", "iu")):
        return "write the number only, without the unit"
    if "e" in lowered and any(c in _DIGITS for c in text):
        return "no exponent notation: write the number in full, e.g. 1000"
    if text[:1] in "+-":
        return "no sign: doses are written as positive numbers"
    return "digits and at most one point; no sign, no exponent"


def is_multiple_of(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is a whole number of ``step`` (both small, exact: no rounding)."""
    return (value % step) == 0
