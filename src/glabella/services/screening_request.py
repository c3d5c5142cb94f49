"""The strict shape of a screening request, shared by the JSON API and the CLI (H-059).

``POST /api/v1/patients/{id}/screenings`` and ``glabella eligibility check`` read the same
models, so neither has a hand parser of its own: a string where a boolean or a list is
expected, an impossible or future date, an unknown answer name (a typo that would drop an
allergy) are all refused, each naming its field ("MDQ positive: must be true or false").
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)

from glabella.clinic import eligibility
from glabella.services.screening import parse_screening_answers
from glabella.services.strict_inputs import IsoDate, shown


def _yes_no(value: object) -> str:
    if value is True or value is False:
        return "yes" if value else "no"
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower()
    raise ValueError(f"answer yes or no (or true / false), not {shown(value)}")


def _optional_yes_no(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "not_asked")):
        return None
    return _yes_no(value)


def _yes_no_unsure(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() == "unsure":
        return "unsure"
    try:
        return _yes_no(value)
    except ValueError:
        raise ValueError(f"answer yes, no or unsure, not {shown(value)}") from None


def _item9(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return value
    raise ValueError(f"must be 0, 1, 2 or 3 (a number, without quotes), not {shown(value)}")


YesNo = Annotated[str, BeforeValidator(_yes_no)]
OptionalYesNo = Annotated[str | None, BeforeValidator(_optional_yes_no)]
Entry = Annotated[StrictStr, Field(max_length=200)]


class ScreeningAnswersBody(BaseModel):
    """The screening questions; yes/no answers are ``"yes"``/``"no"`` or ``true``/``false``."""

    model_config = ConfigDict(extra="forbid")

    prior_bont_reaction: YesNo = Field(title="prior reaction to botulinum toxin")
    allergies: list[Entry] | Annotated[StrictStr, Field(max_length=2000)] = Field(
        default_factory=list,
        title="allergies",
        description="A list of allergies, or one text with commas between them.",
    )
    infection_or_inflammation_at_sites: YesNo = Field(title="infection or inflammation at sites")
    pregnant: YesNo = Field(title="pregnant")
    breastfeeding: YesNo = Field(title="breastfeeding")
    bont_last_12_weeks: Annotated[str, BeforeValidator(_yes_no_unsure)] = Field(
        title="BoNT in the last 12 weeks"
    )
    prior_eyelid_ptosis: YesNo = Field(title="prior eyelid ptosis")
    psychotic_symptoms_current: YesNo = Field(title="current psychotic symptoms")
    psychotic_disorder_history: YesNo = Field(title="history of psychotic disorder")
    cssrs_1: OptionalYesNo = Field(default=None, title="C-SSRS question 1")
    cssrs_2: OptionalYesNo = Field(default=None, title="C-SSRS question 2")
    cssrs_3: OptionalYesNo = Field(default=None, title="C-SSRS question 3")
    cssrs_4: OptionalYesNo = Field(default=None, title="C-SSRS question 4")
    cssrs_5: OptionalYesNo = Field(default=None, title="C-SSRS question 5")
    cssrs_behaviour_3_months: OptionalYesNo = Field(
        default=None, title="C-SSRS behaviour in the last 3 months"
    )
    phq9_item9: Annotated[StrictInt | None, BeforeValidator(_item9)] = Field(
        default=None, title="PHQ-9 item 9"
    )

    def parsed(self) -> eligibility.ScreeningAnswers:
        """The domain answers (through the one parser the web form uses too)."""
        data: dict[str, object] = {
            k: "" if v is None else v
            for k, v in self.model_dump().items()
            if k not in ("allergies", "phq9_item9")
        }
        allergies = self.allergies
        data["allergies"] = allergies if isinstance(allergies, str) else ", ".join(allergies)
        data["phq9_item9"] = "" if self.phq9_item9 is None else str(self.phq9_item9)
        return parse_screening_answers(data)


class ScreeningRequest(BaseModel):
    """A screening to run (see ``POST /api/v1/patients/{id}/screenings``)."""

    model_config = ConfigDict(extra="forbid")

    product: str = Field(max_length=40, title="product")
    answers: ScreeningAnswersBody = Field(title="answers")
    medications: list[Entry] = Field(default_factory=list, max_length=100, title="medications")
    conditions: list[Entry] = Field(default_factory=list, max_length=100, title="conditions")
    last_bont_date: IsoDate | None = Field(default=None, title="last BoNT date")
    mdq_positive: StrictBool | None = Field(default=None, title="MDQ positive")


class EligibilityCheckRequest(BaseModel):
    """``glabella eligibility check``: a screening on facts given in the file (no database).

    The fields of :class:`ScreeningRequest` plus the patient's own; ``date`` comes first so
    the dates after it are checked against it.
    """

    model_config = ConfigDict(extra="forbid")

    date: IsoDate | None = Field(
        default=None, title="screening date", description="The day screened; today if absent."
    )
    product: str = Field(default="onabotulinumtoxinA", max_length=40, title="product")
    date_of_birth: IsoDate = Field(title="date of birth")
    sex: Literal["female", "male", "other", "unknown"] = Field(title="sex")
    answers: ScreeningAnswersBody = Field(title="answers")
    medications: list[Entry] = Field(default_factory=list, max_length=100, title="medications")
    conditions: list[Entry] = Field(default_factory=list, max_length=100, title="conditions")
    last_bont_date: IsoDate | None = Field(default=None, title="last BoNT date")
    mdq_positive: StrictBool | None = Field(default=None, title="MDQ positive")

    @field_validator("date_of_birth", "last_bont_date")
    @classmethod
    def _not_after_the_screening(cls, value: dt.date | None, info: ValidationInfo) -> object:
        if value is None:
            return value
        today = dt.date.today()
        if value > today:
            raise ValueError(f"is in the future ({value.isoformat()})")
        on = info.data.get("date")
        if isinstance(on, dt.date) and value > on:
            raise ValueError(f"is after the screening date {on.isoformat()} ({value.isoformat()})")
        return value

    def screening_date(self) -> dt.date:
        return self.date or dt.date.today()

    def facts(self) -> eligibility.PatientFacts:
        return eligibility.PatientFacts(
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            last_bont_date=self.last_bont_date,
            medications=tuple(self.medications),
            conditions=tuple(self.conditions),
            mdq_positive=self.mdq_positive,
        )
