"""GLS: clinician-rated glabellar line severity at rest and at maximal frown (issue 18).

Independent source of the anchors and conditions: the PubMed abstract of Carruthers JD et al.,
Plast Reconstr Surg 2003;112:1089-1098 (PMID 12973229): "the physician's rating of glabellar
line severity at maximal frown and at rest (none, mild, moderate, or severe)"; the primary
measure is the rating at maximal frown. Values 0-3 in anchor order are this project's choice.
The instrument is recordable through the JSON API, the CLI (`glabella biomarker rate`) and the
generic web form of the instruments framework.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from glabella.cli import app as cli_app
from glabella.clinic import instruments, safety
from glabella.clinic.instruments import InstrumentError
from glabella.settings import get_settings

ANCHORS = [(0, "None"), (1, "Mild"), (2, "Moderate"), (3, "Severe")]


def test_gls_items_anchors_and_licence_record() -> None:
    gls = instruments.get("gls")
    assert gls.respondent == "clinician"
    assert [item.id for item in gls.items] == ["gls_1", "gls_2"]
    assert "at rest" in gls.items[0].text and "maximal frown" in gls.items[1].text
    for item in gls.items:
        assert [(o.value, o.label) for o in item.options] == ANCHORS
    assert (gls.items[0].scored, gls.items[1].scored) == (False, True)
    assert gls.items[0].required
    assert "project wording" in gls.licence
    assert "12063480" in gls.citation and "840-849" in gls.citation
    assert gls.loinc_panel is None and gls.loinc_total is None


@pytest.mark.parametrize(
    ("rest", "frown", "band"),
    [(0, 0, "none"), (3, 0, "none"), (0, 1, "mild"), (2, 2, "moderate"), (1, 3, "severe")],
)
def test_total_is_the_frown_rating_and_rest_is_kept(rest: int, frown: int, band: str) -> None:
    result = instruments.score(instruments.get("gls"), {"gls_1": rest, "gls_2": frown})
    assert result.total == frown  # the rest rating is recorded but never added
    assert result.band.label == band
    assert dict(result.answers) == {"gls_1": rest, "gls_2": frown}
    assert safety.check(result) == ()


@pytest.mark.parametrize(
    ("answers", "item"),
    [
        ({"gls_2": 2}, "gls_1"),  # the rest rating is required
        ({"gls_1": 1}, "gls_2"),
        ({"gls_1": 4, "gls_2": 1}, "gls_1"),
        ({"gls_1": 1, "gls_2": -1}, "gls_2"),
    ],
)
def test_missing_or_out_of_range_rating_names_the_item(answers: dict[str, int], item: str) -> None:
    with pytest.raises(InstrumentError) as info:
        instruments.score(instruments.get("gls"), answers)
    assert info.value.item_id == item


PATIENT: dict[str, object] = {
    "mrn": "GLS-1",
    "given_name": "Gale",
    "family_name": "Lines",
    "date_of_birth": "1970-01-02",
    "sex": "female",
}


def _patient(api: TestClient) -> int:
    response = api.post("/api/v1/patients", json=PATIENT)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_gls_over_the_api_and_the_web_form(api: TestClient) -> None:
    pid = _patient(api)
    stored = api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "gls", "answers": {"gls_1": 1, "gls_2": 3}},
    )
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert (body["total"], body["band"]) == (3, "severe")
    bad = api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "gls", "answers": {"gls_1": 1, "gls_2": 4}},
    )
    assert bad.status_code == 422 and "gls_2" in bad.text
    page = api.get(f"/patients/{pid}/assess/gls")
    assert page.status_code == 200
    assert "maximal frown" in page.text and "Moderate" in page.text


def test_gls_from_the_cli(database_url: str) -> None:
    from glabella.services.context import Actor, Database
    from glabella.services.patients import create_patient, parse_patient_input
    from glabella.services.roles import Role
    from glabella.services.users import default_clinic

    get_settings.cache_clear()
    db = Database.from_url(database_url)
    with db.transaction() as session:
        settings = get_settings()
        clinic_id = default_clinic(session, settings.clinic_name, settings.timezone).id
    admin = Actor(user_id=None, username="cli", role=Role.ADMIN, clinic_id=clinic_id, source="t")
    pid = create_patient(db, admin, parse_patient_input(PATIENT)).id
    get_settings.cache_clear()  # the CLI reads its settings (database URL) from env
    env = {"GLABELLA_DATABASE_URL": database_url}
    runner = CliRunner()
    try:
        ok = runner.invoke(
            cli_app, ["biomarker", "rate", str(pid), "--rest", "0", "--frown", "2"], env=env
        )
        assert ok.exit_code == 0, ok.output
        out = json.loads(ok.output)
        assert (out["instrument"], out["total"], out["band"]) == ("gls", 2, "moderate")
        bad = runner.invoke(
            cli_app, ["biomarker", "rate", str(pid), "--rest", "0", "--frown", "5"], env=env
        )
        assert bad.exit_code == 2
        assert "gls_2" in bad.output and "Traceback" not in bad.output
    finally:
        get_settings.cache_clear()
        db.engine.dispose()
