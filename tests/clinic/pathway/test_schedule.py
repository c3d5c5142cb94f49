"""Follow-up schedule: dates in the clinic's timezone, window boundaries, re-treatment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from glabella.clinic.schedule import (
    DEFAULT_VISITS,
    VisitSpec,
    local_date,
    retreatment_allowed,
    retreatment_allowed_from,
    schedule_visits,
    superseded_after_days,
    superseded_on,
    visit_status,
    visit_statuses,
)

BERLIN = ZoneInfo("Europe/Berlin")
TREATED = datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)


def _at(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, tzinfo=BERLIN)


def test_default_visits_are_baseline_and_weeks_2_6_12() -> None:
    visits = schedule_visits(TREATED, BERLIN)
    # 2026-11-25 + 14 d = 2026-12-09; + 42 d = 2027-01-06; + 84 d = 2027-02-17
    assert [(v.spec.key, v.target) for v in visits] == [
        ("baseline", date(2026, 11, 25)),
        ("week2", date(2026, 12, 9)),
        ("week6", date(2027, 1, 6)),
        ("week12", date(2027, 2, 17)),
    ]
    week2 = visits[1]
    assert (week2.opens, week2.closes) == (date(2026, 12, 6), date(2026, 12, 12))


def test_schedule_is_configurable() -> None:
    visits = schedule_visits(TREATED, BERLIN, (VisitSpec("week4", "Week 4", 4, 0, 2),))
    assert [(v.target, v.opens, v.closes) for v in visits] == [
        (date(2026, 12, 23), date(2026, 12, 23), date(2026, 12, 25))
    ]
    with pytest.raises(ValueError, match="unique"):
        schedule_visits(TREATED, BERLIN, (DEFAULT_VISITS[1], DEFAULT_VISITS[1]))


def test_treatment_date_is_read_in_the_clinic_timezone() -> None:
    # 23:30 UTC on 24 Nov is 00:30 on 25 Nov in Berlin (UTC+1 in November)
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert local_date(late, BERLIN) == date(2026, 11, 25)
    assert schedule_visits(late, BERLIN)[1].target == date(2026, 12, 9)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule_visits(datetime(2026, 11, 25, 10, 0), BERLIN)
    week2 = schedule_visits(TREATED, BERLIN)[1]
    with pytest.raises(ValueError, match="timezone-aware"):
        visit_status(week2, datetime(2026, 12, 9, 10, 0), BERLIN)


def test_week2_status_at_each_window_boundary() -> None:
    week2 = schedule_visits(TREATED, BERLIN)[1]  # window 2026-12-06 .. 2026-12-12
    assert visit_status(week2, _at(2026, 12, 5, 23), BERLIN) == "upcoming"
    assert visit_status(week2, _at(2026, 12, 6, 0), BERLIN) == "due"
    assert visit_status(week2, _at(2026, 12, 12, 23), BERLIN) == "due"
    assert visit_status(week2, _at(2026, 12, 13, 0), BERLIN) == "overdue"
    assert visit_status(week2, _at(2026, 12, 13), BERLIN, {"week2"}) == "completed"


def test_now_is_converted_to_the_clinic_date() -> None:
    week2 = schedule_visits(TREATED, BERLIN)[1]
    # 23:30 UTC on 12 Dec is already 13 Dec in Berlin: overdue, not due
    assert visit_status(week2, datetime(2026, 12, 12, 23, 30, tzinfo=UTC), BERLIN) == "overdue"


def test_dst_change_does_not_shift_the_calendar_date() -> None:
    # treated 2027-03-20 in Berlin; DST starts 2027-03-28; week 2 is still 2027-04-03
    visits = schedule_visits(datetime(2027, 3, 20, 9, 0, tzinfo=BERLIN), BERLIN)
    assert visits[1].target == date(2027, 4, 3)


def test_retreatment_from_exactly_12_weeks() -> None:
    # 2026-11-25 + 84 days = 2027-02-17
    assert retreatment_allowed_from(TREATED, BERLIN) == date(2027, 2, 17)
    assert not retreatment_allowed(TREATED, _at(2027, 2, 16, 23), BERLIN)
    assert retreatment_allowed(TREATED, _at(2027, 2, 17, 0), BERLIN)


def test_visit_statuses_for_a_dashboard() -> None:
    # on 2026-12-20: baseline done; week 2 (window closed 12-12) overdue;
    # week 6 window opens 2026-12-30 -> upcoming; week 12 upcoming
    statuses = visit_statuses(TREATED, _at(2026, 12, 20), BERLIN, {"baseline"})
    assert [(v.spec.key, s) for v, s in statuses] == [
        ("baseline", "completed"),
        ("week2", "overdue"),
        ("week6", "upcoming"),
        ("week12", "upcoming"),
    ]


# Missed visits. TREATED 2026-11-25 (Berlin): week 2 window 12-06..12-12; week 6 target
# 2027-01-06, window 2026-12-30..2027-01-13; week 12 target 2027-02-17, window 02-10..02-24.


def test_superseded_offsets_are_the_next_window_openings() -> None:
    # baseline -> week 2 opens 14 - 3 = 11; week 2 -> week 6 opens 42 - 7 = 35;
    # week 6 -> week 12 opens 84 - 7 = 77; week 12 is last: never superseded
    assert [superseded_after_days(s, DEFAULT_VISITS) for s in DEFAULT_VISITS] == [11, 35, 77, None]
    visits = schedule_visits(TREATED, BERLIN)
    assert superseded_on(visits[1], visits) == date(2026, 12, 30)
    assert superseded_on(visits[3], visits) is None


def test_week2_is_overdue_until_week6_opens_then_missed() -> None:
    def on(day: datetime) -> list[str]:
        return [s for _, s in visit_statuses(TREATED, day, BERLIN, {"baseline"})]

    # 29 Dec: week 6 not open yet -> week 2 is the visit to chase
    assert on(_at(2026, 12, 29, 23)) == ["completed", "overdue", "upcoming", "upcoming"]
    # 30 Dec 00:00 local: week 6 opens -> week 2 is history, week 6 is due
    assert on(_at(2026, 12, 30, 0)) == ["completed", "missed", "due", "upcoming"]


def test_later_visits_answered_leave_week2_missed_not_overdue() -> None:
    # the first-week walk's patient: week 2 unanswered, weeks 6 and 12 done, seen 2027-05-10
    done = {"baseline", "week6", "week12"}
    statuses = visit_statuses(TREATED, _at(2027, 5, 10), BERLIN, done)
    assert [s for _, s in statuses] == ["completed", "missed", "completed", "completed"]


def test_last_visit_unanswered_stays_overdue() -> None:
    # H-084: week 12 closed 2027-02-24 with no later window: still overdue on 2027-05-10
    statuses = visit_statuses(TREATED, _at(2027, 5, 10), BERLIN, {"baseline"})
    assert [s for _, s in statuses] == ["completed", "missed", "missed", "overdue"]


def test_without_its_schedule_a_closed_visit_stays_overdue() -> None:
    # the safe default: visit_status cannot know of later windows unless given the schedule
    visits = schedule_visits(TREATED, BERLIN)
    later = _at(2027, 1, 2)
    assert visit_status(visits[1], later, BERLIN) == "overdue"
    assert visit_status(visits[1], later, BERLIN, visits=visits) == "missed"
