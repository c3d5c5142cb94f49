"""The difference between two versions of a study document (for ``glabella evidence import``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a study document."""

    path: str
    kind: str  # "added", "removed" or "changed"
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {self.new!r}"
        if self.kind == "removed":
            return f"- {self.path}: {self.old!r}"
        return f"~ {self.path}: {self.old!r} -> {self.new!r}"


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(obj, Mapping):
        if set(obj) >= {"value", "source"}:  # a provenance object is one leaf
            out[prefix] = dict(obj)
            return
        for key, val in obj.items():
            _flatten(val, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, list) and obj and all(isinstance(x, Mapping) for x in obj):
        for i, item in enumerate(obj):
            ident = next(
                (item[k] for k in ("id", "key", "arm", "term", "label") if k in item), str(i)
            )
            _flatten(item, f"{prefix}[{ident}]", out)
    else:
        out[prefix] = obj


def diff_documents(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """Every added, removed or changed field between two versions of a study document.

    Lists of records are matched by their id (``id``, ``key``, ``arm``, ``term`` or ``label``),
    and a provenance object is compared as a whole (value, source, location, verified, ...).
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if old is not None:
        _flatten(old, "", before)
    _flatten(new, "", after)
    changes: list[Change] = []
    for path in sorted(set(before) | set(after)):
        if path not in before:
            changes.append(Change(path, "added", new=after[path]))
        elif path not in after:
            changes.append(Change(path, "removed", old=before[path]))
        elif before[path] != after[path]:
            changes.append(Change(path, "changed", old=before[path], new=after[path]))
    return changes
