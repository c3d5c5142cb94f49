"""Standardised mean differences from the statistics trials report (t, F, p, η², r, χ², MD).

Pure functions, no I/O. Every conversion returns an :class:`Effect`: Cohen's ``d`` (signed,
positive when group 1 has the larger mean), its large-sample variance, Hedges' ``g = J·d`` with
the approximate small-sample correction ``J = 1 - 3/(4 df - 1)``, the formula used and its
citation, and two flags:

* ``bound``: the value comes from a reported bound (``p < x``) taken at ``p = x``. The true
  ``|d|`` is at least this large, so it is conservative and never an exact value; use it only in
  a labelled sensitivity analysis.
* ``approximate``: the conversion rests on an assumption beyond the two-sample t-test model
  (covariate-adjusted F or CI, partial η², a binary outcome, a logistic distribution).

Conventions. ``n1`` and ``n2`` are the analysed group sizes; ``df = n1 + n2 - 2`` is the df of
the pooled two-sample t-test. A test statistic or p-value is taken to come from that test (or
an equivalent one-way ANOVA); ``direction`` (+1 or -1) gives the sign where the statistic has
none (F, p, η², χ²): +1 means group 1's mean is larger.

Relation used throughout (two groups, pooled SD ``s``, means difference ``Δ``):
``t = Δ / (s·sqrt(1/n1 + 1/n2))`` so ``d = Δ/s = t·sqrt(1/n1 + 1/n2)``; ``F(1, df) = t²``;
``η² = r_pb² = t² / (t² + df)``.

References:

* Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). *Introduction to Meta-Analysis*.
  Wiley. Ch. 4 (d, V_d, J, g: eq. 4.18-4.24), ch. 5 (log odds ratio), ch. 7 (conversions
  among d, log OR and r: eq. 7.1-7.9).
* Lipsey MW, Wilson DB (2001). *Practical Meta-Analysis*. Sage. Appendix B (d from t, F, p,
  r, χ²).
* Higgins JPT et al. (eds) (2023). *Cochrane Handbook for Systematic Reviews of Interventions*
  v6.4, §6.5.2.3 (SD from the SE, CI, t or p of a difference in means).
* Hasselblad V, Hedges LV (1995). Meta-analysis of screening and diagnostic tests.
  *Psychol Bull* 117:167-178. Chinn S (2000). A simple method for converting an odds ratio to
  effect size for use in meta-analysis. *Stat Med* 19:3127-3131.
* Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
  estimators. *J Educ Stat* 6:107-128 (J).
* Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation from
  the sample size, median, range and/or interquartile range. *BMC Med Res Methodol* 14:135.
* Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample size,
  median, mid-range, and/or mid-quartile range. *Stat Methods Med Res* 27:1785-1805.
* Cohen J (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., ch. 8
  (Cohen's f; ``f = d/2`` for two equal groups).
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, fields

from scipy import stats

from glabella.formatting import significant

__all__ = [
    "ConversionError",
    "Effect",
    "d_from_log_or",
    "d_from_r_population",
    "eta2_from_d",
    "from_d",
    "from_eta2",
    "from_f",
    "from_log_or",
    "from_mean_difference",
    "from_p",
    "from_p_bound",
    "from_r",
    "from_t",
    "log_or_from_chi2",
    "log_or_from_d",
    "log_or_from_table",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "parse_p",
    "small_sample_j",
    "var_d",
]

_CITE_D = "Borenstein et al. 2009, eq. 4.20 (V_d), 4.22-4.24 (J, g, V_g); Hedges 1981 (J)"
_CITE_T = "Lipsey & Wilson 2001, app. B (d from t); " + _CITE_D


class ConversionError(ValueError):
    """Bad input; ``.field`` names the offending argument, and the message names it too."""

    field: str

    def __init__(self, field: str, message: str) -> None:
        if field not in message:
            message = f"{field}: {message}"
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Effect:
    """A standardised mean difference derived from reported statistics.

    ``d`` is Cohen's d (positive: group 1's mean is larger), ``var_d`` its large-sample
    variance; ``g = J·d`` and ``var_g = J²·var_d`` (Hedges' g). ``method`` is a short key
    (``"t"``, ``"F"``, ``"p"``, ``"p_bound"``, ``"d"``, ``"eta2"``, ``"r"``, ``"md_se"``,
    ``"md_ci"``, ``"md_p"``, ``"chi2"``, ``"log_or"``), ``formula`` the formula applied and
    ``citation`` its source. ``bound`` marks a value derived from ``p < x`` (conservative, never
    exact); ``approximate`` a conversion resting on an extra assumption; ``sd_implied`` the
    pooled SD implied by a mean-difference conversion.
    """

    d: float
    var_d: float
    g: float
    var_g: float
    n1: int
    n2: int
    method: str
    formula: str
    citation: str
    bound: bool = False
    approximate: bool = False
    sd_implied: float | None = None

    def to_dict(self) -> dict[str, object]:
        """The fields as a plain (JSON-serialisable) dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------- validation


def _real(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConversionError(field, f"{field} must be a finite number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ConversionError(field, f"{field} must be a finite number, got {value!r}")
    return out


def _whole(field: str, value: object, minimum: int = 2) -> int:
    message = f"{field} must be a whole number ≥ {minimum}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConversionError(field, message)
    if isinstance(value, numbers.Integral):
        out = int(value)
    else:
        as_float = float(value)
        if not (math.isfinite(as_float) and as_float.is_integer()):
            raise ConversionError(field, message)
        out = int(as_float)
    if out < minimum:
        raise ConversionError(field, message)
    return out


def _groups(n1: object, n2: object) -> tuple[int, int]:
    return _whole("n1", n1), _whole("n2", n2)


def _direction(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value not in (1, -1):
        raise ConversionError(
            "direction",
            f"direction must be +1 (group 1 mean larger) or -1 (group 1 mean smaller), "
            f"got {value!r}",
        )
    return 1 if value == 1 else -1


def _probability(field: str, value: object) -> float:
    p = _real(field, value)
    if not 0.0 < p < 1.0:
        raise ConversionError(field, f"{field} must lie strictly between 0 and 1, got {value!r}")
    return p


def _positive(field: str, value: object) -> float:
    x = _real(field, value)
    if x <= 0.0:
        raise ConversionError(field, f"{field} must be > 0, got {value!r}")
    return x


# --------------------------------------------------------------------------- core


def small_sample_j(df: float) -> float:
    """Hedges' small-sample correction ``J = 1 - 3/(4·df - 1)``, ``df = n1 + n2 - 2``.

    Borenstein et al. 2009, eq. 4.22; the approximation (Hedges 1981) to the exact
    ``c(m) = Γ(m/2) / (sqrt(m/2)·Γ((m-1)/2))`` (which metafor's ``escalc`` uses): J exceeds
    it by 1.3 % at df = 2, 0.04 % at df = 10, 0.004 % at df = 28. ``df`` must be > 1.
    """
    x = _real("df", df)
    if x <= 1.0:
        raise ConversionError("df", f"df must be > 1, got {df!r}")
    return 1.0 - 3.0 / (4.0 * x - 1.0)


def var_d(d: float, n1: int, n2: int) -> float:
    """Large-sample variance of Cohen's d: ``V_d = (n1+n2)/(n1·n2) + d²/(2(n1+n2))``.

    Borenstein et al. 2009, eq. 4.20 (Hedges & Olkin 1985).
    """
    dd = _real("d", d)
    a, b = _groups(n1, n2)
    return (a + b) / (a * b) + dd * dd / (2.0 * (a + b))


def _effect(
    d: float,
    n1: int,
    n2: int,
    *,
    method: str,
    formula: str,
    citation: str,
    variance: float | None = None,
    bound: bool = False,
    approximate: bool = False,
    sd_implied: float | None = None,
) -> Effect:
    v = var_d(d, n1, n2) if variance is None else variance
    j = small_sample_j(n1 + n2 - 2)
    return Effect(
        d=d,
        var_d=v,
        g=j * d,
        var_g=j * j * v,
        n1=n1,
        n2=n2,
        method=method,
        formula=formula,
        citation=citation,
        bound=bound,
        approximate=approximate,
        sd_implied=sd_implied,
    )


def _d_from_t(t: float, n1: int, n2: int) -> float:
    return t * math.sqrt(1.0 / n1 + 1.0 / n2)


def from_d(d: float, n1: int, n2: int) -> Effect:
    """A reported Cohen's d (pooled-SD standardised): adds ``V_d``, ``J``, ``g``, ``V_g``.

    ``V_d = (n1+n2)/(n1 n2) + d²/(2(n1+n2))``, ``J = 1 - 3/(4 df - 1)``, ``g = J·d``,
    ``V_g = J²·V_d`` (Borenstein et al. 2009, eq. 4.20, 4.22-4.24; Hedges 1981).
    """
    dd = _real("d", d)
    a, b = _groups(n1, n2)
    return _effect(dd, a, b, method="d", formula="d as reported", citation=_CITE_D)


def from_t(t: float, n1: int, n2: int) -> Effect:
    """Independent-groups t statistic: ``d = t·sqrt(1/n1 + 1/n2)``; the sign of t is kept.

    ``t`` must be the pooled two-sample t (group 1 minus group 2), so that
    ``t = Δ/(s·sqrt(1/n1 + 1/n2))`` and ``d = Δ/s``. Lipsey & Wilson 2001, appendix B (d from
    t); V_d, J, g as in :func:`from_d` (Borenstein et al. 2009, eq. 4.20, 4.22-4.24).
    """
    tt = _real("t", t)
    a, b = _groups(n1, n2)
    return _effect(
        _d_from_t(tt, a, b),
        a,
        b,
        method="t",
        formula="d = t·sqrt(1/n1 + 1/n2)",
        citation=_CITE_T,
    )


def from_f(
    f: float,
    n1: int,
    n2: int,
    *,
    df1: float = 1,
    df2: float | None = None,
    direction: int,
) -> Effect:
    """F(1, df2) of a two-group comparison: ``|t| = sqrt(F)``, ``d = ±sqrt(F)·sqrt(1/n1 + 1/n2)``.

    F carries no sign: ``direction`` (+1 or -1) supplies it. Only ``df1 = 1`` (two groups) has a
    single d; ``df1 ≠ 1`` is refused. ``df2`` defaults to ``n1 + n2 - 2``; it does not enter
    the formula, but a ``df2`` below ``n1 + n2 - 2`` means a covariate-adjusted (ANCOVA or
    mixed-model) F, whose d is standardised by the residual SD, so the result is flagged
    ``approximate``; a ``df2`` above ``n1 + n2 - 2`` cannot come from a between-groups
    comparison of these groups (e.g. a repeated-measures F) and is refused. Lipsey & Wilson
    2001, appendix B (d from F with df1 = 1); Borenstein et al. 2009, eq. 4.20, 4.22-4.24.

    Example: Wollmer et al. 2012, F(1, 28) = 12.30 with 15/15 gives
    ``d = sqrt(12.30·30/225) = 1.2806`` (reported d = 1.28).
    """
    ff = _real("f", f)
    if ff < 0.0:
        raise ConversionError("f", f"f must be ≥ 0 (an F statistic), got {f!r}")
    a, b = _groups(n1, n2)
    sign = _direction(direction)
    numerator_df = _real("df1", df1)
    if numerator_df != 1.0:
        raise ConversionError(
            "df1",
            f"df1 must be 1 (a comparison of two groups); got {df1!r}: an F on {df1!r} "
            "numerator df compares more than two groups and carries no single d",
        )
    df = a + b - 2
    if df2 is None:
        error_df = float(df)
    else:
        error_df = _real("df2", df2)
        if error_df <= 0.0:
            raise ConversionError("df2", f"df2 must be > 0, got {df2!r}")
        if error_df > df + 1e-9:
            raise ConversionError(
                "df2",
                f"df2 = {df2!r} exceeds n1 + n2 - 2 = {df}: not a between-groups F of these "
                "two groups (a within-subject or repeated-measures F has no d here)",
            )
    adjusted = abs(error_df - df) > 1e-9
    formula = "|t| = sqrt(F); d = direction·sqrt(F)·sqrt(1/n1 + 1/n2)"
    if adjusted:
        formula += (
            f" (df2 = {significant(error_df, 6)} < n1+n2-2 = {df}: adjusted F, residual-SD d)"
        )
    return _effect(
        sign * _d_from_t(math.sqrt(ff), a, b),
        a,
        b,
        method="F",
        formula=formula,
        citation="Lipsey & Wilson 2001, app. B (d from F, df1 = 1); " + _CITE_D,
        approximate=adjusted,
    )


_P_TEXT = re.compile(
    r"""^\s*
    (?:p(?:[\s-]*value)?)?\s*             # optional "p" / "p-value"
    (?P<op><=|=<|>=|=>|≤|≥|<|>|=)?\s*     # optional relation
    (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def parse_p(text: str) -> tuple[float, bool]:
    """Read a reported p-value: ``(value, is_bound)``.

    ``"0.002"`` and ``"p = 0.053"`` are exact (``is_bound`` False); ``"<0.0005"``,
    ``"p < .001"``, ``"p ≤ 0.01"`` are upper bounds (``is_bound`` True: the effect they imply,
    see :func:`from_p_bound`, is a conservative value usable only in a labelled sensitivity
    analysis). A lower bound (``"p > 0.05"``) bounds ``|d|`` from above and gives no usable
    effect: refused, as are text that is not a p-value and values outside (0, 1).
    """
    if not isinstance(text, str):
        raise ConversionError("p", f"p must be text such as 'p = 0.03', got {text!r}")
    match = _P_TEXT.match(text)
    if match is None:
        raise ConversionError(
            "p", f"p text {text!r} is not a p-value such as '0.03', 'p = 0.03' or 'p < .001'"
        )
    op = match.group("op") or "="
    if op in (">", ">=", "=>", "≥"):
        raise ConversionError(
            "p",
            f"p {text!r} is a lower bound (p > x): it bounds |d| from above and gives no "
            "usable effect",
        )
    value = float(match.group("num"))
    if not 0.0 < value < 1.0:
        raise ConversionError("p", f"p must lie strictly between 0 and 1, got {text!r}")
    return value, op != "="


def _t_from_p(p: float, df: float, two_sided: bool) -> float:
    return float(stats.t.isf(p / 2.0 if two_sided else p, df))


def from_p(p: float | str, n1: int, n2: int, *, direction: int, two_sided: bool = True) -> Effect:
    """Exact p of a two-sample t-test: ``t = t⁻¹(1 - p/2; n1+n2-2)``, then :func:`from_t`.

    ``d = direction·t·sqrt(1/n1 + 1/n2)`` (Lipsey & Wilson 2001, appendix B, d from p via t;
    Cochrane Handbook v6.4 §6.5.2.3). One-sided (``two_sided=False``): ``t = t⁻¹(1 - p)``, the
    hypothesised direction being ``direction``. ``p`` may be text (:func:`parse_p`); text that
    is a bound (``p < x``) is refused: use :func:`from_p_bound`. A rounded p (``p = 0.002``)
    carries its rounding into d; a p from another test (Mann-Whitney, ANCOVA) gives only an
    approximation to the t-test d.
    """
    if isinstance(p, str):
        value, is_bound = parse_p(p)
        if is_bound:
            raise ConversionError(
                "p",
                f"p {p!r} is a bound (p < x); use from_p_bound, usable only in a labelled "
                "sensitivity analysis",
            )
    else:
        value = _probability("p", p)
    a, b = _groups(n1, n2)
    sign = _direction(direction)
    t = _t_from_p(value, a + b - 2, two_sided)
    tail = "1 - p/2" if two_sided else "1 - p"
    return _effect(
        sign * _d_from_t(t, a, b),
        a,
        b,
        method="p",
        formula=f"t = t⁻¹({tail}; df = n1+n2-2); d = direction·t·sqrt(1/n1 + 1/n2)",
        citation="Lipsey & Wilson 2001, app. B (d from p via t); Cochrane Handbook v6.4 "
        "§6.5.2.3; " + _CITE_D,
    )


def from_p_bound(
    p_upper: float, n1: int, n2: int, *, direction: int, two_sided: bool = True
) -> Effect:
    """A reported bound ``p < x``: the effect implied by ``p = x``, flagged ``bound=True``.

    Same formula as :func:`from_p` at ``p = x``: ``|d| = t⁻¹(1 - x/2; n1+n2-2)·
    sqrt(1/n1 + 1/n2)``. The true p is smaller, so the true ``|d|`` is at least this large: the
    value is conservative (biased toward zero) and never exact; use it only in a labelled
    sensitivity analysis (Cochrane Handbook v6.4 §6.5.2.3 on p-values reported as ``P < x``).
    """
    x = _probability("p_upper", p_upper)
    a, b = _groups(n1, n2)
    sign = _direction(direction)
    t = _t_from_p(x, a + b - 2, two_sided)
    tail = "1 - x/2" if two_sided else "1 - x"
    return _effect(
        sign * _d_from_t(t, a, b),
        a,
        b,
        method="p_bound",
        formula=f"p < x taken at p = x: |d| ≥ t⁻¹({tail}; n1+n2-2)·sqrt(1/n1 + 1/n2)",
        citation="Lipsey & Wilson 2001, app. B (d from p via t); Cochrane Handbook v6.4 "
        "§6.5.2.3; " + _CITE_D,
        bound=True,
    )


def from_eta2(eta2: float, n1: int, n2: int, *, direction: int, partial: bool = False) -> Effect:
    """η² of a two-group one-way ANOVA: ``d = ±sqrt(df·η²/(1-η²))·sqrt(1/n1 + 1/n2)``.

    Derivation: with two groups ``η² = SS_b/SS_t = F/(F + df)``, ``df = n1 + n2 - 2``, so
    ``t² = F = df·η²/(1 - η²)`` and ``d = |t|·sqrt(1/n1 + 1/n2)`` as in :func:`from_t`
    (Lipsey & Wilson 2001, appendix B, via F). Equivalently
    ``d² = N(N-2)/(n1 n2)·η²/(1-η²)``, ``N = n1 + n2``. η² carries no sign: ``direction``
    supplies it.

    Cohen's f: ``f = sqrt(η²/(1-η²))`` and the population relation ``d = f·N/sqrt(n1 n2)``
    (``d = 2f`` for equal groups; Cohen 1988, ch. 8; Borenstein et al. 2009, eq. 7.5-7.7 with
    ``a = N²/(n1 n2)``, see :func:`d_from_r_population`) divide the within-group sum of squares
    by N instead of N - 2 and so exceed the sample d by the factor ``sqrt(N/(N-2))``. Worked
    example: η² = 0.31 with 15/15 gives ``2·sqrt(0.31/0.69) = 1.3406`` ("about 1.34") by the
    population relation but ``sqrt(28·0.31/0.69)·sqrt(2/15) = 1.2951`` here; 1.3406/1.2951 =
    sqrt(30/28). The η² = 0.31 Wollmer et al. 2012 printed is F/(F + 28) = 12.30/40.30 =
    0.3052 rounded; that unrounded value returns d = 1.2806, their F-based d (reported 1.28),
    exactly as :func:`from_f` does.

    ``partial=True``: a partial η² ``SS_effect/(SS_effect + SS_error)`` from a model with other
    terms (covariates, factors) maps to that model's F; taking its error df as ``n1 + n2 - 2``
    and the residual SD as the pooled SD is an approximation (``approximate=True``). Without
    other terms partial and classical η² coincide.
    """
    e = _real("eta2", eta2)
    if not 0.0 <= e < 1.0:
        raise ConversionError("eta2", f"eta2 must lie in [0, 1), got {eta2!r}")
    a, b = _groups(n1, n2)
    sign = _direction(direction)
    t = math.sqrt((a + b - 2) * e / (1.0 - e))
    return _effect(
        sign * _d_from_t(t, a, b),
        a,
        b,
        method="eta2",
        formula="t² = (n1+n2-2)·η²/(1-η²); d = direction·|t|·sqrt(1/n1 + 1/n2)",
        citation="Lipsey & Wilson 2001, app. B (via F = t²); " + _CITE_D,
        approximate=bool(partial),
    )


def eta2_from_d(d: float, n1: int, n2: int) -> float:
    """The η² of a two-group one-way ANOVA with Cohen's d: ``η² = t²/(t² + df)``.

    ``t = d/sqrt(1/n1 + 1/n2)``, ``df = n1 + n2 - 2``; the inverse of :func:`from_eta2`.
    """
    dd = _real("d", d)
    a, b = _groups(n1, n2)
    t2 = dd * dd / (1.0 / a + 1.0 / b)
    return t2 / (t2 + a + b - 2)


def from_r(r: float, n1: int, n2: int) -> Effect:
    """Point-biserial r (group 1 coded higher): ``d = r·sqrt(N(N-2)/(n1 n2 (1-r²)))``.

    Derivation: ``r² = SS_b/SS_t = t²/(t² + df)``, so ``t = r·sqrt(df/(1-r²))`` and
    ``d = t·sqrt(1/n1 + 1/n2)`` (as :func:`from_t`; Lipsey & Wilson 2001, appendix B). This is
    Borenstein et al. 2009 eq. 7.5 (``r = d/sqrt(d² + a)``, ``a = N²/(n1 n2)``) inverted,
    ``d = sqrt(a)·r/sqrt(1-r²)`` (:func:`d_from_r_population`), times ``sqrt((N-2)/N)``: eq.
    7.5 is the population relation, which standardises by a within-group SD with divisor N;
    the factor makes the result agree with the t-test d of the same data. The sign of r is kept.
    """
    rr = _real("r", r)
    if abs(rr) >= 1.0:
        raise ConversionError("r", f"r must satisfy |r| < 1, got {r!r}")
    a, b = _groups(n1, n2)
    t = rr * math.sqrt((a + b - 2) / (1.0 - rr * rr))
    return _effect(
        _d_from_t(t, a, b),
        a,
        b,
        method="r",
        formula="t = r·sqrt((n1+n2-2)/(1-r²)); d = t·sqrt(1/n1 + 1/n2)",
        citation="Lipsey & Wilson 2001, app. B; Borenstein et al. 2009, eq. 7.5 inverted "
        "(a = N²/(n1 n2)) with the (N-2)/N sample factor; " + _CITE_D,
    )


def d_from_r_population(r: float, n1: int, n2: int) -> float:
    """Borenstein et al. 2009 eq. 7.5 inverted: ``d = sqrt(a)·r/sqrt(1-r²)``, ``a = N²/(n1 n2)``.

    With equal groups ``a = 4`` and ``d = 2r/sqrt(1-r²)`` (eq. 7.8); with ``r² = η²`` this is
    Cohen's ``d = f·N/sqrt(n1 n2)``, ``f = sqrt(η²/(1-η²))``. The population relation: larger
    than the sample d of :func:`from_r` / :func:`from_eta2` by ``sqrt(N/(N-2))``. Provided
    for comparison with published conversions that used it.
    """
    rr = _real("r", r)
    if abs(rr) >= 1.0:
        raise ConversionError("r", f"r must satisfy |r| < 1, got {r!r}")
    a, b = _groups(n1, n2)
    return (a + b) / math.sqrt(a * b) * rr / math.sqrt(1.0 - rr * rr)


def from_mean_difference(
    md: float,
    n1: int,
    n2: int,
    *,
    se: float | None = None,
    ci: tuple[float, float] | None = None,
    p: float | None = None,
    level: float = 0.95,
    df: float | None = None,
) -> Effect:
    """A mean difference (group 1 minus group 2) with exactly one of its SE, CI or p.

    Cochrane Handbook v6.4 §6.5.2.3:

    * from a CI: ``SE = (ub - lb)/(2·t⁻¹((1 + level)/2; df))``;
    * from a two-sided p: ``t = t⁻¹(1 - p/2; df)``, ``SE = |MD|/t``;
    * then ``SD = SE/sqrt(1/n1 + 1/n2)`` (``sd_implied``) and ``d = MD/SD``.

    ``df`` defaults to ``n1 + n2 - 2``. The Handbook uses the t distribution for small samples
    and allows the normal value (3.92 = 2·1.96 for a 95 % CI) for large ones; t is used here
    for every size (the two agree within about 1 % once df ≥ 100); ``df=math.inf`` asks for
    the normal quantile. A ``df`` other than ``n1 + n2 - 2`` (an adjusted or mixed-model
    analysis, whose implied SD is a residual SD) flags the result ``approximate``; ``df`` plays
    no part in the SE route. The CI is assumed symmetric about MD (only its width is used), and
    MD must lie inside it. The p route gives the same d as :func:`from_p`.
    """
    mean_diff = _real("md", md)
    a, b = _groups(n1, n2)
    given = [name for name, value in (("se", se), ("ci", ci), ("p", p)) if value is not None]
    if not given:
        raise ConversionError("se", "give exactly one of se, ci or p; none was given")
    if len(given) > 1:
        raise ConversionError(
            given[1], f"give exactly one of se, ci or p; got {' and '.join(given)}"
        )
    pooled_df = a + b - 2
    if df is None:
        analysis_df = float(pooled_df)
    else:
        analysis_df = math.inf if df == math.inf else _real("df", df)
        if analysis_df <= 0.0:
            raise ConversionError("df", f"df must be > 0, got {df!r}")
    df_text = "∞ (normal)" if math.isinf(analysis_df) else significant(analysis_df, 6)
    other_df = abs(analysis_df - pooled_df) > 1e-9
    root = math.sqrt(1.0 / a + 1.0 / b)
    if se is not None:
        std_err = _positive("se", se)
        method = "md_se"
        formula = "SD = SE/sqrt(1/n1 + 1/n2); d = MD/SD"
        other_df = False
    elif ci is not None:
        lvl = _probability("level", level)
        if not isinstance(ci, tuple | list) or len(ci) != 2:
            raise ConversionError("ci", f"ci must be a pair (lower, upper), got {ci!r}")
        lower, upper = _real("ci", ci[0]), _real("ci", ci[1])
        if lower >= upper:
            raise ConversionError("ci", f"ci lower bound must be below the upper, got {ci!r}")
        if not lower <= mean_diff <= upper:
            raise ConversionError("ci", f"ci {ci!r} does not contain md = {md!r}")
        q = float(stats.t.ppf((1.0 + lvl) / 2.0, analysis_df))
        std_err = (upper - lower) / (2.0 * q)
        method = "md_ci"
        formula = (
            f"SE = (ub - lb)/(2·t⁻¹({significant((1.0 + lvl) / 2.0, 6)}; df = {df_text})); "
            "SD = SE/sqrt(1/n1 + 1/n2); d = MD/SD"
        )
    else:
        pv = _probability("p", p)
        if mean_diff == 0.0:
            raise ConversionError(
                "md", "md = 0 with a p-value: the SE cannot be recovered from p (t = 0)"
            )
        t = float(stats.t.isf(pv / 2.0, analysis_df))
        std_err = abs(mean_diff) / t
        method = "md_p"
        formula = (
            f"t = t⁻¹(1 - p/2; df = {df_text}); SE = |MD|/t; SD = SE/sqrt(1/n1 + 1/n2); d = MD/SD"
        )
    sd = std_err / root
    return _effect(
        mean_diff / sd,
        a,
        b,
        method=method,
        formula=formula,
        citation="Cochrane Handbook v6.4 §6.5.2.3; " + _CITE_D,
        approximate=other_df,
        sd_implied=sd,
    )


# --------------------------------------------------------------------------- binary outcomes


def log_or_from_table(
    a: float, b: float, c: float, d: float, *, correction: float = 0.5
) -> tuple[float, float]:
    """Log odds ratio of a 2x2 table and its variance (Woolf): ``(ln(ad/bc), 1/a+1/b+1/c+1/d)``.

    ``a``, ``b``: events and non-events in group 1; ``c``, ``d``: in group 2 (OR > 1: group 1
    has the higher odds of the event). ``correction`` (default 0.5) is added to all four cells
    only when a cell is zero. A table with no events (``a = c = 0``) or no non-events
    (``b = d = 0``) in both groups has no estimable odds ratio and is refused. Borenstein et al.
    2009, ch. 5 (log OR and its variance); Woolf 1955; Cochrane Handbook v6.4 ch. 10 (zero
    cells).
    """
    cells = {"a": _real("a", a), "b": _real("b", b), "c": _real("c", c), "d": _real("d", d)}
    for name, value in cells.items():
        if value < 0.0:
            raise ConversionError(name, f"{name} must be ≥ 0 (a cell count), got {value!r}")
    corr = _positive("correction", correction)
    x1, y1, x2, y2 = cells["a"], cells["b"], cells["c"], cells["d"]
    if x1 + y1 == 0.0:
        raise ConversionError("a", "a + b = 0: group 1 is empty")
    if x2 + y2 == 0.0:
        raise ConversionError("c", "c + d = 0: group 2 is empty")
    if x1 + x2 == 0.0:
        raise ConversionError("a", "a = c = 0 (no events in either group): OR not estimable")
    if y1 + y2 == 0.0:
        raise ConversionError("b", "b = d = 0 (no non-events in either group): OR not estimable")
    if 0.0 in (x1, y1, x2, y2):
        x1, y1, x2, y2 = x1 + corr, y1 + corr, x2 + corr, y2 + corr
    return math.log(x1 * y2 / (y1 * x2)), 1.0 / x1 + 1.0 / y1 + 1.0 / x2 + 1.0 / y2


_SQRT3_PI = math.sqrt(3.0) / math.pi


def d_from_log_or(log_or: float, var_log_or: float) -> tuple[float, float]:
    """Logit conversion: ``d = ln(OR)·sqrt(3)/π``, ``V_d = V_lnOR·3/π²``.

    Assumes a continuous outcome, dichotomised, with a logistic distribution (SD π/sqrt(3)) in
    each group. Borenstein et al. 2009, eq. 7.1-7.2; Hasselblad & Hedges 1995; Chinn 2000.
    """
    lor = _real("log_or", log_or)
    v = _positive("var_log_or", var_log_or)
    return lor * _SQRT3_PI, v * 3.0 / math.pi**2


def log_or_from_d(d: float, var_d: float) -> tuple[float, float]:
    """Inverse logit conversion: ``ln(OR) = d·π/sqrt(3)``, ``V_lnOR = V_d·π²/3``.

    Borenstein et al. 2009, eq. 7.3-7.4; Hasselblad & Hedges 1995; Chinn 2000.
    """
    dd = _real("d", d)
    v = _positive("var_d", var_d)
    return dd / _SQRT3_PI, v * math.pi**2 / 3.0


def from_log_or(log_or: float, var_log_or: float, n1: int, n2: int) -> Effect:
    """An :class:`Effect` from a log odds ratio by the logit conversion (:func:`d_from_log_or`).

    ``d = ln(OR)·sqrt(3)/π``, ``V_d = V_lnOR·3/π²`` (Borenstein et al. 2009, eq. 7.1-7.2;
    Hasselblad & Hedges 1995; Chinn 2000), then ``g = J·d``, ``V_g = J²·V_d`` (eq. 4.22-4.24).
    ``approximate=True``: the logistic-distribution assumption.
    """
    dd, v = d_from_log_or(log_or, var_log_or)
    a, b = _groups(n1, n2)
    return _effect(
        dd,
        a,
        b,
        method="log_or",
        formula="d = ln(OR)·sqrt(3)/π; V_d = V_lnOR·3/π²",
        citation="Borenstein et al. 2009, eq. 7.1-7.2; Hasselblad & Hedges 1995; Chinn 2000; "
        "eq. 4.22-4.24 (J, g, V_g)",
        variance=v,
        approximate=True,
    )


def log_or_from_chi2(chi2: float, n1: int, n2: int, *, direction: int) -> Effect:
    """Pearson χ²(1) of a 2x2 table: ``φ = sqrt(χ²/N)`` treated as a point-biserial r, then d.

    ``r = direction·φ`` and ``d = r·sqrt(N(N-2)/(n1 n2 (1-r²)))`` as in :func:`from_r`
    (Lipsey & Wilson 2001, appendix B, d from χ²/φ; Borenstein et al. 2009, eq. 7.5 inverted).
    χ² must be the uncorrected Pearson statistic (Yates' correction shrinks it). This is an
    approximation (``approximate=True``): it standardises a 0/1 outcome by its own SD, which
    typically understates the latent continuous d; with the table at hand prefer
    :func:`log_or_from_table` and :func:`from_log_or` (Sánchez-Meca et al. 2003, Psychol
    Methods 8:448). Despite the name the result is a d (:class:`Effect`), not a log OR.
    """
    x = _real("chi2", chi2)
    if x < 0.0:
        raise ConversionError("chi2", f"chi2 must be ≥ 0, got {chi2!r}")
    a, b = _groups(n1, n2)
    sign = _direction(direction)
    n = a + b
    if x >= n:
        raise ConversionError("chi2", f"chi2 = {chi2!r} must be below N = {n} for a 2x2 table")
    r = sign * math.sqrt(x / n)
    t = r * math.sqrt((n - 2) / (1.0 - r * r))
    return _effect(
        _d_from_t(t, a, b),
        a,
        b,
        method="chi2",
        formula="φ = sqrt(χ²/N); r = direction·φ; d = r·sqrt(N(N-2)/(n1 n2 (1-r²)))",
        citation="Lipsey & Wilson 2001, app. B (d from χ²); Borenstein et al. 2009, eq. 7.5 "
        "inverted; " + _CITE_D,
        approximate=True,
    )


# --------------------------------------------------------------------------- medians


def _median_summary(
    names: tuple[str, str, str], low: float, mid: float, high: float, n: int
) -> tuple[float, float, float, int]:
    lo, md, hi = _real(names[0], low), _real(names[1], mid), _real(names[2], high)
    size = _whole("n", n)
    if lo > md:
        raise ConversionError(names[0], f"{names[0]} = {low!r} exceeds the {names[1]} = {mid!r}")
    if md > hi:
        raise ConversionError(names[2], f"{names[2]} = {high!r} is below the {names[1]} = {mid!r}")
    if hi <= lo:
        raise ConversionError(names[2], f"{names[2]} = {high!r} must exceed {names[0]} = {low!r}")
    return lo, md, hi, size


def mean_sd_from_median_iqr(q1: float, median: float, q3: float, n: int) -> tuple[float, float]:
    """Estimated ``(mean, sd)`` from the quartiles and median: approximations assuming normality.

    SD: Wan et al. 2014, eq. 16 (scenario C3):
    ``SD ≈ (q3 - q1) / (2·Φ⁻¹((0.75n - 0.125)/(n + 0.25)))`` (→ IQR/1.35 as n grows).
    Mean: Luo et al. 2018 (scenario {q1, m, q3}):
    ``mean ≈ w·(q1 + q3)/2 + (1 - w)·m`` with ``w = 0.7 + 0.39/n``.
    Both assume roughly normal data; with a skewed distribution (median far from the mid-quartile)
    they can be poor, and a meta-analysis should mark such a study.
    """
    lo, md, hi, size = _median_summary(("q1", "median", "q3"), q1, median, q3, n)
    z = float(stats.norm.ppf((0.75 * size - 0.125) / (size + 0.25)))
    w = 0.7 + 0.39 / size
    return w * (lo + hi) / 2.0 + (1.0 - w) * md, (hi - lo) / (2.0 * z)


def mean_sd_from_median_range(
    minimum: float, median: float, maximum: float, n: int
) -> tuple[float, float]:
    """Estimated ``(mean, sd)`` from the range and median: approximations assuming normality.

    SD: Wan et al. 2014, eq. 7 (scenario C1):
    ``SD ≈ (max - min) / (2·Φ⁻¹((n - 0.375)/(n + 0.25)))``.
    Mean: Luo et al. 2018 (scenario {min, m, max}):
    ``mean ≈ w·(min + max)/2 + (1 - w)·m`` with ``w = 4/(4 + n^0.75)``.
    Both assume roughly normal data; the range is sensitive to outliers and skew, so these are
    cruder than :func:`mean_sd_from_median_iqr`.
    """
    lo, md, hi, size = _median_summary(
        ("minimum", "median", "maximum"), minimum, median, maximum, n
    )
    z = float(stats.norm.ppf((size - 0.375) / (size + 0.25)))
    w = 4.0 / (4.0 + size**0.75)
    return w * (lo + hi) / 2.0 + (1.0 - w) * md, (hi - lo) / (2.0 * z)
