"""One entry point to the meta-analysis engine: ``fit(data, measure, method, test, mods, by)``.

It owns the dispatch rules a caller would otherwise copy: the inverse-variance models of
:func:`glabella.evidence.meta.rma` (every tau² estimator of ``METHODS``), Mantel-Haenszel and
Peto pooling of 2x2 tables (:mod:`glabella.evidence.binary`, metafor's ``rma.mh`` and
``rma.peto``), which measures and tests each takes, meta-regression on moderators
(``rma(yi, vi, mods = ~ ...)``) and subgroups (one model per level of ``by``, with the
between-groups Q test of Borenstein et al. 2009, *Introduction to Meta-Analysis*, ch. 19).
The CLI (``glabella meta``) and the metafor reference tests call it; a new pooling method is
added here once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from glabella.evidence.binary import rma_mh, rma_peto
from glabella.evidence.effects import BINARY_MEASURES, MEASURES
from glabella.evidence.meta import MetaError, MetaResult, rma
from glabella.evidence.prepared import PreparedData
from glabella.evidence.regression import design_matrix, q_between
from glabella.evidence.tau2 import METHODS

#: every pooling method: the tau² estimators of the inverse-variance model, then MH and Peto
ALL_METHODS: tuple[str, ...] = (*METHODS, "MH", "PETO")
TESTS: tuple[str, ...] = ("z", "knha")
#: the keys of a meta-regression that replace the intercept-only model's in ``to_dict``
REGRESSION_KEYS = ("coefficients", "QM", "QM_pval", "QE", "QE_pval", "R2", "tau2_residual")


class FitError(MetaError):
    """A combination of measure, method, test and options the engine does not fit."""


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` found.

    ``model`` is the model a reader should read: the meta-regression when moderators were
    given, else the pooled model. ``pooled`` is always the intercept-only (or MH/Peto) model.
    """

    model: MetaResult
    pooled: MetaResult
    subgroups: dict[str, MetaResult] | None
    q_between: tuple[float, int, float] | None

    def to_dict(self) -> dict[str, Any]:
        """The pooled model's keys, the regression keys of ``model`` and the subgroups."""
        out = self.pooled.to_dict()
        if self.model is not self.pooled:
            reg = self.model.to_dict()
            for key in REGRESSION_KEYS:
                out[key] = reg[key]
        out["subgroups"] = (
            {lv: r.to_dict() for lv, r in self.subgroups.items()} if self.subgroups else None
        )
        out["Q_between"] = self.q_between[0] if self.q_between else None
        out["Q_between_df"] = self.q_between[1] if self.q_between else None
        out["Q_between_pval"] = self.q_between[2] if self.q_between else None
        return out


def canonical_method(method: str) -> str:
    """``method`` spelled as the engine spells it (case-insensitive), or :class:`FitError`."""
    for m in ALL_METHODS:
        if m.upper() == method.strip().upper():
            return m
    raise FitError(f"unknown method {method!r}; choose one of {', '.join(ALL_METHODS)}")


def check_options(
    measure: str, method: str, test: str, level: float, mods: Sequence[str] = ()
) -> tuple[str, str, str]:
    """Canonical ``(measure, method, test)``, or :class:`FitError` saying what does not fit."""
    meas = measure.strip().upper()
    if meas not in MEASURES:
        raise FitError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    meth = canonical_method(method)
    tst = test.strip().lower()
    if tst not in TESTS:
        raise FitError(f"unknown test {test!r}; choose z or knha")
    if not 0 < level < 100:
        raise FitError(f"--level must be between 0 and 100 (got {level:g})")
    if meth in ("MH", "PETO"):
        if meas not in BINARY_MEASURES:
            raise FitError(
                f"--method {meth} needs a 2x2-table measure ({', '.join(BINARY_MEASURES)})"
            )
        if meth == "MH" and meas not in ("OR", "RR", "RD"):
            raise FitError("--method MH takes --measure OR, RR or RD")
        if meth == "PETO" and meas not in ("OR", "PETO"):
            raise FitError("--method PETO takes --measure OR or PETO")
        if tst != "z":
            raise FitError(f"--test {tst} is not available with --method {meth} (z only)")
        if mods:
            raise FitError(
                f"--mods is not available with --method {meth}; use a random-effects method"
            )
    return meas, meth, tst


def _fit_subset(
    data: PreparedData,
    idx: npt.NDArray[np.bool_] | None,
    measure: str,
    method: str,
    test: str,
    level: float,
) -> MetaResult:
    if method in ("MH", "PETO"):
        cols = {k: (v if idx is None else v[idx]) for k, v in data.inputs.items()}
        b, d = cols.get("bi"), cols.get("di")
        n1, n2 = cols.get("n1i"), cols.get("n2i")
        if method == "MH":
            res = rma_mh(cols["ai"], b, cols["ci"], d, n1i=n1, n2i=n2, measure=measure, level=level)
        else:
            res = rma_peto(cols["ai"], b, cols["ci"], d, n1i=n1, n2i=n2, level=level)
        return dataclasses.replace(res, measure=measure)
    y, v = data.effects.yi, data.effects.vi
    if idx is not None:
        y, v = y[idx], v[idx]
    return rma(y, v, method=method, test=test, level=level, measure=measure)


def fit(
    data: PreparedData,
    measure: str,
    method: str = "REML",
    test: str = "z",
    mods: Sequence[str] = (),
    by: str | None = None,
    level: float = 95.0,
) -> FitResult:
    """Fit the model metafor would fit for these options on prepared data.

    ``data`` comes from :func:`glabella.interop.csvinput.prepare` with the same ``measure``,
    ``mods`` and ``by``. The notes of the data (dropped rows, corrections) come first in the
    model's notes. Raises :class:`FitError` for a combination that does not fit, and the
    engine's :class:`MetaError`/``EffectSizeError`` for data it cannot fit.
    """
    meas, meth, tst = check_options(measure, method, test, level, mods)
    pooled = _fit_subset(data, None, meas, meth, tst, level)
    pooled = dataclasses.replace(pooled, notes=(*data.notes, *pooled.notes))
    model = pooled
    if mods:
        M, names = design_matrix(data.moderators, list(mods))
        reg = rma(
            data.effects.yi,
            data.effects.vi,
            method=meth,
            test=tst,
            level=level,
            mods=M,
            mod_names=names,
            measure=meas,
        )
        model = dataclasses.replace(reg, notes=pooled.notes)
    sub: dict[str, MetaResult] | None = None
    qb: tuple[float, int, float] | None = None
    if by is not None and data.groups is not None:
        labels = [str(g) for g in data.groups]
        sub = {}
        for lv in sorted(set(labels)):
            idx = np.array([g == lv for g in labels])
            sub[lv] = _fit_subset(data, idx, meas, meth, tst, level)
        if len(sub) > 1:
            qb = q_between([r.estimate for r in sub.values()], [r.se for r in sub.values()])
    return FitResult(model=model, pooled=pooled, subgroups=sub, q_between=qb)
