"""The clinical pathway: screening, consent, treatment record, adverse events, follow-up
(JSON API and pages, the same services)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    create_model,
)

from glabella.clinic import protocol
from glabella.clinic.consent import render_consent_html
from glabella.clinic.products import PRODUCTS
from glabella.clinic.quantities import parse_quantity
from glabella.clinic.vocabulary import MAX_SUGGEST_QUERY, Kind, Suggestion, load_vocabulary
from glabella.reports.consent_pdf import ConsentDocument, render_consent_pdf
from glabella.services import adverse_events as ae_service
from glabella.services import consent as consent_service
from glabella.services import followup as followup_service
from glabella.services import patients as patient_service
from glabella.services import screening as screening_service
from glabella.services import treatments as treatment_service
from glabella.services.clinic_time import clinic_now
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid, NotFound, ServiceError
from glabella.services.screening_request import ScreeningRequest
from glabella.services.strict_inputs import IsoDate, IsoDateTime
from glabella.services.treatment_request import TreatmentRequest
from glabella.services.users import UserView
from glabella.web import idempotency as idempotency_web
from glabella.web.deps import ActorDep, DbDep, FormDep, client_source, page_user
from glabella.web.form_route import FormModel, handle_form
from glabella.web.injection_map import injection_map_svg
from glabella.web.routes import Strict
from glabella.web.templating import redirect, render

api_router = APIRouter(prefix="/api/v1", tags=["pathway"])
router = APIRouter(include_in_schema=False)


# --- JSON API -------------------------------------------------------------------------------


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


@api_router.get("/products")
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


@api_router.get("/protocols")
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


@api_router.get("/injection-sites")
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


@api_router.get("/vocabulary/suggest")
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


@api_router.get("/patients/{patient_id}/screenings")
def list_screenings(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [s.to_dict() for s in screening_service.list_screenings(db, actor, patient_id)]


@api_router.post(
    "/patients/{patient_id}/screenings", status_code=201, response_model=dict[str, object]
)
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


@api_router.post("/screenings/{screening_id}/overrides")
def override(
    screening_id: int, body: OverrideBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Override one precaution with a recorded reason (never a contraindication)."""
    return screening_service.override_precaution(
        db, actor, screening_id, body.rule_id, body.reason
    ).to_dict()


@api_router.post("/screenings/{screening_id}/unrecognised-confirmations")
def confirm_unrecognised(
    screening_id: int, body: ConfirmUnrecognisedBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Confirm that each listed unrecognised entry was checked and is not relevant (audited)."""
    return screening_service.confirm_unrecognised(db, actor, screening_id, body.rule_ids).to_dict()


@api_router.get("/consent/current")
def current_consent(actor: ActorDep, db: DbDep) -> dict[str, object]:
    text = consent_service.current_text(db)
    return {"version": text.version, "sha256": text.sha256, "text": text.text}


@api_router.get("/patients/{patient_id}/consents")
def list_consents(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [c.to_dict() for c in consent_service.list_consents(db, actor, patient_id)]


@api_router.post("/patients/{patient_id}/consents", status_code=201)
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


@api_router.post("/patients/{patient_id}/consents/{consent_id}/withdrawal")
def withdraw_consent(
    patient_id: int, consent_id: int, body: WithdrawalBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Record the patient's withdrawal of an unused consent (no treatment can use it after)."""
    return consent_service.withdraw_consent(
        db, actor, patient_id, consent_id, body.reason
    ).to_dict()


@api_router.get(
    "/patients/{patient_id}/consents/{consent_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def consent_pdf(patient_id: int, consent_id: int, actor: ActorDep, db: DbDep) -> Response:
    """The patient's PDF copy of a signed consent."""
    return consent_pdf_response(consent_service.consent_copy(db, actor, patient_id, consent_id))


@api_router.get("/patients/{patient_id}/treatments")
def list_treatments(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [t.to_dict() for t in treatment_service.list_treatments(db, actor, patient_id)]


@api_router.post(
    "/patients/{patient_id}/treatments", status_code=201, response_model=dict[str, object]
)
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


@api_router.get("/patients/{patient_id}/adverse-events")
def list_adverse_events(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [e.to_dict() for e in ae_service.list_adverse_events(db, actor, patient_id)]


@api_router.post(
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


@api_router.get("/patients/{patient_id}/adverse-events/{event_id}")
def get_adverse_event(
    patient_id: int, event_id: int, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """One adverse event with its follow-up history."""
    return ae_service.get_adverse_event(db, actor, patient_id, event_id).to_dict()


@api_router.post("/patients/{patient_id}/adverse-events/{event_id}/updates")
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


@api_router.get("/patients/{patient_id}/follow-up")
def follow_up(patient_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Visit schedule from the last treatment, re-treatment date and outcomes."""
    return followup_service.patient_followup(db, actor, patient_id).to_dict()


@api_router.get("/follow-up/due")
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


# --- pages ----------------------------------------------------------------------------------


SCREENING_QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "prior_bont_reaction",
        "Has the patient ever had an allergic or other reaction to a botulinum toxin product?",
    ),
    (
        "infection_or_inflammation_at_sites",
        "Is there infection or inflammation of the skin at the injection sites?",
    ),
    ("pregnant", "Is the patient pregnant or could she be pregnant?"),
    ("breastfeeding", "Is the patient breastfeeding?"),
    ("prior_eyelid_ptosis", "Has the patient had a drooping eyelid (ptosis) before?"),
    ("psychotic_symptoms_current", "Does the patient have psychotic symptoms now?"),
    ("psychotic_disorder_history", "Has the patient ever had a psychotic disorder?"),
)

# The clinician's own suicide-risk judgement, mapped onto the rule engine's fields. These are
# NOT the C-SSRS items: its electronic use needs a licence (see docs/safety/hazard-log.md).
RISK_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("cssrs_1", "Passive death wishes in the past month?"),
    ("cssrs_2", "Active thoughts of suicide in the past month?"),
    ("cssrs_3", "Thoughts of a method in the past month?"),
    ("cssrs_4", "Some intent to act on suicidal thoughts?"),
    ("cssrs_5", "A specific plan with intent?"),
    ("cssrs_behaviour_3_months", "Suicidal behaviour or preparation in the past 3 months?"),
)


def _vocab_options() -> dict[str, tuple[Suggestion, ...]]:
    """The screening form's autocomplete lists, one per typed field (same vocabulary as the
    rules; the page script narrows them to the entry being typed)."""
    vocab = load_vocabulary()
    return {
        "medications": vocab.offers("medication"),
        "conditions": vocab.offers("condition"),
        "allergies": vocab.offers("allergy"),
    }


# --- screening ----------------------------------------------------------------------------


@router.get("/patients/{patient_id}/screening")
def screening_page(request: Request, patient_id: int, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    actor = user.actor(client_source(request))
    patient = patient_service.get_patient(db, actor, patient_id)
    history = screening_service.list_screenings(db, actor, patient_id)
    stored_item9 = screening_service.recent_phq9_item9(db, actor, patient_id)
    return render(
        request,
        "screening.html",
        user=user,
        patient=patient,
        values={} if stored_item9 is None else {"phq9_item9": str(stored_item9)},
        stored_item9=stored_item9,
        history=history,
        questions=SCREENING_QUESTIONS,
        cssrs=RISK_QUESTIONS,
        products=PRODUCTS.values(),
        vocab_options=_vocab_options(),
    )


YesNo = Literal["yes", "no"]
YesNoUnsure = Literal["yes", "no", "unsure"]
RECENT_BONT_QUESTION = (
    "Botulinum toxin (any product, any reason, cosmetic included) in the last 12 weeks?"
)


def _mdq_answer(value: str) -> str:
    if value.lower() not in ("yes", "no", ""):  # a tampered form is refused, never "not done"
        raise ValueError("answer yes, no or not done")
    return value.lower()


MdqAnswer = Annotated[str, AfterValidator(_mdq_answer)]


def _screening_form() -> type[FormModel]:
    """The screening form (``screening.html``): every safety question answered yes or no,
    each titled with its question as the form asks it."""
    fields: dict[str, Any] = {
        "product": (str, Field(min_length=1, max_length=80, title="Planned product")),
        "bont_last_12_weeks": (YesNoUnsure, Field(title=RECENT_BONT_QUESTION)),
        "last_bont_date": (
            dt.date | None,
            Field(default=None, title="Date of the last botulinum toxin treatment elsewhere"),
        ),
        "allergies": (str, Field(default="", max_length=2000, title="Allergies")),
        "medications": (str, Field(default="", max_length=2000, title="Current medicines")),
        "conditions": (str, Field(default="", max_length=2000, title="Conditions")),
        "mdq_positive": (MdqAnswer, Field(default="", title="MDQ positive")),
        "phq9_item9": (int | None, Field(default=None, ge=0, le=3, title="PHQ-9 item 9 today")),
    }
    for name, question in SCREENING_QUESTIONS:
        fields[name] = (YesNo, Field(title=question))
    for name, question in RISK_QUESTIONS:
        fields[name] = (YesNo | None, Field(default=None, title=question))
    model: type[FormModel] = create_model("ScreeningForm", __base__=FormModel, **fields)
    return model


ScreeningForm = _screening_form()


def _screening_context(db: Database, actor: Actor, patient_id: int) -> dict[str, Any]:
    return {
        "patient": patient_service.get_patient(db, actor, patient_id),
        "history": screening_service.list_screenings(db, actor, patient_id),
        "questions": SCREENING_QUESTIONS,
        "cssrs": RISK_QUESTIONS,
        "products": PRODUCTS.values(),
        "vocab_options": _vocab_options(),
    }


@router.post("/patients/{patient_id}/screening")
def screening_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    def screen(actor: Actor, data: FormModel, user: UserView) -> Response:
        values = data.model_dump(mode="json")
        answers = screening_service.parse_screening_answers(
            {k: "" if v is None else str(v) for k, v in values.items()}
        )
        screening_service.run_screening(
            db,
            actor,
            patient_id,
            values["product"],
            answers,
            medications=screening_service.split_list(values["medications"]),
            conditions=screening_service.split_list(values["conditions"]),
            last_bont_elsewhere=getattr(data, "last_bont_date", None),
            mdq_positive={"yes": True, "no": False}.get(values["mdq_positive"] or ""),
        )
        return redirect(f"/patients/{patient_id}/screening#latest")

    return handle_form(
        request,
        form,
        model=ScreeningForm,
        template="screening.html",
        context=lambda actor, values: _screening_context(db, actor, patient_id),
        action=screen,
    )


class OverrideForm(FormModel):
    """A prescriber's override of one precaution (on ``screening.html``)."""

    patient_id: int = Field(ge=1, le=2**31 - 1, title="Patient")
    rule_id: str = Field(min_length=1, max_length=80, title="Precaution")
    reason: str = Field(
        default="", max_length=2000, title="Override this precaution: clinical reason"
    )


@router.post("/screenings/{screening_id}/override")
def override_submit(request: Request, screening_id: int, form: FormDep, db: DbDep) -> Response:
    def override(actor: Actor, data: OverrideForm, user: UserView) -> Response:
        screening_service.override_precaution(db, actor, screening_id, data.rule_id, data.reason)
        return redirect(f"/patients/{data.patient_id}/screening#latest")

    raw_patient = str(form.get("patient_id", ""))
    return handle_form(
        request,
        form,
        model=OverrideForm,
        template="screening.html",
        context=lambda actor, values: _screening_context(
            db, actor, int(raw_patient) if raw_patient.isdigit() else 0
        ),
        action=override,
        error_key="override_error",
    )


# --- consent ------------------------------------------------------------------------------


def _consent_context(db: Database, actor: Actor, patient_id: int) -> dict[str, Any]:
    text = consent_service.current_text(db)
    return {
        "patient": patient_service.get_patient(db, actor, patient_id),
        "consent": text,
        # raw HTML is disabled in the parser: a tag in a consent file is shown, never run
        "consent_html": Markup(render_consent_html(text.text)),
        "consents": consent_service.list_consents(db, actor, patient_id),
    }


@router.get("/patients/{patient_id}/consent")
def consent_page(request: Request, patient_id: int, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    context = _consent_context(db, user.actor(client_source(request)), patient_id)
    return render(request, "consent.html", user=user, values={}, **context)


class ConsentForm(FormModel):
    """The consent form (``consent.html``)."""

    version: str = Field(default="", max_length=80, title="Consent version")
    signed_name: str = Field(
        default="", max_length=200, title="Patient's full name (typed signature)"
    )
    confirmed: Literal["yes"] | None = Field(default=None, title="The patient has read this text")
    different_name: Literal["yes"] | None = Field(
        default=None, title="The patient signed with a different name"
    )
    different_name_reason: str = Field(default="", max_length=2000, title="Reason")


@router.post("/patients/{patient_id}/consent")
def consent_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    def sign(actor: Actor, data: ConsentForm, user: UserView) -> Response:
        consent_service.sign_consent(
            db,
            actor,
            patient_id,
            data.version,
            data.signed_name,
            data.confirmed == "yes",
            different_name_reason=data.different_name_reason if data.different_name else None,
        )
        return redirect(f"/patients/{patient_id}/treatments/new")

    return handle_form(
        request,
        form,
        model=ConsentForm,
        template="consent.html",
        context=lambda actor, values: _consent_context(db, actor, patient_id),
        action=sign,
    )


class WithdrawalForm(FormModel):
    """The withdrawal of one signed consent (on ``consent.html``)."""

    reason: str = Field(default="", max_length=2000, title="Reason")


@router.post("/patients/{patient_id}/consents/{consent_id}/withdraw")
def consent_withdraw(
    request: Request, patient_id: int, consent_id: int, form: FormDep, db: DbDep
) -> Response:
    """The patient withdraws a signed consent: when, why and by whom are recorded."""

    def withdraw(actor: Actor, data: WithdrawalForm, user: UserView) -> Response:
        try:
            consent_service.withdraw_consent(db, actor, patient_id, consent_id, data.reason)
        except ServiceError as exc:  # shown next to that consent's withdrawal form
            if isinstance(exc, NotFound):
                raise
            shown = ServiceError(
                f"Consent {consent_id} not withdrawn: {exc.message}",
                field=f"withdraw-{consent_id}",
            )
            shown.status_code = exc.status_code
            raise shown from None
        return redirect(f"/patients/{patient_id}/consent#signed")

    return handle_form(
        request,
        form,
        model=WithdrawalForm,
        template="consent.html",
        context=lambda actor, values: _consent_context(db, actor, patient_id),
        action=withdraw,
    )


@router.get("/patients/{patient_id}/consents/{consent_id}.pdf")
def consent_pdf_page(request: Request, patient_id: int, consent_id: int, db: DbDep) -> Response:
    """The patient's PDF copy of a signed consent (recorded in the audit trail)."""
    user = page_user(request)
    actor = user.actor(client_source(request))
    return consent_pdf_response(consent_service.consent_copy(db, actor, patient_id, consent_id))


def consent_pdf_response(doc: ConsentDocument) -> Response:
    """A consent copy as a PDF download (shared with the JSON API)."""
    return Response(
        render_consent_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="consent-{doc.consent_id}.pdf"'},
    )


# --- treatment ----------------------------------------------------------------------------


def _treatment_context(db: Any, actor: Any, patient_id: int) -> dict[str, Any]:
    sites = protocol.load_sites()
    consents = [
        c
        for c in consent_service.list_consents(db, actor, patient_id)
        if c.usable  # not used by a treatment, not withdrawn (H-095)
    ]
    previous = treatment_service.list_treatments(db, actor, patient_id)
    injectors = treatment_service.injector_choices(db, actor)
    now = clinic_now(db, actor)
    return {
        "patient": patient_service.get_patient(db, actor, patient_id),
        "sites": sites,
        "injectors": injectors,
        "default_injector": treatment_service.default_injector(actor, injectors),
        "now_local": now.strftime("%Y-%m-%dT%H:%M"),
        "clinic_tz_name": str(now.tzinfo),
        "products": list(PRODUCTS.values()),
        "protocols": list(protocol.load_protocols().values()),
        "consents": consents,
        "screenings": screening_service.list_screenings(db, actor, patient_id),
        "previous": previous,
        # Re-treatment decisions are made with the previous response in view.
        "previous_followup": followup_service.patient_followup(db, actor, patient_id)
        if previous
        else None,
    }


@router.get("/patients/{patient_id}/treatments/new")
def treatment_page(request: Request, patient_id: int, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    actor = user.actor(client_source(request))
    context = _treatment_context(db, actor, patient_id)
    values: dict[str, str] = {
        "vial_units": "100",
        "saline_ml": "2.5",
        "treated_at": context["now_local"],
        "treated_at_shown": context["now_local"],
    }
    if context["default_injector"] is not None:
        values["injector_id"] = str(context["default_injector"])
    template_id = request.query_params.get("protocol", "")
    chosen = protocol.load_protocols().get(template_id)
    if chosen is not None:
        values["product"] = chosen.product.id
        values["protocol_id"] = chosen.id
        # Only units the protocol's source gives per site (verified, cited); never a share of
        # the total worked out here (hazard H-097).
        for row in protocol.site_template(chosen, context["sites"]):
            if row.units is not None:
                values[f"site_{row.site.id}"] = str(row.units)
    units = {k[5:]: v for k, v in values.items() if k.startswith("site_")}
    return render(
        request,
        "treatment.html",
        user=user,
        values=values,
        chosen_protocol=chosen,
        site_rows=protocol.site_template(chosen, context["sites"]),
        no_site_units_note=protocol.NO_SITE_UNITS_NOTE,
        map_svg=injection_map_svg(context["sites"], units),
        **context,
    )


def _number(example: str) -> Callable[[str], str]:
    """A check that a typed dose or volume follows the safe-number rules
    (``clinic.quantities``); the value is kept as typed for the service, and an empty entry
    is left to the service (a site left empty)."""

    def check(value: str) -> str:
        if value:
            parsed = parse_quantity(value, "")
            if parsed.error is not None:
                detail = parsed.error.split(": ", 1)[-1]
                if " is not a number here (" in detail:  # keep only the hint
                    detail = detail.split(" is not a number here (", 1)[1].removesuffix(")")
                raise ValueError(f"must be a number, e.g. {example} ({detail})")
        return value

    return check


Units = Annotated[str, AfterValidator(_number("4"))]
Volume = Annotated[str, AfterValidator(_number("2.5"))]
VialUnits = Annotated[str, AfterValidator(_number("100"))]


class TreatmentFormBase(FormModel):
    """The treatment record form (``treatment.html``); one ``site_<id>`` field per site."""

    product: str = Field(default="", max_length=80, title="Product")
    lot_number: str = Field(default="", max_length=80, title="Lot number")
    lot_expiry: dt.date = Field(title="Lot expiry date", examples=["2027-06-30"])
    vial_units: VialUnits = Field(title="Vial units")
    saline_ml: Volume = Field(title="Saline mL")
    consent_id: str = Field(default="", max_length=20, title="Signed consent")
    injector_id: str = Field(default="", max_length=20, title="Injected by")
    treated_at: str = Field(default="", max_length=40, title="Time of treatment")
    treated_at_shown: str = Field(default="", max_length=40)
    backdate_reason: str = Field(default="", max_length=2000, title="Reason for an earlier time")
    protocol_id: str = Field(default="", max_length=80, title="Protocol")
    notes: str = Field(default="", max_length=4000, title="Notes")

    @classmethod
    def form_field(cls, service_field: str) -> str:
        if service_field.startswith("sites."):
            return "site_" + service_field[len("sites.") :]
        return {"product_id": "product"}.get(service_field, service_field)

    def sites(self) -> dict[str, str]:
        """The units typed per site id."""
        return {k[5:]: v for k, v in self.model_dump().items() if k.startswith("site_") and v}


def _treatment_form() -> type[TreatmentFormBase]:
    fields: dict[str, Any] = {
        f"site_{site.id}": (
            Units,
            Field(default="", title=f"Units at {site.label[:1].lower()}{site.label[1:]}"),
        )
        for site in protocol.load_sites().values()
    }
    return create_model("TreatmentForm", __base__=TreatmentFormBase, **fields)


TreatmentForm = _treatment_form()


@router.post("/patients/{patient_id}/treatments/new")
def treatment_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    def record(actor: Actor, data: TreatmentFormBase, user: UserView) -> Response:
        try:
            consent_id = int(data.consent_id)
        except ValueError:
            raise Invalid(
                "Signed consent: choose the signed consent for this treatment", field="consent_id"
            ) from None
        treatment_service.record_treatment(
            db,
            actor,
            patient_id,
            treatment_service.TreatmentInput(
                product_id=data.product,
                lot_number=data.lot_number,
                lot_expiry=data.lot_expiry,
                vial_units=data.vial_units,
                saline_ml=data.saline_ml,
                sites=data.sites(),
                consent_id=consent_id,
                protocol_id=data.protocol_id or None,
                notes=data.notes,
                treated_at=_treated_at(data.treated_at, data.treated_at_shown),
                backdate_reason=data.backdate_reason,
                injector_id=_injector_field(data.injector_id),
            ),
        )
        return redirect(f"/patients/{patient_id}#pathway")

    def context(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
        ctx = _treatment_context(db, actor, patient_id)
        units = {k[5:]: v for k, v in values.items() if k.startswith("site_")}
        chosen = protocol.load_protocols().get(str(values.get("protocol_id", "")))
        if values.get("treated_at") == values.get("treated_at_shown"):
            # Left at its default: still "now" on the form shown again.
            values["treated_at"] = values["treated_at_shown"] = ctx["now_local"]
        return {
            **ctx,
            "chosen_protocol": chosen,
            "site_rows": protocol.site_template(chosen, ctx["sites"]),
            "no_site_units_note": protocol.NO_SITE_UNITS_NOTE,
            "map_svg": injection_map_svg(ctx["sites"], units),
        }

    return handle_form(
        request,
        form,
        model=TreatmentForm,
        template="treatment.html",
        context=context,
        action=record,
    )


def _injector_field(raw: str) -> int | None:
    """The form's injector: a staff id; empty is refused by the service unless the signed-in
    user may inject (then it means them)."""
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 10:
        raise Invalid("choose who injected from the list", field="injector_id")
    return int(text)


def _treated_at(raw: str, shown: str | None = None) -> dt.datetime | None:
    """The form's treatment time; empty, or left at the "now" the form was shown with, means
    now (the time of recording: the shown minute would otherwise fall before a screening or
    consent made seconds earlier). A time without an offset (the browser's date-and-time
    input) is the clinic's local time, applied by the service."""
    text = raw.strip()
    if not text or (shown is not None and text == shown.strip()):
        return None
    try:
        if len(text) > 40:
            raise ValueError(text)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            "treatment time must be a date and time, e.g. 2026-11-02 10:00", field="treated_at"
        ) from None


# --- adverse events -----------------------------------------------------------------------


def _ae_choices() -> dict[str, Any]:
    return {
        "ae_types": ae_service.AE_LABELS,
        "grades": list(ae_service.GRADE_LABELS.items()),
        "seriousness": ae_service.SERIOUSNESS_LABELS,
        "relatedness": ae_service.RELATEDNESS_LABELS,
        "actions": ae_service.ACTION_LABELS,
        "outcomes": ae_service.OUTCOME_LABELS,
        "labels": ae_service.FIELD_LABELS,
    }


def _ae_field(name: str, limit: int = 80) -> Any:
    return Field(default="", max_length=limit, title=ae_service.FIELD_LABELS[name])


class AdverseEventForm(FormModel):
    """The adverse-event form (``adverse_event.html``), new event and update alike: the
    clinician's judgement is checked by the service (every answer required, none defaulted,
    H-090), which names each field by these same labels (``ae_service.FIELD_LABELS``)."""

    type: str = _ae_field("type")
    onset: str = _ae_field("onset")
    description: str = _ae_field("description", 4000)
    grade: str = _ae_field("grade")
    serious: str = _ae_field("serious")
    seriousness: list[str] = Field(
        default_factory=list, max_length=20, title=ae_service.FIELD_LABELS["seriousness"]
    )
    relatedness: str = _ae_field("relatedness")
    action: str = _ae_field("action")
    outcome: str = _ae_field("outcome")
    resolved_on: str = _ae_field("resolved_on")
    treatment_id: str = _ae_field("treatment_id")
    note: str = _ae_field("note", 2000)

    def judgement(self) -> ae_service.Judgement:
        return ae_service.Judgement(
            grade=self.grade,
            serious=self.serious,
            seriousness=tuple(self.seriousness),
            relatedness=self.relatedness,
            action=self.action,
            outcome=self.outcome,
            resolved_on=self.resolved_on,
        )


def _treatment_field(raw: str) -> int | str | None:
    """The form's "treatment it followed": ``latest`` (default), ``none`` or a treatment id."""
    if raw in ("", ae_service.LATEST):
        return ae_service.LATEST
    if raw == "none":
        return None
    return raw


def _ae_context(
    db: Database, actor: Actor, patient_id: int, event: ae_service.AdverseEventView | None = None
) -> dict[str, Any]:
    return {
        "patient": patient_service.get_patient(db, actor, patient_id),
        "event": event,
        "treatments": ae_service.treatment_choices(db, actor, patient_id),
        **_ae_choices(),
    }


def _ae_form(
    request: Request,
    db: DbDep,
    patient_id: int,
    *,
    values: dict[str, Any],
    event: ae_service.AdverseEventView | None = None,
) -> HTMLResponse:
    user = page_user(request)
    actor = user.actor(client_source(request))
    return render(
        request,
        "adverse_event.html",
        user=user,
        values=values,
        **_ae_context(db, actor, patient_id, event),
    )


@router.get("/patients/{patient_id}/adverse-events/new")
def ae_page(request: Request, patient_id: int, db: DbDep) -> HTMLResponse:
    return _ae_form(request, db, patient_id, values={"treatment_id": ae_service.LATEST})


def _parse_onset(user: UserView, raw: str) -> dt.datetime:
    label = ae_service.FIELD_LABELS["onset"]
    if not raw.strip():
        raise Invalid(f"Please enter “{label}” (date and time)", field="onset")
    try:
        onset = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(f"{label}: enter a date and time", field="onset") from None
    if onset.tzinfo is None:  # typed as the clinic's wall-clock time
        onset = onset.replace(tzinfo=ZoneInfo(user.clinic_timezone))
    return onset


@router.post("/patients/{patient_id}/adverse-events/new")
def ae_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    def record(actor: Actor, data: AdverseEventForm, user: UserView) -> Response:
        ae_service.record_adverse_event(
            db,
            actor,
            patient_id,
            type_=data.type,
            onset=_parse_onset(user, data.onset),
            judgement=data.judgement(),
            description=data.description,
            treatment_id=_treatment_field(data.treatment_id),
        )
        return redirect(f"/patients/{patient_id}#adverse-events")

    return handle_form(
        request,
        form,
        model=AdverseEventForm,
        template="adverse_event.html",
        context=lambda actor, values: _ae_context(db, actor, patient_id),
        action=record,
    )


def _current_values(event: ae_service.AdverseEventView) -> dict[str, Any]:
    """An update form starts from the event's current record (a patient's report: blank)."""
    graded = event.grade is not None
    return {
        "grade": "" if event.grade is None else str(event.grade),
        "serious": ("yes" if event.seriousness else "no") if graded else "",
        "seriousness": list(event.seriousness),
        "relatedness": event.relatedness or "",
        "action": event.action or "",
        "outcome": event.outcome or "",
        "resolved_on": "" if event.resolved_on is None else event.resolved_on.isoformat(),
        "treatment_id": "none" if event.treatment_id is None else str(event.treatment_id),
        "note": "",
    }


@router.get("/patients/{patient_id}/adverse-events/{event_id}")
def ae_detail(request: Request, patient_id: int, event_id: int, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    event = ae_service.get_adverse_event(
        db, user.actor(client_source(request)), patient_id, event_id
    )
    return _ae_form(request, db, patient_id, values=_current_values(event), event=event)


@router.post("/patients/{patient_id}/adverse-events/{event_id}")
def ae_update(
    request: Request, patient_id: int, event_id: int, form: FormDep, db: DbDep
) -> Response:
    def update(actor: Actor, data: AdverseEventForm, user: UserView) -> Response:
        raw = data.treatment_id
        ae_service.update_adverse_event(
            db,
            actor,
            patient_id,
            event_id,
            judgement=data.judgement(),
            treatment_id=None if raw == "none" else (raw or ae_service.UNCHANGED),
            note=data.note,
        )
        return redirect(f"/patients/{patient_id}/adverse-events/{event_id}")

    return handle_form(
        request,
        form,
        model=AdverseEventForm,
        template="adverse_event.html",
        context=lambda actor, values: _ae_context(
            db, actor, patient_id, ae_service.get_adverse_event(db, actor, patient_id, event_id)
        ),
        action=update,
    )
