"""The evidence base: schema and provenance over the whole data set, and the validator."""

from __future__ import annotations

import copy
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from glabella.evidence import studies as st


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return {doc["id"]: doc for _, doc in st.load_raw_documents()}


@pytest.fixture(scope="module")
def base() -> st.EvidenceBase:
    return st.load_evidence()


def _problems(doc: dict[str, Any], name: str | None = None) -> list[st.Problem]:
    return st.check([(name, doc)])


def _paths(problems: list[st.Problem]) -> list[str]:
    return [p.path for p in problems]


# -- the whole data set ----------------------------------------------------------------------


def test_packaged_data_pass_the_validator() -> None:
    assert st.check() == []


def test_every_number_has_provenance(base: st.EvidenceBase) -> None:
    count = 0
    for study in base.studies:
        keys = {s.key for s in study.sources}
        for path, num in study.numbers():
            count += 1
            prov = num.provenance
            assert prov.source in keys, (study.id, path)
            assert prov.location.strip(), (study.id, path)
            if not prov.verified:
                assert prov.note, (study.id, path)
    assert count > 100


def test_coverage_of_the_required_studies(base: st.EvidenceBase) -> None:
    ids = {s.id for s in base.studies}
    for required in (
        "wollmer-2012",
        "finzi-2014",
        "magid-2014",
        "zamanian-2017",
        "brin-2020",
        "wollmer-2022-bpd",
        "nct03078270-sad",
        "finzi-2018-bipolar",
        "magid-2015-pooled",
        "qian-2020",
        "makunts-2020-faers",
    ):
        assert required in ids
    designs = {s.design for s in base.studies}
    assert {"parallel_rct", "crossover_rct", "meta_analysis", "pharmacovigilance"} <= designs
    for s in base.studies:
        if s.randomised:
            assert s.risk_of_bias is not None
            assert all(d.reason for d in s.risk_of_bias.domains().values())


def test_numbers_match_the_abstracts(base: st.EvidenceBase) -> None:
    # Wollmer 2012 abstract: "verum (onabotulinumtoxinA, n = 15) or placebo (saline, n = 15)".
    w = base.get("wollmer-2012")
    n_bont = w.arm("bont").n_randomised
    assert n_bont is not None
    assert n_bont.value == 15
    assert w.n_randomised_total() == 30
    # Magid 2014 abstract: "55% (6/11) in the BTA-first group ... 0% (0/19) in the placebo group".
    m = base.get("magid-2014")
    resp = next(o for o in m.outcomes if o.id == "response-hdrs21-p1")
    first = resp.result_for("bont-first")
    assert first is not None and first.events is not None and first.n is not None
    assert (first.events.value, first.n.value) == (6, 11)
    assert first.events.provenance.verified
    # Brin 2020 abstract: LS mean difference -3.7, P = 0.053 — primary end point missed.
    b = base.get("brin-2020")
    assert b.primary_endpoint_met is False
    assert b.reported_results[0].value.value == -3.7


def test_derived_numbers_record_their_derivation(base: st.EvidenceBase) -> None:
    f = base.get("finzi-2014")
    resp = next(o for o in f.outcomes if o.id == "response-madrs-wk6")
    row = resp.result_for("bont")
    assert row is not None and row.events is not None and row.percent is not None
    assert row.events.provenance.derivation and not row.events.provenance.verified
    # the derivation is checkable: 17/33 rounds to the reported 52%
    assert round(100 * 17 / 33) == row.percent.value == 52
    assert row.percent.provenance.verified


def test_evidence_version_is_a_content_hash(tmp_path: Path) -> None:
    src = resources.files("glabella.evidence").joinpath("data", "studies")
    dst = tmp_path / "studies"
    dst.mkdir()
    for f in src.iterdir():
        if f.name.endswith(".yaml"):
            (dst / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    v1 = st.evidence_version(dst)
    assert v1 == st.evidence_version()
    path = dst / "zamanian-2017.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert st.evidence_version(dst) != v1


def test_loader_refuses_broken_data(tmp_path: Path) -> None:
    src = Path(str(resources.files("glabella.evidence").joinpath("data", "studies")))
    dst = tmp_path / "studies"
    shutil.copytree(src, dst)
    path = dst / "wollmer-2012.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("n_total: {value: 30,", "n_total: 30  #", 1),
        encoding="utf-8",
    )
    with pytest.raises(st.EvidenceDataError) as err:
        st.load_evidence(dst)
    assert any(p.path == "population.n_total" for p in err.value.problems)


# -- the validator catches each kind of bad record --------------------------------------------


def test_bare_number_is_rejected(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["wollmer-2012"])
    doc["arms"][0]["n_randomised"] = 15
    probs = _problems(doc)
    assert "arms.bont.n_randomised" in _paths(probs)
    assert "without provenance" in probs[0].message


def test_missing_location_and_unknown_source(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["wollmer-2012"])
    del doc["arms"][0]["n_randomised"]["location"]
    doc["arms"][1]["n_randomised"]["source"] = "nowhere"
    paths = _paths(_problems(doc))
    assert "arms.bont.n_randomised.location" in paths
    assert "arms.placebo.n_randomised.source" in paths


def test_unverified_number_needs_a_note(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["wollmer-2012"])
    doc["arms"][0]["n_randomised"]["verified"] = False
    assert "arms.bont.n_randomised.note" in _paths(_problems(doc))


def test_responders_more_than_n(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["magid-2014"])
    doc["outcomes"][0]["results"][0]["events"]["value"] = 12
    probs = _problems(doc)
    assert any(
        p.path == "outcomes.response-hdrs21-p1.bont-first.events" and "events > N" in p.message
        for p in probs
    )
    assert all(p.study_id == "magid-2014" for p in probs)


def test_sd_not_positive(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["wollmer-2022-bpd"])
    doc["outcomes"][0]["results"][1]["sd"]["value"] = 0
    assert "outcomes.zanbpd-rel-wk8.acupuncture.sd" in _paths(_problems(doc))


def test_analysed_more_than_randomised(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["wollmer-2012"])
    doc["arms"][0]["n_analysed"] = {
        "value": 16,
        "source": "abstract",
        "location": "test",
        "verified": True,
    }
    assert "arms.bont.n_analysed" in _paths(_problems(doc))


def test_broken_arm_reference(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["magid-2014"])
    doc["outcomes"][0]["results"][1]["arm"] = "placebo"
    probs = _problems(doc)
    assert any("broken reference" in p.message for p in probs)
    assert "outcomes.response-hdrs21-p1.results[1].arm" in _paths(probs)


def test_duplicate_ids(docs: dict[str, dict[str, Any]]) -> None:
    a = copy.deepcopy(docs["zamanian-2017"])
    b = copy.deepcopy(docs["zamanian-2017"])
    probs = st.check([("zamanian-2017.yaml", a), ("other.yaml", b)])
    assert any(p.path == "id" and "duplicate study id" in p.message for p in probs)
    c = copy.deepcopy(docs["wollmer-2012"])
    c["arms"][1]["id"] = "bont"
    assert any("duplicate arm id" in p.message for p in _problems(c))


def test_file_name_must_match_id(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["zamanian-2017"])
    assert "id" in _paths(_problems(doc, "zamanian.yaml"))
    assert _problems(doc, "zamanian-2017.yaml") == []


def test_rct_needs_risk_of_bias_with_reasons(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["brin-2020"])
    doc["risk_of_bias"]["measurement"]["reason"] = ""
    assert "risk_of_bias.measurement.reason" in _paths(_problems(doc))
    del doc["risk_of_bias"]
    assert "risk_of_bias" in _paths(_problems(doc))


def test_crossover_outcomes_must_name_their_period(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["magid-2014"])
    del doc["outcomes"][0]["period"]
    assert "outcomes.response-hdrs21-p1.period" in _paths(_problems(doc))


def test_reversed_confidence_interval(docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(docs["qian-2020"])
    doc["reported_results"][0]["ci_lb"]["value"] = 0.5
    assert "reported_results[0].ci_lb" in _paths(_problems(doc))


def test_bad_yaml_is_reported() -> None:
    with pytest.raises(st.EvidenceDataError):
        st.read_yaml_file("id: [unclosed", "x.yaml")
    with pytest.raises(st.EvidenceDataError):
        st.read_yaml_file("- just a list", "x.yaml")


def test_pooled_analysis_group_sizes_match_the_trials(base: st.EvidenceBase) -> None:
    # Magid 2015 pooled the individual patients of Wollmer 2012, Finzi 2014 and Magid 2014 at
    # week 6: its abstract gives n = 59 toxin and n = 75 placebo. The trial records must add up
    # to that (this also corroborates the derived Finzi 33/41 split and reading Magid's 0/19 as
    # the first-period placebo arm).
    pooled = {r.label: r.value.value for r in base.get("magid-2015-pooled").reported_results}
    wollmer, finzi, magid = (base.get(i) for i in ("wollmer-2012", "finzi-2014", "magid-2014"))

    def n(study: st.Study, arm: str, field: str) -> float:
        num = getattr(study.arm(arm), field)
        assert num is not None
        return float(num.value)

    toxin = n(wollmer, "bont", "n_randomised") + n(finzi, "bont", "n_analysed")
    toxin += n(magid, "bont-first", "n_randomised")
    placebo = n(wollmer, "placebo", "n_randomised") + n(finzi, "placebo", "n_analysed")
    placebo += n(magid, "placebo-first", "n_randomised")
    assert toxin == pooled["Toxin group size in the pooled sample"] == 59
    assert placebo == pooled["Placebo group size in the pooled sample"] == 75


def test_german_side_effect_note_needs_its_english_note(docs: dict[str, dict[str, Any]]) -> None:
    """``note_de`` (German report) translates ``note``; alone, or empty, it is an error."""
    doc = copy.deepcopy(docs["zamanian-2017"])
    assert not _problems(doc)
    doc["adverse_events"][0].pop("note")
    assert "adverse_events[0].note_de" in _paths(_problems(doc))
    doc["adverse_events"][0]["note"] = "both arms together"
    doc["adverse_events"][0]["note_de"] = "  "
    assert any(
        p.path.endswith("adverse_events[0].note_de") and "non-empty" in p.message
        for p in _problems(doc)
    )
