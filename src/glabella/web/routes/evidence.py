"""Evidence pages and the evidence JSON API: a thin adapter over ``glabella.evidence``.

Pages (signed-in staff, researchers included; see ``glabella.web.access``):

* ``GET /evidence`` — the disorders with their one-paragraph summaries;
* ``GET /evidence/disorders/{disorder_id}`` — summary with certainty, a forest plot per pooled
  outcome, certainty table with the reason for each downgrade, sensitivity analyses, the study
  table with links to the sources, and published meta-analyses as reported;
* ``GET /evidence/studies/{study_id}`` — every number of a study with its provenance and
  ``verified`` flag; a number that was not read is shown as "unknown".

JSON (``/api/v1/evidence/...``): ``studies`` (optionally ``?disorder=``), ``studies/{id}``,
``disorders/{disorder_id}``, ``pool?disorder=&outcome=`` (with the sensitivity filters) and
``sensitivity?disorder=&outcome=``. The evidence base holds no patient data, so nothing is
audited; every answer carries the ``evidence_version`` of the data it was computed from.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from glabella.evidence import synthesis as sy
from glabella.evidence.studies import (
    DISORDERS,
    EvidenceBase,
    EvidenceDataError,
    evidence_version,
    load_evidence,
    num_to_dict,
)
from glabella.services.context import Actor
from glabella.services.errors import Invalid, NotFound, ServiceError
from glabella.web.deps import page_user, request_actor
from glabella.web.evidence_charts import fmt_number, forest_svg
from glabella.web.templating import TEMPLATES, render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
ActorDep = Annotated[Actor, Depends(request_actor)]

OFF_LABEL = (
    "Botulinum toxin A for depression, borderline personality disorder, social anxiety or "
    "bipolar depression is off-label: no product is licensed for these uses. Every pooled "
    "result below carries its GRADE-style certainty."
)
SENSITIVITY_LABELS: dict[str, str] = {
    "all": "All randomised comparisons (main analysis)",
    "excluding_bounds": "Without effects derived from a bound (p < x)",
    "excluding_high_rob": "Excluding trials at high risk of bias",
    "excluding_crossover": "Excluding crossover trials",
    "sponsor_industry": "Industry-sponsored trials only",
    "sponsor_other": "Trials not sponsored by industry",
    "dose_low": "Low dose (≤ 40 U; women's dose where sex-specific)",
    "dose_high": "High dose (> 40 U)",
}
OUTCOME_TITLES: dict[str, str] = {
    "response": "Response",
    "remission": "Remission",
    "change": "Change in symptom score",
    "dropout": "Dropping out",
    "adverse_events": "Adverse events",
}


def _value(x: object) -> str:
    """A recorded number as written: whole numbers without a decimal point, others as read."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


TEMPLATES.env.filters["evvalue"] = _value


class EvidenceUnavailable(ServiceError):
    """The packaged evidence data failed validation: nothing is shown rather than wrong data."""

    status_code = 503
    code = "evidence_invalid"


_lock = threading.Lock()
_cache: dict[str, EvidenceBase] = {}


def current_evidence() -> EvidenceBase:
    """The validated evidence base, reloaded whenever a data file changes (content hash)."""
    try:
        version = evidence_version()
        with _lock:
            base = _cache.get(version)
            if base is None:
                base = load_evidence()
                _cache.clear()
                _cache[base.version] = base
        return base
    except EvidenceDataError as exc:
        raise EvidenceUnavailable(
            f"the evidence data are invalid; run `glabella evidence check` ({exc})"
        ) from None


def _disorder(code: str) -> str:
    if code not in DISORDERS:
        raise NotFound(
            f"unknown disorder {code!r}; choose one of {', '.join(DISORDERS)}", field="disorder"
        )
    return code


def _outcome(code: str) -> str:
    if code not in sy.POOLED_OUTCOMES:
        raise Invalid(
            f"unknown outcome {code!r}; choose one of {', '.join(sy.POOLED_OUTCOMES)}",
            field="outcome",
        )
    return code


def _study(base: EvidenceBase, study_id: str) -> dict[str, object]:
    try:
        return sy.study_detail(study_id, base=base)
    except KeyError:
        raise NotFound(f"no study with id {study_id!r}", field="study_id") from None


# --- pages --------------------------------------------------------------------------------


def _source_links(s: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(label, URL or None) for a study's DOI, PMID and registry ids."""
    links: list[tuple[str, str | None]] = []
    if s.get("doi"):
        links.append((f"doi:{s['doi']}", f"https://doi.org/{s['doi']}"))
    if s.get("pmid"):
        links.append((f"PMID {s['pmid']}", f"https://pubmed.ncbi.nlm.nih.gov/{s['pmid']}/"))
    for rid in s.get("registry_ids") or []:
        url = f"https://clinicaltrials.gov/study/{rid}" if str(rid).startswith("NCT") else None
        links.append((str(rid), url))
    return links


def _outcome_view(code: str, syntheses: dict[str, sy.Synthesis]) -> dict[str, Any]:
    main = syntheses["all"]
    view: dict[str, Any] = {
        "code": code,
        "title": OUTCOME_TITLES[code],
        "syn": main,
        "forest": forest_svg(main) if main.pooled else None,
        "sensitivity": [],
    }
    if main.pooled:
        view["sensitivity"] = [
            {"key": key, "label": SENSITIVITY_LABELS[key], "syn": syn}
            for key, syn in syntheses.items()
        ]
    return view


@router.get("/evidence")
def evidence_index(request: Request) -> HTMLResponse:
    user = page_user(request)
    base = current_evidence()
    disorders = [
        {
            "code": code,
            "name": name,
            "n_studies": len(base.by_disorder(code)),
            "n_rcts": sum(1 for s in base.by_disorder(code) if s.randomised),
            "summary": sy.disorder_summary(code, base=base)["summary"],
        }
        for code, name in DISORDERS.items()
    ]
    return render(
        request,
        "evidence_index.html",
        user=user,
        disorders=disorders,
        version=base.version,
        off_label=OFF_LABEL,
        n_studies=len(base.studies),
    )


@router.get("/evidence/disorders/{disorder_id}")
def evidence_disorder(request: Request, disorder_id: str) -> HTMLResponse:
    user = page_user(request)
    base = current_evidence()
    code = _disorder(disorder_id)
    summary = sy.disorder_summary(code, base=base)
    lead = summary["headline"]["outcome"]  # type: ignore[index]
    order = sorted(OUTCOME_TITLES, key=lambda o: o != lead)
    outcomes = [_outcome_view(o, sy.sensitivity(code, o, base=base)) for o in order]
    unblinding = [
        {"study_id": st.id, "short": st.short, **st.functional_unblinding}
        for st in base.by_disorder(code)
        if st.randomised and st.functional_unblinding
    ]
    trial_results = [
        {
            "study_id": st.id,
            "short": st.short,
            "label": r.label,
            "measure": r.measure,
            "value": num_to_dict(r.value, st),
            "ci_lb": num_to_dict(r.ci_lb, st),
            "ci_ub": num_to_dict(r.ci_ub, st),
            "p": num_to_dict(r.p, st),
            "met": st.primary_endpoint_met,
        }
        for st in base.by_disorder(code)
        if st.randomised
        for r in st.reported_results
    ]
    studies = [{**s, "links": _source_links(s)} for s in summary["studies"]]  # type: ignore[attr-defined]
    # Without any randomised trial every outcome says the same: list each study's reason once.
    not_pooled: dict[str, str] = {}
    for o in outcomes:
        for excluded in o["syn"].excluded:
            not_pooled.setdefault(excluded.study_id, excluded.reason)
    from glabella.web.routes.planning import retrospective_view

    retro = retrospective_view(sy.headline(code, base=base).lead, base)
    return render(
        request,
        "evidence_disorder.html",
        user=user,
        retro=retro,
        retro_disorder=code,
        d=summary,
        outcomes=outcomes,
        studies=studies,
        trial_results=trial_results,
        not_pooled=not_pooled,
        lead=lead,
        unblinding=unblinding,
        off_label=OFF_LABEL,
        fmt=fmt_number,
        method_text=sy.METHOD_TEXT,
        version=base.version,
    )


@router.get("/evidence/studies/{study_id}")
def evidence_study(request: Request, study_id: str) -> HTMLResponse:
    user = page_user(request)
    base = current_evidence()
    detail = _study(base, study_id)
    study = base.get(study_id)
    numbers = [{"path": path, "num": num_to_dict(num, study)} for path, num in study.numbers()]
    return render(
        request,
        "evidence_study.html",
        user=user,
        s=detail,
        links=_source_links(detail),
        numbers=numbers,
        off_label=OFF_LABEL,
        version=base.version,
        disorder_name=DISORDERS[study.disorder],
    )


# --- JSON API -----------------------------------------------------------------------------


@api_router.get("/studies")
def api_studies(
    actor: ActorDep, disorder: Annotated[str | None, Query(max_length=20)] = None
) -> dict[str, object]:
    base = current_evidence()
    code = _disorder(disorder) if disorder is not None else None
    return {"evidence_version": base.version, "studies": sy.list_studies(code, base=base)}


@api_router.get("/studies/{study_id}")
def api_study(actor: ActorDep, study_id: str) -> dict[str, object]:
    return _study(current_evidence(), study_id)


@api_router.get("/disorders/{disorder_id}")
def api_disorder(actor: ActorDep, disorder_id: str) -> dict[str, object]:
    return sy.disorder_summary(_disorder(disorder_id), base=current_evidence())


@api_router.get("/pool")
def api_pool(
    actor: ActorDep,
    disorder: Annotated[str, Query(max_length=20)],
    outcome: Annotated[str, Query(max_length=20)],
    exclude_high_rob: bool = False,
    exclude_crossover: bool = False,
    exclude_bounds: bool = False,
    sponsor: Annotated[str | None, Query(max_length=10)] = None,
    dose: Annotated[str | None, Query(max_length=10)] = None,
) -> dict[str, object]:
    base = current_evidence()
    if dose is not None and dose not in sy.DOSE_BANDS:
        raise Invalid(
            f"unknown dose band {dose!r}; choose one of {', '.join(sy.DOSE_BANDS)}", field="dose"
        )
    if sponsor is not None and sponsor not in sy.SPONSOR_GROUPS:
        raise Invalid(
            f"unknown sponsor group {sponsor!r}; choose one of {', '.join(sy.SPONSOR_GROUPS)}",
            field="sponsor",
        )
    return sy.pool(
        _disorder(disorder),
        _outcome(outcome),
        exclude_high_rob=exclude_high_rob,
        exclude_crossover=exclude_crossover,
        exclude_bounds=exclude_bounds,
        sponsor=sponsor,
        dose=dose,
        base=base,
    ).to_dict()


@api_router.get("/headline")
def api_headline(
    actor: ActorDep, disorder: Annotated[str, Query(max_length=20)]
) -> dict[str, object]:
    """The disorder's lead result (most trials, then patients; never under 3 comparisons)."""
    base = current_evidence()
    return {
        **sy.headline(_disorder(disorder), base=base).to_dict(),
        "evidence_version": base.version,
    }


@api_router.get("/sensitivity")
def api_sensitivity(
    actor: ActorDep,
    disorder: Annotated[str, Query(max_length=20)],
    outcome: Annotated[str, Query(max_length=20)],
) -> dict[str, object]:
    base = current_evidence()
    runs = sy.sensitivity(_disorder(disorder), _outcome(outcome), base=base)
    return {
        "evidence_version": base.version,
        "analyses": {
            key: {"label": SENSITIVITY_LABELS[key], **s.to_dict()} for key, s in runs.items()
        },
    }
