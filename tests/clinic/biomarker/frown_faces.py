"""Test faces: scikit-image's astronaut (public domain, NASA) and warps of it with known
inner-brow displacements (piecewise-affine, control points from the landmarks)."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image
from skimage import data
from skimage.transform import PiecewiseAffineTransform, warp

from glabella.clinic.biomarker.measure import _gray_work, _models


@lru_cache(maxsize=1)
def astronaut() -> npt.NDArray[np.uint8]:
    """The astronaut enlarged 2x (1024 px, IOD about 86 px) so landmark pixels are finer."""
    img = Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


@lru_cache(maxsize=1)
def astronaut_landmarks() -> npt.NDArray[np.float64]:
    detector, predictor = _models()
    gray, _ = _gray_work(astronaut())
    rects, scores, _ = detector.run(gray, 0, 0.0)
    rect = rects[int(np.argmax(scores))]
    shape = predictor(gray, rect)
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], dtype=np.float64)


def iod_px() -> float:
    pts = astronaut_landmarks()
    return float(np.hypot(*(pts[36:42].mean(axis=0) - pts[42:48].mean(axis=0))))


def frown_warp(inward: float, down: float) -> npt.NDArray[np.uint8]:
    """The astronaut with each inner brow (landmarks 20-21 and 22-23) moved ``inward`` px toward
    the midline and ``down`` px; the outer brows, eyes, nose and the face outline stay put."""
    img = astronaut()
    pts = astronaut_landmarks()
    h, w = img.shape[:2]
    border = [(x, y) for x in np.linspace(0, w - 1, 5) for y in (0, h - 1)]
    border += [(x, y) for y in np.linspace(0, h - 1, 5)[1:-1] for x in (0, w - 1)]
    src = np.vstack([pts, np.array(border)])
    # forehead anchors above the brows so the skin above moves smoothly but the hairline stays
    brow_top = pts[17:27, 1].min()
    iod = iod_px()
    anchors = np.array([[x, brow_top - 0.6 * iod] for x in np.linspace(pts[17, 0], pts[26, 0], 5)])
    src = np.vstack([src, anchors])
    dst = src.copy()
    for i, side in ((21, 1.0), (20, 1.0), (22, -1.0), (23, -1.0)):
        share = 1.0 if i in (21, 22) else 0.5
        dst[i, 0] += side * inward * share
        dst[i, 1] += down * share
    tform = PiecewiseAffineTransform.from_estimate(
        dst, src
    )  # warp maps output coordinates -> input coordinates
    out: npt.NDArray[np.float64] = warp(img, tform, order=1, mode="edge", preserve_range=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def jpeg(arr: npt.NDArray[np.uint8], quality: int = 95) -> bytes:
    """The image as JPEG bytes (what a phone camera uploads), ``quality`` as PIL takes it."""
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
