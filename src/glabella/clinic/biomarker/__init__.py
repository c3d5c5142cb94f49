"""Frown biomarker: facial action unit 4 ("brow lowerer") measured from two photographs.

Public API: :func:`measure_photo` (one image array -> :class:`PhotoMeasures`),
:func:`measure_pair` (rest + maximal frown -> :class:`FrownMeasures` with the frown activity
index), :func:`decode_image` (bounded, checked decoding of uploaded bytes).
"""

from glabella.clinic.biomarker.decode import MAX_BYTES, ImageInputError, decode_image
from glabella.clinic.biomarker.measure import (
    FrownMeasures,
    PhotoMeasures,
    PhotoQualityError,
    frown_activity_index,
    measure_pair,
    measure_photo,
)

__all__ = [
    "MAX_BYTES",
    "FrownMeasures",
    "ImageInputError",
    "PhotoMeasures",
    "PhotoQualityError",
    "decode_image",
    "frown_activity_index",
    "measure_pair",
    "measure_photo",
]
