"""The package map in docs/architecture.md (and README's layout) matches src/glabella.

The map is the table under "## Packages and what each may import": its first column names
packages and modules in backticks (``evidence/``, ``report/{model,snapshot}``,
``store/migrations/versions/``, ``services/`` (+ ``report/service``)). Every top-level package
under ``src/glabella`` must have a row, and every path named there must exist. README's
``src/glabella/`` block must list the same top-level packages.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "glabella"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
TABLE_HEADING = "## Packages and what each may import"


def top_level_packages(src: Path) -> set[str]:
    """The directories directly under ``src`` that are Python packages."""
    return {p.name for p in src.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}


def _expand(path: str) -> list[str]:
    """``report/{model,render}`` -> ``report/model``, ``report/render`` (one brace group)."""
    match = re.fullmatch(r"(.*)\{([^}]*)\}(.*)", path)
    if match is None:
        return [path]
    head, alternatives, tail = match.groups()
    return [head + alt.strip() + tail for alt in alternatives.split(",")]


def map_paths(markdown: str) -> list[str]:
    """The paths named in the first column of the package table of ``markdown``."""
    lines = markdown.splitlines()
    try:
        start = lines.index(TABLE_HEADING)
    except ValueError:
        raise AssertionError(f"no {TABLE_HEADING!r} section") from None
    paths: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if not line.startswith("| `"):
            continue  # the header, the separator and the prose around the table
        first_cell = line.split("|")[1]
        for token in re.findall(r"`([^`]+)`", first_cell):
            paths.extend(_expand(token.rstrip("/")))
    return paths


def layout_problems(markdown: str, src: Path) -> list[str]:
    """What the package table of ``markdown`` gets wrong about the tree under ``src``."""
    paths = map_paths(markdown)
    problems = [
        f"`{path}` is in the package map but src/glabella/{path} does not exist"
        for path in paths
        if not (src / path).is_dir()
        and not (src / f"{path}.py").is_file()
        and not (path.endswith(".py") and (src / path).is_file())
    ]
    named = {path.split("/")[0] for path in paths}
    problems += [
        f"package `{name}/` has no row in the package map"
        for name in sorted(top_level_packages(src) - named)
    ]
    return problems


def readme_packages(markdown: str) -> set[str]:
    """The top-level packages listed in README's ``src/glabella/`` layout block."""
    lines = markdown.splitlines()
    start = lines.index("src/glabella/")
    names: set[str] = set()
    for line in lines[start + 1 :]:
        match = re.match(r"  ([a-z_]+)/\s", line)
        if match:
            names.add(match.group(1))
        elif re.match(r"  [a-z_]+\.py\s", line):
            continue  # a top-level module (formatting.py), not a package
        elif not line.startswith("   "):
            break  # the block ends at the first line that is neither a package nor a wrap
    return names


def test_the_package_map_names_every_package_and_nothing_else() -> None:
    problems = layout_problems(ARCHITECTURE.read_text(encoding="utf-8"), SRC)
    assert problems == [], "docs/architecture.md:\n" + "\n".join(problems)


def test_readme_layout_lists_the_top_level_packages() -> None:
    assert readme_packages(README.read_text(encoding="utf-8")) == top_level_packages(SRC)


def test_the_check_finds_a_missing_row_and_a_package_that_does_not_exist(tmp_path: Path) -> None:
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "alpha" / "model.py").write_text("")
    (tmp_path / "data").mkdir()  # not a package: needs no row
    markdown = "\n".join(
        [
            TABLE_HEADING,
            "",
            "| package | what | may import |",
            "|---|---|---|",
            "| `alpha/{model,render}` | x | y |",
            "| `gamma/` (+ `alpha/model`) | x | y |",
            "",
            "## Next",
            "| `beta/` | after the table: not read | |",
        ]
    )
    assert layout_problems(markdown, tmp_path) == [
        "`alpha/render` is in the package map but src/glabella/alpha/render does not exist",
        "`gamma` is in the package map but src/glabella/gamma does not exist",
        "package `beta/` has no row in the package map",
    ]
