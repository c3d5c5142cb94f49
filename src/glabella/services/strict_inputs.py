"""Strict request types and validation messages a person reads (issue 15, item 6; H-059).

Pydantic's lax mode reads ``"no"`` as ``False`` for a boolean, ``0`` as 1970-01-01 for a date
and ``True`` as ``1`` for an integer; a list field never takes a string, but a hand parser may
(``tuple("warfarin")`` is eight letters). The request models of the JSON API and the CLI use
the types here instead, so both refuse what does not have the expected shape, and
:func:`describe` turns every error into a message that names the field as a person reads it
(its ``title``, e.g. "date of birth: is in the future (2031-01-01)").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ValidationError

from glabella.services.errors import Invalid

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?"
)
_SHOWN = 40


def shown(value: object) -> str:
    """A short rendering of what was sent, as it looks in JSON (texts quoted, cut at 40)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= _SHOWN else value[:_SHOWN] + "…"
        return f'the text "{text}"'
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _iso_date(value: object) -> object:
    """A date: a ``datetime.date`` or the text YYYY-MM-DD of a real day, nothing else."""
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(f"must be a date written YYYY-MM-DD, not {shown(value)}")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"is not a real date ({text})") from None
    raise ValueError(f"must be a date written YYYY-MM-DD, not {shown(value)}")


def _iso_datetime(value: object) -> object:
    """A date and time: a ``datetime`` or ISO 8601 text of a real moment, nothing else."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATETIME.fullmatch(text):
            raise ValueError(
                "must be a date and time written YYYY-MM-DDTHH:MM with its offset, e.g. "
                f"2026-11-02T10:00:00+01:00, not {shown(value)}"
            )
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"is not a real date and time ({text})") from None
    raise ValueError(f"must be a date and time written as text, not {shown(value)}")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
"""A real calendar date given as YYYY-MM-DD (never a number, never "2023-02-30")."""

IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]
"""A real moment given as ISO 8601 text (never a number)."""


_UNION_TAG = re.compile(
    r"(str|int|float|bool|none|date|datetime|decimal|constrained-\w+|function-\w+\[.*\]"
    r"|literal\[.*\]|list\[.*\]|dict\[.*\]|tuple\[.*\])"
)
_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "none_required": "null",
}


def _text(err: Any) -> str:
    """What is wrong, in words, with what was sent."""
    kind = str(err["type"])
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "bool_type" and isinstance(value, str):
        return f"must be true or false (without quotes), not {shown(value)}"
    if kind == "list_type" and isinstance(value, str):
        return f'must be a list, e.g. ["{value[:_SHOWN]}"], not {shown(value)}'
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}, not {shown(value)}"
    if kind == "json_invalid":
        return f"is not valid JSON ({ctx.get('error', 'syntax error')})"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request (check its spelling)"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {shown(value)}"
    if kind == "string_too_short":
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"is too short (at least {least} characters)"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "too_long":
        return f"has too many entries (at most {ctx.get('max_length')})"
    message = str(err.get("msg", "is invalid"))
    return message[:1].lower() + message[1:]


def _label(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> tuple[str, str]:
    """(machine path, person's label) of an error location, union tags dropped."""
    path: list[str] = []
    label = ""
    current = model
    for part in loc:
        if isinstance(part, int):
            path.append(str(part))
            label += f" entry {part + 1}"
            current = None
            continue
        name = str(part)
        field = current.model_fields.get(name) if current is not None else None
        if field is None and _UNION_TAG.fullmatch(name) and path:
            continue
        path.append(name)
        title = field.title if field is not None and field.title else name
        joint = " › " if field is not None else "."  # a field of a nested model / a key
        label += (joint if label else "") + title
        annotation = field.annotation if field is not None else None
        current = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return ".".join(path), label.strip() or "request body"


def describe(
    errors: list[Any], model: type[BaseModel] | None = None, skip: tuple[str, ...] = ()
) -> list[dict[str, str | None]]:
    """Every error as ``{"field": path, "message": "label: what is wrong"}``, one per field.

    ``skip`` drops leading location parts such as FastAPI's ``"body"``. Errors of one field
    from the members of a union are merged into one message listing what is accepted.
    """
    merged: dict[str, tuple[str, list[Any]]] = {}
    for err in errors:
        loc = tuple(err.get("loc", ()))
        while loc and loc[0] in skip:
            loc = loc[1:]
        if err.get("type") == "json_invalid":
            loc = ()  # its location is a character offset, not a field
        path, label = _label(model, loc)
        merged.setdefault(path, (label, []))[1].append(err)
    out: list[dict[str, str | None]] = []
    for path, (label, errs) in merged.items():
        if len(errs) > 1 and all(str(e["type"]) in _EXPECTED for e in errs):
            kinds = list(dict.fromkeys(_EXPECTED[str(e["type"])] for e in errs))
            text = (
                f"must be {', '.join(kinds[:-1])} or {kinds[-1]}"
                if len(kinds) > 1
                else (f"must be {kinds[0]}")
            )
            text += f", not {shown(errs[0].get('input'))}"
        else:
            text = "; ".join(dict.fromkeys(_text(e) for e in errs))
        out.append({"field": path or None, "message": f"{label}: {text}"})
    return out


def invalid(exc: ValidationError, model: type[BaseModel] | None = None) -> Invalid:
    """A ``ValidationError`` as one ``Invalid`` (422) listing every problem, the first first."""
    problems = describe(exc.errors(include_url=False), model)
    first = problems[0] if problems else {"field": None, "message": "request: is invalid"}
    return Invalid(str(first["message"]), field=first["field"], problems=tuple(problems))
