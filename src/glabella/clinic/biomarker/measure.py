"""Frown measures from one face photograph, and the frown activity index of a rest/frown pair.

Pure computation on image arrays (no file or network I/O apart from reading the landmark
model that the ``face-recognition-models`` package installs).

Method
------
1. The image is downscaled so its longer side is at most ``WORK_SIDE`` pixels (a 12-MP phone
   photo becomes 1024 x 768: detection cost grows with pixel count, and a frontal standardised
   photo still has an inter-ocular distance of well over 100 px at that size).
2. Faces are found with dlib's HOG + linear SVM frontal face detector; exactly one face with a
   detector score of at least ``DETECT_MIN_SCORE`` is required.
3. 68 landmarks (iBUG 300-W mark-up, 0-based indices) are placed with dlib's ensemble of
   regression trees (Kazemi V, Sullivan J. One millisecond face alignment with an ensemble of
   regression trees. CVPR 2014) using ``shape_predictor_68_face_landmarks.dat``.
4. Geometry of facial action unit 4, "brow lowerer" (Ekman P, Friesen WV. Facial Action Coding
   System. Consulting Psychologists Press, 1978; AU4 draws the brows together and down, the
   action of corrugator supercilii, depressor supercilii and procerus), normalised by the
   inter-ocular distance ``IOD`` = distance between the eye centres (mean of landmarks 36-41
   and of 42-47):

   * inner-brow distance ``d = |p21 - p22| / IOD``;
   * brow-to-eye height ``h`` = mean over both sides of the distance from the inner brow point
     (21, 22) to the inner eye corner (39, 42), projected on the face's vertical axis (the
     normal to the line through the eye centres), divided by ``IOD``.

5. Glabellar line intensity ``g``: the face is aligned by a similarity transform (eye line
   horizontal, IOD = 100 px) and the glabellar region ``x in [-0.3, 0.3] IOD`` about the
   midline, ``y in [-0.75, -0.2] IOD`` above the eye line is sampled. The Sato tubeness filter
   for dark ridges (Sato Y et al. Three-dimensional multi-scale line filter for segmentation and
   visualization of curvilinear structures in medical images. Med Image Anal 1998;2:143-168;
   skimage.filters.sato, sigmas 1-3 px) gives the ridge response ``S``; it is weighted for
   vertical lines by ``w = Hcc^2 / (Hrr^2 + 2 Hrc^2 + Hcc^2)`` from the Hessian at sigma 2 (a
   vertical dark line has its curvature across the columns; cf. the Hessian eigen-analysis of
   Frangi AF et al. Multiscale vessel enhancement filtering. MICCAI 1998, LNCS 1496:130-137),
   and ``g = mean(S * w) / mean(I)`` over the region, so a change of exposure (a gain on
   ``I``) leaves it unchanged (the Hessian is linear in ``I``).

Frown activity index (clinic-defined composite; no published weights exist, so the three
components are weighted equally)::

    FAI = 100 * [ (d_rest - d_frown) / d_rest
                + (h_rest - h_frown) / h_rest
                + (g_frown - g_rest) / (g_frown + g_rest) ] / 3

0 means the frown photo does not differ from the rest photo; larger values mean a stronger
frown (brows nearer each other, lower, more vertical lines). After botulinum toxin A to the
glabellar complex the FAI is expected to fall. The line term is bounded in [-1, 1] so an
almost line-free rest photo cannot dominate.

Quality thresholds (``MAX_ROLL_DEG``, ``MAX_YAW_ASYMMETRY``, ``MIN_SHARPNESS``, brightness) are
engineering defaults of this software chosen on test images, not clinical values.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import dlib
import numpy as np
import numpy.typing as npt
from PIL import Image
from skimage.feature import hessian_matrix
from skimage.filters import laplace, sato
from skimage.transform import SimilarityTransform, warp

WORK_SIDE = 1024
DETECT_MIN_SCORE = 0.5
"""dlib detector score below which a detection is ignored (the astronaut image has a spurious
second detection at 0.12 on the mission patch; the true face scores 1.16)."""
MAX_ROLL_DEG = 15.0
MAX_YAW_ASYMMETRY = 0.25
"""|dist(nose tip, left eye) - dist(nose tip, right eye)| / IOD above this: not frontal."""
MIN_SHARPNESS = 2.0e-4
"""Variance of the Laplacian of the aligned face (intensity 0-1, IOD 100 px) below this: blur."""
MIN_BRIGHTNESS = 0.15
MAX_BRIGHTNESS = 0.93
MAX_CLIPPED = 0.4
ALIGNED_IOD = 100.0
REGION_X = (-0.3, 0.3)
REGION_Y = (-0.75, -0.2)
SATO_SIGMAS = (1.0, 2.0, 3.0)

FloatArray = npt.NDArray[np.float64]


class PhotoQualityError(ValueError):
    """A photo that fails a quality check; ``problems`` says what to fix, one item each."""

    def __init__(self, field: str, problems: list[str]) -> None:
        super().__init__(f"{field}: " + "; ".join(problems))
        self.field = field
        self.problems = problems


@dataclass(frozen=True)
class PhotoMeasures:
    """Measures of one photo (geometry in units of the inter-ocular distance)."""

    inner_brow_distance: float
    brow_eye_height: float
    line_intensity: float
    iod_px: float
    roll_deg: float
    yaw_asymmetry: float
    sharpness: float
    brightness: float
    detector_score: float


@dataclass(frozen=True)
class FrownMeasures:
    """A rest/frown pair and its frown activity index (see the module docstring)."""

    rest: PhotoMeasures
    frown: PhotoMeasures
    brow_approach: float
    """d_rest - d_frown (IOD units; positive: the brows came together)."""
    brow_lowering: float
    """h_rest - h_frown (IOD units; positive: the brows came down)."""
    line_change: float
    """(g_frown - g_rest) / (g_frown + g_rest), in [-1, 1]."""
    index: float


_DLIB_LOCK = threading.Lock()
"""dlib's detector and shape predictor are shared objects that are not safe to run from two
threads at once (two concurrent uploads on the web server's thread pool corrupted the heap and
killed the process: "free(): corrupted unsorted chunks"); every call into them holds this lock.
The rest of the measurement (alignment, ridge filter) runs in parallel."""


@lru_cache(maxsize=1)
def _models() -> tuple[Any, Any]:
    """dlib's frontal face detector and the 68-point shape predictor (loaded once)."""
    model = (
        resources.files("face_recognition_models") / "models/shape_predictor_68_face_landmarks.dat"
    )
    with resources.as_file(model) as path:
        predictor = dlib.shape_predictor(str(path))
    return dlib.get_frontal_face_detector(), predictor


def _gray_work(rgb: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], float]:
    """Grayscale image downscaled to at most WORK_SIDE on its longer side, and the scale."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("photo: expected an H x W x 3 uint8 RGB array")
    img = Image.fromarray(rgb).convert("L")
    scale = min(1.0, WORK_SIDE / max(img.size))
    if scale < 1.0:
        size = (round(img.size[0] * scale), round(img.size[1] * scale))
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, dtype=np.uint8), scale


def _aligned(
    gray: FloatArray, pts: FloatArray, shape: tuple[int, int], x0: float, y0: float
) -> FloatArray:
    """Sample ``gray`` in the face frame: eye line horizontal, IOD = ALIGNED_IOD px, the eye
    midpoint at (-x0, -y0) IOD of the output's top-left corner."""
    left = pts[36:42].mean(axis=0)
    right = pts[42:48].mean(axis=0)
    vec = right - left
    iod = float(np.hypot(*vec))
    angle = math.atan2(vec[1], vec[0])
    mid = (left + right) / 2.0
    # output (col, row) -> input (x, y): scale to image px, rotate by the eye-line angle, shift.
    s = iod / ALIGNED_IOD
    to_face = SimilarityTransform(translation=(x0 * ALIGNED_IOD, y0 * ALIGNED_IOD))
    to_img = SimilarityTransform(scale=s, rotation=angle, translation=mid)
    tform = SimilarityTransform(to_img.params @ to_face.params)
    out: FloatArray = warp(gray, tform, output_shape=shape, order=1, mode="edge")
    return out


def _line_intensity(patch: FloatArray) -> float:
    ridge = sato(patch, sigmas=SATO_SIGMAS, black_ridges=True, mode="reflect")
    hrr, hrc, hcc = hessian_matrix(patch, sigma=2.0, order="rc", use_gaussian_derivatives=False)
    weight = hcc**2 / (hrr**2 + 2.0 * hrc**2 + hcc**2 + 1e-12)
    return float(np.mean(ridge * weight) / max(float(np.mean(patch)), 1e-6))


def measure_photo(rgb: npt.NDArray[np.uint8], field: str = "photo") -> PhotoMeasures:
    """Measure one photo; :class:`PhotoQualityError` says what to fix when a check fails."""
    with _DLIB_LOCK:
        detector, predictor = _models()
    gray_u8, _scale = _gray_work(rgb)
    upsample = 1 if min(gray_u8.shape) < 700 else 0
    with _DLIB_LOCK:
        rects, scores, _kinds = detector.run(gray_u8, upsample, 0.0)
    faces = [(r, s) for r, s in zip(rects, scores, strict=True) if s >= DETECT_MIN_SCORE]
    if not faces:
        raise PhotoQualityError(
            field,
            ["no face found: face the camera, whole face in the frame, even light"],
        )
    if len(faces) > 1:
        raise PhotoQualityError(
            field, [f"{len(faces)} faces found: only the patient may be in the photo"]
        )
    rect, score = faces[0]
    with _DLIB_LOCK:
        shape = predictor(gray_u8, rect)
        pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], dtype=np.float64)

    left = pts[36:42].mean(axis=0)
    right = pts[42:48].mean(axis=0)
    eye_vec = right - left
    iod = float(np.hypot(*eye_vec))
    across = eye_vec / iod
    down = np.array([-across[1], across[0]])
    roll = math.degrees(math.atan2(eye_vec[1], eye_vec[0]))
    nose = pts[30]
    yaw = abs(float(np.hypot(*(nose - left)) - np.hypot(*(nose - right)))) / iod

    d = float(np.hypot(*(pts[21] - pts[22]))) / iod
    h = float(np.dot(pts[39] - pts[21], down) + np.dot(pts[42] - pts[22], down)) / (2.0 * iod)

    gray = gray_u8.astype(np.float64) / 255.0
    face = _aligned(gray, pts, (200, 200), 1.0, 1.0)
    sharp = float(np.var(laplace(face)))
    bright = float(np.mean(face))
    clipped = float(np.mean((face < 0.02) | (face > 0.98)))
    rows = round((REGION_Y[1] - REGION_Y[0]) * ALIGNED_IOD)
    cols = round((REGION_X[1] - REGION_X[0]) * ALIGNED_IOD)
    patch = _aligned(gray, pts, (rows, cols), -REGION_X[0], -REGION_Y[0])
    g = _line_intensity(patch)

    problems: list[str] = []
    if abs(roll) > MAX_ROLL_DEG:
        problems.append(f"head tilted {roll:.0f} degrees: hold the head upright")
    if yaw > MAX_YAW_ASYMMETRY:
        problems.append("face turned to one side: look straight into the camera")
    if sharp < MIN_SHARPNESS:
        problems.append("photo blurred: hold the phone still, tap to focus on the face")
    if bright < MIN_BRIGHTNESS:
        problems.append("photo too dark: face a window or a lamp")
    if bright > MAX_BRIGHTNESS or clipped > MAX_CLIPPED:
        problems.append("photo over-exposed: avoid direct flash or sun")
    if h <= 0 or d <= 0:
        problems.append("brows not found above the eyes: hair off the forehead, face upright")
    if problems:
        raise PhotoQualityError(field, problems)
    return PhotoMeasures(
        inner_brow_distance=d,
        brow_eye_height=h,
        line_intensity=g,
        iod_px=iod,
        roll_deg=roll,
        yaw_asymmetry=yaw,
        sharpness=sharp,
        brightness=bright,
        detector_score=float(score),
    )


def frown_activity_index(rest: PhotoMeasures, frown: PhotoMeasures) -> FrownMeasures:
    """The frown activity index of a measured pair (formula in the module docstring)."""
    approach = rest.inner_brow_distance - frown.inner_brow_distance
    lowering = rest.brow_eye_height - frown.brow_eye_height
    total = frown.line_intensity + rest.line_intensity
    lines = (frown.line_intensity - rest.line_intensity) / total if total > 0 else 0.0
    index = (
        100.0
        * (approach / rest.inner_brow_distance + lowering / rest.brow_eye_height + lines)
        / 3.0
    )
    return FrownMeasures(
        rest=rest,
        frown=frown,
        brow_approach=approach,
        brow_lowering=lowering,
        line_change=lines,
        index=index,
    )


def measure_pair(
    rest_rgb: npt.NDArray[np.uint8], frown_rgb: npt.NDArray[np.uint8]
) -> FrownMeasures:
    """Measure a rest photo and a maximal-frown photo of the same visit."""
    return frown_activity_index(measure_photo(rest_rgb, "rest"), measure_photo(frown_rgb, "frown"))
