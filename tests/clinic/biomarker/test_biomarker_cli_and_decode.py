"""`glabella biomarker measure` and bounded decoding: every bad input is a clear error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from frown_faces import astronaut, frown_warp, iod_px, jpeg
from PIL import Image
from typer.testing import CliRunner

from glabella.cli import app
from glabella.clinic.biomarker import ImageInputError, decode_image
from glabella.clinic.biomarker.decode import MAX_BYTES, MAX_PIXELS

runner = CliRunner()


def test_cli_measures_a_pair_as_json(tmp_path: Path) -> None:
    rest, frown = tmp_path / "rest.jpg", tmp_path / "frown.jpg"
    rest.write_bytes(jpeg(astronaut()))
    k = 0.08 * iod_px()
    frown.write_bytes(jpeg(frown_warp(k, k)))
    result = runner.invoke(app, ["biomarker", "measure", str(rest), str(frown), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["index"] > 4.0  # the 0.08-IOD warp gives about 8 in test_measure
    assert out["brow_lowering"] > 0.02
    assert set(out["rest"]) >= {"inner_brow_distance", "brow_eye_height", "line_intensity"}


def test_cli_names_the_bad_file(tmp_path: Path) -> None:
    rest, frown = tmp_path / "rest.jpg", tmp_path / "frown.txt"
    rest.write_bytes(jpeg(astronaut()))
    frown.write_text("not a photo")
    result = runner.invoke(app, ["biomarker", "measure", str(rest), str(frown)])
    assert result.exit_code == 2
    assert "frown: not a readable image" in result.stderr
    assert "Traceback" not in result.output


def test_non_image_is_refused() -> None:
    with pytest.raises(ImageInputError, match="photo: not a readable image"):
        decode_image(b"%PDF-1.4 not an image" * 10)


def test_empty_file_is_refused() -> None:
    with pytest.raises(ImageInputError, match="empty"):
        decode_image(b"")


def test_too_many_bytes_refused_before_decoding() -> None:
    with pytest.raises(ImageInputError, match=f"at most {MAX_BYTES}"):
        decode_image(b"\xff" * (MAX_BYTES + 1), "rest")


def test_truncated_jpeg_is_refused() -> None:
    data = jpeg(astronaut())
    with pytest.raises(ImageInputError, match="damaged or truncated"):
        decode_image(data[: len(data) // 2])


def test_truncated_jpeg_is_refused_even_after_a_library_relaxed_pillow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES to True when imported."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = jpeg(astronaut())
    with pytest.raises(ImageInputError, match="damaged or truncated"):
        decode_image(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the other library's setting is restored


def test_one_pixel_image_is_refused() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    with pytest.raises(ImageInputError, match="1x1 pixels"):
        decode_image(buf.getvalue())


def test_decompression_bomb_is_refused_from_the_header() -> None:
    # a 10000 x 6000 PNG of one colour compresses to a few kB but would decode to 180 MB
    side = (10_000, 6_000)
    assert side[0] * side[1] > MAX_PIXELS
    buf = io.BytesIO()
    Image.new("L", side).save(buf, format="PNG")
    assert len(buf.getvalue()) < 1_000_000
    with pytest.raises(ImageInputError, match="at most 50000000"):
        decode_image(buf.getvalue())


def test_good_jpeg_decodes_to_rgb() -> None:
    arr = decode_image(jpeg(astronaut()))
    assert arr.shape == (1024, 1024, 3)
    assert arr.dtype == np.uint8
