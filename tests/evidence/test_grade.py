"""GRADE-style certainty rules, one domain at a time."""

from __future__ import annotations

import pytest

from glabella.evidence.grade import Certainty, GradeStudy, rate_certainty


def _s(sid: str, w: float, n: int, rob: str | None, ind: str | None = None) -> GradeStudy:
    return GradeStudy(study_id=sid, weight=w, n=n, rob_overall=rob, indirectness=ind)


def _domain(cert: Certainty, name: str) -> tuple[int, str]:
    for d in cert.domains:
        if d.domain == name:
            return d.levels, d.reason
    raise AssertionError(name)


def _rate(studies: list[GradeStudy], i2: float = 0.0) -> Certainty:
    """A precise, consistent RR (1.2 to 1.8) so that only the domain under test moves."""
    return rate_certainty(studies, i2=i2, ci_lb=1.2, ci_ub=1.8, null_value=1.0, measure="RR")


def test_large_low_risk_consistent_precise_evidence_stays_high() -> None:
    studies = [_s("a", 1, 300, "low"), _s("b", 1, 300, "low")]
    c = rate_certainty(studies, i2=10.0, ci_lb=1.2, ci_ub=1.8, null_value=1.0, measure="RR")
    assert c.level == "high"
    assert c.total_downgrade == 0
    assert len(c.domains) == 5 and all(d.reason for d in c.domains)


def test_risk_of_bias_thresholds() -> None:
    c = _rate([_s("a", 3, 300, "high"), _s("b", 1, 300, "low")])
    assert _domain(c, "risk_of_bias")[0] == 2  # 75% of weight at high risk
    c = _rate([_s("a", 1, 300, "high"), _s("b", 3, 300, "low")])
    assert _domain(c, "risk_of_bias")[0] == 1  # some weight at high risk
    c = _rate([_s("a", 1, 300, "some_concerns"), _s("b", 1, 300, "low")])
    assert _domain(c, "risk_of_bias")[0] == 1  # 50% with some concerns
    c = _rate([_s("a", 1, 300, "some_concerns"), _s("b", 3, 300, "low")])
    assert _domain(c, "risk_of_bias")[0] == 0


@pytest.mark.parametrize(("i2", "levels"), [(30.0, 0), (50.0, 1), (74.9, 1), (80.0, 2)])
def test_inconsistency_by_i2(i2: float, levels: int) -> None:
    c = _rate([_s("a", 1, 300, "low"), _s("b", 1, 300, "low")], i2=i2)
    assert _domain(c, "inconsistency")[0] == levels


def test_imprecision_small_and_crossing_null() -> None:
    studies = [_s("a", 1, 40, "low"), _s("b", 1, 30, "low")]
    c = rate_certainty(studies, i2=0.0, ci_lb=0.9, ci_ub=3.0, null_value=1.0, measure="RR")
    levels, reason = _domain(c, "imprecision")
    assert levels == 2
    assert "70 patients" in reason and "includes no effect" in reason
    # A Knapp-Hartung interval on 1 df can be enormous: it is written readably, not as 0.00.
    wide = rate_certainty(
        studies, i2=0.0, ci_lb=0.000368, ci_ub=74793.97, null_value=1.0, measure="RR"
    )
    assert "(0.00037 to 74,794)" in _domain(wide, "imprecision")[1]


def test_indirectness_needs_half_the_weight() -> None:
    c = _rate([_s("a", 2, 300, "low", "women only"), _s("b", 1, 300, "low")])
    assert _domain(c, "indirectness") == (
        1,
        "Studies with 67% of the weight differ: a: women only.",
    )
    c = _rate([_s("a", 1, 300, "low", "women only"), _s("b", 2, 300, "low")])
    assert _domain(c, "indirectness")[0] == 0


def test_publication_bias_small_studies_and_floor_at_very_low() -> None:
    studies = [_s("a", 1, 30, "high"), _s("b", 1, 74, "high")]
    c = rate_certainty(studies, i2=90.0, ci_lb=0.5, ci_ub=9.0, null_value=1.0, measure="RR")
    assert _domain(c, "publication_bias")[0] == 1
    # 2 (RoB) + 2 (I²) + 0 + 2 (imprecision) + 1 (publication bias) = 7 levels: floor at very low
    assert c.total_downgrade == 7
    assert c.level == "very low"


def test_non_randomised_evidence_starts_low() -> None:
    c = rate_certainty(
        [_s("a", 1, 500, "low")],
        i2=None,
        ci_lb=1.2,
        ci_ub=1.5,
        null_value=1.0,
        measure="RR",
        randomised=False,
    )
    assert c.start == "low" and c.level == "low"
    assert _domain(c, "inconsistency")[0] == 0


def test_needs_studies() -> None:
    with pytest.raises(ValueError):
        rate_certainty([], i2=0.0, ci_lb=1.0, ci_ub=2.0, null_value=1.0, measure="RR")
