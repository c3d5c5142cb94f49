"""Translations of the consultation report: one YAML file per language under ``locales/``.

Every sentence of the report lives in the locale files; code holds keys and numbers only.
Keys are dotted paths into the YAML mapping (``"risks.off_label"``); values are
:meth:`str.format` templates with named placeholders. A missing key raises ``KeyError``
(the tests check that every language has every key and the same placeholders).

Numbers are formatted per language: decimal separator and the date pattern come from the
file's ``meta`` block.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from glabella.formatting import readable

__all__ = ["LANGUAGES", "Translator", "flatten", "get_translator", "load_locale"]

#: Languages with a complete translation file.
LANGUAGES: tuple[str, ...] = ("en", "de")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, text) for every leaf of a locale tree."""
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, path + ".")
        else:
            yield path, str(value)


@cache
def load_locale(lang: str) -> dict[str, str]:
    """The flattened messages of one language (``ValueError`` for an unknown language)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    text = (
        resources.files("glabella.reports").joinpath("locales", f"{lang}.yaml").read_text("utf-8")
    )
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"locale {lang}: the file must be a mapping")
    return dict(flatten(data))


@dataclass(frozen=True)
class Translator:
    """Messages and number formats of one language."""

    lang: str
    messages: Mapping[str, str]

    def __call__(self, key: str, **params: Any) -> str:
        """The message ``key`` with ``params`` filled in."""
        try:
            template = self.messages[key]
        except KeyError:
            raise KeyError(f"locale {self.lang}: no message {key!r}") from None
        return template.format(**params) if params else template

    def has(self, key: str) -> bool:
        """True when the language has a message for ``key``."""
        return key in self.messages

    def number(self, value: float | None, places: int = 2) -> str:
        """A number with the language's decimal separator; None or infinite -> unknown."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return self("common.unknown")
        text = readable(value, places)
        if abs(value) >= 1000:
            return text.replace(",", self.messages["meta.thousands"])
        return text.replace(".", self.messages["meta.decimal"]) if "e" not in text else text

    def percent(self, share: float) -> str:
        """A share (0..1) as a whole percentage in the language's pattern (``meta.percent``)."""
        return self.messages["meta.percent"].format(value=round(share * 100))

    def per100(self, risk: float) -> str:
        """A risk as whole people out of 100 (rounded half up), e.g. ``"52"``."""
        return str(int(risk * 100 + 0.5))

    def points(self, rd: float) -> str:
        """A risk difference in percentage points, signed, whole numbers (e.g. ``"+42"``)."""
        value = round(rd * 100)
        return f"{value:+d}".replace("-", "\u2212")

    def date(self, value: dt.date | None) -> str:
        """A date in the language's pattern; None -> unknown."""
        if value is None:
            return self("common.unknown")
        return value.strftime(self.messages["meta.date_format"])

    def nnt_value(self, value: float | None) -> str:
        """An NNT rounded up to the next whole number (Cochrane Handbook 15.4.4); None -> ∞."""
        if value is None or math.isinf(value):
            return "\u221e"
        return str(math.ceil(value - 1e-9))


def get_translator(lang: str) -> Translator:
    """The translator of ``lang`` (``ValueError`` naming the languages when unknown)."""
    return Translator(lang, load_locale(lang))
