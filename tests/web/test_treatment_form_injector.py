"""The treatment form: injector from staff, time defaulting to now, protocol site pattern and
target total, and the note for protocols without per-site units (issue 16, item 5)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from builders import api_ready_patient
from glabella.services.context import Database

EXPIRY = (dt.date.today() + dt.timedelta(days=365)).isoformat()


def _ready(api: TestClient) -> tuple[int, int]:
    patient = {
        "mrn": "TF-1",
        "given_name": "Tia",
        "family_name": "Form",
        "date_of_birth": "1977-07-07",
        "sex": "female",
    }
    return api_ready_patient(api, patient)


def _value(html: str, field: str) -> str:
    match = re.search(rf'id="{field}" name="{field}"[^>]*value="([^"]*)"', html)
    assert match, field
    return match.group(1)


def test_form_defaults_injector_and_time_and_shows_the_unit_note(
    api: TestClient, make_user: Any
) -> None:
    nurse = make_user("nurse.kay", "nurse")
    make_user("desk.dee", "receptionist")
    pid, _ = _ready(api)
    before = dt.datetime.now(ZoneInfo("Europe/London")).replace(second=0, microsecond=0)
    page = api.get(f"/patients/{pid}/treatments/new?protocol=wollmer2012_female").text
    after = dt.datetime.now(ZoneInfo("Europe/London")).replace(second=0, microsecond=0)
    # Time of treatment: now in clinic time (Europe/London), to the minute.
    assert _value(page, "treated_at") in {
        before.strftime("%Y-%m-%dT%H:%M"),
        after.strftime("%Y-%m-%dT%H:%M"),
    }
    # Injector: the signed-in clinician preselected; the nurse offered; no receptionist.
    select = page.split('id="injector_id"', 1)[1].split("</select>", 1)[0]
    assert re.search(r'<option value="\d+" selected>Dr.Rivera \(Clinician\)', select)
    assert f'<option value="{nurse.id}" >Nurse.Kay (Nurse)' in select
    assert "Desk.Dee" not in select
    # Wollmer 2012 gives only the 29 U total: the note, the target, and no unit filled in.
    assert "This protocol&#39;s source gives no per-site units: enter them." in page
    assert 'data-target="29"' in page
    for site in ("procerus", "corrugator_medial_left", "corrugator_lateral_right"):
        assert _value(page, f"site_{site}") == ""


def test_a_verified_protocol_fills_its_own_site_pattern(api: TestClient) -> None:
    pid, _ = _ready(api)
    page = api.get(f"/patients/{pid}/treatments/new?protocol=finzi2014_male").text
    # Finzi & Rosenthal 2014 Supplemental Fig. 2: 10 U procerus, 8 U medial, 7 U middle
    # corrugator each side (10 + 16 + 14 = 40 U, the target).
    assert {
        s: _value(page, f"site_{s}")
        for s in (
            "procerus",
            "corrugator_medial_right",
            "corrugator_medial_left",
            "corrugator_lateral_right",
            "corrugator_lateral_left",
        )
    } == {
        "procerus": "10",
        "corrugator_medial_right": "8",
        "corrugator_medial_left": "8",
        "corrugator_lateral_right": "7",
        "corrugator_lateral_left": "7",
    }
    assert 'data-target="40"' in page and "no per-site units" not in page
    assert "patient&#39;s right" in page and "patient&#39;s left" in page


def _post(api: TestClient, pid: int, consent_id: int, **fields: str) -> object:
    page = api.get(f"/patients/{pid}/treatments/new").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    form = {
        "csrf_token": csrf.group(1),
        "product": "onabotulinumtoxinA",
        "lot_number": "LOT-F",
        "lot_expiry": EXPIRY,
        "vial_units": "100",
        "saline_ml": "2.5",
        "consent_id": str(consent_id),
        "site_procerus": "4",
        "treated_at": "",
        **fields,
    }
    return api.post(f"/patients/{pid}/treatments/new", data=form, follow_redirects=False)


def test_the_chosen_injector_and_an_earlier_time_are_recorded(
    api: TestClient, make_user: Any, db: Database
) -> None:
    nurse = make_user("nurse.kay", "nurse")
    desk = make_user("desk.dee", "receptionist")
    real_clock = db.clock
    db.clock = lambda: real_clock() - dt.timedelta(hours=5)  # screened and consented 5 h ago
    pid, consent_id = _ready(api)
    db.clock = real_clock
    refused = _post(api, pid, consent_id, injector_id=str(desk.id))
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.text  # type: ignore[attr-defined]
    assert 'id="error-injector_id"' in text and "not a clinician or nurse" in text
    assert _value(text, "lot_number") == "LOT-F"  # the rest of the form is kept
    earlier = (dt.datetime.now(ZoneInfo("Europe/London")) - dt.timedelta(hours=3)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    no_reason = _post(api, pid, consent_id, injector_id=str(nurse.id), treated_at=earlier)
    assert no_reason.status_code == 422  # type: ignore[attr-defined]
    assert 'id="error-backdate_reason"' in no_reason.text  # type: ignore[attr-defined]
    done = _post(
        api,
        pid,
        consent_id,
        injector_id=str(nurse.id),
        treated_at=earlier,
        backdate_reason="typed in after the clinic session",
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    [record] = api.get(f"/api/v1/patients/{pid}/treatments").json()
    assert (record["injector"], record["injector_id"]) == ("Nurse.Kay", nurse.id)
    stored = dt.datetime.fromisoformat(record["treated_at"]).astimezone(ZoneInfo("Europe/London"))
    assert stored.strftime("%Y-%m-%dT%H:%M") == earlier
    patient_page = api.get(f"/patients/{pid}").text
    assert "Nurse.Kay" in patient_page


def test_the_default_time_left_unchanged_is_the_time_of_recording(api: TestClient) -> None:
    # Screening and consent seconds ago, in the same minute the form shows: had the shown
    # minute (seconds cut off) been stored, the treatment would be dated before both.
    pid, consent_id = _ready(api)
    page = api.get(f"/patients/{pid}/treatments/new").text
    shown = _value(page, "treated_at")
    assert f'name="treated_at_shown" value="{shown}"' in page
    done = _post(api, pid, consent_id, treated_at=shown, treated_at_shown=shown)
    assert done.status_code == 303  # type: ignore[attr-defined]
    [record] = api.get(f"/api/v1/patients/{pid}/treatments").json()
    consent = api.get(f"/api/v1/patients/{pid}/consents").json()[0]
    treated = dt.datetime.fromisoformat(record["treated_at"])
    assert treated >= dt.datetime.fromisoformat(consent["signed_at"])
