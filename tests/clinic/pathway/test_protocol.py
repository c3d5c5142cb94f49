"""Sites, protocols, reconstitution maths and treatment validation (lot expiry, ceilings)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from glabella.clinic.products import PRODUCTS, Dose
from glabella.clinic.protocol import (
    Lot,
    Reconstitution,
    SiteInjection,
    TreatmentPlan,
    TreatmentRefusedError,
    expiry_from_month,
    load_protocols,
    load_sites,
    protocols_for,
    validate_treatment,
)

ONA = PRODUCTS["onabotulinumtoxinA"]
ABO = PRODUCTS["abobotulinumtoxinA"]
PRA = PRODUCTS["prabotulinumtoxinA"]


def _recon(vial: int = 100, saline: str = "2.5") -> Reconstitution:
    return Reconstitution(ONA, Decimal(vial), Decimal(saline))


def _plan(
    units: dict[str, int],
    treatment_date: date = date(2026, 11, 25),
    expiry: date = date(2027, 6, 30),
    product_lot: str = "onabotulinumtoxinA",
) -> TreatmentPlan:
    return TreatmentPlan(
        product=ONA,
        treatment_date=treatment_date,
        lot=Lot(PRODUCTS[product_lot], "C1234", expiry),
        reconstitution=_recon(),
        injections=tuple(SiteInjection(s, Dose(Decimal(u), ONA)) for s, u in units.items()),
    )


FINZI_MALE = {
    "procerus": 10,
    "corrugator_medial_right": 8,
    "corrugator_medial_left": 8,
    "corrugator_lateral_right": 7,
    "corrugator_lateral_left": 7,
}


# --- reconstitution by hand --------------------------------------------------------------


def test_100u_in_2_5ml_gives_4u_per_0_1ml() -> None:
    # 100 U / 2.5 mL = 40 U/mL; 40 U/mL x 0.1 mL = 4 U.
    # Independent source: JEUVEAU PI Table 1, 100 U vial + 2.5 mL -> 4 Units per 0.1 mL.
    r = _recon()
    assert r.units_per_ml == 40
    assert r.units_per_0_1_ml == 4


def test_29u_needs_0_725ml() -> None:
    # 29 U / (40 U/mL) = 29/40 mL = 0.725 mL exactly.
    r = _recon()
    dose = Dose(Decimal(29), ONA)
    assert r.volume_ml_exact(dose) == Fraction(29, 40)
    assert r.volume_ml(dose) == Decimal("0.725")


def test_non_terminating_volume_is_rounded_half_even() -> None:
    # 100 U in 3 mL: 100/3 U/mL, i.e. 10/3 U per 0.1 mL (kept exact);
    # 10 U -> 10 x 3 / 100 = 0.3 mL exactly.
    r3 = _recon(100, "3")
    assert r3.units_per_0_1_ml == Fraction(10, 3)
    assert r3.volume_ml(Dose(Decimal(10), ONA)) == Decimal("0.300")
    # 300 U in 7 mL: 1 U -> 7/300 mL = 0.02333... -> 0.023 at 3 places.
    r7 = Reconstitution(ONA, Decimal(300), Decimal(7))
    assert r7.volume_ml_exact(Dose(Decimal(1), ONA)) == Fraction(7, 300)
    assert r7.volume_ml(Dose(Decimal(1), ONA)) == Decimal("0.023")
    # 80 U in 1 mL: 1 U -> 1/80 = 0.0125 mL, a tie: half-even gives 0.012 (not 0.013).
    r80 = Reconstitution(ONA, Decimal(80), Decimal(1))
    assert r80.volume_ml(Dose(Decimal(1), ONA)) == Decimal("0.012")


def test_reconstitution_refuses_other_product_dose_and_bad_numbers() -> None:
    with pytest.raises(ValueError, match="never converted"):
        _recon().volume_ml(Dose(Decimal(10), ABO))
    with pytest.raises(ValueError, match="positive"):
        Reconstitution(ONA, Decimal(100), Decimal(0))
    with pytest.raises(TypeError):
        Reconstitution(ONA, Decimal(100), 2.5)  # type: ignore[arg-type]


# --- sites and protocols ----------------------------------------------------------------


def test_sites_have_ids_and_mirrored_svg_coordinates() -> None:
    sites = load_sites()
    assert set(sites) == {
        "procerus",
        "corrugator_medial_right",
        "corrugator_medial_left",
        "corrugator_lateral_right",
        "corrugator_lateral_left",
    }
    # patient's right is on the viewer's left: smaller x; left/right mirror about x = 100
    for kind in ("medial", "lateral"):
        right, left = sites[f"corrugator_{kind}_right"], sites[f"corrugator_{kind}_left"]
        assert right.x < 100 < left.x
        assert right.x + left.x == 200
        assert right.y == left.y
    assert sites["procerus"].x == 100


def test_trial_protocols_are_cited_and_totals_match_the_papers() -> None:
    protos = load_protocols()
    # totals from the abstracts: Wollmer 2012 29/39 U, Finzi 2014 29/40 U,
    # Magid 2014 29/39 U, Brin 2020 30 and 50 U (all onabotulinumtoxinA)
    expected = {
        "wollmer2012_female": 29,
        "wollmer2012_male": 39,
        "finzi2014_female": 29,
        "finzi2014_male": 40,
        "magid2014_female": 29,
        "magid2014_male": 39,
        "brin2020_30u": 30,
        "brin2020_50u": 50,
    }
    for pid, total in expected.items():
        p = protos[pid]
        assert p.total_units == total, pid
        assert p.product is ONA
        assert p.citation is not None
    assert protos["wollmer2012_female"].citation.doi == "10.1016/j.jpsychires.2012.01.027"  # type: ignore[union-attr]
    assert protos["brin2020_30u"].citation.doi == "10.1097/YIC.0000000000000290"  # type: ignore[union-attr]


def test_finzi_male_split_is_verified_and_sums_to_40() -> None:
    p = load_protocols()["finzi2014_male"]
    assert p.verified and p.site_units_known
    units = {i.site_id: i.dose.units for i in p.injections()}
    assert units == {k: Decimal(v) for k, v in FINZI_MALE.items()}
    assert sum(units.values()) == 40  # 10 + 2 x 8 + 2 x 7


def test_unverified_split_is_not_invented_and_cannot_be_applied() -> None:
    protos = load_protocols()
    for pid in ("wollmer2012_female", "finzi2014_female", "brin2020_30u", "brin2020_50u"):
        p = protos[pid]
        assert not p.verified
        assert p.sites == ()
        with pytest.raises(ValueError, match="no verified per-site split"):
            p.injections()


def test_protocols_for_a_product_never_mix_products() -> None:
    assert {p.id for p in protocols_for(PRA)} == {"label_jeuveau_glabellar"}
    assert all(p.product is ABO for p in protocols_for(ABO))


# --- treatment validation ---------------------------------------------------------------


def test_valid_plan_gives_total_and_volumes() -> None:
    v = validate_treatment(_plan(FINZI_MALE))
    assert v.total == Dose(Decimal(40), ONA)
    # 4 U per 0.1 mL: 10 U -> 0.25 mL, 8 U -> 0.2 mL, 7 U -> 0.175 mL
    assert dict(v.volumes_ml) == {
        "procerus": Decimal("0.250"),
        "corrugator_medial_right": Decimal("0.200"),
        "corrugator_medial_left": Decimal("0.200"),
        "corrugator_lateral_right": Decimal("0.175"),
        "corrugator_lateral_left": Decimal("0.175"),
    }
    assert v.exceeds_label_dose  # 40 U > 20 U label dose for glabellar lines


def _codes(err: pytest.ExceptionInfo[TreatmentRefusedError]) -> set[str]:
    return {p.code for p in err.value.problems}


def test_lot_usable_on_its_expiry_date() -> None:
    v = validate_treatment(
        _plan(FINZI_MALE, treatment_date=date(2026, 11, 30), expiry=date(2026, 11, 30))
    )
    assert v.total.units == 40


def test_lot_refused_the_day_after_expiry() -> None:
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(
            _plan(FINZI_MALE, treatment_date=date(2026, 12, 1), expiry=date(2026, 11, 30))
        )
    assert _codes(err) == {"lot_expired"}


def test_month_only_expiry_is_the_last_day_of_the_month() -> None:
    assert expiry_from_month(2026, 11) == date(2026, 11, 30)
    assert expiry_from_month(2028, 2) == date(2028, 2, 29)  # leap year
    assert expiry_from_month(2027, 2) == date(2027, 2, 28)


def test_zero_units_at_a_site_is_refused() -> None:
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(_plan({"procerus": 0, "corrugator_medial_left": 4}))
    assert _codes(err) == {"site_units"}


def test_total_above_ceiling_is_refused_and_at_ceiling_is_allowed() -> None:
    # onabotulinumtoxinA ceiling 50 U (Brin 2020 highest studied dose)
    at_ceiling = {"procerus": 10, **{k: 10 for k in FINZI_MALE if k != "procerus"}}
    assert validate_treatment(_plan(at_ceiling)).total.units == 50
    above = dict(at_ceiling, procerus=11)
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(_plan(above))
    assert _codes(err) == {"total_above_ceiling"}


def test_clinic_ceiling_must_be_of_the_same_product() -> None:
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(_plan(FINZI_MALE), ceiling=Dose(Decimal(100), ABO))
    assert _codes(err) == {"ceiling_product"}


def test_lot_of_another_product_is_refused() -> None:
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(_plan(FINZI_MALE, product_lot="abobotulinumtoxinA"))
    assert _codes(err) == {"lot_product"}


def test_site_dose_of_another_product_is_refused() -> None:
    plan = _plan({"procerus": 4})
    bad = TreatmentPlan(
        plan.product,
        plan.treatment_date,
        plan.lot,
        plan.reconstitution,
        (SiteInjection("procerus", Dose(Decimal(10), ABO)),),
    )
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(bad)
    assert _codes(err) == {"site_product"}


def test_unknown_duplicate_and_empty_sites_are_refused() -> None:
    plan = _plan({"procerus": 4})
    dup = TreatmentPlan(
        plan.product,
        plan.treatment_date,
        plan.lot,
        plan.reconstitution,
        (
            SiteInjection("procerus", Dose(Decimal(4), ONA)),
            SiteInjection("procerus", Dose(Decimal(4), ONA)),
            SiteInjection("frontalis", Dose(Decimal(4), ONA)),
        ),
    )
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(dup)
    assert _codes(err) == {"duplicate_site", "unknown_site"}
    with pytest.raises(TreatmentRefusedError) as err2:
        validate_treatment(_plan({}))
    assert _codes(err2) == {"no_sites"}


def test_total_above_the_vial_contents_is_refused() -> None:
    # 40 U planned from a vial holding 30 U
    plan = _plan(FINZI_MALE)
    small = TreatmentPlan(
        plan.product,
        plan.treatment_date,
        plan.lot,
        Reconstitution(ONA, Decimal(30), Decimal("0.75")),
        plan.injections,
    )
    with pytest.raises(TreatmentRefusedError) as err:
        validate_treatment(small)
    assert _codes(err) == {"exceeds_vial"}
