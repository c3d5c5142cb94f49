"""The data model of a validated instrument: items, options, bands, rules and scores.

Everything here is a frozen dataclass built once from a declarative definition file
(``definitions/<id>.yaml``) by :mod:`glabella.clinic.instruments.loader`. Nothing in this
module knows about any particular instrument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Band",
    "DerivedFrom",
    "Instrument",
    "InstrumentError",
    "Item",
    "ResponseOption",
    "SafetyRule",
    "Score",
    "ScoringRule",
]


class InstrumentError(ValueError):
    """A problem with an instrument or with answers given to it.

    ``instrument_id`` and ``item_id`` say where the problem is (either may be ``None``);
    ``message`` says what is wrong in words a clinician can act on. ``str()`` is the message,
    prefixed with the instrument and item ids when the message does not already name them,
    so it always says both what and where and adapters can show it as it is.
    """

    def __init__(
        self,
        message: str,
        *,
        instrument_id: str | None = None,
        item_id: str | None = None,
    ) -> None:
        self.message = message
        self.instrument_id = instrument_id
        self.item_id = item_id
        super().__init__(self._render())

    def _render(self) -> str:
        where = [
            part for part in (self.instrument_id, self.item_id) if part and part not in self.message
        ]
        if not where:
            return self.message
        return f"{', '.join(where)}: {self.message}"

    def __str__(self) -> str:
        return self._render()


@dataclass(frozen=True)
class ResponseOption:
    """One answer a respondent may choose, with the value it scores."""

    value: int
    label: str


@dataclass(frozen=True)
class Item:
    """One question, worded exactly as on the published form.

    ``scored`` items count towards the total; unscored items (e.g. the PHQ-9 functional
    difficulty question) are recorded but never added. ``required`` says whether an answer
    must be present (subject to the instrument's missing-item rule for scored items).
    """

    id: str
    number: int
    text: str
    options: tuple[ResponseOption, ...]
    loinc: str | None
    scored: bool = True
    required: bool = True

    def option_for(self, value: int) -> ResponseOption | None:
        """The option with this value, or ``None`` when the value is not offered."""
        for option in self.options:
            if option.value == value:
                return option
        return None

    @property
    def min_value(self) -> int:
        """The smallest value any option scores."""
        return min(option.value for option in self.options)

    @property
    def max_value(self) -> int:
        """The largest value any option scores."""
        return max(option.value for option in self.options)


@dataclass(frozen=True)
class Band:
    """A severity band or screening result: ``min`` and ``max`` are inclusive totals."""

    min: int
    max: int
    label: str

    def contains(self, total: int) -> bool:
        """Whether ``total`` falls inside this band."""
        return self.min <= total <= self.max


@dataclass(frozen=True)
class SafetyRule:
    """An answer that must raise an alert: ``item_id`` answered above ``when_gt``.

    Declared in the instrument definition, evaluated by :func:`glabella.clinic.safety.check`.
    """

    item_id: str
    when_gt: int
    alert: str
    level: str
    message: str


@dataclass(frozen=True)
class ScoringRule:
    """How the total is formed from the scored items.

    ``method`` is ``"sum"``: the total is the sum of the scored items' values, except that
    each group in ``max_of`` contributes only its highest answered value (used by
    instruments that score the worst of several related items once).
    """

    method: str = "sum"
    max_of: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class DerivedFrom:
    """This instrument is made of items of a longer one (e.g. PHQ-2 from PHQ-9).

    ``item_ids`` are the parent's item ids, in the order of this instrument's items.
    """

    instrument_id: str
    item_ids: tuple[str, ...]


@dataclass(frozen=True)
class Instrument:
    """A validated questionnaire or rating scale, loaded from its definition file."""

    id: str
    name: str
    short_name: str
    preamble: str
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    min_total: int
    max_total: int
    max_missing: int
    licence: str
    licence_source: str
    citation: str
    loinc_panel: str | None
    loinc_total: str | None
    respondent: str
    scoring: ScoringRule = field(default_factory=ScoringRule)
    safety_rules: tuple[SafetyRule, ...] = ()
    missing_rule: str = ""
    wording_source: str = ""
    loinc_note: str = ""
    derived_from: DerivedFrom | None = None
    order: int = 100

    def band_for(self, total: int) -> Band:
        """The band containing ``total``; :class:`InstrumentError` when out of range."""
        for band in self.bands:
            if band.contains(total):
                return band
        raise InstrumentError(
            f"total {total} is outside the range {self.min_total}-{self.max_total}",
            instrument_id=self.id,
        )

    def item(self, item_id: str) -> Item:
        """The item with this id; :class:`InstrumentError` when there is none."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise InstrumentError(
            f"{self.short_name} has no item {item_id!r}", instrument_id=self.id, item_id=item_id
        )

    @property
    def scored_items(self) -> tuple[Item, ...]:
        """The items that count towards the total, in form order."""
        return tuple(item for item in self.items if item.scored)


@dataclass(frozen=True)
class Score:
    """A scored response: total, band, the validated answers and any allowed gaps.

    ``answers`` maps item id to value for every answered item (scored or not), in form
    order. ``missing`` lists the scored items left unanswered, which the instrument's
    missing-item rule allowed.
    """

    instrument_id: str
    total: int
    band: Band
    answers: Mapping[str, int]
    missing: tuple[str, ...] = ()
