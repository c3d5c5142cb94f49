"""Evidence JSON API and pages: who may read them, what they show, and bad input.

Expected numbers are read from the study files' sources (abstract counts) or summed by hand;
the pooled estimates themselves are recomputed independently in tests/evidence/test_synthesis.py,
and here the adapter must pass them through unchanged.

The evidence routes read no table but the signed-in user, so one SQLite app serves the whole
module (both database backends are exercised by the rest of the suite).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from glabella.evidence import synthesis as sy
from glabella.evidence.studies import EvidenceDataError, Problem, load_evidence
from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.settings import Settings
from glabella.web.app import create_app
from glabella.web.evidence_charts import fmt_number, forest_svg
from glabella.web.routes import evidence as evidence_pages

PASSWORD = "a passphrase for the evidence tests"


@pytest.fixture(scope="module")
def evidence_app(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    data = tmp_path_factory.mktemp("evidence-web")
    target = data / "glabella.db"
    shutil.copyfile(sqlite_template, target)
    db = Database.from_url(f"sqlite:///{target}")
    for username, role in (("r.search", "researcher"), ("dr.ev", "clinician")):
        create_user(db, username=username, full_name=username, role=role, password=PASSWORD)
    settings = Settings(data_dir=data, secret_key="evidence-test-key", base_url="http://testserver")
    yield create_app(settings, db)
    db.engine.dispose()


def _client(app: FastAPI, username: str | None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    if username is not None:
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
    return client


def test_anonymous_is_refused(evidence_app: FastAPI) -> None:
    app_client = _client(evidence_app, None)
    assert app_client.get("/api/v1/evidence/studies").status_code == 401
    page = app_client.get("/evidence/disorders/mdd", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"


def test_researcher_reads_studies_and_pool(evidence_app: FastAPI) -> None:
    app_client = _client(evidence_app, "r.search")
    listing = app_client.get("/api/v1/evidence/studies").json()
    assert len(listing["studies"]) == 20  # one YAML file per study in evidence/data/studies
    assert len(app_client.get("/api/v1/evidence/studies?disorder=bpd").json()["studies"]) == 2

    finzi = app_client.get("/api/v1/evidence/studies/finzi-2014").json()
    placebo = next(a for a in finzi["arms"] if a["id"] == "placebo")
    # 41 analysed, read in the journal's Fig. 1 caption ("OBA(33) and placebo(41)")
    assert placebo["n_analysed"]["value"] == 41
    assert placebo["n_analysed"]["verified"] is True
    assert "placebo(41)" in placebo["n_analysed"]["location"]
    assert placebo["n_randomised"] is None  # not read: stays missing, never 0
    # the week-6 change of Finzi derives from the bound p < 0.0005, and says so
    change = next(o for o in finzi["outcomes"] if o["id"] == "change-madrs-wk6")
    assert change["effect"]["bound"] is True and "(a bound)" in change["effect"]["chain"]

    head = app_client.get("/api/v1/evidence/headline?disorder=mdd").json()
    assert head["outcome"] == "change" and head["lead"]["k"] == 5
    assert {e["study_id"] for e in head["left_out"]} == {"li-2022", "brin-2020"}
    bounds_out = app_client.get(
        "/api/v1/evidence/pool?disorder=mdd&outcome=change&exclude_bounds=true"
    ).json()
    assert bounds_out["k"] == 4 and bounds_out["bayes"]["tau_prior"] == "halfnormal:0.5"
    industry = app_client.get("/api/v1/evidence/pool?disorder=mdd&outcome=change&sponsor=industry")
    assert industry.json()["status"] == "too_few"
    bad = app_client.get("/api/v1/evidence/pool?disorder=mdd&outcome=change&sponsor=pharma")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "sponsor"

    pooled = app_client.get("/api/v1/evidence/pool?disorder=mdd&outcome=response").json()
    assert pooled["status"] == "pooled"
    # Finzi 17/33 vs 6/41 and Magid (first period) 6/11 vs 0/19: 33+41+11+19 = 104 patients
    assert pooled["n_patients"] == 104 and pooled["k"] == 2
    assert [(c["ai"], c["n1i"], c["ci"], c["n2i"]) for c in pooled["comparisons"]] == [
        (17, 33, 6, 41),
        (6, 11, 0, 19),
    ]
    domain = sy.pool("mdd", "response", base=load_evidence())
    assert domain.primary is not None
    assert pooled["estimates"]["RR"]["estimate"] == pytest.approx(domain.primary.estimate)
    assert pooled["certainty"]["level"] == "very low"
    assert pooled["evidence_version"] == listing["evidence_version"]

    sens = app_client.get("/api/v1/evidence/sensitivity?disorder=mdd&outcome=dropout").json()
    # excluding the crossover (Magid 2014) leaves the two Brin 2020 comparisons
    assert len(sens["analyses"]["excluding_crossover"]["comparisons"]) == 2
    assert sens["analyses"]["excluding_crossover"]["filters"]["exclude_crossover"] is True

    sad = app_client.get("/api/v1/evidence/disorders/sad").json()
    assert sad["n_randomised_trials"] == 0
    assert sad["syntheses"]["response"]["status"] == "no_data"


def test_bad_input_is_named(evidence_app: FastAPI) -> None:
    api = _client(evidence_app, "dr.ev")
    flu = api.get("/api/v1/evidence/pool?disorder=flu&outcome=response")
    assert flu.status_code == 404 and flu.json()["error"]["field"] == "disorder"
    happy = api.get("/api/v1/evidence/pool?disorder=mdd&outcome=happiness")
    assert happy.status_code == 422 and happy.json()["error"]["field"] == "outcome"
    dose = api.get("/api/v1/evidence/pool?disorder=mdd&outcome=response&dose=huge")
    assert dose.status_code == 422 and "dose band" in dose.json()["error"]["message"]
    missing = api.get("/api/v1/evidence/pool?disorder=mdd")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "outcome"
    nostudy = api.get("/api/v1/evidence/studies/no-such-trial")
    assert nostudy.status_code == 404 and "no-such-trial" in nostudy.json()["error"]["message"]
    assert api.get("/evidence/studies/no-such-trial").status_code == 404


def test_invalid_data_is_refused_not_shown(
    evidence_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = _client(evidence_app, "dr.ev")

    def broken(directory: object = None) -> object:
        raise EvidenceDataError([Problem("x-2020", "arms[0].n_randomised", "bare number")])

    monkeypatch.setattr(evidence_pages, "evidence_version", lambda: "changed")
    monkeypatch.setattr(evidence_pages, "load_evidence", broken)
    answer = api.get("/api/v1/evidence/studies")
    assert answer.status_code == 503
    assert "glabella evidence check" in answer.json()["error"]["message"]
    page = api.get("/evidence/disorders/mdd")
    assert page.status_code == 503 and "Traceback" not in page.text


def test_disorder_and_study_pages(evidence_app: FastAPI) -> None:
    api = _client(evidence_app, "r.search")  # researchers may read the evidence pages
    mdd = api.get("/evidence/disorders/mdd")
    assert mdd.status_code == 200
    html = mdd.text
    assert "Off-label." in html
    assert html.count('class="forest"') == 4  # change, response, remission, dropout are pooled
    # the headline leads: the change score of five trials, before response (two trials)
    assert html.index('id="headline"') < html.index('id="outcome-change"')
    assert html.index('id="outcome-change"') < html.index('id="outcome-response"')
    assert "not independent" in html.split('id="published"')[1]
    assert 'id="functional-unblinding"' in html
    assert "Without effects derived from a bound" in html
    assert "Certainty: very low" in html
    assert "https://doi.org/10.1016/j.jpsychires.2012.01.027" in html  # Wollmer 2012
    assert "https://clinicaltrials.gov/study/NCT02116361" in html  # Brin 2020
    assert re.search(r'id="study-brin-2020">.*?<strong class="missed">no</strong>', html, re.S)
    assert "Excluding crossover trials" in html and "Low dose" in html
    # Brin 2020's own primary result as reported in its abstract: -3.7 MADRS points, p = 0.053
    own = html.split('id="trial-results-h"')[1].split("</section>")[0]
    assert re.search(r"Brin 2020</a>.*?-3.7.*?0.053", own, re.S)
    bpd = api.get("/evidence/disorders/bpd").text
    assert "Too few randomised results to pool" in bpd and 'class="forest"' not in bpd
    sad = api.get("/evidence/disorders/sad").text
    assert "No randomised results" in sad and 'class="forest"' not in sad
    # no outcome-by-outcome repetition: each study's reason is given once
    assert 'class="card outcome"' not in sad and sad.count('id="not-pooled"') == 1
    assert sad.count("registry entry without results") == 1
    mixed = api.get("/evidence/disorders/mixed").text
    # the link names the study (its short name), not its id makunts-2020-faers
    assert mixed.count("Makunts 2020 (FAERS, depression)</a>: pharmacovigilance") == 1
    assert 'class="card outcome"' in bpd  # a randomised trial: the outcomes are shown
    study = api.get("/evidence/studies/finzi-2014").text
    assert "17/33 = 51.5% is the only count" in study  # a derivation is shown
    assert 'id="effect-change-madrs-wk6"' in study and "from a bound" in study
    wollmer = api.get("/evidence/studies/wollmer-2012").text
    assert "from F(1,28) = 12.3 with n 15/15" in wollmer  # the chain
    bpd_study = api.get("/evidence/studies/wollmer-2022-bpd").text
    assert "Inconsistency in the source" in bpd_study
    assert '<span class="unknown">unknown</span>' in study  # funding and N randomised per arm
    index = api.get("/evidence").text
    assert "/evidence/disorders/bipolar" in index


def test_forest_svg_marks_clipped_intervals() -> None:
    base = load_evidence()
    response = sy.pool("mdd", "response", base=base)
    svg = forest_svg(response)
    assert svg.startswith("<svg") and "<title" in svg and "<desc" in svg
    assert svg.count('class="study"') == 2 and 'class="pooled"' in svg
    # the Knapp-Hartung CI on 1 df (0.00037 to 74,794) leaves the 0.01-100 axis: arrows
    assert 'class="clipped"' in svg and "74,794" in svg
    dropout = forest_svg(sy.pool("mdd", "dropout", base=base))
    assert 'class="clipped"' not in dropout  # 0.77 to 1.46 fits
    with pytest.raises(ValueError, match="not pooled"):
        forest_svg(sy.pool("sad", "response", base=base))
    assert fmt_number(None) == "unknown"
    assert fmt_number(0.000368) == "0.00037" and fmt_number(5.2499) == "5.25"
