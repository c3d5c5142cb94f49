"""Consent: versioned, hash-checked text; no treatment is recorded without valid consent."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from glabella.clinic.consent import (
    can_record_treatment,
    current_version,
    load_consent_versions,
)

TREATED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_consent_text_states_off_label_use_plainly() -> None:
    v = current_version(date(2026, 11, 25))
    assert "off-label" in v.text
    assert "not licensed for the treatment of depression" in v.text
    assert "trouble" in v.text and "breathing" in v.text  # distant-spread warning


def test_hash_is_sha256_of_the_packaged_text() -> None:
    raw = resources.files("glabella.clinic").joinpath("data/consent/consent-v1.md").read_bytes()
    assert load_consent_versions()["1"].sha256 == hashlib.sha256(raw).hexdigest()


def test_no_version_before_the_first_effective_date() -> None:
    with pytest.raises(LookupError):
        current_version(date(2025, 12, 31))


def test_signed_consent_allows_treatment() -> None:
    check = can_record_treatment(TREATED - timedelta(hours=1), "1", TREATED)
    assert check.allowed and bool(check)
    assert check.reasons == ()


def test_no_consent_means_no_treatment() -> None:
    check = can_record_treatment(None, None, TREATED)
    assert not check
    assert check.reasons == ("no signed consent for this treatment",)


def test_consent_signed_after_treatment_is_refused() -> None:
    check = can_record_treatment(TREATED + timedelta(minutes=1), "1", TREATED)
    assert not check
    assert "after the treatment" in check.reasons[0]


def test_consent_at_the_same_instant_is_allowed() -> None:
    assert can_record_treatment(TREATED, "1", TREATED)


def test_consent_older_than_30_days_is_refused() -> None:
    treated = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)  # version 1 in force 30 days earlier
    assert can_record_treatment(treated - timedelta(days=30), "1", treated)
    old = can_record_treatment(treated - timedelta(days=30, seconds=1), "1", treated)
    assert not old
    assert "older than 30 days" in old.reasons[0]


def test_unknown_version_is_refused() -> None:
    check = can_record_treatment(TREATED - timedelta(hours=1), "0", TREATED)
    assert not check
    assert "unknown consent version" in check.reasons[0]


def test_version_not_in_force_when_signed_is_refused() -> None:
    # version 1 is in force from 2026-01-01 (clinic-local date); signed 2025-12-31 in Berlin
    berlin = ZoneInfo("Europe/Berlin")
    signed = datetime(2025, 12, 31, 22, 0, tzinfo=berlin)
    check = can_record_treatment(signed, "1", datetime(2026, 1, 2, 9, tzinfo=berlin), berlin)
    assert not check
    assert "not in force" in check.reasons[0]
    # 23:30 UTC on 31 Dec is 00:30 on 1 Jan in Berlin: in force there
    late_utc = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert can_record_treatment(late_utc, "1", datetime(2026, 1, 2, 9, tzinfo=UTC), berlin)


def test_naive_times_are_refused() -> None:
    assert not can_record_treatment(datetime(2026, 11, 25, 9), "1", TREATED)
    assert not can_record_treatment(TREATED, "1", datetime(2026, 11, 25, 10))
