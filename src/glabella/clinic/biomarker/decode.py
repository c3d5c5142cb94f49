"""Bounded decoding of an uploaded photograph (bytes -> RGB uint8 array), no file I/O.

Every failure is an :class:`ImageInputError` naming the field, raised before anything is stored:
too many bytes (checked before decoding), not an image, a decompression bomb (more pixels than
``MAX_PIXELS``, checked from the header before the pixels are decoded), a truncated file, or an
image too small to hold a measurable face.
"""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

MAX_BYTES = 25 * 1024 * 1024
"""Largest accepted upload (25 MiB; a 12-MP phone JPEG is 3-8 MB)."""
MAX_PIXELS = 50_000_000
"""Largest accepted image (50 megapixels: a 48-MP phone sensor fits, a bomb does not)."""
MIN_SIDE = 64
"""Smallest accepted side in pixels: below this no face is measurable."""


class ImageInputError(ValueError):
    """A photo that cannot be decoded; ``field`` names the form field or argument."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


_STRICT = threading.Lock()


def _load_strictly(image: Image.Image) -> None:
    """Decode the pixels, raising ``OSError`` on a truncated file.

    Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` is process-wide, and WeasyPrint (the PDF
    reports) sets it to True when imported: a truncated photo would then decode with its lower
    part grey and be measured. It is forced off for this decode (hazard H-115).
    """
    with _STRICT:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


def decode_image(data: bytes, field: str = "photo") -> npt.NDArray[np.uint8]:
    """Decode ``data`` into an H x W x 3 uint8 RGB array, EXIF orientation applied."""
    if len(data) == 0:
        raise ImageInputError(field, "the file is empty")
    if len(data) > MAX_BYTES:
        raise ImageInputError(
            field, f"the file has {len(data)} bytes; at most {MAX_BYTES} are accepted"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise ImageInputError(
                    field,
                    f"the image has {width}x{height} pixels; at most {MAX_PIXELS} are accepted",
                )
            if min(width, height) < MIN_SIDE:
                raise ImageInputError(
                    field,
                    f"the image is {width}x{height} pixels; each side needs at least {MIN_SIDE}",
                )
            _load_strictly(opened)
            img: Image.Image = ImageOps.exif_transpose(opened)
            rgb = img.convert("RGB")
    except ImageInputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageInputError(
            field, "not a readable image (JPEG, PNG, HEIF-free formats)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageInputError(field, f"the image is damaged or truncated ({exc})") from None
    return np.asarray(rgb, dtype=np.uint8)
