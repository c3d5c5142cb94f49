"""Numbers as text: the one place where Glabella decides how a number is printed.

Pure (standard library only), so every layer may use it: the pure domain packages (evidence,
clinic, analytics, report), the CLI and the web. Each function is one printing rule that some
page, table or report relies on; where two places print differently (a metafor-style p-value
next to a reader's "p < 0.001", "unknown" next to "NA"), the difference is kept as two named
functions rather than silently unified.

- :func:`fixed`: a fixed number of decimals (``1.25 -> "1.2"`` with one place).
- :func:`significant`: a number of significant digits (``0.000123456 -> "0.000123"``).
- :func:`readable`: two decimals, two significant digits below 0.01, whole numbers with
  thousands separators from 1000 (so a risk ratio of 74,793.97 does not read as
  ``74793.97`` and one of 0.00037 does not read as a misleading ``0.00``).
- :func:`readable_or_unknown`: :func:`readable` for display, with ``None`` as "unknown" (a
  number not read is never shown as 0 or blank) and infinity as ``∞``.
- :func:`fixed_or_na`, :func:`p_value_metafor`: R/metafor's printed output (``NA``, ``<.0001``).
- :func:`p_value`: a p-value for readers (``p < 0.001``, ``p = 0.042``).
- :func:`typographic_minus`: the minus sign U+2212 instead of the hyphen, for figures.
- :func:`plain`: a table cell (``None -> "-"``, ``12.0 -> "12"``).
"""

from __future__ import annotations

import math

__all__ = [
    "MINUS",
    "UNKNOWN",
    "fixed",
    "fixed_or_na",
    "p_value",
    "p_value_metafor",
    "plain",
    "readable",
    "readable_or_unknown",
    "significant",
    "typographic_minus",
]

#: What a number that was not read (or could not be computed) reads as on the pages.
UNKNOWN = "unknown"
#: U+2212 MINUS SIGN: the same width as the plus sign, unlike the hyphen-minus (Unicode 15.0,
#: chapter 6.2, "Minus Sign").
MINUS = "\u2212"


def fixed(x: float, places: int) -> str:
    """``x`` with exactly ``places`` decimals, as Python's ``format(x, f".{places}f")``.

    Rounds half to even on the binary value (``fixed(0.125, 2) == "0.12"``,
    ``fixed(0.375, 2) == "0.38"``); ``nan`` and ``inf`` print as ``"nan"`` and ``"inf"``.
    """
    return f"{x:.{places}f}"


def significant(x: float, digits: int) -> str:
    """``x`` with at most ``digits`` significant digits, as ``format(x, f".{digits}g")``.

    Trailing zeros are dropped and very small or large values switch to exponent notation
    (``significant(0.0000123, 2) == "1.2e-05"``), as the ``g`` format of the Python docs
    (Format Specification Mini-Language) defines.
    """
    return f"{x:.{digits}g}"


def readable(x: float, places: int = 2) -> str:
    """``places`` decimals; two significant digits below ``10**-places``; whole from 1000.

    ``readable(1.2345) == "1.23"``, ``readable(0.000368) == "0.00037"`` (not ``"0.00"``),
    ``readable(74793.97) == "74,794"``, ``readable(0) == "0.00"``. Meant for finite numbers:
    infinity prints ``"inf"`` (use :func:`readable_or_unknown` on pages).
    """
    if x != 0 and abs(x) < 10 ** (-places):
        return f"{x:.2g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{places}f}"


def readable_or_unknown(x: float | None) -> str:
    """:func:`readable` for the pages: ``None`` is ``"unknown"``, infinity ``"∞"`` / ``"-∞"``."""
    if x is None:
        return UNKNOWN
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return readable(x)


def fixed_or_na(x: float | None, places: int) -> str:
    """:func:`fixed`, with ``None`` and a float NaN printed ``"NA"`` as R prints them."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return fixed(x, places)


def p_value_metafor(p: float | None) -> str:
    """A p-value as metafor's ``print.rma`` shows it: four decimals, ``"<.0001"`` below 1e-4.

    metafor (Viechtbauer, J Stat Softw 2010;36(3)) formats p-values with its ``.pval()`` helper
    at ``digits = 4``: ``0.04212 -> "0.0421"``, ``0.00001 -> "<.0001"``; ``None``/NaN -> ``"NA"``.
    """
    if p is None or math.isnan(p):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def p_value(p: float | None) -> str:
    """A p-value for readers: ``"p = 0.042"`` (three decimals), ``"p < 0.001"`` below 0.001.

    The APA Publication Manual (7th ed., section 6.36) reports exact p-values to two or three
    decimals and smaller ones as "p < .001"; here with the leading zero. ``None``/NaN ->
    ``"p = NA"``.
    """
    if p is None or math.isnan(p):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def typographic_minus(text: str) -> str:
    """``text`` with every hyphen-minus replaced by :data:`MINUS` (``"-0.25" -> "−0.25"``)."""
    return text.replace("-", MINUS)


def plain(value: object, missing: str = "-") -> str:
    """A table cell: ``None`` -> ``missing``, a whole float without ``.0``, anything else ``str``.

    ``plain(12.0) == "12"``, ``plain(12.5) == "12.5"``, ``plain("low") == "low"``,
    ``plain(None) == "-"``.
    """
    if value is None:
        return missing
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
