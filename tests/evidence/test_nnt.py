"""NNT from pooled RR/OR/RD: every expected number is a hand calculation written out here."""

from __future__ import annotations

import math

import pytest

from glabella.evidence.nnt import experimental_risk, nnt


def test_rr_harmful_event_reduced() -> None:
    # Event is bad (e.g. relapse). ACR = 0.20, RR = 0.75 (0.60 to 0.90).
    # EER = 0.20 * 0.75 = 0.15 -> RD = -0.05 -> NNT = 1/0.05 = 20, a benefit (NNTB).
    # Limits: 0.20*0.60 = 0.12 -> RD -0.08 -> 12.5 ; 0.20*0.90 = 0.18 -> RD -0.02 -> 50.
    r = nnt("RR", 0.75, 0.60, 0.90, baseline_risk=0.20, events_are_beneficial=False)
    assert r.experimental_risk == pytest.approx(0.15)
    assert r.risk_difference == pytest.approx(-0.05)
    assert r.nnt == pytest.approx(20.0)
    assert r.kind == "NNTB"
    assert not r.ci_crosses_no_effect
    assert r.rd_ci_lb == pytest.approx(-0.08)
    assert r.rd_ci_ub == pytest.approx(-0.02)
    assert r.nntb_limit == pytest.approx(12.5)
    assert r.nnt_ci_far == pytest.approx(50.0)
    assert r.nnth_limit is None
    # Rounded up (Cochrane Handbook 15.4.4): 20, 13, 50.
    assert r.text() == "NNTB 20 (95% CI NNTB 13 to NNTB 50)"


def test_rr_handbook_formula_matches() -> None:
    # Handbook 15.4.4.2: NNT = 1 / (ACR * (1 - RR)) = 1 / (0.3 * 0.4) = 8.333...
    r = nnt("RR", 0.6, 0.5, 0.7, baseline_risk=0.3, events_are_beneficial=False)
    assert r.nnt == pytest.approx(1 / (0.3 * 0.4))
    assert r.text().startswith("NNTB 9 ")


def test_or_handbook_formula() -> None:
    # OR = 0.5, ACR = 0.2: EER = 0.5*0.2/(1 - 0.2 + 0.5*0.2) = 0.1/0.9 = 0.11111
    # Handbook 15.4.4.3: NNT = (1 - ACR(1-OR)) / ((1-ACR) ACR (1-OR)) = 0.9 / 0.08 = 11.25.
    r = nnt("OR", 0.5, 0.25, 1.0, baseline_risk=0.2, events_are_beneficial=False)
    assert r.experimental_risk == pytest.approx(0.1 / 0.9)
    assert r.nnt == pytest.approx(11.25)
    # Upper limit OR = 1 gives RD = 0 exactly: the interval touches no effect.
    # OR = 0.25: EER = 0.05/(0.8 + 0.05) = 0.0588235 -> RD = -0.1411765 -> NNTB 7.0833.
    assert r.ci_crosses_no_effect
    assert r.nntb_limit == pytest.approx(1 / (0.2 - 0.05 / 0.85))
    assert r.nnth_limit is None
    assert r.text() == "NNTB 12 (95% CI NNTB 8 to ∞)"


def test_beneficial_event_and_ci_crossing_no_effect_altman() -> None:
    # Event is good (response). ACR = 0.30, RR = 1.50 (0.90 to 2.50).
    # EER = 0.45 -> RD = +0.15 -> NNTB 6.667 (rounded up 7).
    # Limits: 0.27 -> RD -0.03 -> NNTH 33.33 (34);  0.75 -> RD +0.45 -> NNTB 2.222 (3).
    # Altman 1998: "NNTB 3 to infinity to NNTH 34".
    r = nnt("RR", 1.5, 0.9, 2.5, baseline_risk=0.30, events_are_beneficial=True)
    assert r.kind == "NNTB"
    assert r.nnt == pytest.approx(1 / 0.15)
    assert r.ci_crosses_no_effect
    assert r.nntb_limit == pytest.approx(1 / 0.45)
    assert r.nnth_limit == pytest.approx(1 / 0.03)
    assert r.nnt_ci_far is None
    assert r.text() == "NNTB 7 (95% CI NNTB 3 to ∞ to NNTH 34)"


def test_harm_direction() -> None:
    # Event is bad (drop-out). ACR = 0.10, RD = +0.04 (0.01 to 0.07): more drop-outs.
    # NNTH = 1/0.04 = 25; limits 1/0.07 = 14.29 (15) and 1/0.01 = 100.
    r = nnt("RD", 0.04, 0.01, 0.07, baseline_risk=0.10, events_are_beneficial=False)
    assert r.kind == "NNTH"
    assert r.nnt == pytest.approx(25.0)
    assert r.nnth_limit == pytest.approx(1 / 0.07)
    assert r.nnt_ci_far == pytest.approx(100.0)
    assert r.text() == "NNTH 25 (95% CI NNTH 15 to NNTH 100)"


def test_log_scale_input_as_rma_reports_it() -> None:
    a = nnt("RR", 0.75, 0.60, 0.90, baseline_risk=0.2, events_are_beneficial=False)
    b = nnt(
        "RR",
        math.log(0.75),
        math.log(0.60),
        math.log(0.90),
        baseline_risk=0.2,
        events_are_beneficial=False,
        log_scale=True,
    )
    assert b.nnt == pytest.approx(a.nnt)
    assert b.nntb_limit == pytest.approx(a.nntb_limit)


def test_no_difference_is_infinite() -> None:
    r = nnt("RD", 0.0, -0.02, 0.02, baseline_risk=0.5, events_are_beneficial=True)
    assert r.kind == "none"
    assert math.isinf(r.nnt)
    assert r.to_dict()["nnt"] is None
    assert r.text() == "no difference (95% CI NNTB 50 to ∞ to NNTH 50)"


def test_truncation_and_errors() -> None:
    # RR upper limit 3 at ACR 0.5 implies 1.5: truncated to 1 -> RD 0.5 and noted.
    r = nnt("RR", 1.2, 0.8, 3.0, baseline_risk=0.5, events_are_beneficial=True)
    assert r.rd_ci_ub == pytest.approx(0.5)
    assert r.notes
    with pytest.raises(ValueError, match="not a probability"):
        nnt("RR", 2.5, 2.0, 3.0, baseline_risk=0.5, events_are_beneficial=True)
    with pytest.raises(ValueError, match="baseline_risk"):
        nnt("RR", 0.8, 0.7, 0.9, baseline_risk=0.0, events_are_beneficial=True)
    with pytest.raises(ValueError, match="within"):
        nnt("RR", 0.5, 0.7, 0.9, baseline_risk=0.2, events_are_beneficial=True)
    with pytest.raises(ValueError, match="RR, OR and RD"):
        experimental_risk("SMD", 0.5, 0.2)  # type: ignore[arg-type]
