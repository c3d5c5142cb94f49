"""The layer rules of docs/architecture.md are enforced by tools, and the tools do fail.

``lint-imports`` (import-linter, contracts in ``pyproject.toml``) and ruff's TID251 (the
migrations' ``ruff.toml``) run in ``make lint``. Each test runs the real tool in a subprocess:
once on the tree as it is (kept), once on a temporary copy with one forbidden import added
(broken, naming the offending module).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _copy_tree(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return tmp_path


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_every_import_contract(tmp_path: Path) -> None:
    out = _lint_imports(_copy_tree(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("evidence/meta.py", "import sqlalchemy", "Pure domain code"),
        ("clinic/eligibility.py", "import glabella.services.audit", "Pure domain code"),
        ("evidence/tau2.py", "import fastapi", "Pure domain code"),
        ("store/models.py", "import glabella.services.audit", "The store never imports"),
        ("interop/deid.py", "import sqlalchemy", "Pure domain code"),
        ("evidence/fit.py", "import glabella.interop.csvinput", "The domain never imports"),
        # a new module in a pure package is covered: the contract names whole packages
        ("analytics/new_service.py", "import sqlalchemy.orm", "Pure domain code"),
        ("demo/new_load.py", "import glabella.services.audit", "Pure domain code"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = _copy_tree(tmp_path)
    target = root / "src" / "glabella" / module
    before = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(before + f"\n{line}  # added by the test\n")
    out = _lint_imports(root)
    assert out.returncode != 0
    assert f"{contract}" in out.stdout and "BROKEN" in out.stdout
    assert "glabella." + module.removesuffix(".py").replace("/", ".") in out.stdout


def test_a_migration_importing_live_code_fails_ruff(tmp_path: Path) -> None:
    versions = ROOT / "src" / "glabella" / "store" / "migrations" / "versions"
    clean = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", str(versions)], capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stdout
    root = _copy_tree(tmp_path)
    copy = root / "src" / "glabella" / "store" / "migrations" / "versions" / "0002_security.py"
    copy.write_text(
        copy.read_text(encoding="utf-8") + "\nfrom glabella.services.audit import chain_hash\n"
    )
    out = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "--select", "TID251", str(copy)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "TID251" in out.stdout and "0002_security.py" in out.stdout
