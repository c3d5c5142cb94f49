"""Plans from the evidence base (glabella.evidence.plan_evidence): the numbers come from the
synthesis the disorder page shows, and the formulas are checked against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.power import TTestIndPower

from glabella.evidence import plan_evidence as pe
from glabella.evidence import planning as pl
from glabella.evidence import synthesis as sy
from glabella.evidence.bayes import TauPrior, bayes_meta
from glabella.evidence.studies import EvidenceBase, load_evidence


@pytest.fixture(scope="module")
def base() -> EvidenceBase:
    return load_evidence()


@pytest.fixture(scope="module")
def lead(base: EvidenceBase) -> sy.Synthesis:
    syn = sy.headline("mdd", base=base).lead
    assert syn is not None and syn.outcome == "change"
    return syn


def test_plan_on_the_pooled_headline_uses_its_estimate(lead: sy.Synthesis) -> None:
    g = lead.primary.estimate  # type: ignore[union-attr]
    plan = pe.plan_from_evidence(lead)
    assert plan["planning_effect"] == pytest.approx(-g)
    n = TTestIndPower().solve_power(-g, power=0.8, alpha=0.05)
    assert plan["inert_placebo"]["n1"] == math.ceil(n)
    assert plan["effect"]["evidence_version"] == lead.evidence_version


def test_plan_on_the_ci_bound_is_larger(lead: sy.Synthesis) -> None:
    ub = lead.primary.ci_ub  # type: ignore[union-attr]
    plan = pe.plan_from_evidence(lead, basis="ci_bound")
    n = TTestIndPower().solve_power(-ub, power=0.8, alpha=0.05)
    assert plan["inert_placebo"]["n1"] == math.ceil(n)


def test_prediction_bound_through_no_effect_is_refused_naming_basis(lead: sy.Synthesis) -> None:
    est = lead.primary
    assert est is not None and est.pi_ub is not None and est.pi_ub > 0  # as the page shows
    with pytest.raises(pl.PlanningError, match=r"^basis 'pi_bound'"):
        pe.plan_from_evidence(lead, basis="pi_bound")
    with pytest.raises(pl.PlanningError, match=r"^basis must be one of"):
        pe.plan_from_evidence(lead, basis="hope")


def test_unblinding_scenario_shrinks_the_effect(lead: sy.Synthesis) -> None:
    plan = pe.plan_from_evidence(lead, unblinding_shrink=0.3)
    d = plan["planning_effect"] * 0.7
    n = TTestIndPower().solve_power(d, power=0.8, alpha=0.05)
    assert plan["active_placebo"]["n1"] == math.ceil(n)
    assert plan["active_placebo"]["n1"] > plan["inert_placebo"]["n1"]


def test_assurance_uses_pooled_se_and_tau(lead: sy.Synthesis) -> None:
    est = lead.primary
    assert est is not None and est.tau2 is not None
    plan = pe.plan_from_evidence(lead)
    a = plan["assurance"]
    # independent route: Monte Carlo over N(-g, se^2 + tau^2) with statsmodels' one-tail power
    rng = np.random.default_rng(5)
    draws = rng.normal(-est.estimate, math.hypot(est.se, math.sqrt(est.tau2)), 3000)
    tt = TTestIndPower()
    powers = np.array([tt.power(d, a["n1"], 0.025, alternative="larger") for d in draws])
    mc_se = powers.std(ddof=1) / math.sqrt(powers.size)
    assert abs(a["values"]["normal"] - powers.mean()) < 4 * mc_se


def test_bayes_predictive_mixture_matches_the_bayes_summary(lead: sy.Synthesis) -> None:
    est = lead.primary
    assert est is not None
    res = bayes_meta(est.yi, est.vi, tau_prior=TauPrior("halfnormal", 0.5), measure="SMD")
    w, m, s = (np.array(x) for x in res.predictive)
    assert w.sum() == pytest.approx(1.0)
    assert float(w @ m) == pytest.approx(res.pred_mean, rel=1e-9)
    var = float(w @ (s**2 + m**2)) - float(w @ m) ** 2
    assert math.sqrt(var) == pytest.approx(res.pred_sd, rel=1e-9)


def test_retrospective_brin_2020_65_vs_59(lead: sy.Synthesis, base: EvidenceBase) -> None:
    rows = pe.retrospective_rows(lead, base)
    brin = [r for r in rows if r.study_id == "brin-2020" and r.in_pooled]
    assert len(brin) == 1 and (brin[0].n1, brin[0].n2) == (65, 59)
    g = abs(lead.primary.estimate)  # type: ignore[union-attr]
    assert brin[0].power_pooled == pytest.approx(TTestIndPower().power(g, 65, 0.05, ratio=59 / 65))
    mde = TTestIndPower().solve_power(None, nobs1=65, alpha=0.05, power=0.8, ratio=59 / 65)
    assert brin[0].mde == pytest.approx(mde, rel=1e-6)
    # unknown arm sizes stay unknown
    li = [r for r in rows if r.study_id == "li-2022"]
    assert li and li[0].n1 is None and li[0].power_pooled is None


def test_curves_rise_with_n(lead: sy.Synthesis) -> None:
    c = pe.curves(lead, [10, 20, 40, 80], unblinding_shrink=0.3)
    assert c["power"] == sorted(c["power"])
    assert all(a < b for a, b in zip(c["power_active_placebo"], c["power"], strict=True))
    assert c["assurance_bayes"] == sorted(c["assurance_bayes"])


def test_binary_plan_applies_rr_to_the_control_risk(base: EvidenceBase) -> None:
    syn = sy.pool("mdd", "response", base=base)
    plan = pe.plan_from_evidence(syn)
    events, total = plan["effect"]["control_events"]
    assert plan["control_risk"] == pytest.approx(events / total)
    assert plan["toxin_risk"] == pytest.approx(syn.primary.estimate * events / total)  # type: ignore[union-attr]


def test_plan_warns_when_the_evidence_cannot_carry_it(lead: sy.Synthesis) -> None:
    plan = pe.plan_from_evidence(lead)
    text = " ".join(plan["warnings"])
    # the headline's prediction interval crosses 0, it pools 5 small trials, certainty very low
    assert "prediction interval" in text and "includes no effect" in text
    assert "5 comparisons" in text
    assert "very low" in text
    # assurance is shown beside power and is lower than the power at the pooled effect
    assert plan["assurance"]["values"]["normal"] < plan["inert_placebo"]["power"]
