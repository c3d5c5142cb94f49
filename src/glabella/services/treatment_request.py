"""The strict shape of a treatment request, shared by the JSON API and the CLI.

Numbers stay raw here (text, int or a JSON float; booleans are refused by the strict types)
and are parsed by :mod:`glabella.clinic.quantities` inside the treatment gate, which names the
site of any bad number. Lengths are bounded so no field can make the request expensive.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from glabella.services.strict_inputs import IsoDate, IsoDateTime
from glabella.services.treatments import TreatmentInput

Quantity = Annotated[StrictStr | StrictInt | StrictFloat, Field(union_mode="left_to_right")]


class TreatmentRequest(BaseModel):
    """A treatment to record (see ``POST /api/v1/patients/{id}/treatments``)."""

    model_config = ConfigDict(extra="forbid")

    product: str = Field(max_length=40)
    lot_number: str = Field(max_length=80, title="lot number")
    lot_expiry: IsoDate = Field(title="lot expiry")
    vial_units: Quantity = Field(title="vial units")
    saline_ml: Quantity = Field(title="saline (mL)")
    sites: dict[Annotated[str, Field(max_length=40)], Quantity] = Field(max_length=20)
    consent_id: StrictInt = Field(ge=1, le=2**31 - 1, title="consent id")
    protocol_id: str | None = Field(default=None, max_length=80, title="protocol")
    notes: str = Field(default="", max_length=4000)
    treated_at: IsoDateTime | None = Field(default=None, title="treatment time")
    backdate_reason: str = Field(default="", max_length=2000, title="back-dating reason")
    injector_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1, title="injector")

    def to_input(self) -> TreatmentInput:
        return TreatmentInput(
            product_id=self.product,
            lot_number=self.lot_number,
            lot_expiry=self.lot_expiry,
            vial_units=self.vial_units,
            saline_ml=self.saline_ml,
            sites=self.sites,
            consent_id=self.consent_id,
            protocol_id=self.protocol_id,
            notes=self.notes,
            treated_at=self.treated_at,
            backdate_reason=self.backdate_reason,
            injector_id=self.injector_id,
        )
