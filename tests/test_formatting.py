"""The shared number formatting (glabella.formatting), with hand-checked examples.

Each expected string is worked out by hand from the rule in the function's docstring; the
callers' own tests (evidence summaries, forest plots, CLI tables, pages, the report) check that
they still print the same text.
"""

from __future__ import annotations

import math

import pytest

from glabella.formatting import (
    MINUS,
    UNKNOWN,
    fixed,
    fixed_or_na,
    p_value,
    p_value_metafor,
    plain,
    readable,
    readable_or_unknown,
    significant,
    typographic_minus,
)


@pytest.mark.parametrize(
    ("x", "places", "expected"),
    [
        (1.25, 1, "1.2"),  # 1.25 is exact in binary: a tie, rounded half to even -> 1.2
        (1.35, 1, "1.4"),  # 1.35 is stored as 1.350000000000000088..., above the tie -> 1.4
        (0.125, 2, "0.12"),  # exact tie, half to even
        (0.375, 2, "0.38"),  # exact tie, half to even (7 -> 8)
        (-0.004, 2, "-0.00"),  # the sign survives rounding to zero
        (12.0, 0, "12"),
        (2.5, 0, "2"),  # tie, half to even
        (-3.14159, 3, "-3.142"),
    ],
)
def test_fixed(x: float, places: int, expected: str) -> None:
    assert fixed(x, places) == expected


def test_fixed_prints_nan_and_inf_as_python_does() -> None:
    assert fixed(math.nan, 2) == "nan"
    assert fixed(math.inf, 1) == "inf"


@pytest.mark.parametrize(
    ("x", "digits", "expected"),
    [
        (0.000123456, 3, "0.000123"),  # 1.23456e-4: three significant digits, no exponent
        (0.0000123, 2, "1.2e-05"),  # exponent < -4 switches to exponent notation
        (28.0, 6, "28"),  # trailing zeros dropped
        (0.975, 6, "0.975"),
        (123456789.0, 6, "1.23457e+08"),  # exponent >= digits: exponent notation
        (2.0 / 3.0, 6, "0.666667"),
    ],
)
def test_significant(x: float, digits: int, expected: str) -> None:
    assert significant(x, digits) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1.2345, "1.23"),
        (-0.456, "-0.46"),  # 0.456 is stored as 0.45600000000000001643, rounds up
        (0.0, "0.00"),  # a true zero is not "small": two decimals
        (0.01, "0.01"),  # the threshold itself is printed with two decimals
        (0.009, "0.009"),  # below 0.01: two significant digits, not a misleading 0.01
        (0.000368, "0.00037"),  # 3.68e-4 -> 3.7e-4, printed without exponent
        (-0.000368, "-0.00037"),
        (0.0000123, "1.2e-05"),  # very small: the g format's exponent notation
        (999.994, "999.99"),
        (1000.0, "1,000"),  # from 1000: whole, with thousands separators
        (74793.97, "74,794"),
        (-12345.5, "-12,346"),  # 12345.5 is a tie, rounded half to even -> 12346
    ],
)
def test_readable(x: float, expected: str) -> None:
    assert readable(x) == expected


@pytest.mark.parametrize(
    ("x", "places", "expected"),
    [
        (0.15, 1, "0.1"),  # 0.15 is stored as 0.14999999999999999445, below the tie -> 0.1
        (0.05, 1, "0.05"),  # below 10**-1: two significant digits
        (0.0004, 3, "0.0004"),  # below 10**-3
        (0.001, 3, "0.001"),
        (12.3456, 3, "12.346"),
        (1234.5678, 3, "1,235"),
    ],
)
def test_readable_with_other_places(x: float, places: int, expected: str) -> None:
    assert readable(x, places) == expected


def test_readable_or_unknown_never_shows_a_missing_number_as_a_number() -> None:
    assert readable_or_unknown(None) == UNKNOWN == "unknown"
    assert readable_or_unknown(math.inf) == "∞"
    assert readable_or_unknown(-math.inf) == "-∞"
    assert readable_or_unknown(0.0) == "0.00"  # a real zero stays a number
    assert readable_or_unknown(0.000368) == "0.00037"
    assert readable_or_unknown(5.2499) == "5.25"  # third decimal 9: rounds up
    # readable() itself prints infinity as Python does (GRADE and summary texts never see it)
    assert readable(math.inf) == "inf"


def test_fixed_or_na_prints_missing_values_as_r_does() -> None:
    assert fixed_or_na(None, 4) == "NA"
    assert fixed_or_na(math.nan, 4) == "NA"
    assert fixed_or_na(0.12345, 4) == "0.1235"  # stored as 0.123450000000000004, above the tie
    assert fixed_or_na(-1.5, 4) == "-1.5000"
    assert fixed_or_na(7, 2) == "7.00"  # an int is printed too


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (None, "NA"),
        (math.nan, "NA"),
        (0.0, "<.0001"),
        (0.00001, "<.0001"),
        (0.0000999, "<.0001"),
        (0.0001, "0.0001"),  # the threshold itself is printed
        (0.04212, "0.0421"),
        (0.5, "0.5000"),
        (1.0, "1.0000"),
    ],
)
def test_p_value_metafor(p: float | None, expected: str) -> None:
    assert p_value_metafor(p) == expected


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (None, "p = NA"),
        (math.nan, "p = NA"),
        (0.0, "p < 0.001"),
        (0.000999, "p < 0.001"),
        (0.001, "p = 0.001"),  # the threshold itself is printed exactly
        (0.0421, "p = 0.042"),
        (0.0425, "p = 0.043"),  # 0.0425 is stored as 0.04250000000000000305, above the tie
        (0.5, "p = 0.500"),
    ],
)
def test_p_value(p: float | None, expected: str) -> None:
    assert p_value(p) == expected


def test_typographic_minus() -> None:
    assert MINUS == "\u2212"
    assert typographic_minus("-0.25") == "\u22120.25"
    assert typographic_minus("[-1.20, -0.30]") == "[\u22121.20, \u22120.30]"
    assert typographic_minus("0.25") == "0.25"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "-"),
        (12.0, "12"),  # a whole float without ".0" (a count read as a float from YAML)
        (12.5, "12.5"),
        (-3.0, "-3"),
        (40, "40"),
        ("low", "low"),
        (True, "True"),
    ],
)
def test_plain(value: object, expected: str) -> None:
    assert plain(value) == expected


def test_plain_with_another_missing_mark() -> None:
    assert plain(None, missing="—") == "—"
