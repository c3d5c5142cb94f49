"""De-identification rules for the research export (pure: no I/O).

Safe-Harbor-style (45 CFR 164.514(b)(2) lists the identifiers; this export keeps none of them):

* no names, medical record numbers, phone numbers, e-mail addresses, free text (notes,
  adverse-event descriptions, screening answers may hold names), lot numbers or staff names;
* a **pseudonymous id** per patient: HMAC-SHA256 over ``"patient:<clinic id>:<patient id>"``
  with a secret key (setting ``GLABELLA_RESEARCH_KEY``), first 16 bytes in hex. The same key
  gives the same id in every export (so exports can be linked over time); without the key the
  id cannot be traced back or recomputed. Injectors get ``injector-`` ids the same way;
* **no exact dates**: every date is moved by a per-patient offset of 30 to 365 days back in
  time, derived from the same key (so intervals within one patient are exact and the offset is
  never zero), and days are also given relative to the patient's first treatment. Times of day
  are dropped;
* **ages, not birth dates**: age in whole years at the first treatment (or registration);
  ages over 89 are grouped as ``90+`` (age left empty, ``age_90_plus`` true).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from glabella.clinic.eligibility import age_in_years

MIN_SHIFT_DAYS = 30
MAX_SHIFT_DAYS = 365
AGE_GROUP_FROM = 90


def _digest(key: bytes, message: str) -> bytes:
    if len(key) < 16:
        raise ValueError("the research key must be at least 16 bytes")
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def pseudonym(key: bytes, clinic_id: int, patient_id: int) -> str:
    """A stable, keyed pseudonymous patient id (32 hex characters)."""
    return _digest(key, f"patient:{clinic_id}:{patient_id}")[:16].hex()


def injector_code(key: bytes, clinic_id: int, name: str) -> str:
    """A stable, keyed code for an injector (staff names do not leave the clinic)."""
    return "injector-" + _digest(key, f"injector:{clinic_id}:{name}")[:5].hex()


def shift_days(key: bytes, clinic_id: int, patient_id: int) -> int:
    """The patient's date offset: between -365 and -30 days, never zero."""
    raw = int.from_bytes(_digest(key, f"shift:{clinic_id}:{patient_id}")[:4], "big")
    span = MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1
    return -(MIN_SHIFT_DAYS + raw % span)


@dataclass(frozen=True)
class AgeField:
    """Age as exported: ``years`` is None when the patient is 90 or over."""

    years: int | None
    ninety_plus: bool


def export_age(born: dt.date, on: dt.date) -> AgeField:
    """Age at ``on``, grouped from 90 upward (Safe Harbor: ages over 89 aggregated)."""
    years = age_in_years(born, on)
    if years >= AGE_GROUP_FROM:
        return AgeField(None, True)
    return AgeField(years, False)


@dataclass(frozen=True)
class PatientKey:
    """What the export needs to de-identify one patient's rows."""

    pseudo_id: str
    shift: dt.timedelta
    anchor: dt.date | None
    """The patient's first treatment day (local calendar), or None if never treated."""

    def shifted(self, day: dt.date) -> dt.date:
        return day + self.shift

    def day_number(self, day: dt.date) -> int | None:
        return None if self.anchor is None else (day - self.anchor).days


def patient_key(key: bytes, clinic_id: int, patient_id: int, anchor: dt.date | None) -> PatientKey:
    """Pseudonym, date offset and anchor for one patient."""
    return PatientKey(
        pseudonym(key, clinic_id, patient_id),
        dt.timedelta(days=shift_days(key, clinic_id, patient_id)),
        anchor,
    )
