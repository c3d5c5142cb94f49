"""From study documents to records: parsing validated documents, loading the evidence base.

:func:`load_evidence` reads the files (:mod:`~glabella.evidence.studies.files`), validates them
(:func:`~glabella.evidence.studies.validation.check`), refuses invalid data with an
:class:`~glabella.evidence.studies.model.EvidenceDataError` listing every problem, and parses
the documents into frozen records tied to the data version.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from glabella.evidence.derived import compute_effect
from glabella.evidence.studies.files import evidence_version, load_raw_documents
from glabella.evidence.studies.model import (
    ARM_NUMS,
    POPULATION_NUMS,
    RESULT_NUMS,
    ROB_DOMAINS,
    AdverseEvent,
    Arm,
    ArmResult,
    DerivedEffect,
    EvidenceBase,
    EvidenceDataError,
    Num,
    Outcome,
    Provenance,
    ReportedResult,
    RiskOfBias,
    RobDomain,
    Source,
    Study,
)
from glabella.evidence.studies.validation import check


def _num(raw: object) -> Num | None:
    if not isinstance(raw, Mapping):
        return None
    return Num(
        value=raw["value"],
        provenance=Provenance(
            source=raw["source"],
            location=raw["location"],
            verified=raw["verified"],
            derivation=raw.get("derivation"),
            note=raw.get("note"),
        ),
    )


def _req_num(raw: object) -> Num:
    num = _num(raw)
    if num is None:  # pragma: no cover - guarded by check()
        raise ValueError("missing number")
    return num


def _rob(raw: object) -> RiskOfBias | None:
    if not isinstance(raw, Mapping):
        return None
    doms = {
        name: RobDomain(judgement=raw[name]["judgement"], reason=raw[name]["reason"])
        for name in ROB_DOMAINS
    }
    return RiskOfBias(**doms)


def _effect(raw: object) -> DerivedEffect | None:
    if not isinstance(raw, Mapping):
        return None
    inputs = tuple((str(k), _req_num(v)) for k, v in raw["inputs"].items())
    values = {k: float(n.value) for k, n in inputs}
    return DerivedEffect(
        statistic=raw["statistic"],
        intervention=raw["intervention"],
        control=raw["control"],
        direction=raw["direction"],
        inputs=inputs,
        effect=compute_effect(raw["statistic"], values, raw["direction"]),
        assumptions=tuple(raw.get("assumptions") or ()),
        note=raw.get("note"),
    )


def parse_study(doc: Mapping[str, Any]) -> Study:
    """Build a :class:`Study` from a validated document (call :func:`check` first)."""
    pop_raw = doc.get("population") or {}
    population: dict[str, Any] = {
        k: (_num(v) if k in POPULATION_NUMS else v) for k, v in pop_raw.items()
    }
    arms = tuple(
        Arm(
            id=a["id"],
            label=a["label"],
            role=a["role"],
            product=a["product"],
            sites=a.get("sites"),
            **{name: _num(a.get(name)) for name in ARM_NUMS},
        )
        for a in doc.get("arms") or []
    )
    outcomes = tuple(
        Outcome(
            id=o["id"],
            kind=o["kind"],
            label=o["label"],
            instrument=o.get("instrument"),
            timepoint_weeks=o.get("timepoint_weeks"),
            definition=o.get("definition"),
            period=o.get("period", "parallel"),
            primary=bool(o.get("primary", False)),
            note=o.get("note"),
            results=tuple(
                ArmResult(arm=r["arm"], **{name: _num(r.get(name)) for name in RESULT_NUMS})
                for r in o.get("results") or []
            ),
            effect=_effect(o.get("effect")),
        )
        for o in doc.get("outcomes") or []
    )
    aes = tuple(
        AdverseEvent(
            term=ae["term"],
            arm=ae.get("arm"),
            events=_num(ae.get("events")),
            n=_num(ae.get("n")),
            note=ae.get("note"),
            note_de=ae.get("note_de"),
        )
        for ae in doc.get("adverse_events") or []
    )
    reported = tuple(
        ReportedResult(
            label=rr["label"],
            measure=rr.get("measure"),
            value=_req_num(rr.get("value")),
            ci_lb=_num(rr.get("ci_lb")),
            ci_ub=_num(rr.get("ci_ub")),
            k=_num(rr.get("k")),
            n=_num(rr.get("n")),
            p=_num(rr.get("p")),
            note=rr.get("note"),
        )
        for rr in doc.get("reported_results") or []
    )
    return Study(
        id=doc["id"],
        short=doc["short"],
        authors=tuple(doc["authors"]),
        year=doc["year"],
        title=doc["title"],
        journal=doc.get("journal"),
        citation=doc.get("citation"),
        doi=doc.get("doi"),
        pmid=str(doc["pmid"]) if doc.get("pmid") is not None else None,
        registry_ids=tuple(doc.get("registry_ids") or ()),
        country=doc.get("country"),
        design=doc["design"],
        disorder=doc["disorder"],
        blinding=doc.get("blinding"),
        control=doc.get("control"),
        funding=doc.get("funding"),
        population=population,
        summary=doc["summary"],
        primary_endpoint_met=doc.get("primary_endpoint_met"),
        sources=tuple(
            Source(key=s["key"], kind=s["kind"], url=s["url"], note=s.get("note"))
            for s in doc["sources"]
        ),
        arms=arms,
        outcomes=outcomes,
        adverse_events=aes,
        reported_results=reported,
        risk_of_bias=_rob(doc.get("risk_of_bias")),
        indirectness=doc.get("indirectness"),
        notes=tuple(doc.get("notes") or ()),
        sponsor=doc.get("sponsor"),
        independent=doc.get("independent"),
        independence_note=doc.get("independence_note"),
        inconsistencies=tuple(doc.get("inconsistencies") or ()),
        functional_unblinding=doc.get("functional_unblinding"),
        includes=tuple(doc.get("includes") or ()),
        timepoint_weeks=doc.get("timepoint_weeks"),
        difference_note=doc.get("difference_note"),
    )


def load_evidence(directory: Traversable | Path | None = None) -> EvidenceBase:
    """Validate and load every study (packaged data by default) with the data version.

    Raises :class:`EvidenceDataError` listing every problem when the data are invalid.
    """
    docs = load_raw_documents(directory)
    problems = check([(name, doc) for name, doc in docs])
    if problems:
        raise EvidenceDataError(problems)
    studies = tuple(parse_study(doc) for _, doc in docs)
    return EvidenceBase(studies=studies, version=evidence_version(directory))


def load_studies(directory: Traversable | Path | None = None) -> tuple[Study, ...]:
    """The validated studies (packaged data by default)."""
    return load_evidence(directory).studies
