"""The CLI starts without loading matplotlib: only ``glabella meta`` plots need it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_importing_the_cli_does_not_load_matplotlib() -> None:
    code = "import sys, glabella.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_meta_command_loads_no_database_web_or_plotting_stack() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from glabella.cli import app\n"
        "r = CliRunner().invoke(app, ['meta', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_meta_fit_loads_neither_scipy_stats_nor_the_bias_tests(tmp_path: Path) -> None:
    """A plain REML fit needs only ``scipy.special``; ``scipy.stats`` costs ~0.4 s to import."""
    data = tmp_path / "d.csv"
    # three studies with yi/vi as metafor's escalc would give them (any numbers do)
    data.write_text("yi,vi\n0.1,0.02\n0.5,0.03\n0.3,0.05\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from glabella.cli import app\n"
        f"r = CliRunner().invoke(app, ['meta', {str(data)!r}, '--measure', 'GEN'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'estimate' in r.output, r.output\n"
        "mods = ('scipy.stats', 'glabella.evidence.bias', 'sqlalchemy', 'fastapi', 'matplotlib')\n"
        "print(sorted(m for m in mods if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bias_functions_still_reachable_from_the_package() -> None:
    from glabella import evidence
    from glabella.evidence import bias

    assert evidence.trimfill is bias.trimfill
    assert evidence.regtest is bias.regtest
