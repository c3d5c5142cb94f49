"""SQL building blocks of the clinic worklist: day numbers and clinic-local dates in SQL.

The follow-up rules (:mod:`glabella.clinic.schedule`) count whole *clinic-local* days. To sort
and page the dashboard in the database, the local day of a stored UTC time is computed in SQL:
``local day = floor(UTC days since 1970-01-01 + offset / 1440)``, where the clinic's UTC offset
is a ``CASE`` over the offset changes (DST transitions) of its timezone in the range of the
stored data, found from the IANA database through :mod:`zoneinfo`. This is exact to the second
of a transition, for any zone, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Integer, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

EPOCH = dt.date(1970, 1, 1)
JULIAN_EPOCH = 2440587.5
"""The Julian day number of 1970-01-01 00:00 UTC (SQLite's ``julianday`` counts from it)."""


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01 (the integer the SQL expressions compare against)."""
    return (day - EPOCH).days


def utc_days(dialect: str, column: Any) -> ColumnElement[Any]:
    """Fractional days since 1970-01-01 00:00 UTC of a stored UTC datetime column."""
    if dialect == "sqlite":
        return func.julianday(column) - JULIAN_EPOCH
    return func.extract("epoch", column) / 86400.0


def date_days(dialect: str, column: Any) -> ColumnElement[Any]:
    """Whole days since 1970-01-01 of a ``DATE`` column."""
    if dialect == "sqlite":
        return cast(func.julianday(column) - JULIAN_EPOCH, Integer)
    return column - literal(EPOCH)  # type: ignore[no-any-return]


def floor_days(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Floor of a positive day count (SQLite's CAST truncates, which is floor above zero)."""
    if dialect == "sqlite":
        return cast(value, Integer)
    return cast(func.floor(value), Integer)


def _offset_minutes(tz: ZoneInfo, moment: dt.datetime) -> int:
    offset = moment.astimezone(tz).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


@lru_cache(maxsize=64)
def offset_changes(
    tz_key: str, lo: dt.date, hi: dt.date
) -> tuple[int, tuple[tuple[float, int], ...]]:
    """The UTC offset (minutes) at ``lo`` and every change up to ``hi``: (UTC days, offset).

    Scanned a day at a time, each change then bisected to one second.
    """
    tz = ZoneInfo(tz_key)
    start = dt.datetime.combine(lo, dt.time(), dt.UTC)
    end = dt.datetime.combine(hi, dt.time(), dt.UTC)
    first = current = _offset_minutes(tz, start)
    changes: list[tuple[float, int]] = []
    t = start
    while t < end:
        nxt = t + dt.timedelta(days=1)
        new = _offset_minutes(tz, nxt)
        if new != current:
            a, b = t, nxt
            while b - a > dt.timedelta(seconds=1):
                mid = a + (b - a) / 2
                if _offset_minutes(tz, mid) == current:
                    a = mid
                else:
                    b = mid
            changes.append(
                ((b - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds() / 86400, new)
            )
            current = new
        t = nxt
    return first, tuple(changes)


def local_day(
    dialect: str, column: Any, tz: ZoneInfo, lo: dt.date, hi: dt.date
) -> ColumnElement[Any]:
    """The clinic-local calendar day (days since 1970-01-01) of a stored UTC datetime."""
    days = utc_days(dialect, column)
    first, changes = offset_changes(tz.key, lo, hi)
    if not changes:
        offset: ColumnElement[Any] = literal(first)
    else:
        whens = []
        previous = first
        for boundary, new in changes:
            whens.append((days < boundary, literal(previous)))
            previous = new
        offset = case(*whens, else_=literal(previous))
    return floor_days(dialect, days + offset / 1440.0)


def date_shifted(dialect: str, column: Any, days: int) -> ColumnElement[Any]:
    """Midnight (UTC) of a ``DATE`` column plus ``days``, comparable with a stored datetime:
    a coarse bound that lets the database range-scan an index before the exact local-day
    test (callers widen it by a day on each side for any UTC offset)."""
    if dialect == "sqlite":
        return func.datetime(column, f"{days:+d} days")
    return cast(column + literal(days), DateTime(timezone=False))
