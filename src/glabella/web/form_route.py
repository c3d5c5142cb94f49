"""One skeleton for the HTML form routes: CSRF -> actor -> parse -> service -> re-render.

A form route describes its form with a Pydantic model whose field titles are the labels the
form shows (:class:`FormModel`), the template and its context, and the service call;
:func:`handle_form` does the rest:

1. refuses a request without the session's CSRF token (403);
2. resolves the signed-in user and the actor;
3. reads the form into the model (multi-valued fields as lists; an empty non-text field is
   left out, so it is "required" or its default);
4. calls the service with the parsed form;
5. on a validation error or a service error, renders the same template again with the status
   (422 for a form that does not parse), every value entered kept, and each message naming
   the field by its form label in plain language ("Date of birth: is in the future
   (2031-01-01)", "Units at left corrugator: must be a number, e.g. 4"), never Pydantic's
   wording ("date_of_birth: Value error, ...", "float_parsing").
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, Union, get_args, get_origin

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from glabella.services.context import Actor
from glabella.services.errors import Invalid, ServiceError
from glabella.services.users import UserView
from glabella.web.deps import check_csrf, client_source, page_user
from glabella.web.templating import render

F = TypeVar("F", bound="FormModel")


class FormModel(BaseModel):
    """A form's fields; each field's ``title`` is the label the form shows."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @classmethod
    def form_field(cls, service_field: str) -> str:
        """The form input a service's error ``field`` refers to (the same name by default)."""
        return service_field


def titled(base: type[BaseModel], name: str, labels: Mapping[str, str]) -> type[FormModel]:
    """A form model of a service's input model: the same fields and checks, each field titled
    with its form label (``labels``), and the form's other inputs (its CSRF token) ignored."""

    class Form(FormModel, base):  # type: ignore[misc, valid-type]
        model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    fields: dict[str, Any] = {
        n: (f.annotation, FieldInfo.merge_field_infos(f, title=labels[n]))
        for n, f in base.model_fields.items()
        if n in labels
    }
    model: type[FormModel] = create_model(name, __base__=Form, **fields)
    return model


def label_of(model: type[BaseModel], name: str) -> str:
    """The form label of a field: its title, or its name in words."""
    field = model.model_fields.get(name)
    if field is not None and field.title:
        return field.title
    return name.replace("__", " ").replace("_", " ").strip().capitalize()


def _example(field: FieldInfo | None, default: str) -> str:
    if field is not None and field.examples:
        return str(field.examples[0])
    return default


def _plain(err: Mapping[str, Any], field: FieldInfo | None) -> str:
    """What is wrong with one entry, in words a person reads (no Pydantic type names)."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "is required"
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number"):
        return f"must be a number, e.g. {_example(field, '4')}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, e.g. {_example(field, '3')}"
    if kind.startswith("date") and not kind.startswith("datetime"):
        return f"must be a date, e.g. {_example(field, '2026-11-02')}"
    if kind.startswith("datetime"):
        return f"must be a date and time, e.g. {_example(field, '2026-11-02 10:00')}"
    if kind in ("literal_error", "enum", "bool_parsing", "bool_type"):
        return "choose one of the answers offered"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }
        bound = next(iter(ctx.values()), "")
        return f"must be {words[kind]} {bound}"
    if kind == "string_too_short":
        return f"is too short (at least {ctx.get('min_length')} characters)"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "decimal_max_places":
        return f"has too many decimal places (at most {ctx.get('decimal_places')})"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    message = str(err.get("msg", "")).removeprefix("Value error, ")
    if not message or "_" in message.split(" ", 1)[0] or "Value error" in message:
        return "is not valid"
    return message[:1].lower() + message[1:]


def joined(label: str, text: str) -> str:
    """``"Date of birth: is in the future"``; a question label reads "…? Choose …"."""
    if label.endswith("?"):
        return f"{label} {text[:1].upper()}{text[1:]}"
    return f"{label}: {text}"


def form_problems(exc: ValidationError, model: type[BaseModel]) -> list[dict[str, str | None]]:
    """Every error of a form, one per field, each naming the field by its form label."""
    out: dict[str, dict[str, str | None]] = {}
    for err in exc.errors(include_url=False):
        loc = err.get("loc", ())
        name = str(loc[0]) if loc else ""
        field = model.model_fields.get(name)
        label = label_of(model, name) if name else "The form"
        out.setdefault(name, {"field": name or None, "message": joined(label, _plain(err, field))})
    return list(out.values())


_PREFIX = re.compile(r"^([^:]{1,80}):\s+(.*)$", re.S)


def relabel(exc: ServiceError, model: type[FormModel]) -> list[dict[str, str | None]]:
    """A service error's problems as the form names them: the input each concerns, and the
    message's leading field name (``date_of_birth:`` or ``date of birth:``) replaced by the
    form label, or the label put first when the message does not name the field."""
    raw = list(exc.problems) or [{"field": exc.field, "message": exc.message}]
    out = []
    for problem in raw:
        where = problem.get("field")
        message = str(problem.get("message") or "")
        name = model.form_field(where) if where else None
        if name is not None and name in model.model_fields:
            label = label_of(model, name)
            matched = _PREFIX.match(message)
            if matched and (
                "_" in matched.group(1)
                or matched.group(1).strip().lower() == label.lower()
                or matched.group(1).strip().lower().replace(" ", "_") == where
            ):
                message = joined(label, matched.group(2))
            elif not message.lower().startswith(label.lower()) and f"“{label}”" not in message:
                message = joined(label, message)
        out.append({"field": name, "message": message})
    return out


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_text(a) for a in get_args(annotation))
    return False


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple):
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_list(a) for a in get_args(annotation))
    return False


def form_values(form: FormData, model: type[BaseModel]) -> dict[str, Any]:
    """Everything entered, as the template shows it again (lists for multi-valued fields)."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    for name, field in model.model_fields.items():
        if _is_list(field.annotation):
            values[name] = [v for v in form.getlist(name) if isinstance(v, str)]
    values.pop("csrf_token", None)
    return values


def parse(model: type[F], values: Mapping[str, Any]) -> F:
    """The form model of ``values``, or :class:`Invalid` (422) listing every problem."""
    data = {
        k: v
        for k, v in values.items()
        if not (
            v == "" and k in model.model_fields and not _is_text(model.model_fields[k].annotation)
        )
    }
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = form_problems(exc, model)
        first = problems[0]
        raise Invalid(
            str(first["message"]), field=first["field"], problems=tuple(problems)
        ) from None


Context = Callable[[Actor, dict[str, Any]], Mapping[str, Any]]
"""What the template needs besides the values and errors (given the actor and the values)."""


def handle_form(
    request: Request,
    form: FormData,
    *,
    model: type[F],
    template: str,
    context: Context,
    action: Callable[[Actor, F, UserView], Response],
    error_key: str = "error",
    allow_password_change: bool = False,
) -> Response:
    """CSRF, actor, parse, service, and on an error the same page again (module docstring).

    ``error_key`` names the template variable of the message (a page with two forms shows
    each form's message next to it); ``allow_password_change`` serves the password form to an
    account that still has its one-time password."""
    user = page_user(request, allow_password_change=allow_password_change)
    check_csrf(request, str(form.get("csrf_token", "")))
    actor = user.actor(client_source(request))
    values = form_values(form, model)
    try:
        return action(actor, parse(model, values), user)
    except ServiceError as exc:
        problems = relabel(exc, model)
        field_errors: dict[str, str] = {}
        for p in problems:
            if p["field"]:
                field_errors.setdefault(p["field"], str(p["message"]))
        return render(
            request,
            template,
            status_code=exc.status_code,
            user=user,
            values=values,
            **{error_key: "; ".join(dict.fromkeys(str(p["message"]) for p in problems))},
            error_field=problems[0]["field"],
            field_errors=field_errors,
            **context(actor, values),
        )
