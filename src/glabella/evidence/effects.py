"""Effect sizes and their sampling variances, as metafor's ``escalc()`` computes them.

Every measure follows metafor 3.8 (Viechtbauer 2010, J Stat Softw 36(3); the ``escalc`` help
page, section "Details") with its defaults: ``vtype="LS"`` (large-sample variances),
``add=1/2, to="only0", drop00=FALSE`` (1/2 is added to every cell of a table, or to both counts
of a proportion, that has a zero cell; tables with no events in both arms are kept; AS and PAS
are computed without correction, as metafor does). The correction is reported in
:attr:`EffectSizes.notes`.

Measures (model scale):

* 2x2 tables (``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``):
  ``RR`` log risk ratio, ``log(p1/p2)``, ``v = 1/a - 1/n1 + 1/c - 1/n2``;
  ``OR`` log odds ratio, ``log(ad/bc)``, ``v = 1/a + 1/b + 1/c + 1/d``;
  ``RD`` risk difference ``p1 - p2``, ``v = p1(1-p1)/n1 + p2(1-p2)/n2``;
  ``AS`` arcsine square-root risk difference, ``asin(sqrt p1) - asin(sqrt p2)``,
  ``v = 1/(4 n1) + 1/(4 n2)``;
  ``PETO`` Peto's log odds ratio ``(a - E)/V`` with ``E = (a+c) n1/N`` and
  ``V = (a+c)(b+d) n1 n2 / (N^2 (N-1))``, ``v = 1/V`` (Yusuf et al. 1985).
* Means (``m1i, sd1i, n1i, m2i, sd2i, n2i``):
  ``MD`` mean difference, ``v = sd1^2/n1 + sd2^2/n2``;
  ``SMD`` Hedges' g: ``d = (m1-m2)/s_p`` times the exact bias correction
  ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``, ``m = n1+n2-2`` (Hedges 1981), with the
  large-sample variance ``v = 1/n1 + 1/n2 + g^2/(2(n1+n2))``;
  ``SMDH`` with heteroscedastic SDs (Bonett 2009): ``g = c(m)(m1-m2)/sqrt((sd1^2+sd2^2)/2)``,
  ``v = c(m)^2 [g^2 (sd1^4/(n1-1) + sd2^4/(n2-1)) / (2 (sd1^2+sd2^2)^2)
  + (sd1^2/(n1-1) + sd2^2/(n2-1)) / ((sd1^2+sd2^2)/2)]``;
  ``ROM`` log ratio of means, ``v = sd1^2/(n1 m1^2) + sd2^2/(n2 m2^2)`` (Hedges et al. 1999).
* Correlations (``ri, ni``): ``COR`` raw r, ``v = (1-r^2)^2/(n-1)``; ``ZCOR`` Fisher's z,
  ``atanh(r)``, ``v = 1/(n-3)``. Variances are missing when ``n <= 4``.
* Proportions (``xi, ni``): ``PR`` ``p``, ``v = p(1-p)/n``; ``PLO`` logit,
  ``v = 1/x + 1/(n-x)``; ``PAS`` arcsine square root, ``v = 1/(4n)``.
* ``GEN``: ``yi`` given with ``vi`` or ``sei`` (``vi = sei^2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

__all__ = [
    "BINARY_MEASURES",
    "CORRELATION_MEASURES",
    "MEAN_MEASURES",
    "MEASURES",
    "PROPORTION_MEASURES",
    "EffectSizeError",
    "EffectSizes",
    "escalc",
    "required_columns",
]

FloatArray = npt.NDArray[np.float64]

BINARY_MEASURES: tuple[str, ...] = ("RR", "OR", "RD", "AS", "PETO")
MEAN_MEASURES: tuple[str, ...] = ("SMD", "SMDH", "MD", "ROM")
CORRELATION_MEASURES: tuple[str, ...] = ("ZCOR", "COR")
PROPORTION_MEASURES: tuple[str, ...] = ("PLO", "PR", "PAS")
MEASURES: tuple[str, ...] = (
    *BINARY_MEASURES,
    *MEAN_MEASURES,
    *CORRELATION_MEASURES,
    *PROPORTION_MEASURES,
    "GEN",
)

#: Measures whose model scale is a logarithm (back-transformed with exp for display).
LOG_MEASURES: frozenset[str] = frozenset({"RR", "OR", "PETO", "ROM"})


class EffectSizeError(ValueError):
    """The inputs cannot give effect sizes (unknown measure, missing or invalid columns)."""


@dataclass(frozen=True)
class EffectSizes:
    """Observed effect sizes ``yi`` and sampling variances ``vi`` (NaN where not computable)."""

    yi: FloatArray
    vi: FloatArray
    measure: str
    notes: tuple[str, ...] = field(default=())
    corrected: npt.NDArray[np.bool_] | None = None

    @property
    def k(self) -> int:
        """Number of studies (including those with a missing effect size)."""
        return int(self.yi.shape[0])


def required_columns(
    measure: str, available: set[str] | frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The input columns a measure needs (metafor's argument names).

    For 2x2 tables either ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``; for GEN ``yi`` with
    ``vi`` or ``sei``. ``available`` chooses between the alternatives.
    """
    m = measure.upper()
    if m in BINARY_MEASURES:
        if {"bi", "di"} <= set(available) or not {"n1i", "n2i"} <= set(available):
            return ("ai", "bi", "ci", "di")
        return ("ai", "n1i", "ci", "n2i")
    if m in MEAN_MEASURES:
        return ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    if m in CORRELATION_MEASURES:
        return ("ri", "ni")
    if m in PROPORTION_MEASURES:
        return ("xi", "ni")
    if m == "GEN":
        if "vi" in available or "sei" not in available:
            return ("yi", "vi")
        return ("yi", "sei")
    raise EffectSizeError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")


def _arr(cols: dict[str, npt.ArrayLike], name: str, measure: str) -> FloatArray:
    if name not in cols or cols[name] is None:
        raise EffectSizeError(f"measure {measure} needs column {name!r}")
    return np.asarray(cols[name], dtype=np.float64).reshape(-1)


def _cmi(mi: FloatArray) -> FloatArray:
    """Hedges' exact bias correction ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(mi / 2.0) - np.log(np.sqrt(mi / 2.0)) - gammaln((mi - 1.0) / 2.0))
    return np.where(mi > 1.0, out, np.nan)


#: Measures computable with zero cells: metafor sets ``add=0`` for them unless asked otherwise.
NO_ADD_MEASURES: frozenset[str] = frozenset({"AS", "PAS"})


def escalc(measure: str, *, add: float | None = None, **cols: npt.ArrayLike) -> EffectSizes:
    """Effect sizes ``yi`` and sampling variances ``vi`` for one measure (metafor ``escalc``).

    Args:
        measure: one of :data:`MEASURES`.
        add: amount added to each cell of a table (or both counts of a proportion) with a zero
            cell (metafor's ``add=1/2, to="only0"``); 0 turns the correction off. The default
            is 1/2, except for AS and PAS, which need no correction (metafor sets ``add=0``).
        **cols: the input columns under metafor's names (see the module docstring).

    Returns:
        :class:`EffectSizes`; entries whose inputs are missing or give no finite value are NaN.
    """
    m = measure.upper()
    if m not in MEASURES:
        raise EffectSizeError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    if add is None:
        add = 0.0 if m in NO_ADD_MEASURES else 0.5
    notes: list[str] = []
    corrected: npt.NDArray[np.bool_] | None = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if m in BINARY_MEASURES:
            ai = _arr(cols, "ai", m)
            ci = _arr(cols, "ci", m)
            bi = _arr(cols, "bi", m) if "bi" in cols else _arr(cols, "n1i", m) - ai
            di = _arr(cols, "di", m) if "di" in cols else _arr(cols, "n2i", m) - ci
            # fmin ignores missing (NaN) counts, so a zero elsewhere is still corrected
            smallest = min(float(np.fmin.reduce(x)) if x.size else 0.0 for x in (ai, bi, ci, di))
            if smallest < 0:
                raise EffectSizeError("one or more counts are negative")
            id0 = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0) if smallest == 0 else None
            if add > 0 and id0 is not None and id0.any():
                ai, bi, ci, di = (np.where(id0, x + add, x) for x in (ai, bi, ci, di))
                notes.append(
                    f"{add:g} added to every cell of {int(id0.sum())} table(s) with a zero cell "
                    '(metafor defaults add=1/2, to="only0", drop00=FALSE)'
                )
                corrected = id0
            n1, n2 = ai + bi, ci + di
            p1, p2 = ai / n1, ci / n2
            if m == "RR":
                yi = np.log(p1 / p2)
                vi = 1.0 / ai - 1.0 / n1 + 1.0 / ci - 1.0 / n2
            elif m == "OR":
                yi = np.log(p1 / (1.0 - p1)) - np.log(p2 / (1.0 - p2))
                vi = 1.0 / ai + 1.0 / bi + 1.0 / ci + 1.0 / di
            elif m == "RD":
                yi = p1 - p2
                vi = p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2
            elif m == "AS":
                yi = np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2))
                vi = 1.0 / (4.0 * n1) + 1.0 / (4.0 * n2)
            else:  # PETO
                ni = n1 + n2
                xt, yt = ai + ci, bi + di
                ei = xt * n1 / ni
                big_v = xt * yt * (n1 / ni) * (n2 / ni) / (ni - 1.0)
                yi = (ai - ei) / big_v
                vi = 1.0 / big_v
        elif m in MEAN_MEASURES:
            m1, sd1, n1 = _arr(cols, "m1i", m), _arr(cols, "sd1i", m), _arr(cols, "n1i", m)
            m2, sd2, n2 = _arr(cols, "m2i", m), _arr(cols, "sd2i", m), _arr(cols, "n2i", m)
            if np.any(np.array([sd1, sd2]) < 0):
                raise EffectSizeError("one or more standard deviations are negative")
            if np.any(np.array([n1, n2]) < 0):
                raise EffectSizeError("one or more sample sizes are negative")
            ni = n1 + n2
            mi = ni - 2.0
            if m == "MD":
                yi = m1 - m2
                vi = sd1**2 / n1 + sd2**2 / n2
            elif m == "SMD":
                sdp = np.sqrt(((n1 - 1.0) * sd1**2 + (n2 - 1.0) * sd2**2) / mi)
                yi = _cmi(mi) * (m1 - m2) / sdp
                vi = 1.0 / n1 + 1.0 / n2 + yi**2 / (2.0 * ni)
            elif m == "SMDH":
                cmi = _cmi(mi)
                si = np.sqrt((sd1**2 + sd2**2) / 2.0)
                yi = cmi * (m1 - m2) / si
                vi = yi**2 * (sd1**4 / (n1 - 1.0) + sd2**4 / (n2 - 1.0)) / (
                    2.0 * (sd1**2 + sd2**2) ** 2
                ) + (sd1**2 / (n1 - 1.0) + sd2**2 / (n2 - 1.0)) / ((sd1**2 + sd2**2) / 2.0)
                vi = cmi**2 * vi
            else:  # ROM
                yi = np.log(m1 / m2)
                vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        elif m in CORRELATION_MEASURES:
            ri, ni = _arr(cols, "ri", m), _arr(cols, "ni", m)
            if np.any(np.abs(ri) > 1):
                raise EffectSizeError("one or more correlations are > 1 or < -1")
            if np.any(ni < 0):
                raise EffectSizeError("one or more sample sizes are negative")
            if m == "COR":
                yi = ri.copy()
                vi = (1.0 - yi**2) ** 2 / (ni - 1.0)
            else:
                yi = 0.5 * np.log((1.0 + ri) / (1.0 - ri))
                vi = 1.0 / (ni - 3.0)
            vi = np.where(ni <= 4, np.nan, vi)
            if np.any(ni <= 4):
                notes.append("sampling variance not estimable when ni <= 4 (set to missing)")
        elif m in PROPORTION_MEASURES:
            xi, ni = _arr(cols, "xi", m), _arr(cols, "ni", m)
            mi_ = ni - xi
            if np.any(np.array([xi, mi_]) < 0):
                raise EffectSizeError("one or more counts are negative (xi < 0 or xi > ni)")
            id0 = (xi == 0) | (mi_ == 0)
            if add > 0 and np.any(id0):
                xi = np.where(id0, xi + add, xi)
                mi_ = np.where(id0, mi_ + add, mi_)
                notes.append(
                    f"{add:g} added to both counts of {int(id0.sum())} proportion(s) with 0 or "
                    'all events (metafor defaults add=1/2, to="only0")'
                )
                corrected = id0
            ni = xi + mi_
            pri = xi / ni
            if m == "PR":
                yi = pri
                vi = pri * (1.0 - pri) / ni
            elif m == "PLO":
                yi = np.log(pri / (1.0 - pri))
                vi = 1.0 / (ni * pri * (1.0 - pri))
            else:  # PAS
                yi = np.arcsin(np.sqrt(pri))
                vi = 1.0 / (4.0 * ni)
        else:  # GEN
            yi = _arr(cols, "yi", m).copy()  # never share the caller's array
            if "vi" in cols and cols["vi"] is not None:
                vi = _arr(cols, "vi", m).copy()
            elif "sei" in cols and cols["sei"] is not None:
                vi = _arr(cols, "sei", m) ** 2
            else:
                raise EffectSizeError("measure GEN needs column 'vi' or 'sei'")
            if yi.shape != vi.shape:
                raise EffectSizeError("yi and vi/sei have different lengths")
    yi = np.asarray(yi, dtype=np.float64)
    vi = np.asarray(vi, dtype=np.float64)
    bad = ~(np.isfinite(yi) & np.isfinite(vi))
    if bad.any():
        yi = np.where(bad, np.nan, yi)
        vi = np.where(bad, np.nan, vi)
    return EffectSizes(yi=yi, vi=vi, measure=m, notes=tuple(notes), corrected=corrected)
