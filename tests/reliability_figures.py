"""The reliability figures in docs/reliability.md are written here, by the tests that measure them.

A test calls :func:`record_figures` with a name (e.g. ``concurrency-sqlite``) and its counts.
The counts are kept in ``docs/reliability-figures.json`` and the table between the markers in
``docs/reliability.md`` is regenerated from that file, so the document always shows what the
last run measured, never numbers typed in by hand. Writers under pytest-xdist take a file lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
FIGURES = DOCS / "reliability-figures.json"
REPORT = DOCS / "reliability.md"
BEGIN = "<!-- BEGIN figures: written by tests/reliability_figures.py, do not edit -->"
END = "<!-- END figures -->"


@contextmanager
def _locked() -> Iterator[None]:
    DOCS.mkdir(exist_ok=True)
    with (Path(tempfile.gettempdir()) / "glabella-reliability-figures.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def render_table(figures: Mapping[str, Mapping[str, object]]) -> str:
    """The markdown table: one section per test run, one line per figure."""
    lines = [BEGIN, ""]
    for name in sorted(figures):
        entry = figures[name]
        lines.append(f"### {name}")
        lines.append("")
        lines.append(f"Measured {entry['measured_at']} by `{entry['test']}`.")
        lines.append("")
        lines.append("| figure | value |")
        lines.append("|---|---:|")
        values = entry["figures"]
        assert isinstance(values, dict)
        for key, value in values.items():
            lines.append(f"| {key} | {value} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def record_figures(name: str, figures: Mapping[str, object], test: str | None = None) -> None:
    """Store ``figures`` under ``name`` and regenerate the table in docs/reliability.md."""
    import os

    test = test or os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    with _locked():
        stored: dict[str, dict[str, object]] = (
            json.loads(FIGURES.read_text(encoding="utf-8")) if FIGURES.exists() else {}
        )
        stored[name] = {
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "test": test,
            "figures": dict(figures),
        }
        FIGURES.write_text(
            json.dumps(dict(sorted(stored.items())), indent=2) + "\n", encoding="utf-8"
        )
        text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else f"{BEGIN}\n{END}\n"
        if BEGIN not in text or END not in text:
            text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        REPORT.write_text(head + render_table(stored) + tail, encoding="utf-8")
