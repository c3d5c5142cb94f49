"""The engine's one entry point owns the dispatch rules (which method takes which measure/test)."""

from __future__ import annotations

import pytest

from glabella.evidence.fit import ALL_METHODS, FitError, canonical_method, check_options, fit
from glabella.interop.csvinput import parse_csv, prepare

# three 2x2 tables (any counts do: these tests are about dispatch, not numbers)
TABLES = "study,ai,bi,ci,di,grp\nA,4,96,9,91,x\nB,6,94,10,90,x\nC,3,47,8,42,y\n"


@pytest.mark.parametrize(
    ("measure", "method", "test", "message"),
    [
        ("SMD", "MH", "z", "needs a 2x2-table measure"),
        ("OR", "MH", "knha", "z only"),
        ("PETO", "MH", "z", "MH takes --measure OR, RR or RD"),
        ("RR", "PETO", "z", "PETO takes --measure OR or PETO"),
        ("OR", "REMLX", "z", "unknown method"),
        ("XYZ", "REML", "z", "unknown measure"),
        ("OR", "REML", "t", "unknown test"),
    ],
)
def test_combinations_that_do_not_fit_are_refused_with_the_reason(
    measure: str, method: str, test: str, message: str
) -> None:
    with pytest.raises(FitError, match=message):
        check_options(measure, method, test, 95.0)


def test_moderators_are_refused_with_equal_effects_pooling_of_tables() -> None:
    with pytest.raises(FitError, match="--mods is not available with --method MH"):
        check_options("OR", "MH", "z", 95.0, ["grp"])


def test_method_names_are_case_insensitive() -> None:
    assert canonical_method(" reml ") == "REML"
    assert canonical_method("hsk") == "HSk"
    assert set(ALL_METHODS) >= {"REML", "DL", "MH", "PETO"}


def test_mh_and_peto_pool_tables_and_subgroups_use_the_same_method() -> None:
    data = prepare(parse_csv(TABLES), "OR", by="grp")
    mh = fit(data, "OR", "mh", by="grp")
    assert mh.model.method == "MH" and mh.model.tau2 is None
    assert mh.subgroups is not None and set(mh.subgroups) == {"x", "y"}
    assert all(r.method == "MH" for r in mh.subgroups.values())
    out = mh.to_dict()
    assert out["Q_between_df"] == 1 and out["Q_between"] is not None
    peto = fit(data, "OR", "PETO")
    assert peto.model.method == "PETO" and peto.subgroups is None
    reml = fit(data, "OR", "REML")
    assert reml.model.method == "REML" and reml.model.tau2 is not None


def test_every_tau2_method_has_one_registered_estimator() -> None:
    from glabella.evidence.tau2 import ESTIMATORS, METHODS

    assert set(ESTIMATORS) == set(METHODS) - {"EE", "FE"}
