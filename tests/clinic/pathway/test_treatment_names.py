"""How clinicians type names, numbers and times: what the treatment gate accepts and refuses."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from glabella.clinic.products import find_product
from glabella.clinic.quantities import parse_quantity
from glabella.clinic.treatment import local_time, site_id_of


@pytest.mark.parametrize(
    ("typed", "inn"),
    [
        ("Botox", "onabotulinumtoxinA"),
        ("botox", "onabotulinumtoxinA"),
        ("onabotulinumtoxin A", "onabotulinumtoxinA"),
        ("Vistabel", "onabotulinumtoxinA"),
        ("Dysport®", "abobotulinumtoxinA"),
        ("azzalure", "abobotulinumtoxinA"),
        (" XEOMIN ", "incobotulinumtoxinA"),
    ],
)
def test_product_by_any_name(typed: str, inn: str) -> None:
    found = find_product(typed)
    assert found is not None and found.id == inn


@pytest.mark.parametrize("typed", ["Botax", "toxin", "", "x" * 500])
def test_product_never_guessed(typed: str) -> None:
    assert find_product(typed) is None


@pytest.mark.parametrize(
    ("typed", "site"),
    [
        ("Procerus", "procerus"),
        ("procerus ", "procerus"),
        ("corrugator medial left", "corrugator_medial_left"),
        ("Left corrugator, medial", "corrugator_medial_left"),
        ("chin", "chin"),
    ],
)
def test_site_by_id_or_label(typed: str, site: str) -> None:
    assert site_id_of(typed) == site


@pytest.mark.parametrize(
    ("typed", "hint"),
    [("20,5", "point"), ("4 U", "without the unit"), ("1e3", "exponent"), ("-4", "no sign")],
)
def test_number_refusals_say_what_to_change(typed: str, hint: str) -> None:
    parsed = parse_quantity(typed, "units at procerus")
    assert parsed.value is None and hint in str(parsed.error)
    assert str(parsed.error).startswith("units at procerus")


def test_time_without_offset_is_clinic_local() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2 Nov 2026 is after the end of summer time (25 Oct): Berlin is UTC+1
    at = local_time(datetime(2026, 11, 2, 10, 0), berlin)
    assert at.utcoffset() is not None and at.utcoffset().total_seconds() == 3600  # type: ignore[union-attr]
    aware = datetime.fromisoformat("2026-11-02T10:00:00+00:00")
    assert local_time(aware, berlin) is aware
