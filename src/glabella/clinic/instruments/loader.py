"""Load and validate the declarative instrument definitions shipped in ``definitions/``.

Each ``definitions/<id>.yaml`` file describes one instrument. The files are read once
(through :mod:`importlib.resources`, so they work from a wheel), checked thoroughly, turned
into frozen :class:`~glabella.clinic.instruments.model.Instrument` objects and cached. A
definition that breaks any rule below is refused with an :class:`InstrumentError` naming the
file and the field, so a faulty edit fails at import time in the tests rather than in clinic.

Rules checked for every definition:

* ids: the instrument id equals the file name; item ids are ``<instrument>_<number>``,
  numbered 1..n in order; no duplicates.
* options: at least two per item, unique values, non-empty labels.
* totals: ``range`` equals the smallest and largest totals the scoring rule can produce.
* bands: contiguous, non-overlapping, ascending, covering ``range`` exactly.
* missing items: only ``max_missing: 0`` (no prorating rule has been verified for any
  shipped instrument); scored items cannot be optional; items named in a safety rule are
  always required.
* LOINC codes: the form ``NNNNN-C`` with a correct mod-10 check digit (see
  :func:`loinc_check_digit_ok`).
* safety rules: the item exists and is scored or required, the threshold lies inside the
  item's values, the level is known.
* derived instruments (PHQ-2 from PHQ-9): each item has the same wording and options as the
  parent item it is taken from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import yaml

from glabella.clinic.instruments.model import (
    Band,
    DerivedFrom,
    Instrument,
    InstrumentError,
    Item,
    ResponseOption,
    SafetyRule,
    ScoringRule,
)

__all__ = [
    "ALERT_LEVELS",
    "RESPONDENTS",
    "all_instruments",
    "get",
    "loinc_check_digit_ok",
    "parse_definition",
]

RESPONDENTS = frozenset({"patient", "clinician"})
"""Who completes an instrument."""

ALERT_LEVELS = frozenset({"urgent", "high", "routine"})
"""Levels a safety rule may raise."""

_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_ID = re.compile(r"^[a-z][a-z0-9]*$")
_PACKAGE = "glabella.clinic.instruments"


def loinc_check_digit_ok(code: str) -> bool:
    """Whether a LOINC code has the right form and check digit.

    LOINC check digits use the mod-10 (Luhn) algorithm described in the LOINC Users' Guide
    (Appendix: calculating mod 10 check digits): from the right, double every other digit
    starting with the rightmost, add the digits of the results and of the undoubled
    digits; the check digit brings the sum up to the next multiple of ten. For 44249-1:
    9->18 (1+8=9), 4, 2->4, 4, 4->8; 9+4+4+4+8 = 29, so the check digit is 1.
    """
    match = _LOINC.match(code)
    if match is None:
        return False
    body, check = match.group(1), int(match.group(2))
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == check


class _Reader:
    """Typed access to one mapping of a definition, with errors that name the field."""

    def __init__(self, data: object, instrument_id: str, where: str) -> None:
        if not isinstance(data, Mapping):
            raise InstrumentError(f"{where} must be a mapping", instrument_id=instrument_id)
        self.data: Mapping[str, Any] = data
        self.instrument_id = instrument_id
        self.where = where

    def fail(self, message: str, item_id: str | None = None) -> InstrumentError:
        return InstrumentError(
            f"{self.where}: {message}", instrument_id=self.instrument_id, item_id=item_id
        )

    def str_(self, key: str, *, optional: bool = False) -> str:
        value = self.data.get(key)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key!r} must be a non-empty string")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key!r} must be a non-empty string or null")
        return value

    def int_(self, key: str, default: int | None = None) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{key!r} must be a whole number")
        return value

    def bool_(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key!r} must be true or false")
        return value

    def list_(self, key: str, *, optional: bool = False) -> Sequence[Any]:
        value = self.data.get(key)
        if value is None and optional:
            return ()
        if not isinstance(value, list) or (not value and not optional):
            raise self.fail(f"{key!r} must be a non-empty list")
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self.data.get(key), self.instrument_id, f"{self.where}.{key}")


def _loinc(reader: _Reader, key: str) -> str | None:
    code = reader.opt_str(key)
    if code is not None and not loinc_check_digit_ok(code):
        raise reader.fail(f"{key!r} {code!r} is not a valid LOINC code (form or check digit)")
    return code


def _options(reader: _Reader, raw: Sequence[Any]) -> tuple[ResponseOption, ...]:
    options = []
    for index, entry in enumerate(raw):
        option = _Reader(entry, reader.instrument_id, f"{reader.where}.options[{index}]")
        options.append(ResponseOption(value=option.int_("value"), label=option.str_("label")))
    if len(options) < 2:
        raise reader.fail("an item needs at least two options")
    if len({o.value for o in options}) != len(options):
        raise reader.fail("option values must be unique")
    if len({o.label for o in options}) != len(options):
        raise reader.fail("option labels must be unique")
    return tuple(options)


def _items(top: _Reader, instrument_id: str) -> tuple[Item, ...]:
    shared = top.list_("options", optional=True)
    items = []
    for index, entry in enumerate(top.list_("items")):
        reader = _Reader(entry, instrument_id, f"items[{index}]")
        number = reader.int_("number")
        item_id = reader.str_("id")
        if number != index + 1:
            raise reader.fail(f"items must be numbered 1..n in order; found {number}", item_id)
        if item_id != f"{instrument_id}_{number}":
            raise reader.fail(f"item id must be '{instrument_id}_{number}'", item_id)
        own = reader.list_("options", optional=True)
        raw_options = own or shared
        if not raw_options:
            raise reader.fail("no options (none on the item and no shared 'options')", item_id)
        items.append(
            Item(
                id=item_id,
                number=number,
                text=reader.str_("text"),
                options=_options(reader, raw_options),
                loinc=_loinc(reader, "loinc"),
                scored=reader.bool_("scored", True),
                required=reader.bool_("required", True),
            )
        )
    for item in items:
        if item.scored and not item.required:
            raise top.fail(
                "a scored item cannot be optional (the missing-item rule governs gaps)", item.id
            )
    if not any(item.scored for item in items):
        raise top.fail("at least one item must be scored")
    return tuple(items)


def _scoring(top: _Reader, items: tuple[Item, ...]) -> ScoringRule:
    reader = top.sub("scoring")
    method = reader.str_("method")
    if method != "sum":
        raise reader.fail(f"unknown scoring method {method!r} (known: sum)")
    scored = {item.id for item in items if item.scored}
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for index, raw in enumerate(reader.list_("max_of", optional=True)):
        if not isinstance(raw, list) or len(raw) < 2:
            raise reader.fail(f"max_of[{index}] must list at least two item ids")
        group = tuple(str(item_id) for item_id in raw)
        for item_id in group:
            if item_id not in scored:
                raise reader.fail(f"max_of[{index}] names {item_id!r}, not a scored item")
            if item_id in seen:
                raise reader.fail(f"{item_id!r} is in more than one max_of group")
            seen.add(item_id)
        groups.append(group)
    return ScoringRule(method=method, max_of=tuple(groups))


def _total_range(items: tuple[Item, ...], rule: ScoringRule) -> tuple[int, int]:
    """The smallest and largest totals the rule can produce from the items' options."""
    by_id = {item.id: item for item in items}
    grouped = {item_id for group in rule.max_of for item_id in group}
    low = sum(i.min_value for i in items if i.scored and i.id not in grouped)
    high = sum(i.max_value for i in items if i.scored and i.id not in grouped)
    for group in rule.max_of:
        low += max(by_id[item_id].min_value for item_id in group)
        high += max(by_id[item_id].max_value for item_id in group)
    return low, high


def _bands(top: _Reader, low: int, high: int) -> tuple[Band, ...]:
    bands = []
    for index, entry in enumerate(top.list_("bands")):
        reader = _Reader(entry, top.instrument_id, f"bands[{index}]")
        band = Band(min=reader.int_("min"), max=reader.int_("max"), label=reader.str_("label"))
        if band.min > band.max:
            raise reader.fail(f"min {band.min} is above max {band.max}")
        bands.append(band)
    expected = low
    for band in bands:
        if band.min != expected:
            raise top.fail(
                f"bands must be contiguous from {low}: band {band.label!r} starts at "
                f"{band.min}, expected {expected}"
            )
        expected = band.max + 1
    if expected - 1 != high:
        raise top.fail(f"bands must end at the maximum total {high}, they end at {expected - 1}")
    if len({band.label for band in bands}) != len(bands):
        raise top.fail("band labels must be unique")
    return tuple(bands)


def _safety(top: _Reader, items: tuple[Item, ...]) -> tuple[SafetyRule, ...]:
    by_id = {item.id: item for item in items}
    rules = []
    for index, entry in enumerate(top.list_("safety", optional=True)):
        reader = _Reader(entry, top.instrument_id, f"safety[{index}]")
        rule = SafetyRule(
            item_id=reader.str_("item"),
            when_gt=reader.int_("when_gt"),
            alert=reader.str_("alert"),
            level=reader.str_("level"),
            message=reader.str_("message"),
        )
        item = by_id.get(rule.item_id)
        if item is None:
            raise reader.fail("names an item the instrument does not have", rule.item_id)
        if not item.required:
            raise reader.fail("a safety item must be required", rule.item_id)
        if not item.min_value <= rule.when_gt < item.max_value:
            raise reader.fail(
                f"when_gt {rule.when_gt} can never or always trigger "
                f"(item values {item.min_value}-{item.max_value})",
                rule.item_id,
            )
        if rule.level not in ALERT_LEVELS:
            raise reader.fail(f"level {rule.level!r} is not one of {sorted(ALERT_LEVELS)}")
        rules.append(rule)
    return tuple(rules)


def _derived(top: _Reader, items: tuple[Item, ...]) -> DerivedFrom | None:
    if top.data.get("derived_from") is None:
        return None
    reader = top.sub("derived_from")
    item_ids = tuple(str(i) for i in reader.list_("items"))
    if len(item_ids) != len(items):
        raise reader.fail(f"lists {len(item_ids)} items; the instrument has {len(items)}")
    return DerivedFrom(instrument_id=reader.str_("instrument"), item_ids=item_ids)


def parse_definition(data: object, expected_id: str) -> Instrument:
    """Build and validate one :class:`Instrument` from a parsed definition mapping.

    ``expected_id`` is the id the file name promises. Cross-instrument checks (derived
    instruments) are made by :func:`all_instruments`.
    """
    top = _Reader(data, expected_id, expected_id)
    instrument_id = top.str_("id")
    if instrument_id != expected_id or not _ID.match(instrument_id):
        raise top.fail(f"id {instrument_id!r} must be lower-case and equal {expected_id!r}")
    respondent = top.str_("respondent")
    if respondent not in RESPONDENTS:
        raise top.fail(f"respondent {respondent!r} must be one of {sorted(RESPONDENTS)}")
    items = _items(top, instrument_id)
    rule = _scoring(top, items)
    low, high = _total_range(items, rule)
    declared = top.list_("range")
    if list(declared) != [low, high]:
        raise top.fail(f"range {list(declared)} does not match the items: [{low}, {high}]")
    missing = top.sub("missing")
    max_missing = missing.int_("max_missing")
    if max_missing != 0:
        raise missing.fail("only max_missing: 0 is supported (no verified prorating rule)")
    licence = top.sub("licence")
    loinc = top.sub("loinc")
    return Instrument(
        id=instrument_id,
        name=top.str_("name"),
        short_name=top.str_("short_name"),
        preamble=top.str_("preamble"),
        items=items,
        bands=_bands(top, low, high),
        min_total=low,
        max_total=high,
        max_missing=max_missing,
        licence=licence.str_("statement"),
        licence_source=licence.str_("source"),
        citation=top.str_("citation"),
        loinc_panel=_loinc(loinc, "panel"),
        loinc_total=_loinc(loinc, "total"),
        respondent=respondent,
        scoring=rule,
        safety_rules=_safety(top, items),
        missing_rule=missing.str_("rule"),
        wording_source=top.str_("wording_source"),
        loinc_note=loinc.str_("note", optional=True),
        derived_from=_derived(top, items),
        order=top.int_("order", 100),
    )


def _check_derived(registry: Mapping[str, Instrument]) -> None:
    """A derived instrument's items must match its parent's items word for word."""
    for instrument in registry.values():
        derived = instrument.derived_from
        if derived is None:
            continue
        parent = registry.get(derived.instrument_id)
        if parent is None:
            raise InstrumentError(
                f"derived_from names unknown instrument {derived.instrument_id!r}",
                instrument_id=instrument.id,
            )
        for item, parent_id in zip(instrument.items, derived.item_ids, strict=True):
            source = parent.item(parent_id)
            if (item.text, item.options, item.loinc) != (source.text, source.options, source.loinc):
                raise InstrumentError(
                    f"differs from {parent.short_name} item {parent_id} (wording, options or "
                    "LOINC); a derived item must be identical",
                    instrument_id=instrument.id,
                    item_id=item.id,
                )


@cache
def _registry() -> dict[str, Instrument]:
    folder = resources.files(_PACKAGE).joinpath("definitions")
    registry: dict[str, Instrument] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        expected_id = entry.name.removesuffix(".yaml")
        data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        registry[expected_id] = parse_definition(data, expected_id)
    _check_derived(registry)
    return registry


def get(instrument_id: str) -> Instrument:
    """The instrument with this id; :class:`InstrumentError` naming it when unknown."""
    registry = _registry()
    instrument = registry.get(instrument_id)
    if instrument is None:
        known = ", ".join(sorted(registry))
        raise InstrumentError(
            f"unknown instrument {instrument_id!r} (known: {known})", instrument_id=None
        )
    return instrument


def all_instruments() -> tuple[Instrument, ...]:
    """Every shipped instrument, in display order (the definitions' ``order``, then id)."""
    return tuple(sorted(_registry().values(), key=lambda i: (i.order, i.id)))
