"""The synthetic clinic: deterministic, clearly synthetic, and as valid as real records."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from glabella.clinic import consent, instruments
from glabella.demo import synth
from glabella.demo.params import DemoParameters
from glabella.services import patients
from glabella.services.context import Database
from glabella.services.demo_load import generate_clinic
from glabella.services.errors import Forbidden
from glabella.services.users import UserView
from glabella.store.models import Assessment, AuditEvent, Patient

AS_OF = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
TZ = ZoneInfo("Europe/London")


def _make(seed: int, patients: int = 60) -> synth.Batch:
    params = DemoParameters(patients=patients, seed=seed, as_of=AS_OF, batch_patients=1000)
    ctx = synth.Context(
        clinic_id=1,
        tz=TZ,
        injectors=((1, "Dr Synthetic Avery", 0.0), (2, "Dr Synthetic Ellis", -0.25)),
        as_of=AS_OF,
        first_day=dt.date(2026, 1, 15),
    )
    (batch,) = list(synth.generate(params, ctx, synth.IdStart()))
    return batch


def test_same_seed_same_clinic_other_seed_other_clinic() -> None:
    assert _make(7).rows == _make(7).rows
    assert _make(7).rows["assessments"] != _make(8).rows["assessments"]


def test_records_are_clearly_synthetic_and_follow_the_pathway_rules() -> None:
    rows = _make(11).rows
    assert all(p["mrn"].startswith("SYN-") for p in rows["patients"])
    assert all(p["email"].endswith("@example.invalid") for p in rows["patients"])
    assert all(p["phone"].startswith("+44 7700 9") for p in rows["patients"])  # Ofcom drama
    screenings = {s["id"]: s for s in rows["screenings"]}
    consents = {c["id"]: c for c in rows["consents"]}
    by_patient: dict[int, list[dt.date]] = defaultdict(list)
    for t in rows["treatments"]:
        day = t["treatment_date"]
        screened = screenings[t["screening_id"]]
        assert screened["outcome"] == "eligible" and screened["patient_id"] == t["patient_id"]
        assert 0 <= (day - screened["screened_on"]).days <= 30
        signed = consents[t["consent_id"]]
        assert signed["signed_at"] <= t["treated_at"]
        assert consent.load_consent_versions()[signed["version"]].in_force_on(day)
        assert t["lot_expiry"] >= day
        by_patient[t["patient_id"]].append(day)
        site_units = [
            Decimal(s["units"]) for s in rows["treatment_sites"] if s["treatment_id"] == t["id"]
        ]
        assert sum(site_units) == Decimal(t["total_units"])
    for days in by_patient.values():
        assert all((b - a).days >= 84 for a, b in itertools.pairwise(days))
    moments = [a["submitted_at"] for a in rows["assessments"]]
    assert max(moments) <= AS_OF
    answers: dict[int, dict[str, int]] = defaultdict(dict)
    for ans in rows["assessment_answers"]:
        answers[ans["assessment_id"]][ans["item_id"]] = ans["value"]
    for a in rows["assessments"][:200]:
        scored = instruments.score(instruments.get(a["instrument_id"]), answers[a["id"]])
        assert (scored.total, scored.band.label) == (a["total"], a["band"])


def test_generate_writes_everything_in_one_audited_go(
    db: Database, make_user: Callable[[str, str], UserView]
) -> None:
    admin = make_user("boss", "admin").actor("test")
    report = generate_clinic(db, admin, DemoParameters(patients=25, seed=2, as_of=AS_OF))
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 25
        assert (
            s.scalar(select(func.count()).select_from(Assessment)) == report.counts["assessments"]
        )
        assert "demo.generate" in s.scalars(select(AuditEvent.action)).all()
    # a second run appends (fresh ids and MRNs, sequences moved on for PostgreSQL)
    generate_clinic(db, admin, DemoParameters(patients=5, seed=3, as_of=AS_OF))
    nurse = make_user("nurse.after", "nurse")
    added = patients.create_patient(
        db,
        nurse.actor("test"),
        patients.parse_patient_input(
            {"mrn": "REAL-1", "given_name": "A", "family_name": "B",
             "date_of_birth": "1980-01-01", "sex": "female"}
        ),
    )  # fmt: skip
    assert added.id == 31  # 25 + 5 synthetic patients before it
    with pytest.raises(Forbidden):
        generate_clinic(db, nurse.actor("test"), DemoParameters(patients=1))


def test_cli_refuses_bad_parameters() -> None:
    from glabella.cli import app

    result = CliRunner().invoke(app, ["demo", "generate", "--patients", "0"])
    assert result.exit_code == 2
    assert "patients must be at least 1" in result.output
