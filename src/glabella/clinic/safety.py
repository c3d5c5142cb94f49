"""Safety escalation from scored instruments (pure).

The rules are data: each instrument definition declares its safety rules (for the PHQ-9,
``item phq9_9 answered above 0 -> suicide_risk, urgent``). :func:`check` applies the rules of
the score's instrument; nothing here names a particular instrument, so adding a rule means
editing one definition file (and its tests), never this module.

A safety item can never be silently skipped: the scoring engine refuses a response that
leaves a safety item unanswered, and :func:`check` refuses a score that lacks one.
"""

from __future__ import annotations

from dataclasses import dataclass

from glabella.clinic.instruments import InstrumentError, Score, get

__all__ = ["Alert", "check"]


@dataclass(frozen=True)
class Alert:
    """An alert raised by an answer: what kind, how urgent, and which answer raised it."""

    kind: str
    level: str
    instrument_id: str
    item_id: str
    value: int
    message: str


def check(score: Score) -> tuple[Alert, ...]:
    """The alerts a scored response raises under its instrument's declared safety rules.

    Raises :class:`InstrumentError` if the score lacks an answer to a safety item (a score
    built by :func:`glabella.clinic.instruments.score` always has one).
    """
    instrument = get(score.instrument_id)
    alerts: list[Alert] = []
    for rule in instrument.safety_rules:
        value = score.answers.get(rule.item_id)
        if value is None:
            raise InstrumentError(
                "safety item not answered: the response cannot be checked for risk",
                instrument_id=instrument.id,
                item_id=rule.item_id,
            )
        if value > rule.when_gt:
            item = instrument.item(rule.item_id)
            option = item.option_for(value)
            answer = option.label if option is not None else str(value)
            alerts.append(
                Alert(
                    kind=rule.alert,
                    level=rule.level,
                    instrument_id=instrument.id,
                    item_id=rule.item_id,
                    value=value,
                    message=f"{rule.message.strip()} Answer: {answer!r} ({value}).",
                )
            )
    return tuple(alerts)
