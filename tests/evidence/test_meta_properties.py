"""Properties of the meta-analysis engine (Hypothesis): order invariance, MD scale equivariance,
and common-effect = random-effects when tau² = 0."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glabella.evidence import escalc, rma
from glabella.evidence.meta import MetaResult

FAST = settings(max_examples=20, deadline=None, derandomize=True)

KEYS = ("estimate", "se", "pval", "ci_lb", "ci_ub", "tau2", "Q", "I2", "H2", "pi_lb", "pi_ub")


@st.composite
def studies(draw: st.DrawFn, min_k: int = 3, max_k: int = 12) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_k, max_k))
    y = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k))
    v = draw(st.lists(st.floats(0.005, 2.0, allow_nan=False), min_size=k, max_size=k))
    return np.array(y), np.array(v)


def _same(a: MetaResult, b: MetaResult, rel: float = 1e-9) -> None:
    for key in KEYS:
        x, y = getattr(a, key), getattr(b, key)
        if y is None:
            assert x is None, key
        else:
            assert x == pytest.approx(y, rel=rel, abs=1e-10), key


@FAST
@given(
    data=studies(),
    method=st.sampled_from(["DL", "REML", "ML", "PM", "SJ", "HE", "EB"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariant_to_study_order(
    data: tuple[np.ndarray, np.ndarray], method: str, seed: int
) -> None:
    y, v = data
    perm = np.random.default_rng(seed).permutation(y.shape[0])
    _same(rma(y[perm], v[perm], method=method), rma(y, v, method=method), rel=1e-7)


@FAST
@given(
    k=st.integers(3, 10),
    scale=st.floats(0.01, 100.0).flatmap(lambda c: st.sampled_from([c, -c])),
    seed=st.integers(0, 2**32 - 1),
)
def test_mean_difference_is_scale_equivariant(k: int, scale: float, seed: int) -> None:
    """Rescaling the outcome by c (e.g. a unit change) multiplies MD by c and its variance by
    c²; the pooled MD, its SE and tau scale by c, |c| and |c|; the tests do not change."""
    rng = np.random.default_rng(seed)
    m1, m2 = rng.normal(10, 3, k), rng.normal(11, 3, k)
    sd1, sd2 = rng.uniform(1, 5, k), rng.uniform(1, 5, k)
    n1, n2 = rng.integers(10, 200, k).astype(float), rng.integers(10, 200, k).astype(float)
    base = escalc("MD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)
    scaled = escalc(
        "MD", m1i=scale * m1, sd1i=abs(scale) * sd1, n1i=n1,
        m2i=scale * m2, sd2i=abs(scale) * sd2, n2i=n2,
    )  # fmt: skip
    assert scaled.yi == pytest.approx(scale * base.yi, rel=1e-12)
    assert scaled.vi == pytest.approx(scale**2 * base.vi, rel=1e-12)
    a = rma(base.yi, base.vi, method="REML")
    b = rma(scaled.yi, scaled.vi, method="REML")
    assert b.estimate == pytest.approx(scale * a.estimate, rel=1e-7, abs=1e-9)
    assert b.se == pytest.approx(abs(scale) * a.se, rel=1e-7)
    assert a.tau2 is not None and b.tau2 is not None
    assert b.tau2 == pytest.approx(scale**2 * a.tau2, rel=1e-6, abs=1e-12 * scale**2)
    for key in ("pval", "Q", "I2", "Q_pval"):
        assert getattr(b, key) == pytest.approx(getattr(a, key), rel=1e-6, abs=1e-12), key


@FAST
@given(
    k=st.integers(2, 12),
    mu=st.floats(-2, 2),
    method=st.sampled_from(["DL", "PM", "REML", "ML"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_effects_equals_common_effect_when_tau2_is_zero(
    k: int, mu: float, method: str, seed: int
) -> None:
    """Studies that agree far better than their sampling error (Q well below k - 1) give
    tau² = 0, and then the random-effects model is the common-effect model."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 1.0, k)
    y = mu + 0.05 * np.sqrt(v) * rng.standard_normal(k)
    fe = rma(y, v, method="FE")
    assert k - 1 > fe.Q
    re = rma(y, v, method=method)
    assert re.tau2 == 0.0
    for key in ("estimate", "se", "pval", "ci_lb", "ci_ub", "Q"):
        assert getattr(re, key) == pytest.approx(getattr(fe, key), rel=1e-12, abs=1e-14), key
    assert re.pi_lb == pytest.approx(fe.ci_lb, rel=1e-12, abs=1e-14)
