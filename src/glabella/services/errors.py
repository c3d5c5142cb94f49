"""Errors a use case raises; adapters turn them into 4xx answers with the message shown."""

from __future__ import annotations


class ServiceError(Exception):
    """A problem the user can fix or must know about; never a crash.

    ``field`` names where the problem is (a form field, an item id, a CSV cell) when known.
    """

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        problems: tuple[dict[str, str | None], ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.problems = problems  # every problem, each naming its field, when there are many

    def to_dict(self) -> dict[str, object]:
        """The JSON body of an error answer."""
        out: dict[str, object] = {"code": self.code, "message": self.message, "field": self.field}
        if self.problems:
            out["problems"] = list(self.problems)
        return out


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class OtherClinic(NotFound):
    """Another clinic's record: answered exactly like a record that does not exist (404, same
    message), and the refusal is audited by the adapter in its own transaction (the request's
    transaction rolls back). ``actor`` is the refused user; ``entity``/``entity_id`` the record."""

    def __init__(
        self, message: str, *, field: str | None, actor: object, entity: str, entity_id: object
    ) -> None:
        super().__init__(message, field=field)
        self.actor = actor
        self.entity = entity
        self.entity_id = entity_id


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class Invalid(ServiceError):
    status_code = 422
    code = "invalid"


class Gone(ServiceError):
    status_code = 410
    code = "gone"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"
