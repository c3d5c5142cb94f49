"""One source for the clinic's timezone: ``clinics.timezone`` (issue 14, item 2).

The settings' ``timezone`` (Europe/London by default) only names the first clinic's zone. A
clinic in New York must see and type its own wall-clock times on the pages, or an adverse
event typed as "09:00" would be stored five hours off (and could fall on the wrong side of a
treatment). The hand calculation: on 2026-11-02 New York keeps EST (UTC-5, DST ended on
2026-11-01), London keeps GMT (UTC+0); 09:00 in New York is 14:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from glabella.services import adverse_events as ae_svc
from glabella.services import patients, users
from glabella.services.context import Database
from glabella.settings import Settings

PASSWORD = "correct horse battery staple"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_pages_read_and_show_times_in_the_users_clinic_zone(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    assert settings.timezone == "Europe/London"  # the default the pages must NOT use here
    users.create_clinic(db, "East Clinic", timezone="America/New_York")
    doctor, _ = users.create_user(
        db,
        username="dr.east",
        full_name="Dr East",
        role="clinician",
        password=PASSWORD,
        clinic="East Clinic",
    )
    assert doctor.clinic_timezone == "America/New_York"
    patient = patients.create_patient(
        db,
        doctor.actor("test"),
        patients.parse_patient_input(
            {
                "mrn": "TZ-1",
                "given_name": "Tess",
                "family_name": "Zone",
                "date_of_birth": "1980-01-01",
                "sex": "female",
            }
        ),
    )
    signed = app_client.post(
        "/api/v1/auth/login", json={"username": "dr.east", "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text

    url = f"/patients/{patient.id}/adverse-events/new"
    answer = app_client.post(
        url,
        data={
            "csrf_token": _csrf(app_client.get(url).text),
            "type": "headache",
            "onset": "2026-11-02T09:00",
            "description": "frontal headache",
            "grade": "1",
            "serious": "no",
            "relatedness": "possible",
            "action": "none",
            "outcome": "recovering",
            "treatment_id": "none",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    (event,) = ae_svc.list_adverse_events(db, doctor.actor("test"), patient.id)
    assert event.onset.astimezone(dt.UTC) == dt.datetime(2026, 11, 2, 14, 0, tzinfo=dt.UTC)

    page = app_client.get(f"/patients/{patient.id}").text
    assert "2026-11-02 09:00" in page  # shown back as the clinic typed it
    assert "2026-11-02 14:00" not in page  # not in London (GMT) time
