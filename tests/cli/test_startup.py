"""The CLI starts without loading matplotlib: only ``glabella meta`` plots need it."""

from __future__ import annotations

import subprocess
import sys


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
