"""Trial-planning API and page: who may use them, numbers passed through, bad input as 422.

Expected numbers come from statsmodels, Cohen (1988) and the synthesis the evidence API serves.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from statsmodels.stats.power import TTestIndPower

from glabella.services.context import Database
from glabella.services.users import create_user
from glabella.settings import Settings
from glabella.web.app import create_app

PASSWORD = "a passphrase for the planning tests"


@pytest.fixture(scope="module")
def planning_app(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    data = tmp_path_factory.mktemp("planning-web")
    target = data / "glabella.db"
    shutil.copyfile(sqlite_template, target)
    db = Database.from_url(f"sqlite:///{target}")
    create_user(db, username="r.plan", full_name="R Plan", role="researcher", password=PASSWORD)
    settings = Settings(data_dir=data, secret_key="planning-test-key", base_url="http://testserver")
    yield create_app(settings, db)
    db.engine.dispose()


@pytest.fixture(scope="module")
def client(planning_app: FastAPI) -> TestClient:
    c = TestClient(planning_app, raise_server_exceptions=False)
    r = c.post("/api/v1/auth/login", json={"username": "r.plan", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c


def test_anonymous_is_refused(planning_app: FastAPI) -> None:
    anon = TestClient(planning_app, raise_server_exceptions=False)
    assert anon.get("/api/v1/planning/means?d=0.5").status_code == 401
    page = anon.get("/evidence/planning", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"


def test_means_cohen_and_power_mode(client: TestClient) -> None:
    assert client.get("/api/v1/planning/means?d=0.5").json()["n1"] == 64  # Cohen 1988
    r = client.get("/api/v1/planning/means?d=0.35&n1=65&n2=59").json()
    assert r["power"] == pytest.approx(TTestIndPower().power(0.35, 65, 0.05, ratio=59 / 65))


def test_evidence_plan_matches_the_headline(client: TestClient) -> None:
    head = client.get("/api/v1/evidence/headline?disorder=mdd").json()
    g = head["lead"]["estimates"]["SMD"]["estimate"]
    plan = client.get("/api/v1/planning/evidence?disorder=mdd&unblinding=0.3&curves=true").json()
    assert plan["planning_effect"] == pytest.approx(-g)
    assert plan["evidence_version"] == head["lead"]["evidence_version"]
    n = TTestIndPower().solve_power(-g, power=0.8, alpha=0.05)
    assert plan["inert_placebo"]["n1"] == int(-(-n // 1))
    assert len(plan["curves"]["n"]) == len(plan["curves"]["assurance_bayes"])


def test_retrospective_brin(client: TestClient) -> None:
    rows = client.get("/api/v1/planning/retrospective?disorder=mdd").json()["rows"]
    brin = next(r for r in rows if r["study_id"] == "brin-2020" and r["in_pooled"])
    assert (brin["n1"], brin["n2"]) == (65, 59)


def test_simulate_is_bounded(client: TestClient) -> None:
    r = client.get("/api/v1/planning/simulate?diff=0.5&n1=20&sims=200&seed=3")
    assert r.status_code == 200 and 0 <= r.json()["power"] <= 1
    too_many = client.get("/api/v1/planning/simulate?diff=0.5&n1=20&sims=1000000")
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "sims"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/planning/means?d=0.5&power=1.5", "power"),
        ("/api/v1/planning/means?d=0.5&power=0", "power"),
        ("/api/v1/planning/means?d=0.5&alpha=0.5", "alpha"),
        ("/api/v1/planning/means?diff=4&sd=-8", "sd"),
        ("/api/v1/planning/means?d=0.5&dropout=1", "dropout"),
        ("/api/v1/planning/means?d=abc", "d"),
        ("/api/v1/planning/proportions?p1=1.2&p2=0.5", "p1"),
        ("/api/v1/planning/crossover?d_within=0.5&power=2", "power"),
        ("/api/v1/planning/assurance?mean_effect=0.5&se_effect=-1&n1=20", "se_effect"),
        ("/api/v1/planning/simulate?diff=0.5&n1=20&rho=1.2", "rho"),
        ("/api/v1/planning/evidence?basis=pi_bound", "basis"),
        ("/api/v1/planning/evidence?unblinding=1.5", "unblinding"),
        ("/api/v1/planning/evidence?outcome=mood", "outcome"),
    ],
)
def test_bad_input_is_422_naming_the_field(client: TestClient, url: str, field: str) -> None:
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_page_shows_plan_and_retrospective(client: TestClient) -> None:
    page = client.get("/evidence/planning?disorder=mdd&power=80%25&dropout=15%25")
    assert page.status_code == 200
    assert 'id="power-curve"' in page.text and 'id="assurance-curve"' in page.text
    assert "Brin 2020" in page.text and "off-label" in page.text.lower()
    bad = client.get("/evidence/planning?power=1.5")
    assert bad.status_code == 422 and "power must be between 0 and 1" in bad.text


def test_disorder_page_has_the_retrospective_table(client: TestClient) -> None:
    page = client.get("/evidence/disorders/mdd")
    assert page.status_code == 200 and 'id="retrospective-table"' in page.text
