"""Products and product-bound doses: units are never mixed or converted between products."""

from __future__ import annotations

from decimal import Decimal

import pytest

from glabella.clinic.products import (
    PRODUCTS,
    CrossProductUnitsError,
    Dose,
    InvalidDoseError,
    get_product,
    total_dose,
)

ONA = PRODUCTS["onabotulinumtoxinA"]
ABO = PRODUCTS["abobotulinumtoxinA"]
INCO = PRODUCTS["incobotulinumtoxinA"]


def test_all_six_products_are_named_with_their_units() -> None:
    assert set(PRODUCTS) == {
        "onabotulinumtoxinA",
        "abobotulinumtoxinA",
        "incobotulinumtoxinA",
        "prabotulinumtoxinA",
        "daxibotulinumtoxinA",
        "letibotulinumtoxinA",
    }
    assert ONA.unit_name == "Allergan units"
    assert ABO.unit_name == "Speywood units"
    # every product has a distinct unit name: no two products share "units"
    assert len({p.unit_name for p in PRODUCTS.values()}) == 6


def test_abobotulinumtoxina_lists_cows_milk_protein_from_its_label() -> None:
    assert "cow's milk protein" in ABO.excipients
    assert "lactose" in ABO.excipients
    assert ABO.excipients_verified


def test_unverified_excipients_are_empty_not_invented() -> None:
    leti = PRODUCTS["letibotulinumtoxinA"]
    assert leti.excipients == ()
    assert not leti.excipients_verified
    for p in PRODUCTS.values():
        assert p.excipients_verified == bool(p.excipients)


def test_label_glabellar_doses_from_labels() -> None:
    # BOTOX Cosmetic PI Table 1: 20 U; Dysport 50 U; Xeomin 20 U; Jeuveau 20 U;
    # Daxxify 40 U; Letybo 20 U.
    doses = {k: p.label_glabellar_dose for k, p in PRODUCTS.items()}
    assert doses == {
        "onabotulinumtoxinA": Decimal(20),
        "abobotulinumtoxinA": Decimal(50),
        "incobotulinumtoxinA": Decimal(20),
        "prabotulinumtoxinA": Decimal(20),
        "daxibotulinumtoxinA": Decimal(40),
        "letibotulinumtoxinA": Decimal(20),
    }


def test_same_product_doses_add_and_compare() -> None:
    # 10 + 8 + 8 + 7 + 7 = 40 (Finzi 2014, men)
    parts = [Dose(Decimal(u), ONA) for u in (10, 8, 8, 7, 7)]
    assert total_dose(parts, ONA) == Dose(Decimal(40), ONA)
    assert Dose(Decimal(29), ONA) < Dose(Decimal(40), ONA)
    assert Dose(Decimal(40), ONA) - Dose(Decimal(11), ONA) == Dose(Decimal(29), ONA)


def test_cross_product_addition_is_refused() -> None:
    with pytest.raises(CrossProductUnitsError, match="not interchangeable"):
        _ = Dose(Decimal(20), ONA) + Dose(Decimal(50), ABO)


def test_cross_product_subtraction_and_comparison_are_refused() -> None:
    with pytest.raises(CrossProductUnitsError):
        _ = Dose(Decimal(50), ABO) - Dose(Decimal(20), ONA)
    with pytest.raises(CrossProductUnitsError):
        _ = Dose(Decimal(20), ONA) < Dose(Decimal(20), INCO)
    with pytest.raises(CrossProductUnitsError):
        _ = Dose(Decimal(20), ONA) >= Dose(Decimal(20), INCO)


def test_equal_numbers_of_different_products_are_not_equal() -> None:
    assert Dose(Decimal(20), ONA) != Dose(Decimal(20), INCO)


def test_dose_with_bare_number_is_refused() -> None:
    with pytest.raises(CrossProductUnitsError):
        _ = Dose(Decimal(20), ONA) + 5
    with pytest.raises(CrossProductUnitsError, match="total_dose"):
        sum([Dose(Decimal(1), ONA)])


def test_total_dose_refuses_a_foreign_dose() -> None:
    with pytest.raises(CrossProductUnitsError):
        total_dose([Dose(Decimal(4), ONA), Dose(Decimal(10), ABO)], ONA)


def test_float_and_negative_units_are_refused() -> None:
    with pytest.raises(InvalidDoseError, match="Decimal or int"):
        Dose(0.725, ONA)  # type: ignore[arg-type]
    with pytest.raises(InvalidDoseError, match="negative"):
        Dose(Decimal(-1), ONA)
    with pytest.raises(InvalidDoseError, match="finite"):
        Dose(Decimal("NaN"), ONA)


def test_dose_always_shows_its_product() -> None:
    assert str(Dose(Decimal(29), ONA)) == "29 U onabotulinumtoxinA (Allergan units)"


def test_unknown_product_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown BoNT-A product"):
        get_product("botox")
