"""`glabella evidence` commands, run through the real Typer app."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from glabella.cli import app
from glabella.evidence import studies as st

runner = CliRunner()


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "studies"
    shutil.copytree(st.packaged_data_dir(), dst)
    return dst


def test_list_json_has_every_study() -> None:
    result = runner.invoke(app, ["evidence", "list", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    ids = {s["id"] for s in payload["studies"]}
    assert {"finzi-2014", "brin-2020", "wollmer-2022-bpd"} <= ids
    assert payload["evidence_version"] == st.evidence_version()
    brin = next(s for s in payload["studies"] if s["id"] == "brin-2020")
    assert brin["primary_endpoint_met"] is False


def test_list_filters_by_disorder_and_table_renders() -> None:
    result = runner.invoke(app, ["evidence", "list", "--disorder", "bpd", "--json"])
    assert result.exit_code == 0
    assert {s["disorder"] for s in json.loads(result.stdout)["studies"]} == {"bpd"}
    table = runner.invoke(app, ["evidence", "list"])
    assert table.exit_code == 0 and "Evidence base" in table.stdout


def test_show_prints_numbers_with_provenance() -> None:
    result = runner.invoke(app, ["evidence", "show", "finzi-2014"])
    assert result.exit_code == 0, result.output
    assert "outcomes.response-madrs-wk6.bont.events = 17" in result.stdout
    assert "NOT verified" in result.stdout and "derived:" in result.stdout
    as_json = runner.invoke(app, ["evidence", "show", "finzi-2014", "--json"])
    detail = json.loads(as_json.stdout)
    assert detail["population"]["n_total"]["value"] == 85
    assert detail["population"]["n_total"]["url"].startswith("https://")


def test_show_unknown_study_is_a_clean_error() -> None:
    result = runner.invoke(app, ["evidence", "show", "no-such-trial"])
    assert result.exit_code == 2
    assert "no study" in result.stderr
    assert "Traceback" not in result.output


def test_check_ok_and_failing(data_dir: Path) -> None:
    ok = runner.invoke(app, ["evidence", "check"])
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: ")
    path = data_dir / "magid-2014.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("events: {value: 6,", "events: {value: 16,", 1),
        encoding="utf-8",
    )
    bad = runner.invoke(app, ["evidence", "check", "--data-dir", str(data_dir)])
    assert bad.exit_code == 2
    assert "magid-2014: outcomes.response-hdrs21-p1.bont-first.events" in bad.stderr
    assert "events > N" in bad.stderr


def test_export_csv_in_meta_input_format(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evidence", "export", "--format", "csv", "--outcome", "response"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["study", "ai", "n1i", "ci", "n2i"]
    magid = next(r for r in rows if r["study"] == "Magid 2014")
    # first-period data only: 6/11 toxin vs 0/19 placebo (Magid 2014 abstract)
    assert (magid["ai"], magid["n1i"], magid["ci"], magid["n2i"]) == ("6", "11", "0", "19")
    out = tmp_path / "dropout.csv"
    written = runner.invoke(app, ["evidence", "export", "--outcome", "dropout", "-o", str(out)])
    assert written.exit_code == 0
    assert out.read_text(encoding="utf-8").count("\n") == 4  # header + 3 comparisons


def test_export_refuses_bad_arguments() -> None:
    assert runner.invoke(app, ["evidence", "export", "--format", "xlsx"]).exit_code == 2
    bad = runner.invoke(app, ["evidence", "export", "--disorder", "flu"])
    assert bad.exit_code == 2 and "unknown disorder" in bad.stderr
    thin = runner.invoke(app, ["evidence", "export", "--disorder", "sad"])
    assert thin.exit_code == 2 and "no poolable data" in thin.stderr


def test_import_reports_changes_and_writes(data_dir: Path, tmp_path: Path) -> None:
    text = (data_dir / "zamanian-2017.yaml").read_text(encoding="utf-8")
    changed = text.replace("country: Iran (Tehran)", "country: Iran")
    new_file = tmp_path / "zamanian-2017.yaml"
    new_file.write_text(changed, encoding="utf-8")
    before = st.evidence_version(data_dir)
    dry = runner.invoke(
        app, ["evidence", "import", str(new_file), "--data-dir", str(data_dir), "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "1 change(s)" in dry.stdout
    assert "~ country: 'Iran (Tehran)' -> 'Iran'" in dry.stdout
    assert st.evidence_version(data_dir) == before
    done = runner.invoke(app, ["evidence", "import", str(new_file), "--data-dir", str(data_dir)])
    assert done.exit_code == 0
    assert st.evidence_version(data_dir) != before
    assert "country: Iran\n" in (data_dir / "zamanian-2017.yaml").read_text(encoding="utf-8")


def test_import_new_study_and_rejects_invalid(data_dir: Path, tmp_path: Path) -> None:
    text = (data_dir / "zamanian-2017.yaml").read_text(encoding="utf-8")
    new = text.replace("id: zamanian-2017", "id: example-2030")
    path = tmp_path / "example-2030.yaml"
    path.write_text(new, encoding="utf-8")
    ok = runner.invoke(app, ["evidence", "import", str(path), "--data-dir", str(data_dir)])
    assert ok.exit_code == 0, ok.output
    assert "new study example-2030" in ok.stdout
    assert (data_dir / "example-2030.yaml").exists()

    broken = new.replace("id: example-2030", "id: example-2031").replace(
        "n: {value: 28,", "n: 28  #", 1
    )
    bad = tmp_path / "example-2031.yaml"
    bad.write_text(broken, encoding="utf-8")
    result = runner.invoke(app, ["evidence", "import", str(bad), "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "without provenance" in result.stderr
    assert not (data_dir / "example-2031.yaml").exists()
    missing = runner.invoke(app, ["evidence", "import", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_pool_json_matches_the_synthesis() -> None:
    from glabella.evidence.synthesis import pool

    result = runner.invoke(
        app, ["evidence", "pool", "--disorder", "mdd", "--outcome", "response", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    expected = pool("mdd", "response")
    rr = payload["estimates"]["RR"]
    assert rr["estimate"] == pytest.approx(expected.estimate("RR").estimate)  # type: ignore[union-attr]
    assert payload["k"] == 2 and payload["n_patients"] == 104
    assert payload["certainty"]["level"] == "very low"
    assert "Knapp-Hartung" in payload["method"]


def test_pool_text_sensitivity_and_refusal() -> None:
    text = runner.invoke(app, ["evidence", "pool", "--outcome", "dropout", "--sensitivity"])
    assert text.exit_code == 0, text.output
    assert "Certainty: very low" in text.stdout
    assert "Sensitivity analyses" in text.stdout and "without the crossover" in text.stdout
    thin = runner.invoke(app, ["evidence", "pool", "--disorder", "sad", "--json"])
    assert thin.exit_code == 0
    assert json.loads(thin.stdout)["status"] == "no_data"
    bad = runner.invoke(app, ["evidence", "pool", "--dose", "enormous"])
    assert bad.exit_code == 2 and "unknown dose band" in bad.stderr
    bad_outcome = runner.invoke(app, ["evidence", "pool", "--outcome", "joy"])
    assert bad_outcome.exit_code == 2 and "unknown outcome" in bad_outcome.stderr


def test_pool_forest_png_or_a_clear_refusal(tmp_path: Path) -> None:
    png = tmp_path / "mdd-dropout.png"
    made = runner.invoke(app, ["evidence", "pool", "--outcome", "dropout", "--forest", str(png)])
    assert made.exit_code == 0, made.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    refused = tmp_path / "sad.png"
    thin = runner.invoke(app, ["evidence", "pool", "--disorder", "sad", "--forest", str(refused)])
    assert thin.exit_code == 2 and "no forest plot" in thin.stderr
    assert not refused.exists()


def test_exported_csv_reruns_through_the_meta_csv_reader() -> None:
    # Round trip: the exported rows, read back by the `glabella meta` CSV reader and refitted,
    # give the same pooled RR as the synthesis.
    from glabella.evidence.meta import rma
    from glabella.evidence.synthesis import pool
    from glabella.interop.csvinput import parse_csv, prepare

    result = runner.invoke(app, ["evidence", "export", "--outcome", "dropout"])
    assert result.exit_code == 0
    data = prepare(parse_csv(result.stdout), "RR")
    assert data.k == 3
    refit = rma(data.effects.yi, data.effects.vi, method="REML", test="knha")
    expected = pool("mdd", "dropout").estimate("RR")
    assert expected is not None
    assert refit.estimate == pytest.approx(np.log(expected.estimate), rel=1e-9)
    assert data.labels[0] == "Brin 2020 (OnabotulinumtoxinA 30 U)"


def test_pool_without_outcome_leads_with_the_headline() -> None:
    result = runner.invoke(app, ["evidence", "pool", "--disorder", "mdd"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Headline: In 5 randomised trials")
    assert "Hedges' g" in out and "Left out of this analysis" in out
    # each derived comparison prints its chain
    assert "from F(1,28) = 12.3 with n 15/15" in out
    assert "RR 5.25" not in out


def test_pool_change_json_with_sensitivity_names_every_trial() -> None:
    result = runner.invoke(
        app,
        ["evidence", "pool", "--disorder", "mdd", "--outcome", "change", "--json", "--sensitivity"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "pooled" and payload["k"] == 5
    assert {c["study_id"] for c in payload["comparisons"]} == {
        "wollmer-2012",
        "finzi-2014",
        "magid-2014",
        "zamanian-2017",
        "brin-2020",
    }
    assert all(c["chain"] for c in payload["comparisons"])
    excluded = {e["study_id"]: e["reason"] for e in payload["excluded"]}
    assert "li-2022" in excluded and "brin-2020" in excluded
    sens = payload["sensitivity"]
    assert sens["excluding_bounds"]["k"] == 4 and sens["excluding_crossover"]["k"] == 4
    assert sens["excluding_bounds"]["bayes"]["tau_prior"] == "halfnormal:0.5"
    assert sens["sponsor_industry"]["status"] == "too_few"


def test_pool_refuses_a_bad_sponsor_group() -> None:
    bad = runner.invoke(app, ["evidence", "pool", "--outcome", "change", "--sponsor", "pharma"])
    assert bad.exit_code == 2 and "unknown sponsor group" in bad.stderr


def test_show_prints_the_chain_and_inconsistencies() -> None:
    shown = runner.invoke(app, ["evidence", "show", "wollmer-2012"])
    assert shown.exit_code == 0, shown.output
    assert "Derived effect sizes" in shown.stdout
    assert "g -1.25 (SE 0.39) from F(1,28) = 12.3 with n 15/15" in shown.stdout
    assert "Borenstein" in shown.stdout
    bpd = runner.invoke(app, ["evidence", "show", "wollmer-2022-bpd"])
    assert "inconsistency in the source" in bpd.stdout


def test_check_refuses_a_derived_number_without_its_inputs(data_dir: Path) -> None:
    path = data_dir / "wollmer-2012.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("        n2: {value: 15")
    path.write_text(text[:start] + text[text.index("\n", start) + 1 :], encoding="utf-8")
    result = runner.invoke(app, ["evidence", "check", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "outcomes.change-hamd17-wk6.effect.inputs.n2" in result.stderr
    assert "derived number whose input is missing" in result.stderr


def test_exported_change_rows_refit_to_the_synthesis() -> None:
    from glabella.evidence.meta import rma
    from glabella.evidence.synthesis import pool
    from glabella.interop.csvinput import parse_csv, prepare

    result = runner.invoke(app, ["evidence", "export", "--outcome", "change"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("study,yi,vi,")
    data = prepare(parse_csv(result.stdout), "GEN")
    refit = rma(data.effects.yi, data.effects.vi, method="REML", test="knha")
    expected = pool("mdd", "change").primary
    assert expected is not None
    assert refit.estimate == pytest.approx(expected.estimate, rel=1e-9)
