"""escalc: each measure against its formula written out by hand (metafor's definitions)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from glabella.evidence.effects import EffectSizeError, escalc, required_columns


def test_two_by_two_measures_by_hand() -> None:
    a, b, c, d = 4.0, 119.0, 11.0, 128.0  # Aronson 1948 (BCG data)
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    rr = escalc("RR", ai=[a], bi=[b], ci=[c], di=[d])
    assert rr.yi[0] == pytest.approx(math.log(p1 / p2), rel=1e-14)
    assert rr.vi[0] == pytest.approx(1 / a - 1 / n1 + 1 / c - 1 / n2, rel=1e-14)
    orr = escalc("OR", ai=[a], bi=[b], ci=[c], di=[d])
    assert orr.yi[0] == pytest.approx(math.log(a * d / (b * c)), rel=1e-14)
    assert orr.vi[0] == pytest.approx(1 / a + 1 / b + 1 / c + 1 / d, rel=1e-14)
    rd = escalc("RD", ai=[a], n1i=[n1], ci=[c], n2i=[n2])
    assert rd.yi[0] == pytest.approx(p1 - p2, rel=1e-14)
    assert rd.vi[0] == pytest.approx(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2, rel=1e-14)
    as_ = escalc("AS", ai=[a], bi=[b], ci=[c], di=[d])
    assert as_.yi[0] == pytest.approx(math.asin(p1**0.5) - math.asin(p2**0.5), rel=1e-14)
    assert as_.vi[0] == pytest.approx(1 / (4 * n1) + 1 / (4 * n2), rel=1e-14)
    peto = escalc("PETO", ai=[a], bi=[b], ci=[c], di=[d])
    N = n1 + n2
    E = (a + c) * n1 / N
    V = (a + c) * (b + d) * n1 * n2 / (N**2 * (N - 1))
    assert peto.yi[0] == pytest.approx((a - E) / V, rel=1e-14)
    assert peto.vi[0] == pytest.approx(1 / V, rel=1e-14)


def test_zero_cells_get_one_half_only_where_needed() -> None:
    es = escalc("OR", ai=[0, 5], bi=[10, 5], ci=[3, 2], di=[7, 8])
    assert es.yi[0] == pytest.approx(math.log(0.5 * 7.5 / (10.5 * 3.5)), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5, rel=1e-14)
    assert es.yi[1] == pytest.approx(math.log(5 * 8 / (5 * 2)), rel=1e-14)
    assert es.corrected is not None and es.corrected.tolist() == [True, False]
    assert any("only0" in n for n in es.notes)


def test_double_zero_tables_are_kept_drop00_false() -> None:
    es = escalc("RR", ai=[0], bi=[10], ci=[0], di=[10])
    assert es.yi[0] == pytest.approx(0.0, abs=1e-15)
    assert es.vi[0] == pytest.approx(2 * (1 / 0.5 - 1 / 11), rel=1e-14)


def test_as_and_pas_need_no_correction() -> None:
    es = escalc("PAS", xi=[10], ni=[10])
    assert es.yi[0] == pytest.approx(math.pi / 2, rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 40, rel=1e-14)
    assert es.notes == ()
    pr = escalc("PR", xi=[10], ni=[10])
    assert pr.yi[0] == pytest.approx(10.5 / 11, rel=1e-14)
    assert pr.vi[0] == pytest.approx((10.5 / 11) * (0.5 / 11) / 11, rel=1e-14)


def test_proportions_by_hand() -> None:
    x, n = 16.0, 17.0
    plo = escalc("PLO", xi=[x], ni=[n])
    assert plo.yi[0] == pytest.approx(math.log(x / (n - x)), rel=1e-14)
    assert plo.vi[0] == pytest.approx(1 / x + 1 / (n - x), rel=1e-12)


def test_smd_exact_bias_correction_and_ls_variance() -> None:
    m1, sd1, n1, m2, sd2, n2 = 55.0, 47.0, 155.0, 75.0, 64.0, 156.0
    m = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
    cm = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2)) if m < 340 else None
    # lgamma form for large m; Hedges' approximation 1 - 3/(4m - 1) agrees to O(m^-2)
    cm = math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))
    assert cm == pytest.approx(1 - 3 / (4 * m - 1), abs=1e-6)
    g = cm * (m1 - m2) / sp
    es = escalc("SMD", m1i=[m1], sd1i=[sd1], n1i=[n1], m2i=[m2], sd2i=[sd2], n2i=[n2])
    assert es.yi[0] == pytest.approx(g, rel=1e-13)
    assert es.vi[0] == pytest.approx(1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2)), rel=1e-13)


def test_small_sample_correction_uses_gamma_functions() -> None:
    # n1 = n2 = 6, m = 10: c(10) = Gamma(5) / (sqrt(5) Gamma(4.5)); Gamma(4.5) = 105 sqrt(pi)/16
    c10 = 24 / (math.sqrt(5) * 105 * math.sqrt(math.pi) / 16)
    es = escalc("SMD", m1i=[1.0], sd1i=[1.0], n1i=[6], m2i=[0.0], sd2i=[1.0], n2i=[6])
    assert es.yi[0] == pytest.approx(c10, rel=1e-13)


def test_smdh_md_rom_by_hand() -> None:
    m1, sd1, n1, m2, sd2, n2 = 27.0, 7.0, 31.0, 29.0, 4.0, 32.0
    cols: dict[str, Any] = dict(m1i=[m1], sd1i=[sd1], n1i=[n1], m2i=[m2], sd2i=[sd2], n2i=[n2])
    md = escalc("MD", **cols)
    assert md.yi[0] == m1 - m2
    assert md.vi[0] == pytest.approx(sd1**2 / n1 + sd2**2 / n2, rel=1e-14)
    rom = escalc("ROM", **cols)
    assert rom.yi[0] == pytest.approx(math.log(m1 / m2), rel=1e-14)
    assert rom.vi[0] == pytest.approx(sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2), rel=1e-14)
    mm = n1 + n2 - 2
    cm = math.exp(math.lgamma(mm / 2) - 0.5 * math.log(mm / 2) - math.lgamma((mm - 1) / 2))
    s2 = (sd1**2 + sd2**2) / 2
    g = cm * (m1 - m2) / math.sqrt(s2)
    v = (
        g**2 * (sd1**4 / (n1 - 1) + sd2**4 / (n2 - 1)) / (2 * (sd1**2 + sd2**2) ** 2)
        + (sd1**2 / (n1 - 1) + sd2**2 / (n2 - 1)) / s2
    )
    smdh = escalc("SMDH", **cols)
    assert smdh.yi[0] == pytest.approx(g, rel=1e-13)
    assert smdh.vi[0] == pytest.approx(cm**2 * v, rel=1e-13)


def test_correlations_by_hand() -> None:
    z = escalc("ZCOR", ri=[0.34], ni=[55])
    assert z.yi[0] == pytest.approx(0.5 * math.log(1.34 / 0.66), rel=1e-14)
    assert z.vi[0] == pytest.approx(1 / 52, rel=1e-14)
    r = escalc("COR", ri=[0.34, 0.2], ni=[55, 4])
    assert r.vi[0] == pytest.approx((1 - 0.34**2) ** 2 / 54, rel=1e-14)
    assert math.isnan(r.vi[1]) and math.isnan(r.yi[1])  # ni <= 4: not estimable


def test_gen_with_sei() -> None:
    es = escalc("GEN", yi=[0.1, 0.2], sei=[0.5, 0.25])
    assert es.vi.tolist() == [0.25, 0.0625]


def test_errors() -> None:
    with pytest.raises(EffectSizeError, match="unknown measure"):
        escalc("XX", yi=[1])
    with pytest.raises(EffectSizeError, match="needs column 'ci'"):
        escalc("RR", ai=[1], bi=[2], di=[3])
    with pytest.raises(EffectSizeError, match="negative"):
        escalc("OR", ai=[-1], bi=[2], ci=[3], di=[4])
    assert required_columns("RR", {"ai", "n1i", "ci", "n2i"}) == ("ai", "n1i", "ci", "n2i")
    assert required_columns("GEN", {"yi", "sei"}) == ("yi", "sei")


def test_vectorised_over_many_studies() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(1, 50, 1000).astype(float)
    es = escalc("OR", ai=a, bi=a + 10, ci=a + 2, di=a + 20)
    assert es.yi.shape == (1000,)
    assert np.allclose(es.vi, 1 / a + 1 / (a + 10) + 1 / (a + 2) + 1 / (a + 20))
