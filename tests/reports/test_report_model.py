"""The pure report builder: numbers come from the synthesis, never typed in; thin evidence
gives no number; units always carry their product; unknown adverse-event counts stay unknown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from glabella.evidence import synthesis
from glabella.evidence.studies import EvidenceBase
from glabella.reports.model import ConsultationReport, antidepressants_in, build_report

GENERATED = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def test_response_numbers_match_the_synthesis_and_the_trial_counts(
    mdd_report: ConsultationReport, evidence: EvidenceBase
) -> None:
    out = {o.outcome: o for o in mdd_report.evidence.outcomes}
    resp = out["response"]
    syn = synthesis.pool("mdd", "response", base=evidence)
    assert syn.nnt is not None and syn.certainty is not None
    rr = syn.estimate("RR")
    assert rr is not None
    # Trial counts, read by hand from the study files (finzi-2014.yaml, magid-2014.yaml):
    # BoNT-A 17/33 (Finzi) + 6/11 (Magid, first period) = 23/44; placebo 6/41 + 0/19 = 6/60.
    assert (resp.bont_events, resp.bont_n) == (23, 44)
    assert (resp.placebo_events, resp.placebo_n) == (6, 60)
    # Placebo chance = pooled control risk 6/60 = 0.10, the synthesis's NNT anchor.
    assert resp.placebo_risk == pytest.approx(6 / 60)
    assert resp.placebo_risk == syn.nnt.baseline_risk
    # BoNT-A chance = 0.10 x pooled RR (Cochrane Handbook 15.4.4).
    assert resp.bont_risk == pytest.approx(0.10 * rr.estimate)
    assert resp.rr == rr.estimate and (resp.rr_lo, resp.rr_hi) == (rr.ci_lb, rr.ci_ub)
    assert (resp.rd, resp.rd_lo, resp.rd_hi) == (
        syn.nnt.risk_difference,
        syn.nnt.rd_ci_lb,
        syn.nnt.rd_ci_ub,
    )
    assert resp.nnt_kind == syn.nnt.kind and resp.crosses_no_effect is syn.nnt.ci_crosses_no_effect
    # The interval of the BoNT-A chance: 0.10 x the RR limits, clipped to [0, 1].
    assert resp.bont_risk_lo == pytest.approx(min(1.0, 0.10 * rr.ci_lb))
    assert resp.bont_risk_hi == pytest.approx(min(1.0, 0.10 * rr.ci_ub))
    assert resp.certainty == syn.certainty.level
    assert [d.domain for d in resp.certainty_domains] == [d.domain for d in syn.certainty.domains]
    # Remission, by hand from the same files: 9/33 + 2/11 = 11/44; placebo 3/41 + 0/19 = 3/60.
    rem = out["remission"]
    assert (rem.bont_events, rem.bont_n, rem.placebo_events, rem.placebo_n) == (11, 44, 3, 60)


def test_every_number_has_a_footnote_that_exists(mdd_report: ConsultationReport) -> None:
    numbers = {f.number for f in mdd_report.footnotes}
    assert numbers == set(range(1, len(numbers) + 1))
    for o in mdd_report.evidence.outcomes:
        assert o.synthesis_footnote in numbers
        assert set(o.study_footnotes) <= numbers
        texts = [f.text for f in mdd_report.footnotes if f.number in o.study_footnotes]
        assert any("Finzi" in t for t in texts) and any("Magid" in t for t in texts)
    for b in mdd_report.baseline:
        assert b.footnote in numbers
    for a in mdd_report.adverse_events:
        assert a.footnote in numbers


def test_baseline_is_latest_score_with_band(mdd_report: ConsultationReport) -> None:
    phq9 = next(b for b in mdd_report.baseline if b.instrument_id == "phq9")
    assert (phq9.total, phq9.band, phq9.max_total) == (17, "moderately severe", 27)
    assert mdd_report.eligibility is not None
    assert [r.rule_id for r in mdd_report.eligibility.reasons] == ["anticoagulant"]


def test_match_to_the_patient(mdd_report: ConsultationReport) -> None:
    rows = {m.study_id: m for m in mdd_report.evidence.match}
    # the trials of the change-score headline, then those of response and remission
    assert set(rows) == {"wollmer-2012", "finzi-2014", "magid-2014", "zamanian-2017", "brin-2020"}
    assert rows["brin-2020"].sex_match == "match"  # women only; the patient is a woman
    # Both trials enrolled women and men ("mixed ..." in the files): a woman matches.
    assert rows["finzi-2014"].sex_match == "match"
    # Neither file records concurrent antidepressant use: unclear, not guessed.
    assert rows["finzi-2014"].antidepressants_match == "unknown"
    assert mdd_report.evidence.patient_on_antidepressant is True
    assert mdd_report.antidepressants == ("sertraline 100 mg",)


def test_antidepressant_recognition_is_whole_word() -> None:
    assert antidepressants_in(["Sertraline 50mg", "vitamin D", "escitalopram"]) == (
        "Sertraline 50mg",
        "escitalopram",
    )
    assert antidepressants_in(["nonsertralinesque"]) == ()


@pytest.mark.parametrize("condition", ["bpd", "bipolar", "sad"])
def test_thin_evidence_gives_no_number(
    condition: str, evidence: EvidenceBase, make_snapshot: Any
) -> None:
    report = build_report(
        make_snapshot(), evidence, condition=condition, generated_at=GENERATED, app_version="t"
    )
    assert report.evidence.thin is True
    assert report.evidence.outcomes == ()
    assert report.evidence.studies, "the studies that exist are listed"
    assert {s.study_id for s in report.evidence.studies} == {
        s.id for s in evidence.by_disorder(condition)
    }


def test_adverse_events_unknown_stays_unknown(mdd_report: ConsultationReport) -> None:
    rows = mdd_report.adverse_events
    # zamanian-2017.yaml: "any side effect" 0 of 28 (both arms together).
    any_se = next(r for r in rows if r.study_id == "zamanian-2017")
    assert (any_se.events, any_se.n) == (0, 28)
    # brin-2020.yaml names headache and ptosis without counts: shown as unknown (None).
    brin = [r for r in rows if r.study_id == "brin-2020"]
    assert brin and all(r.events is None and r.n is None for r in brin)
    assert {r.term_key for r in brin} >= {"headache", "eyelid_ptosis"}
    # Injection-site pain is named in no trial file: listed as unknown, not estimated.
    assert mdd_report.missing_named_events == ("injection_site_pain",)


def test_units_always_carry_their_product(mdd_report: ConsultationReport) -> None:
    plan = mdd_report.plan
    assert plan.source == "protocol" and plan.total is not None
    # A woman screened for onabotulinumtoxinA: no verified per-site female protocol exists,
    # so the first female protocol of that product (Wollmer 2012, 29 U) is planned.
    assert (plan.total.units, plan.total.product_id) == ("29", "onabotulinumtoxinA")
    assert plan.sites_known is False and plan.sites == ()
    male = build_report(
        _male(mdd_report), _ev(), condition="mdd", generated_at=GENERATED, app_version="t"
    )
    assert male.plan.protocol_id == "finzi2014_male"  # the verified per-site split
    assert [(s.site_id, s.dose.units if s.dose else None) for s in male.plan.sites] == [
        ("procerus", "10"),
        ("corrugator_medial_right", "8"),
        ("corrugator_medial_left", "8"),
        ("corrugator_lateral_right", "7"),
        ("corrugator_lateral_left", "7"),
    ]
    assert all(s.dose and s.dose.product_id == "onabotulinumtoxinA" for s in male.plan.sites)


def _ev() -> EvidenceBase:
    from glabella.evidence.studies import load_evidence

    return load_evidence()


def _male(report: ConsultationReport) -> Any:
    from glabella.reports.snapshot import PatientSnapshot

    return PatientSnapshot(
        patient_id=8,
        given_name="Bo",
        family_name="Example",
        mrn="SYN-8",
        date_of_birth=dt.date(1970, 1, 1),
        sex="male",
        as_of=report.as_of,
    )


def test_same_inputs_same_hash_and_bad_input_is_named(
    evidence: EvidenceBase, make_snapshot: Any, mdd_report: ConsultationReport
) -> None:
    again = build_report(
        make_snapshot(medications=("sertraline 100 mg", "apixaban 5 mg")),
        evidence,
        condition="mdd",
        generated_at=GENERATED,
        app_version="t",
    )
    assert again.content_hash() == mdd_report.content_hash()
    with pytest.raises(ValueError, match="condition must be one of"):
        build_report(
            make_snapshot(), evidence, condition="flu", generated_at=GENERATED, app_version="t"
        )
    with pytest.raises(ValueError, match="unknown protocol"):
        build_report(
            make_snapshot(),
            evidence,
            condition="mdd",
            generated_at=GENERATED,
            app_version="t",
            protocol_id="nope",
        )


def test_snapshot_round_trips(make_snapshot: Any) -> None:
    from glabella.reports.snapshot import PatientSnapshot

    snap = make_snapshot(medications=("sertraline",))
    assert PatientSnapshot.from_dict(snap.to_dict()) == snap


def test_change_headline_re_expressed_for_the_patient(
    mdd_report: ConsultationReport, evidence: EvidenceBase
) -> None:
    import math

    c = mdd_report.evidence.change
    assert c is not None
    syn = synthesis.pool("mdd", "change", base=evidence)
    est = syn.primary
    assert est is not None
    assert (c.k, c.n_trials, c.n_patients) == (5, 5, 286)
    assert (c.smd, c.smd_lo, c.smd_hi) == (est.estimate, est.ci_lb, est.ci_ub)
    # PHQ-9 points = SMD x 4.6 (SD of PHQ-9 in 960 depressed outpatients, Psychiatr Serv 2011)
    assert c.phq9_sd == 4.6
    assert c.phq9_points == pytest.approx(est.estimate * 4.6)
    assert (c.phq9_lo, c.phq9_hi) == pytest.approx((est.ci_lb * 4.6, est.ci_ub * 4.6))
    # chance of response: OR = exp(-(pi/sqrt 3) SMD) at the placebo rate 6/60 (Chinn 2000)
    assert (c.placebo_events, c.placebo_n) == (6, 60)
    odds0 = 0.1 / 0.9

    def chance(smd: float) -> float:
        o = odds0 * math.exp(-math.pi / math.sqrt(3) * smd)
        return o / (1 + o)

    assert c.resp_rate == pytest.approx(chance(est.estimate))
    assert c.resp_lo == pytest.approx(chance(est.ci_ub))
    assert c.resp_hi == pytest.approx(chance(est.ci_lb))
    # a range a person can read: far narrower than the two-trial response synthesis
    resp = next(o for o in mdd_report.evidence.outcomes if o.outcome == "response")
    assert c.resp_hi - c.resp_lo < 0.6 < resp.bont_risk_hi - resp.bont_risk_lo
    assert {(x.short, x.dose_units, x.product) for x in c.left_out} == {
        ("Li 2022", None, None),
        ("Brin 2020", 50.0, "onabotulinumtoxinA"),
    }
    assert c.certainty == (syn.certainty.level if syn.certainty else None)
