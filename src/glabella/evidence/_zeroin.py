"""Brent's root finder exactly as R's ``uniroot()`` runs it.

metafor finds the Paule-Mandel estimate (``rma.uni``) and the Q-profile confidence bounds of
tau² (``confint.rma.uni``) with ``uniroot()``. We use the same algorithm, step by step, so that
with R's tolerance (``R_UNIROOT_TOL``) the same iterates are visited; by default we run it to
machine precision (``TIGHT_TOL``), which gives the exact root. The algorithm is the bracketing
method of Brent (1973) combining bisection, linear
(secant) and inverse quadratic interpolation, in the form of Forsythe, Malcolm & Moler,
*Computer Methods for Mathematical Computations* (1977, procedure ``zeroin``) that R uses.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["R_UNIROOT_TOL", "TIGHT_TOL", "zeroin"]

#: R's default ``tol`` for ``uniroot()``: ``.Machine$double.eps^0.25``.
R_UNIROOT_TOL: float = sys.float_info.epsilon**0.25

#: Tolerance used by default here: the root to machine precision (the metafor reference values
#: for the Q-profile bounds are the exact roots).
TIGHT_TOL: float = 1e-15

_EPS = sys.float_info.epsilon


def zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    tol: float = TIGHT_TOL,
    maxiter: int = 1000,
    f_lower: float | None = None,
    f_upper: float | None = None,
) -> float:
    """A root of ``f`` in ``[lower, upper]`` (``f(lower)`` and ``f(upper)`` of opposite signs).

    The iteration keeps three abscissae: ``b`` the best approximation, ``a`` the previous one and
    ``c`` such that the root lies between ``b`` and ``c``. Each step tries inverse quadratic (or
    linear) interpolation and falls back to bisection when the interpolated point is not safely
    inside ``[b, c]``; it stops when ``|c - b| / 2 <= 2 eps |b| + tol / 2``.

    Raises:
        ValueError: if the end points do not bracket a root or the iteration does not converge.
    """
    a, b = float(lower), float(upper)
    fa = f(a) if f_lower is None else f_lower
    fb = f(b) if f_upper is None else f_upper
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0.0) == (fb > 0.0):
        raise ValueError("f() values at the end points are not of opposite sign")
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            c, fc = a, fa
    raise ValueError("root finding did not converge")
