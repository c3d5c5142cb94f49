"""The pure treatment gate (clinic/treatment.py): no database needed.

Dates are hand-counted: 2026-11-02 + 84 days = 2027-01-25 (Nov 28 + Dec 31 + Jan 25 = 84).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from glabella.clinic.quantities import parse_quantity
from glabella.clinic.treatment import (
    ConsentFact,
    ScreeningFact,
    TreatmentContext,
    TreatmentDraft,
    check_treatment,
    prepare,
)

NOW = datetime(2027, 1, 25, 10, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/London")
SITES = {
    "procerus": "5",
    "corrugator_medial_right": "6",
    "corrugator_medial_left": "6",
    "corrugator_lateral_right": "6",
    "corrugator_lateral_left": "6",
}


def draft(**changes: object) -> TreatmentDraft:
    base = TreatmentDraft(
        product_id="onabotulinumtoxinA",
        lot_number="C1234",
        lot_expiry=date(2027, 6, 30),
        vial_units="100",
        saline_ml="2.5",
        sites=dict(SITES),
        treated_at=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ctx(**changes: object) -> TreatmentContext:
    base = TreatmentContext(
        now=NOW,
        clinic_tz=TZ,
        screenings=(
            ScreeningFact(
                1,
                "onabotulinumtoxinA",
                NOW - timedelta(days=1),
                date(2027, 1, 24),
                True,
                "eligible",
            ),
        ),
        consent=ConsentFact(7, NOW - timedelta(hours=1), "1"),
        other_treatments=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def codes(d: TreatmentDraft, c: TreatmentContext | None = None) -> dict[str, str | None]:
    return {p.code: p.field for p in check_treatment(d, c or ctx())}


def test_clean_draft_passes_and_prepares_exact_volumes() -> None:
    assert check_treatment(draft(), ctx()) == []
    ready = prepare(draft(), ctx())
    # 100 U in 2.5 mL = 40 U/mL; 5 U -> 0.125 mL, 6 U -> 0.150 mL; total 5 + 4 x 6 = 29 U
    assert dict(ready.site_volumes_ml)["procerus"] == Decimal("0.125")
    assert ready.total_units == Decimal(29)
    assert not ready.backdated


# --- intervals ---------------------------------------------------------------------------


def test_earlier_treatment_under_12_weeks_refused() -> None:
    earlier = datetime(2026, 11, 3, 10, tzinfo=UTC)  # 83 days before 2027-01-25
    assert codes(draft(), ctx(other_treatments=(earlier,)))["interval_before"] == "treated_at"
    exactly = datetime(2026, 11, 2, 10, tzinfo=UTC)  # 84 days: allowed
    assert check_treatment(draft(), ctx(other_treatments=(exactly,))) == []


def test_later_treatment_under_12_weeks_refused_backdating_cannot_slip_in() -> None:
    later = NOW  # existing treatment today; back-date the new one 8 weeks
    back = NOW - timedelta(weeks=8)
    c = ctx(
        other_treatments=(later,),
        screenings=(
            ScreeningFact(
                1,
                "onabotulinumtoxinA",
                back - timedelta(days=1),
                (back - timedelta(days=1)).date(),
                True,
                "eligible",
            ),
        ),
        consent=ConsentFact(7, back - timedelta(hours=1), "1"),
    )
    got = codes(draft(treated_at=back, backdate_reason="paper record typed in late"), c)
    assert "interval_after" in got
    assert "interval_before" not in got


def test_same_day_refused() -> None:
    same = NOW - timedelta(minutes=30)
    assert "same_day" in codes(draft(), ctx(other_treatments=(same,)))


def test_treatment_before_its_screening_refused() -> None:
    c = ctx(
        screenings=(
            ScreeningFact(
                1, "onabotulinumtoxinA", NOW + timedelta(minutes=1), NOW.date(), True, "eligible"
            ),
        )
    )
    assert "before_screening" in codes(draft(), c)


def test_screening_outside_validity_window_refused() -> None:
    old = NOW - timedelta(days=31)
    c = ctx(screenings=(ScreeningFact(1, "onabotulinumtoxinA", old, old.date(), True, "eligible"),))
    assert "screening_expired" in codes(draft(), c)
    thirty = NOW - timedelta(days=30)
    c30 = ctx(
        screenings=(
            ScreeningFact(1, "onabotulinumtoxinA", thirty, thirty.date(), True, "eligible"),
        )
    )
    assert "screening_expired" not in codes(draft(), c30)


def test_second_treatment_for_one_consent_refused() -> None:
    c = ctx(consent=ConsentFact(7, NOW - timedelta(hours=1), "1", used_by_treatment=3))
    assert codes(draft(), c)["consent_used"] == "consent_id"


def test_backdating_needs_a_reason() -> None:
    back = NOW - timedelta(hours=2)
    c = ctx(
        consent=ConsentFact(7, back - timedelta(hours=1), "1"),
        screenings=(
            ScreeningFact(
                1, "onabotulinumtoxinA", back - timedelta(hours=2), back.date(), True, "eligible"
            ),
        ),
    )
    assert "backdate_reason" in codes(draft(treated_at=back, backdate_reason="late"), c)
    assert (
        check_treatment(draft(treated_at=back, backdate_reason="entered from paper chart"), c) == []
    )
    assert prepare(draft(treated_at=back, backdate_reason="entered from paper chart"), c).backdated


# --- doses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["0.0001", "1e-9999", "1e999999999", "1e-999999999", "-4", "NaN", "4,5"]
)
def test_bad_site_units_refused_fast_naming_the_site(raw: str) -> None:
    start = time.perf_counter()
    problems = check_treatment(draft(sites={**SITES, "procerus": raw}), ctx())
    assert time.perf_counter() - start < 0.5
    assert "sites.procerus" in {p.field for p in problems}


def test_json_floats_and_bools() -> None:
    assert parse_quantity(4.0, "u").value == Decimal("4.0")
    assert parse_quantity(1e-5, "u").value is None  # repr is '1e-05'
    assert parse_quantity(float("inf"), "u").value is None
    assert parse_quantity(True, "u").value is None
    assert parse_quantity(10**5000, "u").value is None
    assert parse_quantity("x" * 65, "u").value is None


def test_botox_500_unit_vial_refused() -> None:
    assert codes(draft(vial_units="500"))["vial_size"] == "vial_units"
    # Dysport is sold in 300 U and 500 U vials (Dysport PI 3/16)
    dys = draft(
        product_id="abobotulinumtoxinA",
        vial_units="300",
        saline_ml="2.5",
        sites={k: "10" for k in SITES},
    )
    c = ctx(
        screenings=(
            ScreeningFact(
                1,
                "abobotulinumtoxinA",
                NOW - timedelta(days=1),
                date(2027, 1, 24),
                True,
                "eligible",
            ),
        )
    )
    assert "vial_size" not in codes(dys, c)


def test_50_units_into_one_site_refused() -> None:
    got = codes(draft(sites={"procerus": "50"}))
    # 50 U > 10 U per-site maximum; 50 U x 2.5 mL / 100 U = 1.25 mL > 0.25 mL
    assert got["site_units_max"] == "sites.procerus"
    assert "site_volume_max" in got


def test_dysport_under_botox_protocol_refused() -> None:
    dys = draft(
        product_id="abobotulinumtoxinA",
        vial_units="300",
        saline_ml="2.5",
        sites={k: "10" for k in SITES},
        protocol_id="wollmer2012_female",
    )
    c = ctx(
        screenings=(
            ScreeningFact(
                1,
                "abobotulinumtoxinA",
                NOW - timedelta(days=1),
                date(2027, 1, 24),
                True,
                "eligible",
            ),
        )
    )
    assert codes(dys, c)["protocol_product"] == "protocol_id"


def test_half_unit_steps() -> None:
    assert "site_units_step" in codes(draft(sites={**SITES, "procerus": "4.3"}))
    assert "site_units_step" not in codes(draft(sites={**SITES, "procerus": "4.5"}))
