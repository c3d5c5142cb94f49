"""Reading questionnaire answers out of a submitted HTML form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from glabella.clinic.instruments import Instrument
from glabella.services.errors import Invalid


def field_name(instrument: Instrument, item_id: str) -> str:
    """The form field of one item: ``<instrument>__<item>`` (no patient data)."""
    return f"{instrument.id}__{item_id}"


def answers_from_form(
    instruments: Sequence[Instrument], form: Mapping[str, str] | Iterable[tuple[str, str]]
) -> dict[str, dict[str, int]]:
    """Per-instrument answers; a value that is not a whole number is named in the error."""
    values = dict(form.items()) if isinstance(form, Mapping) else dict(form)
    out: dict[str, dict[str, int]] = {}
    for instrument in instruments:
        answers: dict[str, int] = {}
        for item in instrument.items:
            raw = values.get(field_name(instrument, item.id))
            if raw is None or raw == "":
                continue
            try:
                answers[item.id] = int(raw)
            except ValueError:
                raise Invalid(
                    f"{instrument.short_name} question {item.number}: "
                    f"{raw!r} is not a valid answer",
                    field=item.id,
                ) from None
        out[instrument.id] = answers
    return out
