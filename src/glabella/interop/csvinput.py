"""The meta-analysis CSV format of ``glabella meta``: parsing, validation, missing values.

Columns use metafor's argument names: ``ai,bi,ci,di`` or ``ai,n1i,ci,n2i`` (2x2 tables),
``m1i,sd1i,n1i,m2i,sd2i,n2i`` (means), ``ri,ni`` (correlations), ``xi,ni`` (proportions),
``yi`` with ``vi`` or ``sei`` (GEN). An optional ``study`` column labels the rows; any other
column can be a moderator or a grouping variable.

``NA`` or an empty cell is a missing value. As metafor does (``na.action = "na.omit"``), a
study with a missing value in a column the analysis uses is left out, with a note, and ``k``
counts the studies used. Invalid values (not a number, a negative count or sample size, a
standard deviation <= 0, a correlation outside [-1, 1], events above the group size) raise
:class:`CSVInputError` naming the row and the column.

This module is pure: it parses text that the caller has read. The result,
:class:`~glabella.evidence.prepared.PreparedData`, is the input of
:func:`glabella.evidence.fit.fit`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from glabella.evidence.effects import (
    BINARY_MEASURES,
    CORRELATION_MEASURES,
    MEAN_MEASURES,
    MEASURES,
    PROPORTION_MEASURES,
    EffectSizes,
    escalc,
    required_columns,
)
from glabella.evidence.prepared import FloatArray, PreparedData

__all__ = [
    "MISSING",
    "CSVInputError",
    "PreparedData",
    "StudyTable",
    "parse_csv",
    "prepare",
]

#: Cell values read as missing.
MISSING: frozenset[str] = frozenset({"", "NA", "na", "N/A", "n/a", "NaN", "nan", "."})

_COUNTS = frozenset({"ai", "bi", "ci", "di", "xi"})
_SIZES = frozenset({"n1i", "n2i", "ni"})
_SDS = frozenset({"sd1i", "sd2i"})


class CSVInputError(ValueError):
    """A CSV problem, with the 1-based data row (None for header problems) and the column."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        where = []
        if row is not None:
            where.append(f"row {row} (line {row + 1})")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.row = row
        self.column = column
        self.message = message


@dataclass(frozen=True)
class StudyTable:
    """The parsed CSV: header and cells as text (None for missing)."""

    header: tuple[str, ...]
    cells: dict[str, list[str | None]]

    @property
    def k(self) -> int:
        """Number of data rows."""
        return len(next(iter(self.cells.values()))) if self.cells else 0

    def labels(self) -> list[str]:
        """Study labels (the ``study`` column, else "Study 1", "Study 2", ...)."""
        col = self.cells.get("study")
        if col is None:
            return [f"Study {i + 1}" for i in range(self.k)]
        return [v if v is not None else f"Study {i + 1}" for i, v in enumerate(col)]


def parse_csv(text: str) -> StudyTable:
    """Parse CSV text (comma-separated, first line the header; quotes as in RFC 4180)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise CSVInputError(f"not a valid CSV file: {exc}") from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise CSVInputError("the file is empty")
    header = tuple(h.strip() for h in rows[0])
    if any(h == "" for h in header):
        raise CSVInputError("the header has an empty column name")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise CSVInputError(f"duplicate column name(s) in the header: {', '.join(dupes)}")
    data = rows[1:]
    if not data:
        raise CSVInputError("the file has a header but no data rows")
    cells: dict[str, list[str | None]] = {h: [] for h in header}
    for i, row in enumerate(data, start=1):
        if len(row) != len(header):
            raise CSVInputError(f"has {len(row)} fields but the header has {len(header)}", row=i)
        for h, raw in zip(header, row, strict=True):
            value = raw.strip()
            cells[h].append(None if value in MISSING else value)
    return StudyTable(header=header, cells=cells)


def _number(value: str | None, row: int, column: str) -> float:
    if value is None:
        return math.nan
    try:
        x = float(value)
    except ValueError:
        raise CSVInputError(f"{value!r} is not a number", row=row, column=column) from None
    if not math.isfinite(x):
        raise CSVInputError(f"{value!r} is not a finite number", row=row, column=column)
    return x


def _validate(column: str, x: float, row: int) -> None:
    if math.isnan(x):
        return
    if column in _COUNTS and x < 0:
        raise CSVInputError(f"a count cannot be negative (got {x:g})", row=row, column=column)
    if column in _SIZES and x <= 0:
        raise CSVInputError(f"a sample size must be > 0 (got {x:g})", row=row, column=column)
    if column in _SDS and x <= 0:
        raise CSVInputError(f"a standard deviation must be > 0 (got {x:g})", row=row, column=column)
    if column == "ri" and not -1 <= x <= 1:
        raise CSVInputError(
            f"a correlation must lie in [-1, 1] (got {x:g})", row=row, column=column
        )
    if column in ("vi", "sei") and x < 0:
        raise CSVInputError(f"must not be negative (got {x:g})", row=row, column=column)


def _check_pairs(inputs: dict[str, FloatArray], measure: str, rows: Sequence[int]) -> None:
    """Events cannot exceed the group size."""
    pairs = [("ai", "n1i"), ("ci", "n2i")] if measure in BINARY_MEASURES else []
    if measure in PROPORTION_MEASURES:
        pairs = [("xi", "ni")]
    for events, size in pairs:
        if events in inputs and size in inputs:
            over = inputs[events] > inputs[size]
            if np.any(over):
                j = int(np.argmax(over))
                raise CSVInputError(
                    f"more events than participants ({inputs[events][j]:g} > "
                    f"{size}={inputs[size][j]:g})",
                    row=rows[j],
                    column=events,
                )


def prepare(
    table: StudyTable,
    measure: str,
    *,
    mods: Sequence[str] = (),
    by: str | None = None,
) -> PreparedData:
    """Select and validate the columns of an analysis and compute the effect sizes.

    Raises:
        CSVInputError: a needed column is absent, or a value is invalid (row and column named).
    """
    m = measure.upper()
    if m not in MEASURES:
        raise CSVInputError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    present = set(table.header)
    needed = required_columns(m, present)
    missing_cols = [c for c in needed if c not in present]
    if missing_cols:
        hint = {
            **dict.fromkeys(BINARY_MEASURES, "ai,bi,ci,di or ai,n1i,ci,n2i"),
            **dict.fromkeys(MEAN_MEASURES, "m1i,sd1i,n1i,m2i,sd2i,n2i"),
            **dict.fromkeys(CORRELATION_MEASURES, "ri,ni"),
            **dict.fromkeys(PROPORTION_MEASURES, "xi,ni"),
            "GEN": "yi with vi or sei",
        }[m]
        raise CSVInputError(
            f"measure {m} needs column(s) {', '.join(missing_cols)} (expected {hint})",
            column=missing_cols[0],
        )
    for name in (*mods, *([by] if by else [])):
        if name not in present:
            raise CSVInputError(f"no column {name!r} in the file", column=name)
    k = table.k
    numeric: dict[str, FloatArray] = {}
    for col in needed:
        vals = np.array([_number(v, i + 1, col) for i, v in enumerate(table.cells[col])])
        for i, x in enumerate(vals):
            _validate(col, float(x), i + 1)
        numeric[col] = vals
    used = list(needed) + list(mods) + ([by] if by else [])
    keep = [all(table.cells[c][i] is not None for c in used) for i in range(k)]
    rows = tuple(i + 1 for i in range(k) if keep[i])
    dropped = tuple(i + 1 for i in range(k) if not keep[i])
    idx = np.array([i for i in range(k) if keep[i]], dtype=int)
    inputs = {c: v[idx] for c, v in numeric.items()}
    if m in BINARY_MEASURES and "n1i" in inputs:
        _check_pairs(inputs, m, rows)
    if m in PROPORTION_MEASURES:
        _check_pairs(inputs, m, rows)
    notes: list[str] = []
    labels_all = table.labels()
    if dropped:
        names = ", ".join(labels_all[i - 1] for i in dropped)
        notes.append(
            f"{len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} with missing values in "
            f"the columns used left out: {names}"
        )
    if not rows:
        raise CSVInputError("no study has complete data for this analysis")
    effects = escalc(m, **inputs)
    bad = np.isnan(effects.yi)
    if np.any(bad):
        # as metafor: a study whose yi/vi cannot be computed is left out with a warning
        lost = [rows[j] for j in np.flatnonzero(bad)]
        notes.append(
            f"{len(lost)} stud{'y' if len(lost) == 1 else 'ies'} without a computable {m} "
            f"left out: {', '.join(labels_all[i - 1] for i in lost)}"
        )
        ok = ~bad
        rows = tuple(r for r, good in zip(rows, ok, strict=True) if good)
        dropped = tuple(sorted((*dropped, *lost)))
        if not rows:
            raise CSVInputError(f"no study gives a computable {m}")
        inputs = {c: v[ok] for c, v in inputs.items()}
        effects = EffectSizes(
            yi=effects.yi[ok],
            vi=effects.vi[ok],
            measure=effects.measure,
            notes=effects.notes,
            corrected=None if effects.corrected is None else effects.corrected[ok],
        )
    notes.extend(effects.notes)
    moderators: dict[str, list[str | float | None]] = {
        name: [table.cells[name][i - 1] for i in rows] for name in mods
    }
    groups: list[str | float | None] | None = [table.cells[by][i - 1] for i in rows] if by else None
    return PreparedData(
        labels=tuple(labels_all[i - 1] for i in rows),
        rows=rows,
        effects=effects,
        inputs=inputs,
        moderators=moderators,
        groups=groups,
        dropped=dropped,
        notes=tuple(notes),
    )
