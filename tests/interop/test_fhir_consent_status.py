"""A withdrawn consent is exported as no longer in force (R4 Consent.status ``inactive``)."""

from __future__ import annotations

import datetime as dt

from glabella.clinic.chart import ConsentData
from glabella.interop.fhir import export

SIGNED = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def test_withdrawn_consent_is_inactive_in_fhir() -> None:
    given = ConsentData(1, 7, "1", "ab" * 32, SIGNED, "Anna Müller")
    assert export.consent(given)["status"] == "active"
    withdrawn = ConsentData(1, 7, "1", "ab" * 32, SIGNED, "Anna Müller", withdrawn=True)
    assert export.consent(withdrawn)["status"] == "inactive"
