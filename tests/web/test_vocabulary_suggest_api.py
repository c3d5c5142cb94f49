"""GET /api/v1/vocabulary/suggest and the screening form's autocomplete lists (issue 15)."""

from __future__ import annotations

import html
from collections.abc import Callable

from fastapi.testclient import TestClient

URL = "/api/v1/vocabulary/suggest"


def test_a_brand_prefix_returns_label_and_what_it_maps_to(api: TestClient) -> None:
    response = api.get(URL, params={"field": "medications", "term": "eli"})
    assert response.status_code == 200, response.text
    first = response.json()[0]
    assert first == {
        "label": "Eliquis",
        "maps_to": "apixaban",
        "code": "B01AF02",
        "group": "anticoagulants_antiplatelets",
        "text": "Eliquis → apixaban, B01AF02",
    }


def test_each_field_reads_its_own_vocabulary(api: TestClient) -> None:
    def texts(field: str, q: str) -> list[str]:
        response = api.get(URL, params={"field": field, "term": q})
        assert response.status_code == 200, response.text
        return [s["text"] for s in response.json()]

    assert texts("conditions", "MG") == ["MG → myasthenia gravis, G70.0"]
    assert texts("medications", "MG") == []  # MG is a condition, not a medicine
    assert texts("allergies", "xeo") == ["Xeomin → incobotulinumtoxinA, M03AX01"]
    assert texts("medications", "gentamycn") == ["gentamicin → gentamicin, J01GB03"]
    assert texts("medications", "sertraline") == []
    assert texts("medications", "") == []


def test_a_long_term_is_refused_naming_it(api: TestClient) -> None:
    response = api.get(URL, params={"field": "medications", "term": "x" * 51})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "term"
    assert "50 characters" in error["message"]
    assert api.get(URL, params={"field": "medications", "term": "x" * 50}).status_code == 200


def test_an_unknown_field_is_refused_naming_it(api: TestClient) -> None:
    response = api.get(URL, params={"field": "drugs", "term": "eli"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "field"
    assert "medications" in response.json()["error"]["message"]


def test_sign_in_is_required(app_client: TestClient) -> None:
    response = app_client.get(URL, params={"field": "medications", "term": "eli"})
    assert response.status_code == 401
    assert "Eliquis" not in response.text


def test_a_receptionist_is_refused(
    app_client: TestClient, make_user: Callable[[str, str], object], password: str
) -> None:
    make_user("desk", "receptionist")
    login = app_client.post("/api/v1/auth/login", json={"username": "desk", "password": password})
    assert login.status_code == 200, login.text
    response = app_client.get(URL, params={"field": "medications", "term": "eli"})
    assert response.status_code == 403


def test_openapi_documents_the_route_and_its_bound(app_client: TestClient) -> None:
    operation = app_client.get("/api/openapi.json").json()["paths"][URL]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["term"]["schema"]["maxLength"] == 50
    assert params["field"]["required"] is True
    assert "422" in operation["responses"]


def test_the_screening_form_offers_the_vocabulary(api: TestClient) -> None:
    patient = api.post(
        "/api/v1/patients",
        json={
            "mrn": "VS-1",
            "given_name": "Ada",
            "family_name": "Suggest",
            "date_of_birth": "1980-01-02",
            "sex": "female",
        },
    ).json()
    page = api.get(f"/patients/{patient['id']}/screening")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for field in ("medications", "conditions", "allergies"):
        assert f'list="vocab-{field}" data-suggest="{field}"' in text, field
        assert f'<datalist id="vocab-{field}">' in text, field
    assert '<option value="Eliquis" label="Eliquis → apixaban, B01AF02">' in text
    assert '<option value="MG" label="MG → myasthenia gravis, G70.0">' in text
    assert "warfrin" not in text  # misspellings are matched, never offered
