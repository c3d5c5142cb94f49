"""`glabella instruments list|show` and `glabella score` through Typer's CliRunner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from glabella.cli import instruments as cli

app = typer.Typer()
app.add_typer(cli.app, name="instruments")
app.command("score")(cli.score_command)

runner = CliRunner()


def test_list_shows_every_instrument() -> None:
    result = runner.invoke(app, ["instruments", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("phq9", "phq2", "gad7", "gad2", "PHQ-9", "GAD-7", "44249-1", "0-27", "0-21"):
        assert name in result.stdout


def test_list_fits_a_narrow_terminal() -> None:
    result = runner.invoke(app, ["instruments", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    for instrument_id in ("phq9", "gad7", "who5", "cgis"):
        assert instrument_id in result.stdout


def test_short_names_are_accepted() -> None:
    result = runner.invoke(app, ["score", "GAD-2", "--answers", "1,1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["instrument"] == "gad2"


def test_show_prints_items_and_options() -> None:
    result = runner.invoke(app, ["instruments", "show", "phq9"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Over the last 2 weeks, how often have you been bothered" in out
    assert "9. Thoughts that you would be better off dead or of hurting yourself in some way" in out
    assert "3 = Nearly every day" in out
    assert "[not scored]" in out  # item 10
    assert "20-27: severe" in out
    assert "No permission required to reproduce" in out


def test_show_unknown_instrument() -> None:
    result = runner.invoke(app, ["instruments", "show", "nope"])
    assert result.exit_code == 2
    assert "unknown instrument 'nope'" in result.stderr
    assert "Traceback" not in result.output


def test_score_prints_json_with_alert() -> None:
    result = runner.invoke(app, ["score", "phq9", "--answers", "1,0,2,1,1,1,1,1,1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["instrument"] == "phq9"
    assert data["total"] == 9  # 1+0+2+1+1+1+1+1+1
    assert data["band"] == "mild"
    assert data["answers"]["phq9_3"] == 2
    assert [a["kind"] for a in data["alerts"]] == ["suicide_risk"]
    assert data["alerts"][0]["level"] == "urgent"
    assert data["alerts"][0]["item"] == "phq9_9"


def test_score_without_alert_and_with_item_10() -> None:
    result = runner.invoke(app, ["score", "PHQ9", "--answers", "3,3,3,3,3,3,3,3,0,2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 24  # 3*8 + 0; item 10 not scored
    assert data["band"] == "severe"
    assert data["answers"]["phq9_10"] == 2
    assert data["alerts"] == []


def test_score_with_named_answers() -> None:
    result = runner.invoke(app, ["score", "gad2", "-a", "gad2_2=3,gad2_1=1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["total"], data["band"]) == (4, "positive screen")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["score", "nope", "--answers", "1"], "unknown instrument 'nope'"),
        (["score", "phq9", "--answers", "1,0,2,1,1,1,1,1,4"], "phq9_9"),
        (["score", "phq9", "--answers", "1,0,2,1,1,1,1,1,4"], "out of range"),
        (["score", "phq9", "--answers", "1,0,2"], "not answered"),
        (["score", "phq9", "--answers", "1,0,x,1,1,1,1,1,1"], "'x' is not a whole number"),
        (["score", "phq9", "--answers", "1,0,1,1,1,1,1,1,1,1,1"], "11 answers given"),
        (["score", "gad2", "--answers", "gad2_1=1,gad2_9=1"], "no item 'gad2_9'"),
        (["score", "gad2", "--answers", "gad2_1=1,gad2_1=2"], "answered twice"),
        (["score", "gad7", "--answers", ""], "not answered"),
    ],
)
def test_score_errors_go_to_stderr_with_exit_2(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_score_command_is_registered_in_the_main_cli() -> None:
    from glabella.cli import app as main_app

    result = runner.invoke(main_app, ["score", "gad7", "--answers", "0,0,0,0,0,0,0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["band"] == "minimal"
