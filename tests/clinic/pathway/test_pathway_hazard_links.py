"""Every test named by the clinical-pathway hazard rows (H-010..H-019) exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LOG = ROOT / "docs" / "safety" / "hazard-log.md"


def _pathway_rows() -> list[str]:
    return [line for line in LOG.read_text("utf-8").splitlines() if line.startswith("| H-01")]


def test_pathway_hazards_are_logged() -> None:
    ids = {row.split("|")[1].strip() for row in _pathway_rows()}
    assert {"H-010", "H-011", "H-012", "H-013"} <= ids


def test_every_referenced_test_exists() -> None:
    refs = [
        m.groups()
        for row in _pathway_rows()
        for m in re.finditer(r"(tests/[\w/]+\.py)::(\w+)", row.split("|")[6])
    ]
    assert refs, "each pathway hazard must name at least one test"
    for path, name in refs:
        tree = ast.parse((ROOT / path).read_text("utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in names, f"{path}::{name} named in the hazard log does not exist"
