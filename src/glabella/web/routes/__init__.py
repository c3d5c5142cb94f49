"""The app's routes by feature: each module holds ``api_router`` (JSON API under ``/api/v1``,
in the OpenAPI document) and/or ``router`` (HTML pages, out of it); ``glabella.web.app``
includes them. The roles of every route are in ``glabella.web.access.MATRIX``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body that refuses fields it does not define."""

    model_config = ConfigDict(extra="forbid")
