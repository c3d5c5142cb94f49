"""The continuous outcome: effects derived from reported statistics, pooled, and the headline.

Every expected number is recomputed here from the trials' printed statistics with the textbook
formulas written out (Borenstein et al. 2009, ch. 4 and 7; Cochrane Handbook v6.4 §6.5.2), and
the pooled result with the independent REML + Knapp-Hartung implementation of
``test_synthesis.py`` (itself checked against metafor on the BCG data).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats
from test_synthesis import ref_reml_knha

from glabella.evidence import studies as st
from glabella.evidence import synthesis as sy
from glabella.evidence.studies import EvidenceBase, load_evidence


@pytest.fixture(scope="module")
def base() -> EvidenceBase:
    return load_evidence()


def _j(df: float) -> float:
    return 1 - 3 / (4 * df - 1)


def _g_and_v(d: float, n1: int, n2: int) -> tuple[float, float]:
    v = (n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2))
    j = _j(n1 + n2 - 2)
    return j * d, j * j * v


# -- hand calculations of each trial's Hedges' g ----------------------------------------------


def wollmer() -> tuple[float, float]:
    # F(1,28) = 12.30, n 15/15: d = sqrt(F (1/n1 + 1/n2)) = sqrt(12.30 * 2/15) = 1.2806
    d = -math.sqrt(12.30 * (1 / 15 + 1 / 15))
    return _g_and_v(d, 15, 15)


def finzi() -> tuple[float, float]:
    # bound p < 0.0005 taken at its bound, n 33/41: t = t_{72}^{-1}(1 - 0.00025)
    t = stats.t.isf(0.0005 / 2, 72)
    return _g_and_v(-t * math.sqrt(1 / 33 + 1 / 41), 33, 41)


def zamanian() -> tuple[float, float]:
    # exact p = 0.004 with an assumed 14/14 split: t = t_{26}^{-1}(1 - 0.002)
    t = stats.t.isf(0.004 / 2, 26)
    return _g_and_v(-t * math.sqrt(2 / 14), 14, 14)


def brin30() -> tuple[float, float]:
    # LS mean difference -3.7, p = 0.053, n 65/59 (Cochrane Handbook 6.5.2.3):
    # SE = |MD| / t_{122}^{-1}(1 - 0.053/2); SD = SE / sqrt(1/n1 + 1/n2); d = MD / SD
    se = 3.7 / stats.t.isf(0.053 / 2, 122)
    sd = se / math.sqrt(1 / 65 + 1 / 59)
    return _g_and_v(-3.7 / sd, 65, 59)


def magid() -> tuple[float, float]:
    # responders 6/11 vs 0/19: 0.5 added to every cell; ln OR -> d = ln OR * sqrt(3)/pi
    a, b, c, d_ = 6.5, 5.5, 0.5, 19.5
    lor = math.log(a * d_ / (b * c))
    var = 1 / a + 1 / b + 1 / c + 1 / d_
    d = -lor * math.sqrt(3) / math.pi
    v = var * 3 / math.pi**2
    j = _j(11 + 19 - 2)
    return j * d, j * j * v


EXPECTED = {
    "wollmer-2012": wollmer,
    "finzi-2014": finzi,
    "magid-2014": magid,
    "zamanian-2017": zamanian,
    "brin-2020": brin30,
}


def test_wollmer_g_from_the_printed_f_matches_the_printed_d(base: EvidenceBase) -> None:
    outcome = next(o for o in base.get("wollmer-2012").outcomes if o.effect is not None)
    assert outcome.effect is not None
    e = outcome.effect.effect
    # the authors printed d = 1.28; F(1,28) = 12.30 with 15/15 gives 1.2806
    assert abs(e.d) == pytest.approx(1.28, abs=0.005)
    assert e.g == pytest.approx(wollmer()[0], rel=1e-9)
    assert e.g == pytest.approx(-1.2460, abs=5e-4)
    assert e.var_g == pytest.approx(wollmer()[1], rel=1e-9)


def test_every_week6_change_comparison_recomputed_by_hand(base: EvidenceBase) -> None:
    syn = sy.pool("mdd", "change", base=base)
    assert syn.pooled
    got = {c.study_id: (c.yi, c.vi) for c in syn.comparisons}
    assert set(got) == set(EXPECTED)
    for sid, fn in EXPECTED.items():
        g, v = fn()
        assert got[sid][0] == pytest.approx(g, rel=1e-6), sid
        assert got[sid][1] == pytest.approx(v, rel=1e-6), sid
    ref = ref_reml_knha(
        np.array([got[s][0] for s in EXPECTED]), np.array([got[s][1] for s in EXPECTED])
    )
    est = syn.primary
    assert est is not None and est.measure == "SMD"
    assert est.estimate == pytest.approx(ref["estimate"], rel=1e-6)
    assert est.ci_lb == pytest.approx(ref["ci_lb"], rel=1e-6)
    assert est.ci_ub == pytest.approx(ref["ci_ub"], rel=1e-6)
    assert est.tau2 == pytest.approx(ref["tau2"], rel=1e-5, abs=1e-9)


def test_every_derived_comparison_carries_its_chain(base: EvidenceBase) -> None:
    syn = sy.pool("mdd", "change", base=base)
    chains = {c.study_id: c.chain for c in syn.comparisons}
    assert "F(1,28) = 12.3 with n 15/15" in (chains["wollmer-2012"] or "")
    assert "Abstract, Results" in (chains["wollmer-2012"] or "")
    assert "p < 0.0005 (a bound)" in (chains["finzi-2014"] or "")
    assert "Assumed: equal allocation" in (chains["zamanian-2017"] or "")
    assert "mean difference -3.7 (p = 0.053)" in (chains["brin-2020"] or "")
    finzi_c = next(c for c in syn.comparisons if c.study_id == "finzi-2014")
    assert finzi_c.bound and not finzi_c.approximate
    magid_c = next(c for c in syn.comparisons if c.study_id == "magid-2014")
    assert magid_c.approximate


def test_trials_left_out_say_why(base: EvidenceBase) -> None:
    syn = sy.pool("mdd", "change", base=base)
    reasons = {e.study_id: e.reason for e in syn.excluded}
    assert "week-6" in reasons["li-2022"] and "week 12" in reasons["li-2022"]
    assert "50 U" in reasons["brin-2020"] and "not read" in reasons["brin-2020"]


def test_sensitivity_analyses_of_the_change_score(base: EvidenceBase) -> None:
    runs = sy.sensitivity("mdd", "change", base=base)
    assert set(runs) == set(sy.SENSITIVITY_LABELS)
    ids = {k: {c.study_id for c in v.comparisons} for k, v in runs.items()}
    assert ids["all"] == set(EXPECTED)
    assert ids["excluding_bounds"] == set(EXPECTED) - {"finzi-2014"}
    assert ids["excluding_crossover"] == set(EXPECTED) - {"magid-2014"}
    assert ids["excluding_high_rob"] == set(EXPECTED) - {"finzi-2014", "zamanian-2017"}
    assert ids["sponsor_industry"] == {"brin-2020"}
    assert not runs["sponsor_industry"].pooled  # one comparison is never pooled
    assert ids["sponsor_other"] == set(EXPECTED) - {"brin-2020"}
    # without the bound the remaining four are pooled and, being fewer than 5, get a Bayesian
    # result beside REML + Knapp-Hartung
    assert runs["excluding_bounds"].bayes is not None
    assert runs["all"].bayes is None  # five comparisons


def test_headline_leads_with_the_change_score_and_names_what_is_left_out(
    base: EvidenceBase,
) -> None:
    head = sy.headline("mdd", base=base)
    assert head.lead is not None and head.lead.outcome == "change"
    assert len(head.lead.comparisons) == 5 and head.lead.n_trials == 5
    left = {e.study_id for e in head.left_out}
    assert left == {"li-2022", "brin-2020"}
    assert "Left out of this analysis" in head.text and "Li 2022" in head.text
    # response pools only two trials: never the headline
    response = next(s for s in head.others if s.outcome == "response")
    assert len(response.comparisons) == 2


def test_a_two_trial_synthesis_never_leads(base: EvidenceBase) -> None:
    docs = [copy.deepcopy(d) for _, d in st.load_raw_documents()]
    kept = [d for d in docs if d["id"] not in ("zamanian-2017", "brin-2020", "finzi-2014")]
    small = EvidenceBase(tuple(st.parse_study(d) for d in kept), "test")
    head = sy.headline("mdd", base=small)
    assert head.lead is None
    assert "no pooled headline" in head.text


def test_bpd_states_the_trials_result_and_the_inconsistency(base: EvidenceBase) -> None:
    syn = sy.pool("bpd", "change", base=base)
    assert not syn.pooled
    assert "p = 0.68" in syn.summary
    assert "acupuncture" in syn.summary
    assert "Inconsistency in the source" in syn.summary and "0.90" in syn.summary


def test_published_meta_analyses_beside_ours(base: EvidenceBase) -> None:
    rows = {r["study_id"]: r for r in sy.published_beside_ours("mdd", base=base)}
    assert {"qian-2020", "schulze-2021", "parsaik-2016", "coles-2019"} <= set(rows)
    assert rows["schulze-2021"]["independent"] is False
    assert "Not independent" in str(rows["schulze-2021"]["explanation"])
    assert rows["magid-2015-pooled"]["independent"] is False
    # Qian pooled the same five trials (inferred from its 417 participants)
    assert "Same trials as ours" in str(rows["qian-2020"]["explanation"])
    assert "inferred" in str(rows["qian-2020"]["explanation"])
    # Parsaik pooled three: ours adds Zamanian and Brin
    assert "Ours adds Zamanian 2017, Brin 2020" in str(rows["parsaik-2016"]["explanation"])
    assert "raw mean difference" in str(rows["parsaik-2016"]["explanation"])
    assert rows["coles-2019"]["value"]["value"] == 0.83  # type: ignore[index]


# -- validation of derived numbers --------------------------------------------------------------


def _doc(study_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for _, d in st.load_raw_documents() if d["id"] == study_id))


def _effect(doc: dict[str, Any]) -> dict[str, Any]:
    return next(o for o in doc["outcomes"] if "effect" in o)["effect"]  # type: ignore[no-any-return]


def test_check_refuses_a_derived_number_whose_input_is_missing() -> None:
    doc = _doc("wollmer-2012")
    del _effect(doc)["inputs"]["n2"]
    problems = st.check([("wollmer-2012.yaml", doc)])
    assert any(
        p.path == "outcomes.change-hamd17-wk6.effect.inputs.n2" and "missing" in p.message
        for p in problems
    ), problems


def test_check_refuses_an_input_without_provenance() -> None:
    doc = _doc("wollmer-2012")
    _effect(doc)["inputs"]["F"] = 12.30
    problems = st.check([("wollmer-2012.yaml", doc)])
    assert any("number without provenance" in p.message for p in problems), problems


def test_check_refuses_impossible_inputs_naming_the_field() -> None:
    doc = _doc("wollmer-2012")
    _effect(doc)["inputs"]["df2"]["value"] = 0
    problems = st.check([("wollmer-2012.yaml", doc)])
    assert any(p.path.endswith("effect.inputs.df2") for p in problems), problems
    doc = _doc("zamanian-2017")
    _effect(doc)["inputs"]["p"]["value"] = 1.2
    problems = st.check([("zamanian-2017.yaml", doc)])
    assert any(p.path.endswith("effect.inputs.p") for p in problems), problems


def test_check_refuses_a_bound_used_as_an_exact_p() -> None:
    doc = _doc("finzi-2014")
    _effect(doc)["statistic"] = "p"  # the source prints "p < 0.0005"
    problems = st.check([("finzi-2014.yaml", doc)])
    assert any(p.path.endswith("effect.inputs.p") and "bound" in p.message for p in problems), (
        problems
    )


def test_check_refuses_a_direction_the_numbers_contradict() -> None:
    doc = _doc("brin-2020")
    _effect(doc)["direction"] = "favours_control"  # md = -3.7 favours the toxin
    problems = st.check([("brin-2020.yaml", doc)])
    assert any("opposite sign" in p.message for p in problems), problems


def test_placebo_controlled_trials_judge_functional_unblinding(base: EvidenceBase) -> None:
    placebo = [s for s in base.studies if s.randomised and "placebo" in (s.control or "")]
    assert len(placebo) >= 6
    for s in placebo:
        assert s.functional_unblinding is not None, s.id
        assert "frown" in s.functional_unblinding["reason"], s.id
    doc = _doc("wollmer-2012")
    del doc["functional_unblinding"]
    problems = st.check([("wollmer-2012.yaml", doc)])
    assert any(p.path == "functional_unblinding" for p in problems)
