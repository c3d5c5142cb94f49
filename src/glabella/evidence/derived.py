"""Effect sizes derived from the statistics a trial reports: which inputs each route needs.

A study file may carry, on a continuous outcome, an ``effect`` block: the statistic the paper
printed (t, F, an exact p, a bound "p < x", Cohen's d, η², a mean difference with its SE / CI /
p, or χ²(1)), each input as a provenance object, the direction of the reported contrast and any
assumption (e.g. an equal split of an unreported allocation). This module knows, for every
route, which inputs are required and which :mod:`glabella.evidence.convert` function turns them
into Hedges' g; :mod:`glabella.evidence.studies` validates the provenance and calls
:func:`compute_effect`. Pure: no I/O.

Sign convention (as everywhere in the evidence base): ``g`` is intervention minus control on a
symptom score, so a negative ``g`` favours the toxin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from glabella.evidence import convert
from glabella.evidence.convert import ConversionError, Effect

__all__ = [
    "DIRECTIONS",
    "ROUTES",
    "Route",
    "compute_effect",
]


@dataclass(frozen=True)
class Route:
    """One way from reported statistics to Hedges' g."""

    key: str
    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # exactly one of these (mean difference: se, ci or p)


ROUTES: dict[str, Route] = {
    r.key: r
    for r in (
        Route("t", "two-group t statistic", ("t", "n1", "n2")),
        Route("F", "F(1, df) of a two-group comparison", ("F", "n1", "n2"), ("df1", "df2")),
        Route("p", "exact two-sided p value", ("p", "n1", "n2")),
        Route("p_bound", "bound on the p value (p < x): conservative", ("p", "n1", "n2")),
        Route("d", "reported Cohen's d", ("d", "n1", "n2")),
        Route("eta2", "eta squared of a two-group comparison", ("eta2", "n1", "n2")),
        Route(
            "md",
            "mean difference with its SE, CI or p (e.g. an MMRM least-squares difference)",
            ("md", "n1", "n2"),
            ("ci_ub",),
            ("se", "ci_lb", "p"),
        ),
        Route("chi2", "chi-square(1) of a 2x2 table: approximate", ("chi2", "n1", "n2")),
        Route(
            "counts",
            "responder counts as a log odds ratio, converted to d (Chinn 2000): approximate",
            ("events1", "n1", "events2", "n2"),
        ),
    )
}

#: Direction of the reported contrast: which group did better on the symptom score.
DIRECTIONS: dict[str, int] = {
    "favours_intervention": -1,  # the toxin group's score fell more: g < 0
    "favours_control": 1,
}


def _whole(name: str, value: float) -> int:
    if value != int(value) or value < 2:
        raise ConversionError(name, f"{name} must be a whole number >= 2, got {value:g}")
    return int(value)


def _from_counts(inputs: Mapping[str, float], n1: int, n2: int, sign: int) -> Effect:
    """Responders per arm -> log OR (Woolf; 0.5 added to every cell of a zero-cell table) -> d.

    ``d = ln OR · √3/π`` and ``Var(d) = Var(ln OR) · 3/π²`` (Hasselblad & Hedges 1995; Chinn
    2000; Borenstein et al. 2009, eq. 7.1-7.2), then Hedges' ``g = J·d`` with
    ``J = 1 - 3/(4(n1+n2-2) - 1)``. More responders with the toxin means lower scores, so the
    sign of d is reversed to the score scale (negative favours the toxin).
    """
    a, c = float(inputs["events1"]), float(inputs["events2"])
    for name, ev, n in (("events1", a, n1), ("events2", c, n2)):
        if ev != int(ev) or not 0 <= ev <= n:
            raise ConversionError(name, f"{name} must be a count between 0 and N, got {ev:g}")
    lor, var_lor = convert.log_or_from_table(a, n1 - a, c, n2 - c)
    d_resp, var_d = convert.d_from_log_or(lor, var_lor)
    d = -d_resp
    if d != 0 and (d > 0) != (sign > 0):
        raise ConversionError("events1", "the responder counts contradict the stated direction")
    j = convert.small_sample_j(n1 + n2 - 2)
    return Effect(
        d=d,
        var_d=var_d,
        g=j * d,
        var_g=j * j * var_d,
        n1=n1,
        n2=n2,
        method="counts",
        formula=(
            "ln OR = ln[(a+0.5)(d+0.5)/((b+0.5)(c+0.5))] when a cell is 0; d = ln OR·√3/π, "
            "Var(d) = Var(ln OR)·3/π²; g = J·d, J = 1 - 3/(4 df - 1)"
        ),
        citation="Chinn 2000, Stat Med 19:3127; Borenstein et al. 2009, eq. 7.1-7.2, 4.22-4.23",
        approximate=True,
    )


def compute_effect(route: str, inputs: Mapping[str, float], direction: str) -> Effect:
    """Hedges' g and its variance from the inputs of one route (ConversionError if unusable).

    ``inputs`` holds plain values keyed as in :data:`ROUTES`; ``direction`` is a key of
    :data:`DIRECTIONS`. Statistics without a sign (F, p, χ², η²) take it from ``direction``;
    a signed t, d or mean difference must agree with it.
    """
    if route not in ROUTES:
        raise ConversionError("statistic", f"statistic must be one of {sorted(ROUTES)}")
    if direction not in DIRECTIONS:
        raise ConversionError("direction", f"direction must be one of {sorted(DIRECTIONS)}")
    spec = ROUTES[route]
    missing = [name for name in spec.required if name not in inputs]
    if missing:
        raise ConversionError(missing[0], f"input {missing[0]} is missing for route {route}")
    sign = DIRECTIONS[direction]
    n1 = _whole("n1", inputs["n1"])
    n2 = _whole("n2", inputs["n2"])

    def signed(name: str) -> float:
        value = float(inputs[name])
        if value != 0 and (value > 0) != (sign > 0):
            raise ConversionError(
                name, f"{name} = {value:g} has the opposite sign to direction {direction}"
            )
        return value

    if route == "t":
        return convert.from_t(signed("t"), n1, n2)
    if route == "d":
        return convert.from_d(signed("d"), n1, n2)
    if route == "F":
        df2 = inputs.get("df2")
        return convert.from_f(
            float(inputs["F"]),
            n1,
            n2,
            df1=float(inputs.get("df1", 1)),
            df2=float(df2) if df2 is not None else None,
            direction=sign,
        )
    if route == "p":
        return convert.from_p(float(inputs["p"]), n1, n2, direction=sign)
    if route == "p_bound":
        return convert.from_p_bound(float(inputs["p"]), n1, n2, direction=sign)
    if route == "eta2":
        return convert.from_eta2(float(inputs["eta2"]), n1, n2, direction=sign)
    if route == "counts":
        return _from_counts(inputs, n1, n2, sign)
    if route == "chi2":
        return convert.log_or_from_chi2(float(inputs["chi2"]), n1, n2, direction=sign)
    # mean difference: exactly one of se, ci (lb and ub) or p
    given = [k for k in ("se", "ci_lb", "p") if k in inputs]
    if len(given) != 1:
        raise ConversionError("md", "a mean difference needs exactly one of se, ci_lb/ci_ub or p")
    md = signed("md")
    if "se" in inputs:
        return convert.from_mean_difference(md, n1, n2, se=float(inputs["se"]))
    if "ci_lb" in inputs:
        if "ci_ub" not in inputs:
            raise ConversionError("ci_ub", "ci_lb needs ci_ub")
        ci = (float(inputs["ci_lb"]), float(inputs["ci_ub"]))
        return convert.from_mean_difference(md, n1, n2, ci=ci)
    return convert.from_mean_difference(md, n1, n2, p=float(inputs["p"]))
