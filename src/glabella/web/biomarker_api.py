"""JSON API of the frown biomarker: photo consent, photo pairs (measures in the response),
audited image views and deletion on request."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from glabella.clinic.biomarker import MAX_BYTES
from glabella.services import biomarker as bio_service
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.web.deps import database, get_settings_from, request_actor

router = APIRouter(prefix="/api/v1", tags=["biomarker"])
DbDep = Annotated[Database, Depends(database)]
ActorDep = Annotated[Actor, Depends(request_actor)]


class PhotoConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirmed: bool
    allow_research: bool = False


def _read_bounded(upload: UploadFile, field: str) -> bytes:
    data = upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Invalid(f"{field}: the file is larger than {MAX_BYTES} bytes", field=field)
    return data


@router.post("/patients/{patient_id}/photo-consent", status_code=201)
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


@router.post("/patients/{patient_id}/photo-consent/withdraw")
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


@router.post("/patients/{patient_id}/photos", status_code=201)
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


@router.get("/patients/{patient_id}/photos")
def list_photos(patient_id: int, actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    return [p.to_dict() for p in bio_service.list_pairs(db, actor, patient_id)]


@router.get("/patients/{patient_id}/photos/{pair_id}/{which}")
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


@router.delete("/patients/{patient_id}/photos")
def delete_photos(patient_id: int, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Delete every image of the patient on request; the measures stay."""
    return {"deleted_pairs": bio_service.delete_images(db, actor, patient_id)}
