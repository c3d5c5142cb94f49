"""The CLI starts without loading matplotlib: only ``glabella meta`` plots need it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_cli_does_not_load_matplotlib() -> None:
    code = "import sys, glabella.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
