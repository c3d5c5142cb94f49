"""Issue 16 item 8: pages show labels, not internal codes, wherever a person reads.

Each page is read as its visible text (tags, attributes, scripts and styles dropped), so a code
that stays in a form value, an id or a link is allowed: machines read those. The codes are the
ones found in the inventory of a 60-patient demo clinic (see glabella.labels).
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from builders import safe_screening
from glabella import labels
from glabella.demo.params import DemoParameters
from glabella.services.context import Database
from glabella.services.demo_load import generate_clinic
from glabella.services.users import create_user

PASSWORD = "correct horse battery staple"
SAFE = safe_screening(phq9_item9=0)  # the JSON shape: item 9 as an integer
# a bare INN not followed by its brand, e.g. "14 U onabotulinumtoxinA" (the old running total)
BARE_PRODUCT = re.compile(r"onabotulinumtoxinA(?! \(Botox\))")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _phq9(*values: int) -> dict[str, int]:
    return {f"phq9_{i}": v for i, v in enumerate(values, start=1)}


@pytest.fixture
def vogt(db: Database, app_client: TestClient) -> TestClient:
    """Signed in as a clinician whose username and full name differ."""
    create_user(db, username="lvogt", full_name="Dr Lena Vogt", role="clinician", password=PASSWORD)
    r = app_client.post("/api/v1/auth/login", json={"username": "lvogt", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return app_client


def _treated_patient_with_closed_alert(api: TestClient) -> int:
    pid = api.post(
        "/api/v1/patients",
        json={
            "mrn": "LBL-1",
            "given_name": "Nora",
            "family_name": "Label",
            "date_of_birth": "1975-02-03",
            "sex": "female",
        },
    ).json()["id"]
    api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": _phq9(2, 2, 2, 2, 2, 1, 1, 1, 0)},
    )
    screened = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": SAFE, "medications": ["apixaban"]},
    ).json()
    api.post(
        f"/api/v1/screenings/{screened['id']}/overrides",
        json={"rule_id": screened["reasons"][0]["rule_id"], "reason": "Bruising risk discussed"},
    )
    version = api.get("/api/v1/consent/current").json()["version"]
    consent = api.post(
        f"/api/v1/patients/{pid}/consents",
        json={"version": version, "signed_name": "Nora Label", "confirmed": True},
    ).json()
    treated = api.post(
        f"/api/v1/patients/{pid}/treatments",
        json={
            "product": "onabotulinumtoxinA",
            "lot_number": "L1",
            "lot_expiry": (dt.date.today() + dt.timedelta(days=365)).isoformat(),
            "vial_units": "100",
            "saline_ml": "2.5",
            "sites": {
                "procerus": "4",
                "corrugator_medial_left": "5",
                "corrugator_medial_right": "5",
            },
            "consent_id": consent["id"],
        },
    )
    assert treated.status_code == 201, treated.text
    # item 9 = 2: an urgent suicide-risk alert, then closed by the signed-in clinician
    api.post(
        f"/api/v1/patients/{pid}/assessments",
        json={"instrument": "phq9", "answers": _phq9(1, 1, 1, 1, 1, 1, 1, 1, 2)},
    )
    alert = next(a for a in api.get("/api/v1/alerts").json() if a["patient_id"] == pid)
    closed = api.post(
        f"/api/v1/alerts/{alert['id']}/action",
        json={"action_text": "Phoned, safety plan reviewed with the patient."},
    )
    assert closed.status_code == 200
    api.post(f"/api/v1/patients/{pid}/links", json={"instruments": ["phq9", "gad7"]})
    return int(pid)


def test_label_lookups_come_from_the_data_files() -> None:
    assert labels.label("onabotulinumtoxinA", "product") == "onabotulinumtoxinA (Botox)"
    assert labels.label("phq9", "instrument") == "PHQ-9"
    assert labels.label("gad7", "instrument") == "GAD-7"
    assert labels.label("mdd", "condition") == "major depressive disorder"
    assert labels.label("finzi2014_female", "protocol") == (
        "Finzi & Rosenthal 2014, women: 29 U onabotulinumtoxinA"
    )
    assert labels.label("finzi-2014", "study") == "Finzi & Rosenthal 2014"
    assert labels.arm("finzi-2014", "placebo") == "Saline placebo"
    assert labels.label("de", "language") == "Deutsch"
    assert labels.label("parallel_rct", "design") == "parallel-group randomised trial"
    assert labels.name_studies("high risk in finzi-2014, zamanian-2017 (45%)") == (
        "high risk in Finzi & Rosenthal 2014, Zamanian 2017 (45%)"
    )
    # whole ids only: a longer token that merely starts with an id stays as it is
    assert labels.name_studies("finzi-2014-x and xfinzi-2014") == "finzi-2014-x and xfinzi-2014"
    # no label: the code itself, never an invented name; nothing for nothing
    assert labels.label("snake-oil", "product") == "snake-oil"
    assert labels.label(None, "product") == ""


def test_adverse_event_alert_messages_use_the_form_labels() -> None:
    """Messages are stored as text: they must read as the form does, not "dysphagia: ..."."""
    from glabella.clinic.adverse_events import AEType, Grade, Seriousness, alerts_for

    spread, serious = alerts_for(
        AEType.DYSPHAGIA, Grade(3), frozenset({Seriousness.HOSPITALISATION, Seriousness.DEATH})
    )
    assert spread.message.startswith("Difficulty swallowing: possible distant spread")
    assert serious.message.startswith(
        "Serious adverse event (results in death, requires or prolongs hospitalisation)"
    )
    (severe,) = alerts_for(AEType.HEADACHE, Grade(3), frozenset())
    assert severe.message == "CTCAE grade 3 headache: clinical review."
    (severe,) = alerts_for(AEType.INJECTION_SITE_PAIN, Grade(3), frozenset())
    assert "injection_site_pain" not in severe.message
    assert severe.message == "CTCAE grade 3 pain at the injection site: clinical review."


def test_patient_page_shows_labels_and_names(vogt: TestClient) -> None:
    pid = _treated_patient_with_closed_alert(vogt)
    event = vogt.post(
        f"/api/v1/patients/{pid}/adverse-events",
        json={
            "type": "brow_ptosis",
            "onset": dt.datetime.now(dt.UTC).isoformat(),
            "grade": 1,
            "serious": False,
            "relatedness": "probable",
            "action": "none",
            "outcome": "recovered_with_sequelae",
        },
    )
    assert event.status_code == 201, event.text
    text = visible(vogt.get(f"/patients/{pid}").text)
    assert "Drooping eyebrow" in text and "recovered with sequelae" in text
    assert "recovered_with_sequelae" not in text and "brow_ptosis" not in text
    assert "14 U onabotulinumtoxinA (Botox)" in text
    assert not BARE_PRODUCT.search(text), text[BARE_PRODUCT.search(text).start() - 80 :][:160]  # type: ignore[union-attr]
    assert "PHQ9" not in text and "GAD7" not in text
    assert "PHQ-9 at every visit" in text and "PHQ-9, GAD-7" in text
    assert "suicide risk:" not in text and "suicide_risk" not in text
    assert "URGENT Suicide risk:" in text
    assert "self_report" not in text and "entered by staff" in text
    assert "Dr Lena Vogt, " in text  # who closed the alert
    assert "lvogt" not in text


def test_screening_override_names_the_clinician_not_the_username(vogt: TestClient) -> None:
    pid = _treated_patient_with_closed_alert(vogt)
    text = visible(vogt.get(f"/patients/{pid}/screening").text)
    assert "Overridden by Dr Lena Vogt on" in text
    assert "lvogt" not in text
    assert "onabotulinumtoxinA (Botox):" in text and not BARE_PRODUCT.search(text)
    api = vogt.get(f"/api/v1/patients/{pid}/screenings").json()
    assert api[0]["reasons"][0]["overridden_by"] == "Dr Lena Vogt"


def test_json_keeps_codes_and_adds_labels_where_a_client_shows_them(vogt: TestClient) -> None:
    pid = _treated_patient_with_closed_alert(vogt)
    (treatment,) = vogt.get(f"/api/v1/patients/{pid}/treatments").json()
    assert treatment["product"] == "onabotulinumtoxinA"
    assert treatment["product_label"] == "onabotulinumtoxinA (Botox)"
    row = vogt.get("/api/v1/alerts/history").json()["rows"][0]
    assert (row["kind"], row["kind_label"]) == ("suicide_risk", "Suicide risk")
    assert (row["level"], row["level_label"]) == ("urgent", "Urgent")


def test_treatment_form_running_total_uses_the_product_label(vogt: TestClient) -> None:
    pid = _treated_patient_with_closed_alert(vogt)
    html = vogt.get(f"/patients/{pid}/treatments/new").text
    # the live total (static/app.js) shows the selected option's data-label
    assert (
        'value="onabotulinumtoxinA" data-unit-name="Allergan units" '
        'data-label="onabotulinumtoxinA (Botox)"'
    ) in html
    text = visible(html)
    # (protocol names keep the product as their source names it: "... 29 U onabotulinumtoxinA")
    assert "Last treatment 20" in text and ": 14 U onabotulinumtoxinA (Botox). Re-treatment" in text
    assert "for onabotulinumtoxinA (Botox): Eligible" in text
    assert "PHQ9" not in text and "PHQ-9" in text


def test_report_page_options_and_records_use_labels(vogt: TestClient) -> None:
    pid = _treated_patient_with_closed_alert(vogt)
    made = vogt.post(f"/api/v1/patients/{pid}/consultation-reports", json={"lang": "de"})
    assert made.status_code == 201, made.text
    html = vogt.get(f"/patients/{pid}/report?condition=mdd&lang=de").text
    options = visible(html.split('id="report-options-h"', 1)[1].split("</form>", 1)[0])
    assert "Major depressive disorder" in options and "Social anxiety disorder" in options
    assert "Deutsch" in options and "English" in options
    assert "Finzi & Rosenthal 2014, women: 29 U" in options  # the protocol chooser lists names
    for code in (" mdd ", " bpd ", " sad ", " en ", " de "):
        assert code not in f" {options} "
    records = visible(html.split("Recorded reports", 1)[1].split("</table>", 1)[0])
    assert "major depressive disorder" in records and "Deutsch" in records
    assert " mdd " not in f" {records} " and " de " not in f" {records} "


def test_analytics_and_evidence_pages_name_protocols_products_and_studies(
    db: Database, vogt: TestClient
) -> None:
    from glabella.services.context import Actor

    admin = create_user(db, username="adm", full_name="Ada Min", role="admin", password=PASSWORD)[0]
    generate_clinic(
        db,
        Actor(admin.id, admin.username, "admin", admin.clinic_id),
        DemoParameters(patients=40, seed=1, as_of=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
    )
    text = visible(vogt.get("/analytics").text)
    assert "Finzi & Rosenthal 2014, women" in text
    for code in ("finzi2014_female", "label_xeomin_glabellar", "finzi-2014", "magid-2014"):
        assert code not in text
    assert "incobotulinumtoxinA (Xeomin)" in text
    assert "Response: Finzi & Rosenthal 2014, OnabotulinumtoxinA" in text
    assert "week2 frown" not in text and "week-2 frown" in text
    assert "phq9 change" not in text and "PHQ-9 change" in text
    evidence = visible(vogt.get("/evidence/disorders/mdd").text)
    # GRADE reasons and the left-out list name studies by authors and year
    assert "high risk in Finzi & Rosenthal 2014, Zamanian 2017" in evidence
    assert "finzi-2014" not in evidence and "brin-2020" not in evidence
    assert "parallel rct" not in evidence and "parallel-group randomised trial" in evidence
    assert "no adverse_events data" not in evidence and "no adverse events data" in evidence
