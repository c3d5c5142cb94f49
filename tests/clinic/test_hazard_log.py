"""The instrument hazards in docs/safety/hazard-log.md point at tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "safety" / "hazard-log.md"
REFERENCE = re.compile(r"(tests/clinic/test_[a-z0-9_]+\.py)::([a-z0-9_]+)")


def _rows(prefix: str) -> dict[str, str]:
    rows = {}
    for line in LOG.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| {prefix}"):
            rows[line.split("|")[1].strip()] = line
    return rows


def test_instrument_hazards_are_logged() -> None:
    rows = _rows("H-00")
    assert "Missed suicide-risk item" in rows["H-001"]
    assert "Wrong instrument wording" in rows["H-002"]
    assert "Out-of-range" in rows["H-003"]


def test_every_referenced_instrument_test_exists() -> None:
    references = [ref for row in _rows("H-00").values() for ref in REFERENCE.findall(row)]
    assert len(references) >= 20
    for path, name in references:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {name}(" in source, f"{path}::{name} is named in the hazard log"
