"""Meta-regression designs and subgroup analyses.

* :func:`design_matrix` builds the moderator matrix as R's ``model.matrix`` does for
  ``rma(yi, vi, mods = ~ m1 + m2 + ...)``: moderators in the order given; a continuous moderator
  is one column; a categorical one (any non-numeric value) becomes one 0/1 dummy per
  non-reference level, levels sorted and the first the reference, named ``<column><level>``
  (treatment contrasts). The intercept is added by :func:`glabella.evidence.meta.rma`.
* :func:`subgroups` fits one model per level of a grouping variable (same method and test) and
  tests the difference between subgroups with the Wald-type test of the subgroup estimates:
  an equal-effects meta-regression of the estimates ``theta_g`` with variances ``SE_g²``,
  ``Q_between = sum (theta_g - theta_bar)² / SE_g²`` on ``G - 1`` df (Borenstein et al. 2009,
  *Introduction to Meta-Analysis*, ch. 19; RevMan's test for subgroup differences; metafor's
  documentation example "subgroup analysis" with separate tau² per subgroup).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special  # chi² tail without scipy.stats' import cost

from glabella.evidence.meta import MetaError, MetaResult, rma
from glabella.evidence.tau2 import Projection

__all__ = ["SubgroupResult", "design_matrix", "is_categorical", "meta_regression", "subgroups"]

FloatArray = npt.NDArray[np.float64]
Value = str | float | int | None


def _is_number(v: Value) -> bool:
    if v is None:
        return False
    if isinstance(v, int | float):
        return True
    try:
        float(v)
    except ValueError:
        return False
    return True


def is_categorical(values: Sequence[Value]) -> bool:
    """True when any non-missing value is not a number (the column is then a factor)."""
    return any(v is not None and not _is_number(v) for v in values)


def design_matrix(
    columns: Mapping[str, Sequence[Value]], names: Sequence[str]
) -> tuple[FloatArray, tuple[str, ...]]:
    """Moderator matrix (k x m, no intercept) and column names, as R's ``model.matrix``.

    Missing values (None) are not allowed: drop those studies first.
    """
    cols: list[FloatArray] = []
    out_names: list[str] = []
    k: int | None = None
    for name in names:
        if name not in columns:
            raise MetaError(f"no moderator column {name!r}")
        values = list(columns[name])
        if k is None:
            k = len(values)
        elif len(values) != k:
            raise MetaError("moderator columns differ in length")
        if any(v is None for v in values):
            raise MetaError(f"moderator {name!r} has missing values; drop those studies first")
        if is_categorical(values):
            levels = sorted({str(v) for v in values})
            for level in levels[1:]:
                cols.append(np.array([1.0 if str(v) == level else 0.0 for v in values]))
                out_names.append(f"{name}{level}")
        else:
            cols.append(np.array([float(v) for v in values if v is not None]))
            out_names.append(name)
    if not cols:
        raise MetaError("no moderators given")
    return np.column_stack(cols), tuple(out_names)


def meta_regression(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    columns: Mapping[str, Sequence[Value]],
    names: Sequence[str],
    **kwargs: Any,
) -> MetaResult:
    """``rma()`` with moderators built by :func:`design_matrix` from named columns."""
    M, mod_names = design_matrix(columns, names)
    return rma(yi, vi, mods=M, mod_names=mod_names, **kwargs)


@dataclass(frozen=True)
class SubgroupResult:
    """Per-level models and the test for subgroup differences."""

    results: dict[str, MetaResult]
    Q_between: float | None
    Q_between_df: int
    Q_between_pval: float | None

    def to_dict(self) -> dict[str, Any]:
        """``subgroups`` object of the CLI JSON plus ``Q_between`` and its p-value."""
        return {
            "subgroups": {level: r.to_dict() for level, r in self.results.items()},
            "Q_between": self.Q_between,
            "Q_between_df": self.Q_between_df,
            "Q_between_pval": self.Q_between_pval,
        }


def q_between(estimates: Sequence[float], ses: Sequence[float]) -> tuple[float, int, float]:
    """Wald-type test of equal subgroup effects: Q of an equal-effects model of the estimates."""
    est = np.asarray(estimates, dtype=np.float64)
    se = np.asarray(ses, dtype=np.float64)
    G = int(est.shape[0])
    Q = Projection(1.0 / se**2, None).quad(est)
    return Q, G - 1, float(special.chdtrc(G - 1, Q))


def subgroups(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    groups: Sequence[Value],
    **kwargs: Any,
) -> SubgroupResult:
    """One model per level of ``groups`` (sorted) and the test for subgroup differences.

    ``kwargs`` go to :func:`glabella.evidence.meta.rma` (method, test, level, measure).
    """
    y = np.asarray(yi, dtype=np.float64)
    v = np.asarray(vi, dtype=np.float64)
    labels = [None if g is None else str(g) for g in groups]
    if len(labels) != y.shape[0]:
        raise MetaError("the grouping variable and the effect sizes differ in length")
    if any(g is None for g in labels):
        raise MetaError("the grouping variable has missing values; drop those studies first")
    levels = sorted({g for g in labels if g is not None})
    results: dict[str, MetaResult] = {}
    for level in levels:
        idx = np.array([g == level for g in labels])
        results[level] = rma(y[idx], v[idx], **kwargs)
    if len(levels) < 2:
        return SubgroupResult(results, None, 0, None)
    Q, df, p = q_between([r.estimate for r in results.values()], [r.se for r in results.values()])
    return SubgroupResult(results, Q, df, p)
