"""Issue 16 item 8: the CLI summaries a person reads show labels; the JSON keeps the codes.

Runs the real commands in-process on a migrated database filled by `glabella demo generate`
(which also proves the command registers every table it writes).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from glabella.cli import app, common
from glabella.settings import get_settings

AS_OF = "2026-11-01T00:00:00+00:00"


def _run(url: str, *args: str) -> Result:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env={"GLABELLA_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich tables at 250 columns, so a label is never cut to "Finzi & Rose…"."""
    monkeypatch.setattr(common.console, "width", 250)


def test_analytics_summary_names_protocols_and_products(database_url: str, wide: None) -> None:
    made = _run(
        database_url, "demo", "generate", "--patients", "40", "--seed", "1", "--as-of", AS_OF
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["counts"]["treatments"] > 0
    result = _run(database_url, "analytics", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Finzi & Rosenthal 2014, women: 29 U onabotulinumtoxinA" in out
    assert "onabotulinumtoxinA (Botox)" in out
    for code in ("finzi2014_female", "label_xeomin_glabellar", "label_dysport_glabellar"):
        assert code not in out
    # the JSON keeps the codes a program groups by
    data = json.loads(_run(database_url, "analytics", "--as-of", AS_OF, "--json").output)
    assert "finzi2014_female" in data["by_protocol"]
    assert "onabotulinumtoxinA" in data["by_product"]


def test_evidence_summaries_name_studies_and_designs(wide: None) -> None:
    shown = CliRunner().invoke(app, ["evidence", "show", "finzi-2014"])
    assert shown.exit_code == 0, shown.output
    assert "design: parallel-group randomised trial;" in shown.output
    assert "parallel_rct" not in shown.output
    pooled = CliRunner().invoke(
        app, ["evidence", "pool", "--disorder", "mdd", "--outcome", "change"]
    )
    assert pooled.exit_code == 0, pooled.output
    assert "major depressive disorder / change in symptom score" in pooled.output
    assert "not pooled: Li 2022:" in pooled.output and "li-2022" not in pooled.output
    assert "Indirectness noted for Brin 2020" in pooled.output and "brin-2020" not in pooled.output
