"""Clinic outcome rules on hand-made courses (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from glabella.analytics.compute import (
    CourseRow,
    TimedScore,
    analyse,
    mean_trajectory,
    not_on_track,
    severity_band,
)

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def row(
    baseline: int | None,
    w6: int | None,
    w12: int | None = None,
    *,
    injector: str = "A",
    closed6: bool = True,
    closed12: bool = True,
    month: str = "2026-05",
    ae: int = 0,
    grade: int | None = None,
) -> CourseRow:
    return CourseRow(
        injector=injector,
        protocol=None,
        product="onabotulinumtoxinA",
        month=month,
        closed6=closed6,
        closed12=closed12,
        baseline=baseline,
        week6=w6,
        week12=w12,
        ae_count=ae,
        ae_max_grade=grade,
    )


def test_response_remission_and_exclusions_by_hand() -> None:
    rows = [
        row(20, 10, 12),  # -50 %: response (the threshold is inclusive); 10 > 4: no remission
        row(20, 11, None),  # -45 %: no response; week 12 missing with window closed: lost
        row(12, 4, 3, ae=1, grade=3),  # response and remission, a grade-3 event
        row(16, None, None, closed6=True),  # week 6 missing: counts against response in ITT
        row(None, 5),  # no baseline: excluded
        row(8, 2),  # baseline below 10: excluded
    ]
    out = analyse(rows, AS_OF)
    assert (out.index_courses, out.analysed) == (6, 4)
    assert (out.excluded_no_baseline, out.excluded_low_baseline) == (1, 1)
    o = out.overall
    assert (o.response6.events, o.response6.n) == (2, 3)
    assert (o.remission6.events, o.remission6.n) == (1, 3)
    assert (o.response6_itt.events, o.response6_itt.n) == (2, 4)
    assert (o.response12.events, o.response12.n) == (1, 2)  # 20->12 no, 12->3 yes
    assert (o.lost12.events, o.lost12.n) == (2, 4)
    assert (o.adverse_event.events, o.grade3_event.events, o.adverse_event.n) == (1, 1, 4)


def test_windows_not_yet_closed_are_not_counted_as_missing() -> None:
    rows = [row(20, None, None, closed6=False, closed12=False), row(20, 8, None, closed12=False)]
    o = analyse(rows, AS_OF).overall
    assert o.response6_itt.n == 1  # only the course whose week-6 window has closed
    assert o.lost12.n == 0


def test_groups_funnel_and_months() -> None:
    rows = [row(20, 5, injector="A", month="2026-04") for _ in range(30)]
    rows += [row(20, 18, injector="B", month="2026-05") for _ in range(30)]
    out = analyse(rows, AS_OF)
    assert set(out.by_injector) == {"A", "B"}
    assert out.by_injector["A"].response6.events == 30
    assert out.funnel_p0 == pytest.approx(0.5)
    # 30/30 and 0/30 are both far outside 0.5 -/+ 3.09 * sqrt(0.25/30) = 0.218 .. 0.782
    assert {p.label: p.position for p in out.funnel} == {"A": "above998", "B": "below998"}
    assert [(m.month, m.new_patients, m.response6.events) for m in out.months] == [
        ("2026-04", 30, 30),
        ("2026-05", 30, 0),
    ]
    assert set(out.by_severity) == {"severe (20-27)"}
    assert out.by_protocol.keys() == {"no named protocol"}


def test_severity_bands_and_bad_values() -> None:
    assert [severity_band(b) for b in (9, 10, 14, 15, 19, 20, 27)] == [
        None,
        "moderate (10-14)",
        "moderate (10-14)",
        "moderately severe (15-19)",
        "moderately severe (15-19)",
        "severe (20-27)",
        "severe (20-27)",
    ]
    with pytest.raises(ValueError, match="outside 0-27"):
        analyse([row(20, 31)], AS_OF)
    with pytest.raises(ValueError, match="timezone"):
        analyse([], dt.datetime(2026, 1, 1))


def test_mean_phq9_trajectory_by_week_by_hand() -> None:
    t0 = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)

    def s(patient: int, days: float, total: int) -> TimedScore:
        return TimedScore(patient, t0 + days * day, t0, total)

    scores = [
        # patient 1: baseline 18 (day -3; the day -20 score is outside the 14-day window),
        # week 2 (day 10) 12, week 6: day 37 = 10 then day 41 = 8 -> the last (8) counts
        s(1, -20, 27),
        s(1, -3, 18),
        s(1, 10, 12),
        s(1, 37, 10),
        s(1, 41, 8),
        # patient 2: baseline 14 (day 0 counts as baseline), week 1 (day 7, inclusive) 13,
        # week 2 (day 14) 10, week 6 (day 42) 7
        s(2, 0, 14),
        s(2, 7, 13),
        s(2, 14, 10),
        s(2, 42, 7),
        # patient 3: baseline 6 < 10, not analysed: none of their scores count
        s(3, -1, 6),
        s(3, 40, 2),
        # patient 4: no baseline at all, not analysed
        s(4, 40, 20),
    ]
    got = [(w.week, w.n, w.mean) for w in mean_trajectory(scores)]
    # week 0: (18 + 14) / 2 = 16.0; week 1: 13 / 1; week 2: (12 + 10) / 2 = 11.0;
    # week 6: (8 + 7) / 2 = 7.5
    assert got == [(0, 2, 16.0), (1, 1, 13.0), (2, 2, 11.0), (6, 2, 7.5)]
    # with a lower minimum baseline patient 3 joins: week 0 (18 + 14 + 6) / 3 = 12.666...,
    # week 6 (8 + 7 + 2) / 3 = 5.666...
    low = {w.week: (w.n, w.mean) for w in mean_trajectory(scores, min_baseline=5)}
    assert low[0][0] == 3 and low[0][1] == pytest.approx(38 / 3)
    assert low[6][0] == 3 and low[6][1] == pytest.approx(17 / 3)
    assert mean_trajectory(scores, max_week=1)[-1].week == 1
    with pytest.raises(ValueError, match="outside 0-27"):
        mean_trajectory([s(1, 0, 28)])
    with pytest.raises(ValueError, match="timezone-aware"):
        mean_trajectory([TimedScore(1, t0.replace(tzinfo=None), t0, 10)])


def test_not_on_track_against_the_expected_curve_by_hand() -> None:
    t0 = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)

    def s(patient: int, days: float, total: int) -> TimedScore:
        return TimedScore(patient, t0 + days * day, t0, total)

    week6 = [6, 6, 6, 6, 6, 8, 8, 8, 8, 18]
    scores = [s(p, -1, 16) for p in range(1, 11)]  # baseline 16: moderately severe (15-19)
    scores += [s(p, 40, v) for p, v in zip(range(1, 11), week6, strict=True)]
    scores += [s(10, 10, 15)]  # patient 10 at week 2 as well: their latest (week 6) counts
    scores += [s(11, -1, 12), s(11, 40, 12)]  # moderate band: 1 patient in the cell, n < 10
    # week-6 cell of the band: mean 80/10 = 8.0; squared deviations 5*4 + 4*0 + 100 = 120,
    # SD = sqrt(120/9) = 3.651484; bound = 8 + 1.2816 * 3.651484 = 12.679742
    (flag,) = not_on_track(scores)
    assert (flag.patient, flag.week, flag.score, flag.baseline, flag.n) == (10, 6, 18, 16, 10)
    assert flag.band == "moderately severe (15-19)"
    assert flag.expected == pytest.approx(8.0)
    assert flag.bound == pytest.approx(12.679742, abs=1e-5)
    # with fewer than 10 patients in the cell nobody is flagged (the curve is not used)
    assert not_on_track(scores, min_n=11) == ()
