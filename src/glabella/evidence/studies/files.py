"""Reading the study files: one YAML document per study, and the content hash of the set.

The packaged files live in ``glabella/evidence/data/studies/`` and are read through
``importlib.resources``; a directory can be given instead (the import command, the tests).
Nothing here validates: :mod:`~glabella.evidence.studies.validation` does.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from glabella.evidence.studies.model import EvidenceDataError, Problem


def _packaged_dir() -> Traversable:
    return resources.files("glabella.evidence").joinpath("data", "studies")


def read_yaml_file(text: str, name: str = "<text>") -> dict[str, Any]:
    """Parse one study document from YAML text; raises ``EvidenceDataError`` on bad YAML."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EvidenceDataError([Problem(name, "<file>", f"invalid YAML: {exc}")]) from exc
    if not isinstance(doc, dict):
        raise EvidenceDataError([Problem(name, "<file>", "a study file must be a YAML mapping")])
    return doc


def _iter_files(directory: Traversable | Path | None) -> list[tuple[str, str]]:
    base: Traversable | Path = _packaged_dir() if directory is None else directory
    files = [f for f in base.iterdir() if f.name.endswith((".yaml", ".yml"))]
    return sorted(((f.name, f.read_text(encoding="utf-8")) for f in files), key=lambda t: t[0])


def load_raw_documents(
    directory: Traversable | Path | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(file name, parsed mapping) for every study file, sorted by name."""
    return [(name, read_yaml_file(text, name)) for name, text in _iter_files(directory)]


def evidence_version(directory: Traversable | Path | None = None) -> str:
    """Content hash (SHA-256, first 16 hex digits) over file names and bytes of the data files.

    Any edit to any study file changes the version, so a pooled result can be tied to the exact
    data it was computed from.
    """
    h = hashlib.sha256()
    for name, text in _iter_files(directory):
        h.update(name.encode("utf-8"))
        h.update(b"\0")
        h.update(text.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def packaged_data_dir() -> Path:
    """Filesystem path of the packaged study files (the default target of an import)."""
    return Path(str(_packaged_dir()))
