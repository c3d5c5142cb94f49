"""One engine that validates, scores and bands answers for every instrument.

Nothing here is specific to an instrument: the rules come from the definition
(:class:`~glabella.clinic.instruments.model.Instrument`). Answers are validated before any
arithmetic, and every refusal names the instrument and the item.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from glabella.clinic.instruments.loader import get
from glabella.clinic.instruments.model import Instrument, InstrumentError, Item, Score

__all__ = ["derive", "score", "validate_answers"]


def _describe(instrument: Instrument, item: Item) -> str:
    return f"{instrument.short_name} question {item.number} ({item.id})"


def validate_answers(instrument: Instrument, answers: Mapping[str, int]) -> dict[str, int]:
    """Check answers against the definition; return them in form order.

    Refused with :class:`InstrumentError` (naming the item): an item id the instrument does
    not have; a value that is not a whole number (``bool`` is refused too); a value that is
    not one of the item's options; a required item without an answer (the shipped
    instruments allow no missing scored items, and safety items are always required).
    """
    if not isinstance(answers, Mapping):
        raise InstrumentError(
            "answers must be a mapping of item id to value", instrument_id=instrument.id
        )
    known = {item.id for item in instrument.items}
    for item_id in answers:
        if item_id not in known:
            raise InstrumentError(
                f"{instrument.short_name} has no item {item_id!r}",
                instrument_id=instrument.id,
                item_id=str(item_id),
            )
    ordered: dict[str, int] = {}
    unanswered: list[Item] = []
    for item in instrument.items:
        if item.id not in answers or answers[item.id] is None:
            if item.required:
                unanswered.append(item)
            continue
        value = answers[item.id]
        if not isinstance(value, int) or isinstance(value, bool):
            raise InstrumentError(
                f"{_describe(instrument, item)}: answer {value!r} is not a whole number",
                instrument_id=instrument.id,
                item_id=item.id,
            )
        if item.option_for(value) is None:
            allowed = ", ".join(str(o.value) for o in item.options)
            raise InstrumentError(
                f"{_describe(instrument, item)}: answer {value} is out of range "
                f"(allowed: {allowed})",
                instrument_id=instrument.id,
                item_id=item.id,
            )
        ordered[item.id] = value
    if len(unanswered) > instrument.max_missing:
        first = unanswered[0]
        numbers = ", ".join(str(item.number) for item in unanswered)
        ids = ", ".join(item.id for item in unanswered)
        raise InstrumentError(
            f"{instrument.short_name}: question(s) {numbers} not answered ({ids}); "
            f"the missing-item rule: {instrument.missing_rule.strip()}",
            instrument_id=instrument.id,
            item_id=first.id,
        )
    return ordered


def _total(instrument: Instrument, answers: Mapping[str, int]) -> int:
    """Sum of the scored items; each ``max_of`` group counts once, by its highest answer."""
    grouped = {item_id for group in instrument.scoring.max_of for item_id in group}
    total = sum(
        answers[item.id]
        for item in instrument.scored_items
        if item.id in answers and item.id not in grouped
    )
    for group in instrument.scoring.max_of:
        values = [answers[item_id] for item_id in group if item_id in answers]
        if values:
            total += max(values)
    return total


def score(instrument: Instrument, answers: Mapping[str, int]) -> Score:
    """Validate ``answers`` (item id -> value) and return the total and its band.

    The total follows the instrument's scoring rule (a plain sum of the scored items for
    PHQ-9, PHQ-2, GAD-7 and GAD-2: Kroenke et al. 2001; Spitzer et al. 2006). Unscored items
    (PHQ-9 item 10) are kept in ``answers`` but never added.
    """
    ordered = validate_answers(instrument, answers)
    total = _total(instrument, ordered)
    missing = tuple(item.id for item in instrument.scored_items if item.id not in ordered)
    return Score(
        instrument_id=instrument.id,
        total=total,
        band=instrument.band_for(total),
        answers=MappingProxyType(ordered),
        missing=missing,
    )


def derive(parent: Score, instrument: Instrument) -> Score:
    """Score a derived instrument (PHQ-2, GAD-2) from a response to its parent.

    The PHQ-2 is the first two PHQ-9 items and the GAD-2 the first two GAD-7 items
    (Kroenke et al. 2003; Kroenke et al. 2007), so a PHQ-9 response also yields a PHQ-2.
    """
    derived = instrument.derived_from
    if derived is None or derived.instrument_id != parent.instrument_id:
        raise InstrumentError(
            f"{instrument.short_name} cannot be derived from {parent.instrument_id!r}",
            instrument_id=instrument.id,
        )
    get(derived.instrument_id)  # the parent must be a known instrument
    answers = {
        item.id: parent.answers[source_id]
        for item, source_id in zip(instrument.items, derived.item_ids, strict=True)
        if source_id in parent.answers
    }
    return score(instrument, answers)
