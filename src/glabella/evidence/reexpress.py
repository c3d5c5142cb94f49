"""Re-expressing a pooled standardised mean difference in terms a patient can use.

Two translations, each with its assumption stated (Cochrane Handbook for Systematic Reviews of
Interventions v6.4, chapter 15.5.3, "Re-expressing SMDs"):

* **Points on a familiar scale**: ``points = SMD × SD`` of that scale in a comparable
  population, the interval from the SMD's interval (Handbook 15.5.3, "using a familiar
  instrument"). The SD is an external, cited number: the answer is only as good as the match
  between that population and the trials'.
* **Chance of response**: the SMD becomes a log odds ratio with ``ln OR = (π / √3) · SMD``
  (Hasselblad & Hedges 1995, Psychol Bull 117:167-178; Chinn 2000, Stat Med 19:3127-3131),
  which assumes the outcome has a logistic distribution with equal variance in both arms; the
  odds ratio is applied to the control group's response rate, ``p₁ = o₀·OR / (1 + o₀·OR)`` with
  ``o₀ = p₀ / (1 - p₀)`` (Handbook 15.5.3, "through dichotomization and transformation").

Sign convention: a negative SMD means lower symptom scores with the toxin (benefit), so the
odds ratio of *response* is ``exp(-(π/√3)·SMD)``. Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "CHINN_FACTOR",
    "ResponseChance",
    "ScalePoints",
    "smd_to_points",
    "smd_to_response",
]

#: π/√3 ≈ 1.8138: the logistic distribution's SD, the factor between SMD and ln OR.
CHINN_FACTOR = math.pi / math.sqrt(3.0)


@dataclass(frozen=True)
class ScalePoints:
    """A pooled SMD as points on one scale (negative = fewer symptoms with the toxin)."""

    scale: str
    sd: float
    sd_source: str
    points: float
    lo: float
    hi: float

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ResponseChance:
    """Chance of response out of 1 with the toxin, from the SMD and the control response rate."""

    placebo_rate: float
    toxin_rate: float
    toxin_lo: float
    toxin_hi: float
    odds_ratio: float
    or_lo: float
    or_hi: float

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return dict(self.__dict__)


def _finite(name: str, x: float) -> float:
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x!r}")
    return float(x)


def smd_to_points(
    smd: float, lo: float, hi: float, *, sd: float, scale: str, sd_source: str
) -> ScalePoints:
    """``points = SMD × SD`` with the interval ``[lo × SD, hi × SD]`` (Handbook 15.5.3)."""
    smd, lo, hi = _finite("smd", smd), _finite("lo", lo), _finite("hi", hi)
    if not lo <= smd <= hi:
        raise ValueError(f"the interval {lo:g} to {hi:g} does not contain the SMD {smd:g}")
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be a positive number, got {sd!r}")
    return ScalePoints(scale, sd, sd_source, smd * sd, lo * sd, hi * sd)


def _apply_or(p0: float, odds_ratio: float) -> float:
    odds = p0 / (1.0 - p0) * odds_ratio
    return odds / (1.0 + odds)


def smd_to_response(smd: float, lo: float, hi: float, *, placebo_rate: float) -> ResponseChance:
    """Response with the toxin from an SMD (Chinn 2000) at the control response rate.

    ``OR = exp(-(π/√3)·SMD)``; the bounds come from the SMD's bounds (the upper SMD bound gives
    the lower chance). ``placebo_rate`` must lie strictly between 0 and 1.
    """
    smd, lo, hi = _finite("smd", smd), _finite("lo", lo), _finite("hi", hi)
    if not lo <= smd <= hi:
        raise ValueError(f"the interval {lo:g} to {hi:g} does not contain the SMD {smd:g}")
    if not (math.isfinite(placebo_rate) and 0.0 < placebo_rate < 1.0):
        raise ValueError(f"placebo_rate must lie strictly between 0 and 1, got {placebo_rate!r}")
    odds = math.exp(-CHINN_FACTOR * smd)
    or_lo = math.exp(-CHINN_FACTOR * hi)
    or_hi = math.exp(-CHINN_FACTOR * lo)
    return ResponseChance(
        placebo_rate=placebo_rate,
        toxin_rate=_apply_or(placebo_rate, odds),
        toxin_lo=_apply_or(placebo_rate, or_lo),
        toxin_hi=_apply_or(placebo_rate, or_hi),
        odds_ratio=odds,
        or_lo=or_lo,
        or_hi=or_hi,
    )
