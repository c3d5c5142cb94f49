"""Issue 15: a temporary contraindication reads "Not eligible now — reassess ..." everywhere the
outcome is shown (screening page, patient page, treatment page, JSON API), and a lasting one
reads "Not eligible (lasting contraindication)" (hazard H-043)."""

from __future__ import annotations

import datetime as dt
import html
import re

from fastapi.testclient import TestClient

from builders import safe_screening

SAFE = safe_screening(phq9_item9=0)


def _patient(api: TestClient, mrn: str) -> int:
    response = api.post(
        "/api/v1/patients",
        json={
            "mrn": mrn,
            "given_name": "Rea",
            "family_name": "Assess",
            "date_of_birth": "1981-06-07",
            "sex": "female",
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _screen(api: TestClient, pid: int, **extra: object) -> dict[str, object]:
    answers = {**SAFE, **dict(extra.pop("answers", {}))}  # type: ignore[call-overload]
    response = api.post(
        f"/api/v1/patients/{pid}/screenings",
        json={"product": "onabotulinumtoxinA", "answers": answers, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _text(page: str) -> str:
    """The page's text: tags removed, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_pregnancy_reads_not_eligible_now_with_when_to_reassess(api: TestClient) -> None:
    pid = _patient(api, "RA-1")
    body = _screen(api, pid, answers={"pregnant": "yes"})
    expected = "Not eligible now — reassess after the pregnancy and any breastfeeding"
    assert body["outcome"] == "not_eligible_now"
    assert body["outcome_text"] == expected
    assert body["reassess"] == ["after the pregnancy and any breastfeeding"]
    for url in (
        f"/patients/{pid}/screening",
        f"/patients/{pid}",
        f"/patients/{pid}/treatments/new",
    ):
        page = api.get(url)
        assert page.status_code == 200, url
        assert expected in _text(page.text), url
        assert "lasting contraindication" not in page.text, url


def test_recent_dose_names_the_day_twelve_weeks_after_it(api: TestClient) -> None:
    pid = _patient(api, "RA-2")
    last = dt.date.today() - dt.timedelta(days=28)
    body = _screen(api, pid, last_bont_date=last.isoformat(), answers={"bont_last_12_weeks": "yes"})
    # 12 weeks = 84 days after the last dose
    day = (last + dt.timedelta(days=84)).isoformat()
    expected = f"Not eligible now — reassess on {day} (12 weeks after the last dose)"
    assert body["outcome_text"] == expected
    page = _text(api.get(f"/patients/{pid}/screening").text)
    assert expected in page
    assert f"Reassess on {day} (12 weeks after the last dose)" in page  # beside its reason


def test_two_temporary_reasons_name_both(api: TestClient) -> None:
    pid = _patient(api, "RA-3")
    body = _screen(
        api,
        pid,
        answers={"infection_or_inflammation_at_sites": "yes", "breastfeeding": "yes"},
    )
    assert body["outcome"] == "not_eligible_now"
    text = str(body["outcome_text"])
    assert text.startswith("Not eligible now — reassess when each has passed: ")
    assert "when the infection or inflammation at the sites has resolved" in text
    assert "after breastfeeding has ended" in text


def test_a_lasting_contraindication_is_not_read_as_temporary(api: TestClient) -> None:
    pid = _patient(api, "RA-4")
    # pregnancy passes, myasthenia gravis does not: the outcome is the lasting one
    body = _screen(api, pid, conditions=["MG"], answers={"pregnant": "yes"})
    assert body["outcome"] == "not_eligible"
    assert body["outcome_text"] == "Not eligible (lasting contraindication)"
    assert body["reassess"] == []
    for url in (f"/patients/{pid}/screening", f"/patients/{pid}"):
        page = _text(api.get(url).text)
        assert "Not eligible (lasting contraindication)" in page, url
        assert "Not eligible now" not in page, url
        assert "Reassess " not in page, url


def test_the_screening_page_says_what_each_entry_was_read_as(api: TestClient) -> None:
    pid = _patient(api, "RA-5")
    _screen(api, pid, medications=["Eliquis 5 mg"])
    page = _text(api.get(f"/patients/{pid}/screening").text)
    assert "Eliquis 5 mg → apixaban, B01AF02" in page


def test_the_consultation_report_says_not_now_and_when(api: TestClient) -> None:
    """The report used to fail (500) for a "not eligible now" outcome: no message for it."""
    pid = _patient(api, "RA-6")
    last = dt.date.today() - dt.timedelta(days=28)
    _screen(
        api,
        pid,
        last_bont_date=last.isoformat(),
        answers={"bont_last_12_weeks": "yes", "pregnant": "yes"},
    )
    day = last + dt.timedelta(days=84)
    english = api.get(f"/patients/{pid}/report")
    assert english.status_code == 200, english.text[:500]
    text = _text(english.text)
    assert "cannot be treated now, but this can be looked at again later" in text
    assert "When this can be looked at again: after the pregnancy and any breastfeeding" in text
    assert f"When this can be looked at again: on {day.strftime('%d %b %Y')}" in text
    german = api.get(f"/patients/{pid}/report", params={"lang": "de"})
    assert german.status_code == 200, german.text[:500]
    text = _text(german.text)
    assert "jetzt keine Behandlung, eine spätere Prüfung ist aber möglich" in text
    assert "nach der Schwangerschaft und einer eventuellen Stillzeit" in text
    assert f"am {day.strftime('%d.%m.%Y')}" in text
