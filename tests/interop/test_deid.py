"""De-identification rules (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from glabella.interop import deid

KEY = b"k" * 32


def test_pseudonyms_are_stable_keyed_and_opaque() -> None:
    a = deid.pseudonym(KEY, 1, 42)
    assert a == deid.pseudonym(KEY, 1, 42)
    assert a != deid.pseudonym(b"another key of 32 bytes........", 1, 42)
    assert a != deid.pseudonym(KEY, 1, 43) and a != deid.pseudonym(KEY, 2, 42)
    assert len(a) == 32 and "42" not in a[:2]
    with pytest.raises(ValueError, match="at least 16 bytes"):
        deid.pseudonym(b"short", 1, 1)


def test_date_offsets_are_never_zero_and_within_a_year() -> None:
    shifts = [deid.shift_days(KEY, 1, pid) for pid in range(2000)]
    assert all(-365 <= s <= -30 for s in shifts)
    assert len(set(shifts)) > 200  # spread over the range, not one constant offset


def test_ages_over_89_are_grouped() -> None:
    born = dt.date(1936, 6, 15)
    # 2026-06-14: one day before the 90th birthday -> 89, exported as 89
    assert deid.export_age(born, dt.date(2026, 6, 14)) == deid.AgeField(89, False)
    # 2026-06-15: 90th birthday -> grouped, no age given
    assert deid.export_age(born, dt.date(2026, 6, 15)) == deid.AgeField(None, True)
