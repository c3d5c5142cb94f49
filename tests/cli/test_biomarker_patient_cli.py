"""Frown photos for a patient from the CLI: consent, upload, list, delete (images go, measures
stay), each refused clearly when it should be."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner, Result

from glabella.cli import app as cli_app
from glabella.services import patients as patient_svc
from glabella.services.context import Actor, Database
from glabella.settings import get_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clinic" / "biomarker"))
from frown_faces import astronaut, frown_warp, iod_px, jpeg

KEY = Fernet.generate_key().decode("ascii")


def _jpeg(arr: np.ndarray, path: Path) -> Path:
    path.write_bytes(jpeg(arr))
    return path


def _run(db: Database, tmp_path: Path, *args: str) -> Result:
    get_settings.cache_clear()
    try:
        url = db.engine.url.render_as_string(hide_password=False)
        env = {
            "GLABELLA_DATABASE_URL": url,
            "GLABELLA_DATA_DIR": str(tmp_path),
            "GLABELLA_PHOTO_KEY": KEY,
        }
        return CliRunner().invoke(cli_app, list(args), env=env)
    finally:
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def photo_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("photos")
    k = 0.08 * iod_px()
    return _jpeg(astronaut(), d / "rest.jpg"), _jpeg(frown_warp(k, k), d / "frown.jpg")


def test_consent_upload_list_delete(
    db: Database, actor: Actor, tmp_path: Path, photo_files: tuple[Path, Path]
) -> None:
    data = patient_svc.parse_patient_input(
        {
            "mrn": "CLI-1",
            "given_name": "Cy",
            "family_name": "Ell",
            "date_of_birth": "1979-03-03",
            "sex": "female",
        }
    )
    pid = str(patient_svc.create_patient(db, actor, data).id)
    rest, frown = (str(p) for p in photo_files)

    no_consent = _run(db, tmp_path, "biomarker", "upload", pid, rest, frown)
    assert no_consent.exit_code == 2 and "consent" in no_consent.output
    unconfirmed = _run(db, tmp_path, "biomarker", "consent", pid)
    assert unconfirmed.exit_code == 2 and "must agree" in unconfirmed.output

    assert _run(db, tmp_path, "biomarker", "consent", pid, "--confirmed").exit_code == 0
    up = _run(db, tmp_path, "biomarker", "upload", pid, rest, frown)
    assert up.exit_code == 0, up.output
    stored = json.loads(up.output)
    assert stored["frown_activity_index"] > 4.0  # the 0.08-IOD warp: about 8 (measure tests)
    assert stored["images_stored"] is True

    # a photo that is not a face is refused and nothing is added
    bad = _run(db, tmp_path, "biomarker", "upload", pid, rest, str(Path(__file__)))
    assert bad.exit_code == 2 and "frown" in bad.output and "Traceback" not in bad.output
    listed = json.loads(_run(db, tmp_path, "biomarker", "photos", pid).output)
    assert [p["id"] for p in listed] == [stored["id"]]

    refused = _run(db, tmp_path, "biomarker", "delete-photos", pid)
    assert refused.exit_code == 2 and "--yes" in refused.output
    deleted = _run(db, tmp_path, "biomarker", "delete-photos", pid, "--yes")
    assert deleted.exit_code == 0 and json.loads(deleted.output)["deleted_pairs"] == 1
    after = json.loads(_run(db, tmp_path, "biomarker", "photos", pid).output)
    assert after[0]["images_stored"] is False
    assert after[0]["frown_activity_index"] == pytest.approx(stored["frown_activity_index"])
