"""Pooled syntheses, each recomputed here by an independent hand calculation.

The reference implementation below (log RR / RD with metafor's 1/2 zero-cell correction, REML by
Fisher-scoring fixed-point iteration, Knapp-Hartung interval, prediction interval, I² from the
typical within-study variance) is written out with numpy from the formulas in Viechtbauer (2005,
Stat Med 24:3151), Knapp & Hartung (2003, Stat Med 22:2693) and Higgins & Thompson (2002, Stat Med
21:1539). It is first checked against metafor 3.8-1 itself on the BCG vaccine data, then used to
recompute every pooled result of the evidence base.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from glabella.evidence import synthesis as sy
from glabella.evidence.studies import EvidenceBase, load_evidence

# -- independent reference implementation ------------------------------------------------------


def _table(ai: list[int], n1: list[int], ci: list[int], n2: list[int]) -> tuple[np.ndarray, ...]:
    a, c = np.asarray(ai, float), np.asarray(ci, float)
    b, d = np.asarray(n1, float) - a, np.asarray(n2, float) - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    add = np.where(zero, 0.5, 0.0)  # metafor escalc default add=1/2, to="only0"
    return a + add, b + add, c + add, d + add


def ref_log_rr(
    ai: list[int], n1: list[int], ci: list[int], n2: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d = _table(ai, n1, ci, n2)
    yi = np.log((a / (a + b)) / (c / (c + d)))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return yi, vi


def ref_rd(
    ai: list[int], n1: list[int], ci: list[int], n2: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d = _table(ai, n1, ci, n2)
    p1, p2 = a / (a + b), c / (c + d)
    return p1 - p2, p1 * (1 - p1) / (a + b) + p2 * (1 - p2) / (c + d)


def ref_reml_knha(yi: np.ndarray, vi: np.ndarray) -> dict[str, Any]:
    k = len(yi)
    tau2 = 0.0
    for _ in range(100_000):
        w = 1 / (vi + tau2)
        mu = np.sum(w * yi) / np.sum(w)
        new = max(0.0, np.sum(w**2 * ((yi - mu) ** 2 - vi)) / np.sum(w**2) + 1 / np.sum(w))
        if abs(new - tau2) < 1e-14:
            tau2 = new
            break
        tau2 = new
    w = 1 / (vi + tau2)
    mu = float(np.sum(w * yi) / np.sum(w))
    se = float(np.sqrt(np.sum(w * (yi - mu) ** 2) / ((k - 1) * np.sum(w))))
    t = float(stats.t.ppf(0.975, k - 1))
    wf = 1 / vi
    q = float(np.sum(wf * (yi - np.sum(wf * yi) / np.sum(wf)) ** 2))
    s2 = (k - 1) * np.sum(wf) / (np.sum(wf) ** 2 - np.sum(wf**2))
    half_pi = t * math.sqrt(se**2 + tau2)
    return {
        "estimate": mu,
        "se": se,
        "ci_lb": mu - t * se,
        "ci_ub": mu + t * se,
        "tau2": tau2,
        "Q": q,
        "I2": float(100 * tau2 / (tau2 + s2)),
        "pi_lb": mu - half_pi,
        "pi_ub": mu + half_pi,
        "weights": list(100 * w / w.sum()),
    }


def test_reference_implementation_matches_metafor_on_bcg() -> None:
    # dat.bcg (metadat); expected values: metafor 3.8-1,
    # rma(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg, method="REML",
    #     test="knha") — shared/reference/metafor/bcg__rr_reml_knha.json
    t = [
        (4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
        (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619),
        (505, 87886, 499, 87892), (29, 7470, 45, 7232), (17, 1699, 65, 1600),
        (186, 50448, 141, 27197), (5, 2493, 3, 2338), (27, 16886, 29, 17825),
    ]  # fmt: skip
    ai = [r[0] for r in t]
    n1 = [r[0] + r[1] for r in t]
    ci = [r[2] for r in t]
    n2 = [r[2] + r[3] for r in t]
    ref = ref_reml_knha(*ref_log_rr(ai, n1, ci, n2))
    assert ref["estimate"] == pytest.approx(-0.71453234215814, rel=1e-8)
    assert ref["se"] == pytest.approx(0.180791744092848, rel=1e-8)
    assert ref["ci_lb"] == pytest.approx(-1.10844371368555, rel=1e-8)
    assert ref["tau2"] == pytest.approx(0.313243258136486, rel=1e-8)
    assert ref["I2"] == pytest.approx(92.2213845212691, rel=1e-8)
    assert ref["pi_ub"] == pytest.approx(0.566952149879933, rel=1e-8)


# -- the evidence base's syntheses --------------------------------------------------------------


@pytest.fixture(scope="module")
def base() -> EvidenceBase:
    return load_evidence()


def _check_rr(syn: sy.Synthesis, ref: dict[str, float]) -> None:
    est = syn.estimate("RR")
    assert est is not None
    assert math.log(est.estimate) == pytest.approx(ref["estimate"], rel=1e-6, abs=1e-9)
    assert math.log(est.ci_lb) == pytest.approx(ref["ci_lb"], rel=1e-6)
    assert math.log(est.ci_ub) == pytest.approx(ref["ci_ub"], rel=1e-6)
    assert est.se == pytest.approx(ref["se"], rel=1e-6)
    assert est.tau2 == pytest.approx(ref["tau2"], rel=1e-5, abs=1e-9)
    assert est.q == pytest.approx(ref["Q"], rel=1e-8)
    assert est.i2 == pytest.approx(ref["I2"], rel=1e-5, abs=1e-7)
    assert est.pi_lb is not None and est.pi_ub is not None
    assert math.log(est.pi_lb) == pytest.approx(ref["pi_lb"], rel=1e-6)
    assert math.log(est.pi_ub) == pytest.approx(ref["pi_ub"], rel=1e-6)
    assert list(est.weights) == pytest.approx(ref["weights"], rel=1e-5)


def test_mdd_response_recomputed_by_hand(base: EvidenceBase) -> None:
    # Finzi 2014: 17/33 vs 6/41 (derived from 52% / 15% of 74); Magid 2014 first period:
    # 6/11 vs 0/19 (abstract). The zero cell gets 1/2 added to every cell of that table.
    syn = sy.pool("mdd", "response", base=base)
    assert syn.status == "pooled"
    assert [(c.ai, c.n1i, c.ci, c.n2i) for c in syn.comparisons] == [
        (17, 33, 6, 41),
        (6, 11, 0, 19),
    ]
    ref = ref_reml_knha(*ref_log_rr([17, 6], [33, 11], [6, 0], [41, 19]))
    _check_rr(syn, ref)
    # RR = exp(1.6582) = 5.25 with a Knapp-Hartung interval on 1 df: enormous, includes 1.
    est = syn.estimate("RR")
    assert est is not None and est.includes_null
    rd = syn.estimate("RD")
    ref_d = ref_reml_knha(*ref_rd([17, 6], [33, 11], [6, 0], [41, 19]))
    assert rd is not None
    assert rd.estimate == pytest.approx(ref_d["estimate"], rel=1e-6)
    assert rd.ci_lb == pytest.approx(ref_d["ci_lb"], rel=1e-6)
    assert rd.tau2 == pytest.approx(ref_d["tau2"], abs=1e-9)


def test_mdd_remission_and_dropout_recomputed_by_hand(base: EvidenceBase) -> None:
    rem = sy.pool("mdd", "remission", base=base)
    _check_rr(rem, ref_reml_knha(*ref_log_rr([9, 2], [33, 11], [3, 0], [41, 19])))
    drop = sy.pool("mdd", "dropout", base=base)
    # Brin 30 U 31/65 vs 26/59, Brin 50 U 31/65 vs 31/69 (separate placebo arms), Magid
    # first period 0/11 vs 2/19.
    assert [(c.ai, c.n1i, c.ci, c.n2i) for c in drop.comparisons] == [
        (31, 65, 26, 59),
        (31, 65, 31, 69),
        (0, 11, 2, 19),
    ]
    _check_rr(
        drop, ref_reml_knha(*ref_log_rr([31, 31, 0], [65, 65, 11], [26, 31, 2], [59, 69, 19]))
    )


def test_nnt_by_hand(base: EvidenceBase) -> None:
    syn = sy.pool("mdd", "response", base=base)
    est = syn.estimate("RR")
    assert est is not None and syn.nnt is not None
    acr = 6 / 60  # pooled control-group risk: (6 + 0) / (41 + 19)
    assert syn.nnt.baseline_risk == pytest.approx(acr)
    # Cochrane Handbook 15.4.4.2: NNT = 1 / |ACR (1 - RR)|
    assert syn.nnt.nnt == pytest.approx(1 / abs(acr * (1 - est.estimate)), rel=1e-9)
    assert syn.nnt.kind == "NNTB"
    assert syn.nnt.ci_crosses_no_effect


def test_certainty_of_mdd_response(base: EvidenceBase) -> None:
    syn = sy.pool("mdd", "response", base=base)
    assert syn.certainty is not None
    levels = {d.domain: d.levels for d in syn.certainty.domains}
    # Finzi 2014 (high risk of bias) carries most of the random-effects weight: by hand,
    # w = 1/(v + tau2) with the reference values.
    ref = ref_reml_knha(*ref_log_rr([17, 6], [33, 11], [6, 0], [41, 19]))
    assert ref["weights"][0] > 50
    assert levels["risk_of_bias"] == 2
    assert levels["imprecision"] == 2  # 104 patients and a CI including 1
    assert levels["publication_bias"] == 1  # both trials < 100 patients
    assert syn.certainty.level == "very low"


def test_summary_is_generated_from_the_numbers(base: EvidenceBase) -> None:
    syn = sy.pool("mdd", "dropout", base=base)
    est = syn.estimate("RR")
    assert est is not None
    assert syn.summary.startswith("In 2 randomised trials (3 comparisons) with 288 patients")
    assert f"{est.estimate:.2f} (95% CI {est.ci_lb:.2f} to {est.ci_ub:.2f})" in syn.summary
    assert "compatible with no effect" in syn.summary
    assert f"Certainty of the evidence: {syn.certainty.level}" in syn.summary  # type: ignore[union-attr]
    assert "significant" not in syn.summary


def test_crossover_rule(base: EvidenceBase) -> None:
    comps, _ = sy.select_comparisons(base.studies, "mdd", "response")
    magid = [c for c in comps if c.study_id == "magid-2014"]
    assert [c.outcome_id for c in magid] == ["response-hdrs21-p1"]  # period 2 never pooled
    # the change score: Magid's first-period effect enters; its pooled-period percentages never
    change, excl = sy.select_comparisons(base.studies, "mdd", "change")
    assert [c.outcome_id for c in change if c.study_id == "magid-2014"] == ["change-hdrs21-p1"]
    reasons = {e.study_id: e.reason for e in excl}
    assert "not re-pooled" in reasons["qian-2020"]
    # a crossover trial with nothing but other-period data is left out with that reason
    magid_study = base.get("magid-2014")
    second_only = dataclasses.replace(
        magid_study, outcomes=tuple(o for o in magid_study.outcomes if o.period != "first")
    )
    _, excl2 = sy.select_comparisons([second_only], "mdd", "change")
    assert "crossover data other than the first period" in excl2[0].reason


def test_thin_data_refuses_to_pool(base: EvidenceBase) -> None:
    one = sy.pool("mdd", "response", exclude_crossover=True, base=base)
    assert one.status == "too_few" and not one.estimates and one.certainty is None
    assert "too few trials to pool" in one.summary
    none = sy.pool("sad", "response", base=base)
    assert none.status == "no_data"
    assert none.summary.startswith("There are no randomised results for social anxiety")
    change = sy.pool("bpd", "change", base=base)
    assert change.status == "no_data" and "per-arm" in " ".join(e.reason for e in change.excluded)


def test_sensitivity_analyses(base: EvidenceBase) -> None:
    sens = sy.sensitivity("mdd", "dropout", base=base)
    assert set(sens) == {
        "all",
        "excluding_bounds",
        "excluding_high_rob",
        "excluding_crossover",
        "sponsor_industry",
        "sponsor_other",
        "dose_low",
        "dose_high",
    }
    assert len(sens["all"].comparisons) == 3
    # no crossover: the two Brin comparisons, recomputed by hand
    _check_rr(
        sens["excluding_crossover"],
        ref_reml_knha(*ref_log_rr([31, 31], [65, 65], [26, 31], [59, 69])),
    )
    # dose bands: 30 U and 29 U (women's dose of Magid) are low, 50 U high
    assert {c.label for c in sens["dose_high"].comparisons} == {
        "Brin 2020 (OnabotulinumtoxinA 50 U)"
    }
    assert sens["dose_high"].status == "too_few"
    assert len(sens["dose_low"].comparisons) == 2
    # low dose recomputed: Brin 30 U 31/65 vs 26/59; Magid first period 0/11 vs 2/19 (zero cell:
    # 1/2 added to every cell of that table)
    _check_rr(sens["dose_low"], ref_reml_knha(*ref_log_rr([31, 0], [65, 11], [26, 2], [59, 19])))
    # no trial of the dropout analysis is at high risk of bias: identical to the main analysis
    assert sens["excluding_high_rob"].primary == sens["all"].primary
    resp = sy.sensitivity("mdd", "response", base=base)
    assert resp["excluding_high_rob"].status == "too_few"  # Finzi 2014 is at high risk


def test_views_for_pages_are_json(base: EvidenceBase) -> None:
    d = sy.disorder_summary("mdd", base=base)
    text = json.dumps(d)
    assert d["n_randomised_trials"] == 6  # Li 2022 is listed, though not poolable at week 6
    summary, reported = d["summary"], d["reported_results"]
    assert isinstance(summary, str) and isinstance(reported, list)
    assert "Brin 2020 did not meet its primary end point." in summary
    assert any(r["study_id"] == "qian-2020" for r in reported)
    assert "evidence_version" in text
    bip = sy.disorder_summary("bipolar", base=base)
    assert str(bip["summary"]).startswith("There are no randomised results for bipolar")
    detail = sy.study_detail("brin-2020", base=base)
    assert detail["evidence_version"] == base.version
    assert len(sy.list_studies("bpd", base=base)) == 2
    pooled = sy.pooled_result("mdd", "remission", base=base)
    assert pooled["status"] == "pooled" and "RR" in pooled["estimates"]  # type: ignore[operator]


def test_bad_arguments(base: EvidenceBase) -> None:
    with pytest.raises(ValueError):
        sy.pool("flu", "response", base=base)
    with pytest.raises(ValueError):
        sy.select_comparisons(base.studies, "mdd", "happiness")
    with pytest.raises(ValueError):
        sy.select_comparisons(base.studies, "mdd", "response", dose="huge")
