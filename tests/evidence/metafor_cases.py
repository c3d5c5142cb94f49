"""Shared helpers for the metafor reference cases in ``tests/data/metafor``.

Each ``NAME__CASE.json`` holds the CLI arguments and metafor 3.8-1's values (see the README in
that folder). Agreement: relative 1e-6, or absolute 1e-8 near zero.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "metafor"

#: Keys computed by the bias/sensitivity module (tested by its own tests).
BIAS_KEYS = frozenset({"egger", "ranktest", "trimfill", "leave1out"})

REL = 1e-6
ABS = 1e-8


@dataclass(frozen=True)
class Case:
    """One reference case."""

    name: str
    csv: Path
    args: list[str]
    expected: dict[str, Any]

    def arg(self, flag: str, default: str | None = None) -> str | None:
        """The value following ``flag`` in the arguments."""
        return self.args[self.args.index(flag) + 1] if flag in self.args else default


def cases() -> list[Case]:
    """All reference cases, sorted by file name."""
    out = []
    for path in sorted(DATA.glob("*__*.json")):
        raw = json.loads(path.read_text())
        out.append(Case(path.stem, DATA / raw["csv"], list(raw["args"]), raw["expected"]))
    return out


def read_rows(path: Path) -> list[dict[str, str]]:
    """The CSV rows as dictionaries of text."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def close(got: Any, expected: Any, rel: float = REL, abs_: float = ABS) -> bool:
    """Numbers agree to ``rel`` relative or ``abs_`` absolute; other values must be equal."""
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        return bool(got == expected)
    if got is None or not isinstance(got, int | float):
        return False
    if math.isnan(expected):
        return math.isnan(got)
    return abs(got - expected) <= max(abs_, rel * abs(expected))


def mismatches(
    got: dict[str, Any], expected: dict[str, Any], rel: float = REL, path: str = ""
) -> list[str]:
    """Every expected key (recursively) whose value ``got`` does not reproduce."""
    bad: list[str] = []
    for key, exp in expected.items():
        where = f"{path}{key}"
        if key in BIAS_KEYS:
            continue
        if key not in got:
            bad.append(f"{where}: missing")
            continue
        val = got[key]
        if isinstance(exp, dict):
            if not isinstance(val, dict):
                bad.append(f"{where}: expected an object, got {val!r}")
            else:
                bad.extend(mismatches(val, exp, rel, f"{where}."))
        elif isinstance(exp, list):
            if not isinstance(val, list) or len(val) != len(exp):
                bad.append(f"{where}: expected a list of {len(exp)}, got {val!r}")
            else:
                for i, (g, e) in enumerate(zip(val, exp, strict=True)):
                    if isinstance(e, dict):
                        bad.extend(mismatches(g, e, rel, f"{where}[{i}]."))
                    elif not close(g, e, rel):
                        bad.append(f"{where}[{i}]: {g!r} != {e!r}")
        elif not close(val, exp, rel):
            bad.append(f"{where}: {val!r} != {exp!r}")
    return bad
