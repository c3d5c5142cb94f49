"""Every test named anywhere in docs/safety/hazard-log.md exists (a control without its proof
would otherwise go unnoticed when a test is renamed or deleted)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "docs" / "safety" / "hazard-log.md"
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def test_every_hazard_names_a_control_and_an_existing_test() -> None:
    rows = [
        line for line in LOG.read_text(encoding="utf-8").splitlines() if line.startswith("| H-")
    ]
    assert len(rows) >= 15
    ids = [row.split("|")[1].strip() for row in rows]
    assert len(ids) == len(set(ids)), "hazard ids must be unique"
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert len(cells) == 6, f"{cells[0]}: expected 6 columns"
        assert cells[4], f"{cells[0]} has no control"
        references = REFERENCE.findall(cells[5])
        assert references, f"{cells[0]} names no test"
        for path, name in references:
            source = (ROOT / path).read_text(encoding="utf-8")
            assert re.search(rf"def {name}\(", source), f"{cells[0]}: {path}::{name} is missing"
