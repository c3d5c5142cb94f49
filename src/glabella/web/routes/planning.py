"""Trial planning for researchers: the page and the JSON API (a thin adapter).

Page (signed-in staff, researchers included, like the evidence pages):
``GET /evidence/planning`` — plan the next trial on the pooled evidence of a disorder: sample
size on the pooled effect, its CI bound or the prediction bound; the active-placebo
(functional-unblinding) scenario; assurance with the random-effects and the Bayesian
predictive; power and assurance against n as charts; each existing trial's power and minimum
detectable effect. The form is a GET (nothing is stored), fractions may be typed as ``80%``.

JSON (``/api/v1/planning/...``): ``means``, ``proportions``, ``crossover``, ``assurance``,
``simulate`` (bounded), ``evidence`` and ``retrospective``. Bad input answers 422 with
``{"error": {"code", "message", "field"}}`` naming the parameter. Formulas and citations:
:mod:`glabella.evidence.planning` and :mod:`glabella.evidence.plan_evidence`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from glabella.evidence import plan_evidence as pe
from glabella.evidence import planning as pl
from glabella.evidence import synthesis as sy
from glabella.evidence.planning import PlanningError
from glabella.evidence.studies import DISORDERS, EvidenceBase
from glabella.services.context import Actor
from glabella.services.errors import Invalid, NotFound
from glabella.web.deps import page_user, request_actor
from glabella.web.evidence_charts import fmt_number
from glabella.web.planning_charts import Series, line_chart_svg
from glabella.web.routes.evidence import OFF_LABEL, current_evidence
from glabella.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/planning", tags=["planning"])
ActorDep = Annotated[Actor, Depends(request_actor)]
T = TypeVar("T")

#: Simulation bounds for the web (CPU on a shared server).
MAX_SIMS = 10_000
MAX_SIM_N = 2_000
MAX_SIM_WORK = 20_000_000
#: Domain field names that the API calls differently.
_FIELD_ALIASES = {"shrink": "unblinding", "target": "power"}
_MAX_TEXT = 32


def _domain(call: Callable[[], T]) -> T:
    """Run a planning call; a PlanningError becomes a 422 naming the field."""
    try:
        return call()
    except PlanningError as exc:
        field = exc.field
        raise Invalid(str(exc), field=_FIELD_ALIASES.get(field or "", field)) from None
    except (ArithmeticError, FloatingPointError):
        raise Invalid(
            "the numbers are outside the range the formulas can handle; check every value"
        ) from None


def _disorder(code: str) -> str:
    key = code.strip().lower()
    if key not in DISORDERS:
        raise NotFound(
            f"unknown disorder {code!r}; choose one of {', '.join(DISORDERS)}", field="disorder"
        )
    return key


def _synthesis(base: EvidenceBase, disorder: str, outcome: str) -> sy.Synthesis:
    code = _disorder(disorder)
    key = outcome.strip().lower().replace("-", "_")
    if key == "headline":
        lead = sy.headline(code, base=base).lead
        if lead is None:
            raise Invalid(
                f"{DISORDERS[code]} has no pooled headline to plan on (fewer than "
                f"{sy.HEADLINE_MIN_K} comparisons pool for any outcome)",
                field="disorder",
            )
        return lead
    if key not in sy.POOLED_OUTCOMES:
        raise Invalid(
            f"unknown outcome {outcome!r}; choose headline or one of "
            f"{', '.join(sy.POOLED_OUTCOMES)}",
            field="outcome",
        )
    return sy.pool(code, key, base=base)


def _grid(n_needed: int | None) -> list[int]:
    """About 40 values of n per arm from 4 up to about 2.5 times the planned n (60 at least)."""
    top = max(60, min(4000, int(2.5 * (n_needed or 24))))
    step = max(1, math.ceil((top - 4) / 40))
    return list(range(4, top + 1, step))


def _charts(syn: sy.Synthesis, plan: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    n_plan = plan["inert_placebo"]["n1_evaluable"]
    need = max(
        n_plan,
        plan["active_placebo"]["n1_evaluable"] if "active_placebo" in plan else 0,
        plan["n_for_assurance"]["n1_evaluable"] if plan.get("n_for_assurance") else 0,
    )
    ns = _grid(need)
    c = pe.curves(
        syn,
        ns,
        basis=plan["basis"],
        alpha=settings["alpha"],
        ratio=settings["ratio"],
        baseline_correlation=settings["baseline_correlation"],
        unblinding_shrink=settings["unblinding_shrink"],
    )
    shrink = settings["unblinding_shrink"]
    power_series = [Series("inert placebo", c["power"], "#1565c0")]
    if "power_active_placebo" in c:
        power_series.append(
            Series(f"active placebo (−{shrink:.0%})", c["power_active_placebo"], "#c62828", "6 4")
        )
    out: dict[str, Any] = {
        "curves": c,
        "power_svg": line_chart_svg(
            "power-curve",
            "Power against patients per arm",
            f"Power of a two-arm trial at the planning effect ({plan['planning_effect_text']}), "
            f"two-sided alpha {settings['alpha']:g}; dotted line 80%; dashed line the planned n.",
            ns,
            power_series,
            x_label="evaluable patients in the toxin arm",
            y_label="power",
            marker=n_plan,
        ),
    }
    if "assurance_normal" in c:
        out["assurance_svg"] = line_chart_svg(
            "assurance-curve",
            "Assurance against patients per arm",
            "Probability that the trial succeeds (significant in favour of the toxin), averaged "
            "over the uncertainty in the effect: random-effects predictive and Bayesian "
            "predictive. It levels off below 100% because a new trial's true effect may be "
            "zero or negative.",
            ns,
            [
                Series("random-effects", c["assurance_normal"], "#2e7d32"),
                Series("Bayesian", c["assurance_bayes"], "#6a1b9a", "6 4"),
                Series("power (fixed effect)", c["power"], "#1565c0", "2 3"),
            ],
            x_label="evaluable patients in the toxin arm",
            y_label="assurance",
            marker=n_plan,
        )
    return out


def retrospective_view(syn: sy.Synthesis | None, base: EvidenceBase) -> dict[str, Any] | None:
    """The disorder page's table of what each trial could detect (None without an SMD lead)."""
    if syn is None or syn.primary is None or syn.primary.measure != "SMD":
        return None
    rows = pe.retrospective_rows(syn, base)
    eff = pe.evidence_effect(syn)
    return {
        "rows": [r.to_dict() for r in rows],
        "summary": pe.retrospective_summary(rows, eff),
        "pooled": abs(eff.estimate),
        "ci_bound": -eff.ci_ub if eff.ci_ub < 0 else None,
    }


# --- page ---------------------------------------------------------------------------------


def _text_fraction(name: str, raw: str | None, default: float | None) -> float | None:
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if len(text) > _MAX_TEXT:
        raise PlanningError(f"{name} is too long ({len(text)} characters)")
    pct = text.endswith("%")
    try:
        value = float(text.rstrip("%").strip().replace(",", "."))
    except ValueError:
        raise PlanningError(f"{name}: {raw!r} is not a number (e.g. 0.8 or 80%)") from None
    return value / 100.0 if pct else value


_FORM_FIELDS = (
    "disorder",
    "outcome",
    "basis",
    "power",
    "alpha",
    "ratio",
    "dropout",
    "baseline_correlation",
    "unblinding",
)


@router.get("/evidence/planning")
def planning_page(request: Request) -> HTMLResponse:
    user = page_user(request)
    base = current_evidence()
    q = {k: (request.query_params.get(k) or "")[:64] for k in _FORM_FIELDS}
    form = {
        "disorder": q["disorder"] or "mdd",
        "outcome": q["outcome"] or "headline",
        "basis": q["basis"] or "pooled",
        "power": q["power"] or "0.8",
        "alpha": q["alpha"] or "0.05",
        "ratio": q["ratio"] or "1",
        "dropout": q["dropout"] or "0.15",
        "baseline_correlation": q["baseline_correlation"],
        "unblinding": q["unblinding"] or "0.3",
    }
    context: dict[str, Any] = {
        "user": user,
        "form": form,
        "disorders": DISORDERS,
        "outcomes": ["headline", "change", "response", "remission"],
        "bases": pe.BASES,
        "off_label": OFF_LABEL,
        "version": base.version,
        "fmt": fmt_number,
        "error": None,
        "error_field": None,
        "plan": None,
    }
    try:
        syn = _synthesis(base, form["disorder"], form["outcome"])
        settings = {
            "power": _text_fraction("power", form["power"], 0.8),
            "alpha": _text_fraction("alpha", form["alpha"], 0.05),
            "ratio": _text_fraction("ratio", form["ratio"], 1.0),
            "dropout": _text_fraction("dropout", form["dropout"], 0.0),
            "baseline_correlation": _text_fraction(
                "baseline_correlation", form["baseline_correlation"], None
            ),
            "unblinding_shrink": _text_fraction("unblinding", form["unblinding"], 0.0),
        }
        plan = _domain(
            lambda: pe.plan_from_evidence(
                syn,
                basis=form["basis"].strip().lower(),
                power=settings["power"] or 0.0,
                alpha=settings["alpha"] or 0.0,
                ratio=settings["ratio"] or 0.0,
                dropout=settings["dropout"] or 0.0,
                baseline_correlation=settings["baseline_correlation"],
                unblinding_shrink=settings["unblinding_shrink"] or 0.0,
            )
        )
        context["plan"] = plan
        context["charts"] = _domain(lambda: _charts(syn, plan, plan["settings"]))
        context["retro"] = (
            retrospective_view(syn, base) if syn.primary and syn.primary.measure == "SMD" else None
        )
        context["syn"] = syn
    except (Invalid, NotFound) as exc:
        context["error"], context["error_field"] = exc.message, exc.field
    except PlanningError as exc:
        context["error"], context["error_field"] = str(exc), exc.field
    status = 422 if context["error"] else 200
    return render(request, "planning.html", status_code=status, **context)


# --- JSON API -----------------------------------------------------------------------------


@api_router.get("/means")
def api_means(
    actor: ActorDep,
    d: float | None = None,
    diff: float | None = None,
    sd: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
    baseline_correlation: float | None = None,
    margin: float = 0.0,
    n1: Annotated[int | None, Query(le=10_000_000)] = None,
    n2: Annotated[int | None, Query(le=10_000_000)] = None,
) -> dict[str, Any]:
    """Two-arm continuous outcome: n per group (or the power when ``n1`` is given).

    Give ``d`` (SMD) or ``diff`` with ``sd``; ``margin`` in the same units, one-sided only.
    """
    if (d is None) == (diff is None):
        raise Invalid("give either d (SMD) or diff with sd", field="d")
    if diff is not None:
        if sd is None:
            raise Invalid("a raw diff needs the common sd", field="sd")
        if not sd > 0:
            raise Invalid(f"sd must be positive (got {sd:g})", field="sd")
        smd, m = diff / sd, margin / sd
    else:
        assert d is not None
        smd, m = d, margin
    if n1 is not None:
        value = _domain(lambda: pl.power_two_means(smd, n1, n2, alpha, sides, m))
        return {"d": smd, "n1": n1, "n2": n2 if n2 is not None else n1, "power": value}
    res = _domain(
        lambda: pl.n_two_means(smd, power, alpha, ratio, sides, dropout, baseline_correlation, m)
    )
    return res.to_dict()


@api_router.get("/proportions")
def api_proportions(
    actor: ActorDep,
    p1: float,
    p2: float,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
    margin: float = 0.0,
    pooled: bool = False,
    arcsine: bool = False,
) -> dict[str, Any]:
    """Two-arm binary outcome (``p1`` toxin, ``p2`` control): n per group."""
    if arcsine:
        return _domain(
            lambda: pl.n_two_proportions_arcsine(p1, p2, power, alpha, ratio, sides, dropout)
        ).to_dict()
    return _domain(
        lambda: pl.n_two_proportions(p1, p2, power, alpha, ratio, sides, dropout, pooled, margin)
    ).to_dict()


@api_router.get("/crossover")
def api_crossover(
    actor: ActorDep,
    d_within: float,
    power: float = 0.8,
    alpha: float = 0.05,
    sides: int = 2,
    dropout: float = 0.0,
    margin: float = 0.0,
) -> dict[str, Any]:
    """Two-period AB/BA crossover: total n (``d_within`` = difference / within-subject SD)."""
    return _domain(lambda: pl.n_crossover(d_within, power, alpha, sides, dropout, margin)).to_dict()


@api_router.get("/assurance")
def api_assurance(
    actor: ActorDep,
    mean_effect: float,
    se_effect: float,
    n1: Annotated[int, Query(le=10_000_000)],
    n2: Annotated[int | None, Query(le=10_000_000)] = None,
    tau: float = 0.0,
    alpha: float = 0.05,
    sides: int = 2,
) -> dict[str, Any]:
    """Assurance of a trial with n1, n2 when the effect ~ N(mean_effect, se² + tau²)."""
    value = _domain(lambda: pl.assurance(mean_effect, se_effect, n1, n2, alpha, sides, tau))
    return {
        "assurance": value,
        "n1": n1,
        "n2": n2 if n2 is not None else n1,
        "mean_effect": mean_effect,
        "se_effect": se_effect,
        "tau": tau,
    }


@api_router.get("/simulate")
def api_simulate(
    actor: ActorDep,
    diff: float,
    n1: Annotated[int, Query(le=MAX_SIM_N)],
    n2: Annotated[int | None, Query(le=MAX_SIM_N)] = None,
    sd: float = 1.0,
    rho: float = 0.5,
    dropout_per_visit: float = 0.0,
    visits: Annotated[str, Query(max_length=200)] = "0,3,6,9,12",
    sims: Annotated[int, Query(le=MAX_SIMS)] = 2000,
    alpha: float = 0.05,
    seed: int = 1,
    analysis: Annotated[str, Query(max_length=10)] = "change",
) -> dict[str, Any]:
    """Monte Carlo power of a repeated-measures trial with drop-out (LOCF), seeded;
    ``analysis`` = ``change`` (t test of the change) or ``ancova`` (on baseline)."""
    try:
        weeks = [float(v) for v in visits.split(",") if v.strip()]
    except ValueError:
        raise Invalid(
            f"visits {visits!r} must be numbers separated by commas", field="visits"
        ) from None
    if len(weeks) > 20:
        raise Invalid("visits: at most 20 visits", field="visits")
    work = sims * (n1 + (n2 if n2 is not None else n1)) * max(len(weeks), 1)
    if work > MAX_SIM_WORK:
        raise Invalid(
            f"sims × patients × visits is {work:,}; at most {MAX_SIM_WORK:,} on the server "
            "(use `glabella plan simulate` for larger runs)",
            field="sims",
        )
    res = _domain(
        lambda: pl.simulate_power(
            diff,
            n1,
            n2,
            sd=sd,
            visits=weeks,
            rho=rho,
            dropout_per_visit=dropout_per_visit,
            sims=sims,
            alpha=alpha,
            seed=seed,
            analysis=analysis,
        )
    )
    return {**res.to_dict(), "seed": seed}


@api_router.get("/evidence")
def api_evidence(
    actor: ActorDep,
    disorder: Annotated[str, Query(max_length=20)] = "mdd",
    outcome: Annotated[str, Query(max_length=20)] = "headline",
    basis: Annotated[str, Query(max_length=20)] = "pooled",
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    sides: int = 2,
    dropout: float = 0.0,
    baseline_correlation: float | None = None,
    unblinding: float = 0.0,
    curves: bool = False,
) -> dict[str, Any]:
    """A plan on the pooled evidence: sample size, unblinding scenario, assurance (and, with
    ``curves=true``, power and assurance against n)."""
    base = current_evidence()
    syn = _synthesis(base, disorder, outcome)
    plan = _domain(
        lambda: pe.plan_from_evidence(
            syn,
            basis=basis,
            power=power,
            alpha=alpha,
            ratio=ratio,
            sides=sides,
            dropout=dropout,
            baseline_correlation=baseline_correlation,
            unblinding_shrink=unblinding,
        )
    )
    if curves:
        plan["curves"] = _domain(lambda: _charts(syn, plan, plan["settings"])["curves"])
    plan["evidence_version"] = base.version
    return plan


@api_router.get("/retrospective")
def api_retrospective(
    actor: ActorDep,
    disorder: Annotated[str, Query(max_length=20)] = "mdd",
    power: float = 0.8,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Each randomised comparison's power to detect the pooled effect and its minimum
    detectable effect (the disorder's headline, change score)."""
    base = current_evidence()
    syn = _synthesis(base, disorder, "headline")
    rows = _domain(lambda: pe.retrospective_rows(syn, base, power=power, alpha=alpha))
    eff = pe.evidence_effect(syn)
    return {
        "pooled": eff.to_dict(),
        "rows": [r.to_dict() for r in rows],
        "summary": pe.retrospective_summary(rows, eff),
        "evidence_version": base.version,
    }
