"""Outcomes: change, percent change, response, remission, RCI and the week-6 flag by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from glabella.clinic.outcomes import (
    RCI_PARAMETERS,
    REMISSION_CUTOFFS,
    RciParameters,
    ScorePoint,
    change,
    is_not_improving,
    is_remission,
    is_response,
    min_reliable_change,
    percent_change,
    rci_for,
    rci_statement,
    reliable_change_category,
    reliable_change_index,
    reliable_change_points,
    summarise,
    summarise_scores,
    trajectories,
)


def test_change_and_percent_change_by_hand() -> None:
    # PHQ-9 18 -> 9: change -9; percent change = 100 x -9 / 18 = -50 %
    assert change(18, 9) == -9
    assert percent_change(18, 9) == -50
    # 21 -> 14: 100 x -7 / 21 = -33.33...% kept exact as -100/3
    assert percent_change(21, 14) == Fraction(-100, 3)
    # worsening 10 -> 12: +20 %
    assert percent_change(10, 12) == 20
    assert percent_change(0, 3) is None


def test_response_is_at_least_50_percent_reduction() -> None:
    assert is_response(18, 9) is True  # exactly -50 %
    assert is_response(18, 10) is False  # -44.4 %
    assert is_response(30, 14) is True  # -53.3 %
    assert is_response(0, 0) is None


def test_remission_cutoffs_per_instrument() -> None:
    # PHQ-9 < 5, GAD-7 < 5, MADRS <= 10, HAM-D17 <= 7
    assert (is_remission("phq9", 4), is_remission("phq9", 5)) == (True, False)
    assert (is_remission("gad7", 4), is_remission("gad7", 5)) == (True, False)
    assert (is_remission("madrs", 10), is_remission("madrs", 11)) == (True, False)
    assert (is_remission("hamd17", 7), is_remission("hamd17", 8)) == (True, False)
    assert is_remission("who5", 20) is None  # not configured
    for cutoff in REMISSION_CUTOFFS.values():
        assert cutoff.source


def test_reliable_change_index_by_hand() -> None:
    # SD = 5, r = 0.84: SE = 5 x sqrt(0.16) = 2; S_diff = sqrt(2 x 2^2) = sqrt(8) = 2.8284
    # x1 = 20, x2 = 12: RCI = -8 / 2.8284 = -2.8284 (reliable improvement, |RCI| > 1.96)
    rci = reliable_change_index(20, 12, sd=5, reliability=0.84)
    assert rci == pytest.approx(-8 / math.sqrt(8))
    assert rci == pytest.approx(-2.828427, abs=1e-6)
    # x2 = 16: RCI = -4 / 2.8284 = -1.414 (not reliable)
    assert reliable_change_index(20, 16, 5, 0.84) == pytest.approx(-1.414214, abs=1e-6)
    with pytest.raises(ValueError):
        reliable_change_index(20, 12, sd=0, reliability=0.8)
    with pytest.raises(ValueError):
        reliable_change_index(20, 12, sd=5, reliability=1.0)


def test_rci_is_configured_only_for_the_cited_phq9_parameters() -> None:
    assert set(RCI_PARAMETERS) == {"phq9"}
    p = RCI_PARAMETERS["phq9"]
    assert (p.sd, p.reliability) == (4.6, 0.89)
    assert "Psychiatr Serv 2011" in p.source and "Kroenke" in p.source
    assert rci_for("gad7", 20, 12) is None  # no verified SD/r pair
    params = {"phq9": RciParameters(5.0, 0.84, "hand example")}
    assert rci_for("phq9", 20, 12, params) == pytest.approx(-2.828427, abs=1e-6)


def test_phq9_reliable_change_threshold_by_hand() -> None:
    # S_diff = sqrt(2) * 4.6 * sqrt(1 - 0.89) = 1.414214 * 4.6 * 0.331662 = 2.157591
    # 1.96 * 2.157591 = 4.228879 points -> at least 5 whole points
    p = RCI_PARAMETERS["phq9"]
    assert reliable_change_points(p) == pytest.approx(4.228879, abs=1e-5)
    assert min_reliable_change(p) == 5
    # 16 -> 11: RCI = -5 / 2.157591 = -2.317399 (reliable); 16 -> 12: -4 / 2.157591 = -1.853919
    assert rci_for("phq9", 16, 11) == pytest.approx(-2.317399, abs=1e-5)
    assert rci_for("phq9", 16, 12) == pytest.approx(-1.853919, abs=1e-5)
    assert reliable_change_category(rci_for("phq9", 16, 11)) == "improved"
    assert reliable_change_category(rci_for("phq9", 16, 12)) == "no reliable change"
    assert reliable_change_category(rci_for("phq9", 10, 15)) == "deteriorated"
    assert reliable_change_category(None) is None
    statement = rci_statement("phq9")
    assert statement is not None
    assert statement.startswith("reliable change = a change of at least 5 points")
    assert "r = 0.89" in statement and "SD = 4.6" in statement
    assert rci_statement("madrs") is None


def test_not_improving_at_week6_below_20_percent() -> None:
    # baseline 20: 16 is -20 % (improving enough), 17 is -15 % (not improving)
    assert is_not_improving(20, 16) is False
    assert is_not_improving(20, 17) is True
    assert is_not_improving(20, 22) is True  # worse
    assert is_not_improving(20, 17, threshold_percent=Fraction(10)) is False  # configurable
    assert is_not_improving(0, 0) is None


def test_summary_for_a_phq9_follow_up() -> None:
    s = summarise("phq9", 16, 4)
    # 16 -> 4: change -12, -75 %, response, remission (4 < 5),
    # RCI = -12 / 2.157591 = -5.561758 (reliable improvement)
    assert (s.change, s.percent_change) == (Fraction(-12), Fraction(-75))
    assert (s.response, s.remission) == (True, True)
    assert s.rci == pytest.approx(-5.561758, abs=1e-5)
    assert s.reliable_improvement is True
    assert summarise("gad7", 16, 4).rci is None


def test_trajectories_group_and_sort_with_treatment_marks() -> None:
    t0 = datetime(2026, 11, 25, 10, tzinfo=UTC)
    pts = [
        ScorePoint("phq9", t0 + timedelta(weeks=6), 9),
        ScorePoint("madrs", t0, 30),
        ScorePoint("phq9", t0, 18),
        ScorePoint("phq9", t0 + timedelta(weeks=2), 14),
    ]
    tr = trajectories(pts, [t0])
    assert list(tr) == ["madrs", "phq9"]
    assert [p.total for p in tr["phq9"].points] == [18, 14, 9]
    assert tr["phq9"].treatments == (t0,)
    with pytest.raises(ValueError, match="timezone-aware"):
        trajectories([ScorePoint("phq9", datetime(2026, 11, 25), 10)])
    with pytest.raises(ValueError, match="timezone-aware"):
        trajectories([], [datetime(2026, 11, 25)])


@dataclass(frozen=True)
class _Score:
    instrument_id: str
    total: int


def test_summarise_scores_within_one_instrument_only() -> None:
    # MADRS 30 -> 10: -66.7 %, response, remission (<= 10)
    s = summarise_scores(_Score("madrs", 30), _Score("madrs", 10))
    assert s.percent_change == Fraction(-200, 3)
    assert (s.response, s.remission) == (True, True)
    with pytest.raises(ValueError, match="within one instrument"):
        summarise_scores(_Score("phq9", 20), _Score("gad7", 5))
