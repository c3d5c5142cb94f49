"""Staff administration for administrators: pages under /admin/staff and the JSON API under
/api/v1/admin. A thin adapter over :mod:`glabella.services.staff` (which checks the role again
and audits every change)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from glabella.services import staff as staff_service
from glabella.services.context import Actor, Database
from glabella.services.errors import ServiceError
from glabella.services.roles import ROLE_LABELS, Role
from glabella.services.users import UserView
from glabella.web.deps import (
    ActorDep,
    DbDep,
    FormDep,
    check_csrf,
    client_source,
    home_page,
    page_user,
)
from glabella.web.form_route import FormModel, handle_form
from glabella.web.templating import render

api_router = APIRouter(prefix="/api/v1/admin", tags=["staff administration"])
router = APIRouter(include_in_schema=False)


# --- JSON API -------------------------------------------------------------------------------


class NewStaffBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=80)
    full_name: str = Field(default="", max_length=200)
    role: str = Field(min_length=1, max_length=32)
    clinic_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class StaffChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(default=None, min_length=1, max_length=32)
    clinic_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    full_name: str | None = Field(default=None, min_length=1, max_length=200)


UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@api_router.get("/staff")
def api_list_staff(actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """Every staff account: role, clinic, active, locked, second factor on."""
    return [m.to_dict() for m in staff_service.list_staff(db, actor)]


@api_router.post("/staff", status_code=201)
def api_add_staff(body: NewStaffBody, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Add an account. The answer carries its one-time password, shown this once: the person
    must choose their own at the first sign-in. ``clinic_id`` omitted: the admin's clinic."""
    member, one_time = staff_service.add_staff(
        db,
        actor,
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        clinic_id=body.clinic_id,
    )
    return {**member.to_dict(), "one_time_password": one_time}


@api_router.get("/staff/{user_id}")
def api_get_staff(user_id: UserId, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """One staff account."""
    return staff_service.get_staff(db, actor, user_id).to_dict()


@api_router.patch("/staff/{user_id}")
def api_change_staff(
    user_id: UserId, body: StaffChangeBody, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Change the role, clinic or name (what is left out stays). The last active
    administrator cannot be given another role (409)."""
    return staff_service.update_staff(
        db, actor, user_id, role=body.role, clinic_id=body.clinic_id, full_name=body.full_name
    ).to_dict()


@api_router.post("/staff/{user_id}/deactivate")
def api_deactivate(user_id: UserId, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Deactivate: every session of the account ends at once and it cannot sign in. The
    last active administrator cannot be deactivated (409)."""
    return staff_service.set_active(db, actor, user_id, False).to_dict()


@api_router.post("/staff/{user_id}/reactivate")
def api_reactivate(user_id: UserId, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Let a deactivated account sign in again."""
    return staff_service.set_active(db, actor, user_id, True).to_dict()


@api_router.post("/staff/{user_id}/reset-password")
def api_reset_password(user_id: UserId, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """A new one-time password (in the answer, this once); it must be changed at the next
    sign-in, the account's sessions end and a sign-in lock is lifted."""
    member, one_time = staff_service.reset_password(db, actor, user_id)
    return {**member.to_dict(), "one_time_password": one_time}


@api_router.post("/staff/{user_id}/reset-two-factor")
def api_reset_two_factor(user_id: UserId, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Turn the account's second factor off when its phone and recovery codes are lost (the
    sessions end; the person enrols again from their account page)."""
    return staff_service.reset_two_factor(db, actor, user_id).to_dict()


@api_router.post("/staff/{user_id}/unlock")
def api_unlock(user_id: UserId, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Lift the account's sign-in lock (after too many failed sign-ins)."""
    lifted = staff_service.unlock(db, actor, user_id)
    return {**staff_service.get_staff(db, actor, user_id).to_dict(), "was_locked": lifted}


@api_router.get("/clinics")
def api_clinics(actor: ActorDep, db: DbDep) -> list[dict[str, object]]:
    """The installation's clinics (for ``clinic_id``)."""
    return [
        {"id": c.id, "name": c.name, "timezone": c.timezone}
        for c in staff_service.clinics(db, actor)
    ]


# --- pages ----------------------------------------------------------------------------------

DONE_MESSAGES = {
    "updated": "Saved.",
    "deactivated": "The account is deactivated: its sessions have ended and it cannot sign in.",
    "reactivated": "The account is active again.",
    "unlocked": "The sign-in lock is lifted.",
    "not_locked": "The account was not locked.",
    "two_factor_reset": "Two-factor sign-in is off for this account; its sessions have ended.",
}


def _form_str(form: FormData, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _staff_page(
    request: Request, db: Database, actor: Actor, status_code: int = 200, **context: Any
) -> HTMLResponse:
    user = page_user(request)
    return render(
        request,
        "admin_staff.html",
        status_code=status_code,
        user=user,
        staff=staff_service.list_staff(db, actor),
        clinics=staff_service.clinics(db, actor),
        roles=ROLE_LABELS,
        values=context.pop("values", {}),
        **context,
    )


@router.get("/admin/staff")
def staff_page(request: Request, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    return _staff_page(request, db, user.actor(client_source(request)))


def _clinic_choice(value: str) -> str:
    if value and (not value.isdigit() or int(value) > 2**31 - 1):
        raise ValueError("choose one from the list")
    return value


ClinicChoice = Annotated[str, AfterValidator(_clinic_choice)]


class StaffForm(FormModel):
    """The add-staff form (``admin_staff.html``); the update form uses the same labels."""

    full_name: str = Field(default="", max_length=200, title="Full name")
    username: str = Field(default="", max_length=80, title="Username")
    role: str = Field(default="", max_length=32, title="Role")
    clinic_id: ClinicChoice = Field(default="", max_length=20, title="Clinic")

    def clinic(self) -> int | None:
        return int(self.clinic_id) if self.clinic_id else None


def _staff_context(db: Database, actor: Actor) -> dict[str, Any]:
    return {
        "staff": staff_service.list_staff(db, actor),
        "clinics": staff_service.clinics(db, actor),
        "roles": ROLE_LABELS,
    }


@router.post("/admin/staff")
def staff_add_submit(request: Request, form: FormDep, db: DbDep) -> Response:
    def add(actor: Actor, data: StaffForm, user: UserView) -> Response:
        member, one_time = staff_service.add_staff(
            db,
            actor,
            username=data.username,
            full_name=data.full_name,
            role=data.role,
            clinic_id=data.clinic(),
        )
        return _staff_page(request, db, actor, created=member, one_time=one_time)

    return handle_form(
        request,
        form,
        model=StaffForm,
        template="admin_staff.html",
        context=lambda actor, values: _staff_context(db, actor),
        action=add,
    )


def _member_page(
    request: Request,
    db: Database,
    actor: Actor,
    user_id: int,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    user = page_user(request)
    return render(
        request,
        "admin_staff_member.html",
        status_code=status_code,
        user=user,
        member=staff_service.get_staff(db, actor, user_id),
        clinics=staff_service.clinics(db, actor),
        roles=ROLE_LABELS,
        **context,
    )


@router.get("/admin/staff/{user_id}")
def staff_member_page(request: Request, user_id: int, db: DbDep, done: str = "") -> HTMLResponse:
    user = page_user(request)
    return _member_page(
        request, db, user.actor(client_source(request)), user_id, done=DONE_MESSAGES.get(done)
    )


def _member_action(
    request: Request, form: FormData, db: Database, user_id: int, action: str
) -> Response:
    user = page_user(request)
    check_csrf(request, _form_str(form, "csrf_token", 200))
    actor = user.actor(client_source(request))
    try:
        if action in ("deactivate", "reactivate"):
            staff_service.set_active(db, actor, user_id, action == "reactivate")
            if user_id == user.id:
                return RedirectResponse("/login", status_code=303)  # signed out with it
            done = f"{action}d"
        elif action == "reset-two-factor":
            staff_service.reset_two_factor(db, actor, user_id)
            done = "two_factor_reset"
        elif action == "unlock":
            done = "unlocked" if staff_service.unlock(db, actor, user_id) else "not_locked"
        else:  # reset-password: the one-time password is shown on this answer only
            _, one_time = staff_service.reset_password(db, actor, user_id)
            return _member_page(request, db, actor, user_id, one_time=one_time)
    except ServiceError as exc:
        if exc.status_code == 404:
            raise
        return _member_page(
            request, db, actor, user_id, status_code=exc.status_code, error=exc.message
        )
    return RedirectResponse(f"/admin/staff/{user_id}?done={done}", status_code=303)


@router.post("/admin/staff/{user_id}")
def staff_update_submit(request: Request, user_id: int, form: FormDep, db: DbDep) -> Response:
    def update(actor: Actor, data: StaffForm, user: UserView) -> Response:
        member = staff_service.update_staff(
            db,
            actor,
            user_id,
            role=data.role or None,
            clinic_id=data.clinic(),
            full_name=data.full_name or None,
        )
        if member.id == user.id and member.role != Role.ADMIN:
            return RedirectResponse(home_page(member.role), status_code=303)  # stepped down
        return RedirectResponse(f"/admin/staff/{user_id}?done=updated", status_code=303)

    return handle_form(
        request,
        form,
        model=StaffForm,
        template="admin_staff_member.html",
        context=lambda actor, values: {
            "member": staff_service.get_staff(db, actor, user_id),
            "clinics": staff_service.clinics(db, actor),
            "roles": ROLE_LABELS,
        },
        action=update,
    )


@router.post("/admin/staff/{user_id}/deactivate")
def staff_deactivate_submit(request: Request, user_id: int, form: FormDep, db: DbDep) -> Response:
    return _member_action(request, form, db, user_id, "deactivate")


@router.post("/admin/staff/{user_id}/reactivate")
def staff_reactivate_submit(request: Request, user_id: int, form: FormDep, db: DbDep) -> Response:
    return _member_action(request, form, db, user_id, "reactivate")


@router.post("/admin/staff/{user_id}/reset-password")
def staff_reset_submit(request: Request, user_id: int, form: FormDep, db: DbDep) -> Response:
    return _member_action(request, form, db, user_id, "reset-password")


@router.post("/admin/staff/{user_id}/unlock")
def staff_unlock_submit(request: Request, user_id: int, form: FormDep, db: DbDep) -> Response:
    return _member_action(request, form, db, user_id, "unlock")


@router.post("/admin/staff/{user_id}/reset-two-factor")
def staff_reset_two_factor_submit(
    request: Request, user_id: int, form: FormDep, db: DbDep
) -> Response:
    return _member_action(request, form, db, user_id, "reset-two-factor")
