"""Frown photos: the JSON API, the clinician's patient page and the patient's link page.

Thin adapter over ``glabella.services.biomarker``: photo consent first, two photos (rest,
maximal frown) from the phone camera input, each checked at once (a ``/check`` route measures
one photo as soon as it is chosen, storing nothing; the submit checks both again), what to fix
shown next to the photo, nothing stored on failure; audited image views; deletion of the images
on request (the measures stay). Uploads have their own body-size class
(``glabella.web.limits.PHOTOS``); CSRF as on every staff form; the patient's link token is the
patient's credential, as on ``/r/{token}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as FormFile

from glabella.clinic.biomarker import MAX_BYTES
from glabella.services import biomarker as bio_service
from glabella.services.context import Database
from glabella.services.errors import Invalid, ServiceError
from glabella.web.deps import (
    ActorDep,
    DbDep,
    FormDep,
    check_csrf,
    client_source,
    get_settings_from,
)
from glabella.web.deps import page_user as _page_user
from glabella.web.frown_views import problems_by_field
from glabella.web.routes import assessments, patients

api_router = APIRouter(prefix="/api/v1", tags=["biomarker"])
router = APIRouter(include_in_schema=False)
FIELDS = ("rest", "frown")


# --- JSON API -------------------------------------------------------------------------------


class PhotoConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirmed: bool
    allow_research: bool = False


def _read_bounded(upload: UploadFile, field: str) -> bytes:
    data = upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Invalid(f"{field}: the file is larger than {MAX_BYTES} bytes", field=field)
    return data


@api_router.post("/patients/{patient_id}/photo-consent", status_code=201)
def grant_photo_consent(
    patient_id: int, body: PhotoConsentBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Record the patient's separate consent to clinical photographs."""
    cid = bio_service.grant_photo_consent(
        db, actor, patient_id, allow_research=body.allow_research, confirmed=body.confirmed
    )
    return {"id": cid, "patient_id": patient_id, "allow_research": body.allow_research}


class PhotoWithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=2000)


@api_router.post("/patients/{patient_id}/photo-consent/withdraw")
def withdraw_photo_consent(
    patient_id: int, body: PhotoWithdrawBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Record that the patient withdrew photo consent (no new photo until consent again)."""
    n = bio_service.withdraw_photo_consent(db, actor, patient_id, body.reason)
    return {
        "patient_id": patient_id,
        "withdrawn": n,
        "withdrawals": [
            w.to_dict() for w in bio_service.photo_consent_withdrawals(db, actor, patient_id)
        ],
    }


@api_router.post("/patients/{patient_id}/photos", status_code=201)
def submit_photos(
    patient_id: int,
    request: Request,
    actor: ActorDep,
    db: DbDep,
    rest: Annotated[UploadFile, File(description="face at rest")],
    frown: Annotated[UploadFile, File(description="face at maximal frown")],
) -> dict[str, object]:
    """Measure a rest/frown pair; stored encrypted only when both photos pass every check."""
    key = get_settings_from(request).resolved_photo_key()
    view = bio_service.submit_photos(
        db,
        actor,
        patient_id,
        _read_bounded(rest, "rest"),
        _read_bounded(frown, "frown"),
        key,
    )
    return view.to_dict()


@api_router.get("/patients/{patient_id}/photos")
def list_photos(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [p.to_dict() for p in bio_service.list_pairs(db, actor, patient_id)]


@api_router.get("/patients/{patient_id}/photos/{pair_id}/{which}")
def view_photo(
    patient_id: int,
    pair_id: int,
    which: Literal["rest", "frown"],
    request: Request,
    actor: ActorDep,
    db: DbDep,
) -> Response:
    """One image, decrypted (audited)."""
    key = get_settings_from(request).resolved_photo_key()
    data = bio_service.view_photo(db, actor, patient_id, pair_id, which, key)
    return Response(
        content=data, media_type="application/octet-stream", headers={"Cache-Control": "no-store"}
    )


@api_router.delete("/patients/{patient_id}/photos")
def delete_photos(patient_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Delete every image of the patient on request; the measures stay."""
    return {"deleted_pairs": bio_service.delete_images(db, actor, patient_id)}


# --- pages ----------------------------------------------------------------------------------


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _upload(form: FormData, field: str) -> bytes | None:
    """The bytes of one chosen file (None when no file was chosen), read up to the limit."""
    value = form.get(field)
    if not isinstance(value, FormFile):
        return None
    data = value.file.read(MAX_BYTES + 1)
    if not data and not value.filename:
        return None
    return data


def _both(form: FormData) -> tuple[bytes, bytes]:
    chosen = {f: _upload(form, f) for f in FIELDS}
    missing = [f for f in FIELDS if chosen[f] is None]
    if missing:
        raise Invalid(
            "choose both photos: " + ", ".join(missing),
            field=missing[0],
            problems=tuple(
                {"code": "missing", "field": f, "message": "no photo chosen: take or choose one"}
                for f in missing
            ),
        )
    rest, frown = chosen["rest"], chosen["frown"]
    assert rest is not None and frown is not None
    return rest, frown


def _patient_page_again(
    request: Request, patient_id: int, db: Database, exc: ServiceError
) -> Response:
    request.state.frown_problems = problems_by_field(exc)
    response = patients.patient_page(request, patient_id, db)
    response.status_code = exc.status_code
    return response


def _link_page_again(request: Request, token: str, db: Database, exc: ServiceError) -> Response:
    request.state.frown_problems = problems_by_field(exc)
    response = assessments.self_report_page(request, token, db)
    if response.status_code == 200:
        response.status_code = exc.status_code
    return response


def _json_error(exc: ServiceError) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code)


def _check_answer(form: FormData) -> JSONResponse:
    field = str(form.get("field", ""))
    if field not in FIELDS:
        raise Invalid("field must be 'rest' or 'frown'", field="field")
    data = _upload(form, "photo")
    if data is None:
        raise Invalid("no photo chosen", field=field)
    problems = bio_service.photo_problems(data, field)
    return JSONResponse({"field": field, "ok": not problems, "problems": problems})


# --- the clinician's patient page ----------------------------------------------------------


@router.post("/patients/{patient_id}/photo-consent")
def photo_consent_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    user = _page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    actor = user.actor(client_source(request))
    try:
        bio_service.grant_photo_consent(
            db,
            actor,
            patient_id,
            allow_research=form.get("allow_research") == "yes",
            confirmed=form.get("confirmed") == "yes",
        )
    except ServiceError as exc:
        return _patient_page_again(request, patient_id, db, exc)
    request.session["frown_notice"] = "Photo consent recorded."
    return _redirect(f"/patients/{patient_id}#frown")


@router.post("/patients/{patient_id}/photo-consent/withdraw")
def photo_consent_withdraw(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    """The patient withdraws photo consent: when, why and by whom are recorded."""
    user = _page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    actor = user.actor(client_source(request))
    try:
        bio_service.withdraw_photo_consent(db, actor, patient_id, str(form.get("reason", "")))
    except ServiceError as exc:
        return _patient_page_again(request, patient_id, db, exc)
    request.session["frown_notice"] = "Photo consent withdrawal recorded."
    return _redirect(f"/patients/{patient_id}#frown")


@router.post("/patients/{patient_id}/photos/check")
def photo_check(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    """Check one photo as soon as it is chosen (JSON for the page's script; nothing stored)."""
    user = _page_user(request)
    try:
        check_csrf(request, str(form.get("csrf_token", "")))
        # the patient must be visible to this user (clinic filter), as on the submit
        bio_service.photo_consent_status(db, user.actor(client_source(request)), patient_id)
        return _check_answer(form)
    except ServiceError as exc:
        return _json_error(exc)


@router.post("/patients/{patient_id}/photos")
def photos_submit(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    user = _page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    actor = user.actor(client_source(request))
    key = get_settings_from(request).resolved_photo_key()
    try:
        rest, frown = _both(form)
        view = bio_service.submit_photos(db, actor, patient_id, rest, frown, key)
    except ServiceError as exc:
        return _patient_page_again(request, patient_id, db, exc)
    request.session["frown_notice"] = (
        f"Photos checked, measured and stored: frown activity index {view.index:.1f}."
    )
    return _redirect(f"/patients/{patient_id}#frown")


def _media_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


@router.get("/patients/{patient_id}/photos/{pair_id}/{which}")
def photo_view(
    request: Request,
    patient_id: int,
    pair_id: int,
    which: Literal["rest", "frown"],
    db: DbDep,
) -> Response:
    """One photo, decrypted; every view is audited (``photos.view``) by the service."""
    user = _page_user(request)
    key = get_settings_from(request).resolved_photo_key()
    data = bio_service.view_photo(
        db, user.actor(client_source(request)), patient_id, pair_id, which, key
    )
    media = _media_type(data)
    disposition = "inline" if media != "application/octet-stream" else "attachment"
    return Response(
        content=data,
        media_type=media,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'{disposition}; filename="pair-{pair_id}-{which}"',
        },
    )


@router.post("/patients/{patient_id}/photos/delete")
def photos_delete(request: Request, patient_id: int, form: FormDep, db: DbDep) -> Response:
    """Delete the images on the patient's request (one pair or all); the measures stay."""
    user = _page_user(request)
    check_csrf(request, str(form.get("csrf_token", "")))
    actor = user.actor(client_source(request))
    raw_pair = str(form.get("pair_id", "") or "")
    try:
        if form.get("confirmed") != "yes":
            raise Invalid(
                "tick the box to confirm that the patient asked for the photos to be deleted",
                field="delete",
            )
        if raw_pair and not raw_pair.isdigit():
            raise Invalid("pair_id must be a number", field="delete")
        deleted = bio_service.delete_images(
            db, actor, patient_id, int(raw_pair) if raw_pair else None
        )
    except ServiceError as exc:
        return _patient_page_again(request, patient_id, db, exc)
    request.session["frown_notice"] = (
        f"Images of {deleted} visit{'s' if deleted != 1 else ''} deleted; the measures are kept."
    )
    return _redirect(f"/patients/{patient_id}#frown")


# --- the patient's own link page -------------------------------------------------------------


@router.post("/r/{token}/photos/agree")
def link_photo_consent(request: Request, token: str, form: FormDep, db: DbDep) -> Response:
    try:
        bio_service.grant_photo_consent_by_link(
            db, token, confirmed=form.get("confirmed") == "yes", source=client_source(request)
        )
    except ServiceError as exc:
        return _link_page_again(request, token, db, exc)
    request.session["photo_notice"] = "Thank you. You can now take the two photos."
    return _redirect(f"/r/{token}#photos")


@router.post("/r/{token}/photos/check")
def link_photo_check(request: Request, token: str, form: FormDep, db: DbDep) -> Response:
    """Check one photo as soon as it is chosen (nothing stored; the link must be usable)."""
    try:
        bio_service.link_photo_state(db, token)
        return _check_answer(form)
    except ServiceError as exc:
        return _json_error(exc)


@router.post("/r/{token}/photos")
def link_photos_submit(request: Request, token: str, form: FormDep, db: DbDep) -> Response:
    key = get_settings_from(request).resolved_photo_key()
    try:
        rest, frown = _both(form)
        bio_service.submit_photos_by_link(db, token, rest, frown, key, client_source(request))
    except ServiceError as exc:
        return _link_page_again(request, token, db, exc)
    request.session["photo_notice"] = "Thank you: your two photos were received."
    return _redirect(f"/r/{token}#photos")
