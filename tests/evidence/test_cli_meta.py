"""`glabella meta` end to end: every metafor reference case through the CLI, and bad input."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from metafor_cases import Case, cases, mismatches
from typer.testing import CliRunner

from glabella.cli import app

runner = CliRunner()

BIAS_FLAGS = {"--egger", "--ranktest", "--trimfill", "--leave1out"}
#: See test_meta_reference.LOOSE: metafor stops its Paule-Mandel search at uniroot's 1.2e-4.
LOOSE = {"bcg__rr_pm": 2e-4}

CONTRACT_KEYS = {
    "k", "measure", "method", "test", "estimate", "se", "zval", "tval", "df", "pval", "ci_lb",
    "ci_ub", "tau2", "se_tau2", "tau2_ci_lb", "tau2_ci_ub", "I2", "H2", "Q", "Q_df", "Q_pval",
    "pi_lb", "pi_ub", "coefficients", "QM", "QM_pval", "QE", "QE_pval", "R2", "subgroups",
    "Q_between", "Q_between_pval", "egger", "ranktest", "trimfill", "leave1out",
}  # fmt: skip


def _run(*args: str) -> Any:
    result = runner.invoke(app, ["meta", *args])
    return result


def _json(*args: str) -> dict[str, Any]:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_cli_reference_case(case: Case) -> None:
    args = [a for a in case.args if a not in BIAS_FLAGS]
    got = _json(str(case.csv), *args)
    bad = mismatches(got, case.expected, rel=LOOSE.get(case.name, 1e-6))
    assert not bad, "\n".join(bad)
    assert set(got) >= CONTRACT_KEYS
    assert got["measure"] == case.arg("--measure")
    assert got["method"] == case.arg("--method")


def test_knha_gives_tval_and_df_not_zval() -> None:
    case = next(c for c in cases() if c.name == "bcg__rr_reml_knha")
    got = _json(str(case.csv), *case.args)
    assert got["zval"] is None
    assert got["df"] == 12
    assert got["tval"] == pytest.approx(case.expected["tval"], rel=1e-6)


def test_keys_that_do_not_apply_are_null() -> None:
    case = next(c for c in cases() if c.name == "bcg__rr_mh")
    got = _json(str(case.csv), *case.args)
    for key in ("tau2", "se_tau2", "tau2_ci_lb", "pi_lb", "coefficients", "QM", "subgroups"):
        assert got[key] is None, key


def test_bias_flags() -> None:
    """Wired to glabella.evidence.bias when present; a clear error while it is not."""
    case = next(c for c in cases() if c.name == "bcg__rr_reml_bias")
    result = _run(str(case.csv), *case.args, "--json")
    if importlib.util.find_spec("glabella.evidence.bias") is None:
        assert result.exit_code == 2
        assert "not available" in result.stderr
    else:
        assert result.exit_code == 0, result.output
        got = json.loads(result.stdout)
        assert got["egger"] is not None and got["ranktest"] is not None
        assert got["trimfill"]["k0"] == case.expected["trimfill"]["k0"]


def test_readable_summary() -> None:
    case = next(c for c in cases() if c.name == "bcg__rr_reml_by")
    result = _run(str(case.csv), *case.args)
    assert result.exit_code == 0, result.output
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in result.stdout
    assert "-0.7145" in result.stdout
    assert "Q_between(df = 2) = 1.8614" in result.stdout


# --- bad input ----------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text)
    return path


MEANS_HEADER = "study,m1i,sd1i,n1i,m2i,sd2i,n2i\n"


@pytest.mark.parametrize(
    ("body", "measure", "fragments"),
    [
        (
            "study,ai,bi,ci\nA,1,2,3\n",
            "RR",
            ["column 'di'", "ai,bi,ci,di or ai,n1i,ci,n2i"],
        ),
        (
            MEANS_HEADER + "A,1,2,10,1,2,10\nB,1,x,10,1,2,10\n",
            "MD",
            ["row 2 (line 3)", "column 'sd1i'", "'x' is not a number"],
        ),
        (
            MEANS_HEADER + "A,1,2,10,1,2,10\nB,1,2,-10,1,2,10\n",
            "SMD",
            ["row 2 (line 3)", "column 'n1i'", "sample size"],
        ),
        (
            MEANS_HEADER + "A,1,2,10,1,2,10\nB,1,2,10,1,0,10\nC,1,2,3,4,5,6\n",
            "MD",
            ["row 2 (line 3)", "column 'sd2i'", "standard deviation must be > 0"],
        ),
        ("study,ri,ni\nA,0.2,50\nB,1.5,40\n", "COR", ["row 2", "column 'ri'", "[-1, 1]"]),
        ("study,ai,n1i,ci,n2i\nA,12,10,3,10\n", "OR", ["row 1", "column 'ai'", "more events"]),
    ],
)
def test_bad_csv_names_row_and_column(
    tmp_path: Path, body: str, measure: str, fragments: list[str]
) -> None:
    result = _run(str(_write(tmp_path, body)), "--measure", measure, "--method", "DL", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_missing_values_leave_the_study_out(tmp_path: Path) -> None:
    # two identical data sets, one with an extra study that has an NA: same model, k = 3
    rows = "A,4,119,11,128\nB,6,300,29,274\nC,3,228,11,209\n"
    full = _write(tmp_path, "study,ai,bi,ci,di\n" + rows)
    with_na = tmp_path / "na.csv"
    with_na.write_text("study,ai,bi,ci,di\n" + rows + "D,NA,10,,12\n")
    a = _json(str(full), "--measure", "RR", "--method", "DL")
    b = _json(str(with_na), "--measure", "RR", "--method", "DL")
    assert b["k"] == 3
    assert b["estimate"] == a["estimate"]
    assert any("D" in note and "left out" in note for note in b["notes"])


def test_other_errors(tmp_path: Path) -> None:
    good = _write(tmp_path, "study,yi,vi\nA,0.1,0.01\nB,0.3,0.02\n")
    checks = [
        (["--measure", "XYZ"], "unknown measure"),
        (["--measure", "GEN", "--method", "FOO"], "unknown method"),
        (["--measure", "GEN", "--test", "t"], "unknown test"),
        (["--measure", "GEN", "--method", "MH"], "2x2-table measure"),
        (["--measure", "GEN", "--mods", "nope"], "no column 'nope'"),
    ]
    for args, fragment in checks:
        result = _run(str(good), *args, "--json")
        assert result.exit_code == 2, args
        assert fragment in result.stderr, (args, result.stderr)
    result = _run(str(tmp_path / "absent.csv"), "--measure", "GEN")
    assert result.exit_code == 2
    assert "no such file" in result.stderr
