"""Plain-dict views of the records, for the CLI, the JSON API and the web pages.

Every number is given with its provenance (and, with the study, the URL of its source), so no
adapter shows a number without where it was read.
"""

from __future__ import annotations

from typing import Any

from glabella.evidence.derived import ROUTES
from glabella.evidence.studies.model import (
    ARM_NUMS,
    DISORDERS,
    REPORTED_NUMS,
    RESULT_NUMS,
    DerivedEffect,
    Num,
    Study,
)


def effect_to_dict(
    effect: DerivedEffect | None, study: Study | None = None
) -> dict[str, Any] | None:
    """A derived effect with its inputs, formula, citation and the one-line chain."""
    if effect is None:
        return None
    e = effect.effect
    return {
        "statistic": effect.statistic,
        "route": ROUTES[effect.statistic].label,
        "intervention": effect.intervention,
        "control": effect.control,
        "direction": effect.direction,
        "inputs": {k: num_to_dict(n, study) for k, n in effect.inputs},
        "assumptions": list(effect.assumptions),
        "note": effect.note,
        "g": e.g,
        "var_g": e.var_g,
        "se_g": e.var_g**0.5,
        "d": e.d,
        "var_d": e.var_d,
        "formula": e.formula,
        "citation": e.citation,
        "bound": e.bound,
        "approximate": e.approximate,
        "sd_implied": e.sd_implied,
        "chain": effect.chain(study),
    }


def num_to_dict(num: Num | None, study: Study | None = None) -> dict[str, Any] | None:
    """A number with its provenance as a plain dict (with the source URL when ``study`` given)."""
    if num is None:
        return None
    prov = num.provenance
    out: dict[str, Any] = {
        "value": num.value,
        "source": prov.source,
        "location": prov.location,
        "verified": prov.verified,
        "derivation": prov.derivation,
        "note": prov.note,
    }
    if study is not None:
        try:
            out["url"] = study.source(prov.source).url
        except KeyError:  # pragma: no cover - guarded by check()
            out["url"] = None
    return out


def study_summary(study: Study) -> dict[str, Any]:
    """One row of a study list: identity, design, size and the one-paragraph summary."""
    return {
        "id": study.id,
        "short": study.short,
        "year": study.year,
        "title": study.title,
        "journal": study.journal,
        "design": study.design,
        "disorder": study.disorder,
        "disorder_name": DISORDERS[study.disorder],
        "n": study.n_randomised_total(),
        "primary_endpoint_met": study.primary_endpoint_met,
        "rob_overall": study.risk_of_bias.overall.judgement if study.risk_of_bias else None,
        "doi": study.doi,
        "pmid": study.pmid,
        "registry_ids": list(study.registry_ids),
        "summary": study.summary,
        "sponsor": study.sponsor,
        "independent": study.independent,
        "independence_note": study.independence_note,
        "includes": list(study.includes),
        "timepoint_weeks": study.timepoint_weeks,
        "difference_note": study.difference_note,
        "inconsistencies": list(study.inconsistencies),
        "functional_unblinding": dict(study.functional_unblinding)
        if study.functional_unblinding
        else None,
    }


def study_to_dict(study: Study) -> dict[str, Any]:
    """Every field and every number of a study, each number with its provenance."""
    arms = [
        {
            "id": a.id,
            "label": a.label,
            "role": a.role,
            "product": a.product,
            "sites": a.sites,
            **{name: num_to_dict(getattr(a, name), study) for name in ARM_NUMS},
        }
        for a in study.arms
    ]
    outcomes = [
        {
            "id": o.id,
            "kind": o.kind,
            "label": o.label,
            "instrument": o.instrument,
            "timepoint_weeks": o.timepoint_weeks,
            "definition": o.definition,
            "period": o.period,
            "primary": o.primary,
            "note": o.note,
            "results": [
                {"arm": r.arm, **{n: num_to_dict(getattr(r, n), study) for n in RESULT_NUMS}}
                for r in o.results
            ],
            "effect": effect_to_dict(o.effect, study),
        }
        for o in study.outcomes
    ]
    population = {
        k: (num_to_dict(v, study) if isinstance(v, Num) else v) for k, v in study.population.items()
    }
    rob = (
        {
            name: {"judgement": d.judgement, "reason": d.reason}
            for name, d in study.risk_of_bias.domains().items()
        }
        if study.risk_of_bias
        else None
    )
    return {
        **study_summary(study),
        "authors": list(study.authors),
        "citation": study.citation,
        "country": study.country,
        "blinding": study.blinding,
        "control": study.control,
        "funding": study.funding,
        "indirectness": study.indirectness,
        "population": population,
        "sources": [
            {"key": s.key, "kind": s.kind, "url": s.url, "note": s.note} for s in study.sources
        ],
        "arms": arms,
        "outcomes": outcomes,
        "adverse_events": [
            {
                "term": ae.term,
                "arm": ae.arm,
                "events": num_to_dict(ae.events, study),
                "n": num_to_dict(ae.n, study),
                "note": ae.note,
            }
            for ae in study.adverse_events
        ],
        "reported_results": [
            {
                "label": rr.label,
                "measure": rr.measure,
                "note": rr.note,
                **{n: num_to_dict(getattr(rr, n), study) for n in REPORTED_NUMS},
            }
            for rr in study.reported_results
        ],
        "risk_of_bias": rob,
        "notes": list(study.notes),
        "numbers_total": len(study.numbers()),
        "numbers_verified": sum(1 for _, n in study.numbers() if n.provenance.verified),
    }
