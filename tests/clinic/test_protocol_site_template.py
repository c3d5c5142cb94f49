"""The treatment form's site rows for a protocol: only verified, cited per-site units.

Per-site units come from protocols.yaml only when its ``verified: true`` entry gives them
(hazard H-097); a protocol whose source gives only the total fills nothing.
"""

from __future__ import annotations

from decimal import Decimal

from glabella.clinic.protocol import NO_SITE_UNITS_NOTE, load_protocols, site_template


def test_finzi_men_fills_the_five_sites_of_supplemental_figure_2() -> None:
    # Finzi & Rosenthal 2014, Supplemental Fig. 2: 10 U procerus, 8 U medial and 7 U middle
    # corrugator on each side: 10 + 2 x 8 + 2 x 7 = 40 U, the protocol's target total.
    chosen = load_protocols()["finzi2014_male"]
    rows = site_template(chosen)
    assert [(r.site.id, r.units, r.in_pattern) for r in rows] == [
        ("procerus", Decimal(10), True),
        ("corrugator_medial_right", Decimal(8), True),
        ("corrugator_lateral_right", Decimal(7), True),
        ("corrugator_medial_left", Decimal(8), True),
        ("corrugator_lateral_left", Decimal(7), True),
    ]
    assert sum(r.units or 0 for r in rows) == chosen.total_units == Decimal(40)


def test_rows_read_midline_then_patients_right_then_left() -> None:
    sides = [r.site.side for r in site_template(None)]
    assert sides == ["midline", "right", "right", "left", "left"]


def test_a_total_only_protocol_fills_no_site_and_says_so() -> None:
    chosen = load_protocols()["wollmer2012_female"]
    rows = site_template(chosen)
    assert all(r.units is None and r.in_pattern is None for r in rows)
    assert chosen.total_units == Decimal(29) and not chosen.site_units_known
    assert NO_SITE_UNITS_NOTE == "This protocol's source gives no per-site units: enter them."


def test_no_unverified_protocol_carries_per_site_units() -> None:
    # Every protocol that fills a site is verified against its source and has a note saying
    # where the split comes from; the rest give nothing per site.
    for chosen in load_protocols().values():
        filled = [r for r in site_template(chosen) if r.units is not None]
        if filled:
            assert chosen.verified and chosen.verification_note
        else:
            assert not chosen.site_units_known
