"""JSON API of the clinical pathway (same services as the pages)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from glabella.clinic import protocol
from glabella.clinic.products import PRODUCTS
from glabella.clinic.vocabulary import MAX_SUGGEST_QUERY, Kind, load_vocabulary
from glabella.services import adverse_events as ae_service
from glabella.services import consent as consent_service
from glabella.services import followup as followup_service
from glabella.services import screening as screening_service
from glabella.services import treatments as treatment_service
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.screening_request import ScreeningRequest
from glabella.services.strict_inputs import IsoDate, IsoDateTime
from glabella.services.treatment_request import TreatmentRequest
from glabella.web import idempotency as idempotency_web
from glabella.web.deps import database, request_actor
from glabella.web.pathway_pages import consent_pdf_response

router = APIRouter(prefix="/api/v1", tags=["pathway"])
DbDep = Annotated[Database, Depends(database)]
ActorDep = Annotated[Actor, Depends(request_actor)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ScreeningBody = ScreeningRequest
"""The request model shared with ``glabella eligibility check`` (strict types, H-059)."""


class OverrideBody(Strict):
    rule_id: str
    reason: str = Field(max_length=2000)


class ConfirmUnrecognisedBody(Strict):
    rule_ids: list[str] = Field(min_length=1, max_length=100)


class ConsentBody(Strict):
    version: str
    signed_name: str = Field(max_length=200)
    confirmed: StrictBool
    different_name_reason: StrictStr | None = Field(
        default=None,
        max_length=2000,
        description=(
            "Only when the typed name does not match the patient record: why the patient "
            "signed with a different name (e.g. a carer or legal representative). Without it "
            "such a name is refused (H-094)."
        ),
    )


class WithdrawalBody(Strict):
    reason: StrictStr = Field(max_length=2000)


TreatmentBody = TreatmentRequest
"""The request model shared with ``glabella treatments record``."""


class _Judgement(Strict):
    """The clinician's answers: every one required, none has a default (H-090)."""

    grade: StrictInt
    serious: StrictBool = Field(description="Any ICH E2A seriousness criterion applies.")
    seriousness: list[StrictStr] = Field(
        default_factory=list, description="The ICH E2A criteria that apply (when serious)."
    )
    relatedness: str
    action: str
    outcome: str
    resolved_on: IsoDate | None = Field(default=None, title="resolved on")

    def judgement(self) -> ae_service.Judgement:
        return ae_service.Judgement(
            grade=str(self.grade),
            serious="yes" if self.serious else "no",
            seriousness=tuple(self.seriousness),
            relatedness=self.relatedness,
            action=self.action,
            outcome=self.outcome,
            resolved_on="" if self.resolved_on is None else self.resolved_on.isoformat(),
        )


class AdverseEventBody(_Judgement):
    type: str
    onset: IsoDateTime
    description: str = Field(default="", max_length=4000)
    treatment_id: StrictInt | Literal["latest"] | None = Field(
        default="latest",
        description="The treatment the event followed: an id, 'latest' (the latest at or "
        "before the onset; the default) or null (none).",
    )


class AdverseEventUpdateBody(_Judgement):
    treatment_id: StrictInt | Literal["unchanged"] | None = "unchanged"
    note: str = Field(default="", max_length=2000)


@router.get("/products")
def products(actor: ActorDep) -> list[dict[str, object]]:
    """BoNT-A products: their units are specific to each and never converted."""
    return [
        {
            "id": p.id,
            "brand": p.brand,
            "unit_name": p.unit_name,
            "label_glabellar_dose": None
            if p.label_glabellar_dose is None
            else str(p.label_glabellar_dose),
            "glabellar_ceiling": str(p.glabellar_ceiling),
            "excipients": list(p.excipients),
            "excipients_verified": p.excipients_verified,
        }
        for p in PRODUCTS.values()
    ]


@router.get("/protocols")
def protocols(actor: ActorDep) -> list[dict[str, object]]:
    """Named protocols with their citation; per-site units only where verified."""
    out: list[dict[str, object]] = []
    for p in protocol.load_protocols().values():
        out.append(
            {
                "id": p.id,
                "name": p.name,
                "product": p.product.id,
                "sex": p.sex,
                "total_units": str(p.total_units),
                "sites": {s.site_id: str(s.units) for s in p.sites} if p.site_units_known else None,
                "verified": p.verified,
                "verification_note": p.verification_note,
                "citation": None
                if p.citation is None
                else {
                    "authors": p.citation.authors,
                    "year": p.citation.year,
                    "title": p.citation.title,
                    "journal": p.citation.journal,
                    "doi": p.citation.doi,
                },
            }
        )
    return out


@router.get("/injection-sites")
def injection_sites(actor: ActorDep) -> list[dict[str, object]]:
    return [
        {"id": s.id, "label": s.label, "muscle": s.muscle, "side": s.side, "x": s.x, "y": s.y}
        for s in protocol.load_sites().values()
    ]


class VocabularySuggestion(BaseModel):
    """One autocomplete offer for a screening entry and what the rules will read it as."""

    label: str = Field(description="The term as written in the vocabulary, e.g. 'Eliquis'.")
    maps_to: str = Field(description="The concept (generic name) or the class it names.")
    code: str = Field(description="WHO ATC or ICD-10 code; empty for an excipient.")
    group: str = Field(description="The vocabulary group (the rule list it serves).")
    text: str = Field(description="E.g. 'Eliquis → apixaban, B01AF02'.")


_FIELD_KINDS: dict[str, Kind] = {
    "medications": "medication",
    "conditions": "condition",
    "allergies": "allergy",
}


@router.get("/vocabulary/suggest")
def vocabulary_suggest(
    actor: ActorDep,
    field: Annotated[
        Literal["medications", "conditions", "allergies"],
        Query(description="The screening field being typed in."),
    ],
    term: Annotated[
        str,
        Query(
            max_length=MAX_SUGGEST_QUERY,
            description="What has been typed of one medicine, condition or allergy so far (the "
            "text after the last comma); never a patient's name or other identifier.",
        ),
    ] = "",
) -> list[VocabularySuggestion]:
    """Autocomplete from the screening vocabulary: each term with what it maps to."""
    return [
        VocabularySuggestion(
            label=s.term, maps_to=s.maps_to, code=s.code, group=s.group_id, text=s.describe()
        )
        for s in load_vocabulary().suggest(term, _FIELD_KINDS[field])
    ]


@router.get("/patients/{patient_id}/screenings")
def list_screenings(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [s.to_dict() for s in screening_service.list_screenings(db, actor, patient_id)]


@router.post("/patients/{patient_id}/screenings", status_code=201, response_model=dict[str, object])
def run_screening(
    patient_id: int, body: ScreeningBody, request: Request, actor: ActorDep, db: DbDep
) -> JSONResponse:
    """Run the eligibility rules; the decision lists every reason with its source."""
    answers = body.answers.parsed()
    return idempotency_web.respond(
        request,
        db,
        actor,
        body,
        201,
        lambda: screening_service.run_screening(
            db,
            actor,
            patient_id,
            body.product,
            answers,
            medications=tuple(body.medications),
            conditions=tuple(body.conditions),
            last_bont_elsewhere=body.last_bont_date,
            mdq_positive=body.mdq_positive,
        ).to_dict(),
    )


@router.post("/screenings/{screening_id}/overrides")
def override(
    screening_id: int, body: OverrideBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Override one precaution with a recorded reason (never a contraindication)."""
    return screening_service.override_precaution(
        db, actor, screening_id, body.rule_id, body.reason
    ).to_dict()


@router.post("/screenings/{screening_id}/unrecognised-confirmations")
def confirm_unrecognised(
    screening_id: int, body: ConfirmUnrecognisedBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Confirm that each listed unrecognised entry was checked and is not relevant (audited)."""
    return screening_service.confirm_unrecognised(db, actor, screening_id, body.rule_ids).to_dict()


@router.get("/consent/current")
def current_consent(actor: ActorDep, db: DbDep) -> dict[str, object]:
    text = consent_service.current_text(db)
    return {"version": text.version, "sha256": text.sha256, "text": text.text}


@router.get("/patients/{patient_id}/consents")
def list_consents(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [c.to_dict() for c in consent_service.list_consents(db, actor, patient_id)]


@router.post("/patients/{patient_id}/consents", status_code=201)
def sign_consent(
    patient_id: int, body: ConsentBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    return consent_service.sign_consent(
        db,
        actor,
        patient_id,
        body.version,
        body.signed_name,
        body.confirmed,
        different_name_reason=body.different_name_reason,
    ).to_dict()


@router.post("/patients/{patient_id}/consents/{consent_id}/withdrawal")
def withdraw_consent(
    patient_id: int, consent_id: int, body: WithdrawalBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Record the patient's withdrawal of an unused consent (no treatment can use it after)."""
    return consent_service.withdraw_consent(
        db, actor, patient_id, consent_id, body.reason
    ).to_dict()


@router.get(
    "/patients/{patient_id}/consents/{consent_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def consent_pdf(patient_id: int, consent_id: int, actor: ActorDep, db: DbDep) -> Response:
    """The patient's PDF copy of a signed consent."""
    return consent_pdf_response(consent_service.consent_copy(db, actor, patient_id, consent_id))


@router.get("/patients/{patient_id}/treatments")
def list_treatments(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [t.to_dict() for t in treatment_service.list_treatments(db, actor, patient_id)]


@router.post("/patients/{patient_id}/treatments", status_code=201, response_model=dict[str, object])
def record_treatment(
    patient_id: int, body: TreatmentBody, request: Request, actor: ActorDep, db: DbDep
) -> JSONResponse:
    """Record a treatment; refused with every reason when any check fails."""
    if body.treated_at is not None and body.treated_at.tzinfo is None:
        raise Invalid(
            "treated_at must include a timezone offset, e.g. 2026-11-02T10:00:00+01:00",
            field="treated_at",
        )
    data = body.to_input()
    return idempotency_web.respond(
        request,
        db,
        actor,
        body,
        201,
        lambda: treatment_service.record_treatment(db, actor, patient_id, data).to_dict(),
    )


@router.get("/patients/{patient_id}/adverse-events")
def list_adverse_events(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [e.to_dict() for e in ae_service.list_adverse_events(db, actor, patient_id)]


@router.post(
    "/patients/{patient_id}/adverse-events", status_code=201, response_model=dict[str, object]
)
def record_adverse_event(
    patient_id: int, body: AdverseEventBody, request: Request, actor: ActorDep, db: DbDep
) -> JSONResponse:
    """Record an adverse event; serious events and possible distant spread raise alerts."""
    if body.onset.tzinfo is None:
        raise Invalid("onset must include a timezone offset", field="onset")

    def record() -> dict[str, object]:
        view, alerts = ae_service.record_adverse_event(
            db,
            actor,
            patient_id,
            type_=body.type,
            onset=body.onset,
            judgement=body.judgement(),
            description=body.description,
            treatment_id=body.treatment_id,
        )
        out = view.to_dict()
        out["alerts"] = [{"code": a.code, "level": a.level, "message": a.message} for a in alerts]
        return out

    return idempotency_web.respond(request, db, actor, body, 201, record)


@router.get("/patients/{patient_id}/adverse-events/{event_id}")
def get_adverse_event(
    patient_id: int, event_id: int, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """One adverse event with its follow-up history."""
    return ae_service.get_adverse_event(db, actor, patient_id, event_id).to_dict()


@router.post("/patients/{patient_id}/adverse-events/{event_id}/updates")
def update_adverse_event(
    patient_id: int, event_id: int, body: AdverseEventUpdateBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """A follow-up update (outcome, resolution date, grade...): kept as history; alerts that
    the change newly raises are opened."""
    view, alerts = ae_service.update_adverse_event(
        db,
        actor,
        patient_id,
        event_id,
        judgement=body.judgement(),
        treatment_id=body.treatment_id,
        note=body.note,
    )
    out = view.to_dict()
    out["alerts"] = [{"code": a.code, "level": a.level, "message": a.message} for a in alerts]
    return out


@router.get("/patients/{patient_id}/follow-up")
def follow_up(patient_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Visit schedule from the last treatment, re-treatment date and outcomes."""
    return followup_service.patient_followup(db, actor, patient_id).to_dict()


@router.get("/follow-up/due")
def due(actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [
        {
            "patient_id": d.patient_id,
            "visit": d.visit.key,
            "target": d.visit.target.isoformat(),
            "status": d.visit.status,
        }
        for d in followup_service.due_visits(db, actor)
    ]
