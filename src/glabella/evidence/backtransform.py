"""Estimates on the scale a reader reads: ratios, correlations and proportions.

Ratio measures are pooled on the log scale (``RR``, ``OR``, ``PETO``, ``ROM``), correlations as
Fisher's z (``ZCOR``) and proportions as logits (``PLO``) or arcsines (``PAS``). metafor prints
the model scale and leaves the back-transformation to ``predict(res, transf = ...)``
(Viechtbauer 2010, J Stat Softw 36(3), section 3.4; the functions ``exp``, ``transf.ztor``,
``transf.ilogit``, ``transf.iarcsin``): the estimate and the bounds of its confidence and
prediction intervals are transformed one by one (a monotone transformation keeps the coverage;
the standard error is not transformed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _iarcsin(x: float) -> float:
    """metafor's ``transf.iarcsin``: ``sin(x)²`` with ``x`` clipped to ``[0, pi/2]``."""
    return math.sin(min(max(x, 0.0), math.pi / 2)) ** 2


def _ilogit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


#: measure -> (what the back-transformed number is, the transformation)
TRANSFORMS: dict[str, tuple[str, Callable[[float], float]]] = {
    "RR": ("risk ratio", math.exp),
    "OR": ("odds ratio", math.exp),
    "PETO": ("odds ratio", math.exp),
    "ROM": ("ratio of means", math.exp),
    "ZCOR": ("correlation", math.tanh),
    "PLO": ("proportion", _ilogit),
    "PAS": ("proportion", _iarcsin),
}


@dataclass(frozen=True)
class BackTransformed:
    """Estimate, CI and (random-effects models) prediction interval on the reader's scale."""

    scale: str
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None
    pi_ub: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "estimate": self.estimate,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
        }


def back_transform(
    measure: str,
    estimate: float,
    ci_lb: float,
    ci_ub: float,
    pi_lb: float | None = None,
    pi_ub: float | None = None,
) -> BackTransformed | None:
    """The numbers on the reader's scale, or ``None`` for a measure read as it is (SMD, MD …)."""
    entry = TRANSFORMS.get(measure.upper())
    if entry is None:
        return None
    scale, f = entry

    def t(x: float | None) -> float | None:
        if x is None or not math.isfinite(x):
            return None
        try:
            return f(x)
        except OverflowError:
            return math.inf

    est, lo, hi = t(estimate), t(ci_lb), t(ci_ub)
    if est is None or lo is None or hi is None:
        return None
    return BackTransformed(scale, est, lo, hi, t(pi_lb), t(pi_ub))
