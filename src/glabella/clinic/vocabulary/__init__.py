"""Coded drug, condition and allergy vocabulary that the eligibility rules match against.

The data (``data/vocabulary.yaml``) groups concepts by the public classification they come
from (WHO ATC for medicines, WHO ICD-10 for conditions) with generic names, label brand
names, abbreviations and common misspellings. :meth:`Vocabulary.match` reads one typed entry:

1. normalise: Unicode accents removed, lower case, apostrophes dropped, every other
   non-alphanumeric character a space, spaces collapsed (:func:`normalise`);
2. exact: the whole entry, and every run of up to four consecutive words, compared with
   every term with the spaces removed ("onabotulinumtoxin A" = "onabotulinumtoxinA",
   "Eliquis 5 mg twice daily" contains "Eliquis");
3. typo-tolerant, for every run not inside an exactly matched run ("Eliquis and amikacn"
   finds both): runs of letters-only words of at least 5 characters against terms of at
   least 6 characters, by optimal string alignment distance (``rapidfuzz``; a swap of two
   neighbouring letters counts as one error): at most 1 error, 2 for terms of 10 characters
   or more. Abbreviations and terms under 6 characters match exactly only, so "MG" never
   matches "mg" inside a longer drug name, nor "MS" or "ME"; a word of up to 3 characters
   right after a number is a unit, not an abbreviation ("lamotrigine 100 mg" is not MG);
4. the longest reading wins within a group: a match whose words lie inside a longer match
   of the same group is dropped ("congenital myasthenia" is G70.2, not also G70.0); matches
   of different groups are all kept, so no rule loses a hit.

Every :class:`Match` says what it matched ("Eliquis → apixaban, B01AF02"). Pure: reads only
its own data file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = [
    "MAX_ENTRY_CHARS",
    "MAX_SUGGEST_QUERY",
    "Concept",
    "Group",
    "Kind",
    "Match",
    "Suggestion",
    "Vocabulary",
    "load_vocabulary",
    "normalise",
]

Kind = Literal["medication", "condition", "allergy"]
KINDS: Final[tuple[Kind, ...]] = ("medication", "condition", "allergy")

MAX_ENTRY_CHARS: Final = 200
"""Longer entries are matched on their first 200 characters (bounded work per entry)."""

MAX_SUGGEST_QUERY: Final = 50
"""Longest text accepted by :meth:`Vocabulary.suggest` (autocomplete of one entry)."""
SUGGEST_LIMIT: Final = 15

FUZZY_MIN_TERM: Final = 6
FUZZY_MIN_QUERY: Final = 5
_MAX_NGRAM: Final = 4
_MAX_UNIT: Final = 3


def normalise(text: str) -> str:
    """Lower case, accents removed, apostrophes dropped, other punctuation a space."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    plain = plain.replace("'", "").replace("’", "").replace("`", "")
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def _compact(text: str) -> str:
    return normalise(text).replace(" ", "")


def _is_unit(words: list[str], span: tuple[int, int], gram: str) -> bool:
    """A word of up to 3 characters right after a number reads as a unit: "100 mg" is not MG."""
    start, end = span
    return end - start == 1 and len(gram) <= _MAX_UNIT and start > 0 and words[start - 1].isdigit()


def _within(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    """True when word span ``inner`` lies inside ``outer`` (equal spans included)."""
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _max_errors(term_compact: str) -> int:
    return 2 if len(term_compact) >= 10 else 1


@dataclass(frozen=True)
class Concept:
    """One coded concept: a drug (by generic name), a condition or an excipient."""

    id: str
    code: str
    terms: tuple[str, ...]
    misspellings: tuple[str, ...] = ()
    """Matched like ``terms`` but never offered as a suggestion."""


@dataclass(frozen=True)
class Group:
    """A group of concepts one rule uses, with the classification it comes from."""

    id: str
    kind: Kind
    code: str
    label: str
    source: str
    class_terms: tuple[str, ...]
    concepts: tuple[Concept, ...]


@dataclass(frozen=True)
class Match:
    """What one typed entry matched: the group, the concept (None for a class word), how."""

    entry: str
    group_id: str
    concept_id: str | None
    code: str
    term: str
    how: Literal["exact", "typo"]

    def describe(self) -> str:
        """E.g. ``"Eliquis → apixaban, B01AF02"``; a typo names the term it was read as."""
        target = self.concept_id if self.concept_id is not None else self.group_id
        coded = f"{target}, {self.code}" if self.code else target
        read_as = f" (read as {self.term!r})" if self.how == "typo" else ""
        return f"{self.entry} → {coded}{read_as}"


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete offer: a term as written in the data and what it maps to."""

    term: str
    group_id: str
    concept_id: str | None
    maps_to: str
    """The concept (generic name, excipient), or the group's label for a class word."""
    code: str

    def describe(self) -> str:
        """E.g. ``"Eliquis → apixaban, B01AF02"``."""
        return (
            f"{self.term} → {self.maps_to}, {self.code}"
            if self.code
            else (f"{self.term} → {self.maps_to}")
        )


@dataclass(frozen=True)
class _Entry:
    group: Group
    concept: Concept | None
    term: str


@dataclass(frozen=True)
class Vocabulary:
    """The loaded vocabulary with an exact index and a fuzzy term list per kind."""

    version: str
    groups: tuple[Group, ...]
    nothing_terms: frozenset[str]
    _exact: Mapping[Kind, Mapping[str, tuple[_Entry, ...]]]
    _fuzzy: Mapping[Kind, tuple[str, ...]]

    def group(self, group_id: str) -> Group:
        """The group with id ``group_id`` (KeyError naming it otherwise)."""
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(f"unknown vocabulary group {group_id!r}")

    def is_nothing(self, entry: str) -> bool:
        """True for entries such as "none" or "NKDA" that say there is nothing to list."""
        return normalise(entry) in self.nothing_terms

    def match(self, entry: str, kind: Kind) -> tuple[Match, ...]:
        """Every concept ``entry`` names in the vocabulary of ``kind`` (empty if none)."""
        words = normalise(entry[:MAX_ENTRY_CHARS]).split()
        exact = self._exact[kind]
        # every run of up to four words, and the whole entry: (start, end) -> compact text
        spans: dict[tuple[int, int], str] = {}
        for n in range(1, min(_MAX_NGRAM, len(words)) + 1):
            for i in range(len(words) - n + 1):
                spans[(i, i + n)] = "".join(words[i : i + n])
        if words:
            spans[(0, len(words))] = "".join(words)
        hits: list[tuple[tuple[int, int], _Entry, Literal["exact", "typo"]]] = [
            (span, e, "exact")
            for span, gram in spans.items()
            if not _is_unit(words, span, gram)
            for e in exact.get(gram, ())
        ]
        exact_spans = [span for span, _, _ in hits]
        choices = self._fuzzy[kind]
        for span, gram in spans.items():
            # typo-tolerant reading of every run not already inside an exact match, so
            # "Eliquis and amikacn" still finds amikacin next to apixaban
            if gram in exact or not gram.isalpha() or len(gram) < FUZZY_MIN_QUERY:
                continue
            if any(_within(span, other) for other in exact_spans):
                continue
            for term, distance, _ in process.extract(
                gram, choices, scorer=OSA.distance, score_cutoff=2, limit=None
            ):
                if distance <= _max_errors(term):
                    hits.extend((span, e, "typo") for e in exact[term])
        found: dict[tuple[str, str | None], Match] = {}
        for span, e, how in hits:
            # the longest reading wins within a group: "congenital myasthenia" is G70.2,
            # not also G70.0 for its word "myasthenia" (other groups are always kept)
            if any(
                other_span != span and _within(span, other_span) and other.group is e.group
                for other_span, other, _ in hits
            ):
                continue
            key = (e.group.id, e.concept.id if e.concept else None)
            if key not in found:
                code = e.concept.code if e.concept else e.group.code
                cid = e.concept.id if e.concept else None
                found[key] = Match(entry, e.group.id, cid, code, e.term, how)
        return tuple(found.values())

    def suggest(self, query: str, kind: Kind, limit: int = SUGGEST_LIMIT) -> tuple[Suggestion, ...]:
        """Terms of ``kind`` for what has been typed so far, best first (autocomplete).

        Ranked: terms that start with ``query`` (case, spaces and punctuation ignored), then
        terms that contain it (from 3 characters), shorter first; when none does, the
        typo-tolerant reading of :meth:`match` ("gentamycn" offers gentamicin). Listed
        misspellings are never offered. Pure.

        Raises:
            ValueError: if ``query`` is longer than :data:`MAX_SUGGEST_QUERY` characters.
        """
        if len(query) > MAX_SUGGEST_QUERY:
            raise ValueError(
                f"q: at most {MAX_SUGGEST_QUERY} characters (one entry), got {len(query)}"
            )
        q = _compact(query)
        if not q or limit < 1:
            return ()
        ranked: list[tuple[int, int, str, Suggestion]] = []
        for g in self.groups:
            if g.kind != kind:
                continue
            # (concept, term typed, term offered): a misspelling offers its concept's term
            pairs: list[tuple[Concept | None, str, str]] = [(None, t, t) for t in g.class_terms]
            pairs += [(c, t, t) for c in g.concepts for t in c.terms]
            pairs += [(c, t, c.terms[0]) for c in g.concepts for t in c.misspellings]
            for concept, term, offered in pairs:
                key = _compact(term)
                if key.startswith(q):
                    rank = 0
                elif len(q) >= 3 and q in key:
                    rank = 1
                else:
                    continue
                suggestion = _suggestion(g, concept, offered)
                ranked.append((rank, len(_compact(offered)), offered.lower(), suggestion))
        if not ranked:
            for m in self.match(query, kind):
                g = self.group(m.group_id)
                concept = next((c for c in g.concepts if c.id == m.concept_id), None)
                # a typo is answered with the concept's own first term, never a misspelling
                term = concept.terms[0] if concept else m.term
                ranked.append((2, len(term), term.lower(), _suggestion(g, concept, term)))
        out: dict[str, Suggestion] = {}
        for *_, s in sorted(ranked, key=lambda r: r[:3]):
            out.setdefault(s.term.lower(), s)
        return tuple(out.values())[:limit]

    def offers(self, kind: Kind) -> tuple[Suggestion, ...]:
        """Every term of ``kind`` with what it maps to, misspellings left out, sorted."""
        out: dict[str, Suggestion] = {}
        for g in self.groups:
            if g.kind == kind:
                for t in g.class_terms:
                    out.setdefault(t.lower(), _suggestion(g, None, t))
                for c in g.concepts:
                    for t in c.terms:
                        out.setdefault(t.lower(), _suggestion(g, c, t))
        return tuple(out[k] for k in sorted(out))

    def suggestions(self, kind: Kind) -> tuple[str, ...]:
        """Every term of ``kind`` as written in the data file, misspellings left out, sorted."""
        return tuple(s.term for s in self.offers(kind))


def _suggestion(g: Group, concept: Concept | None, term: str) -> Suggestion:
    if concept is None:
        return Suggestion(term, g.id, None, g.label, g.code)
    return Suggestion(term, g.id, concept.id, concept.id, concept.code)


def _group(raw: Mapping[str, Any]) -> Group:
    kind = raw["kind"]
    if kind not in KINDS:
        raise ValueError(f"vocabulary group {raw['id']}: unknown kind {kind!r}")
    concepts = tuple(
        Concept(
            str(c["id"]),
            str(c.get("code") or ""),
            tuple(str(t) for t in c["terms"]),
            tuple(str(t) for t in c.get("misspellings") or ()),
        )
        for c in raw["concepts"]
    )
    return Group(
        id=str(raw["id"]),
        kind=kind,
        code=str(raw.get("code") or ""),
        label=str(raw["label"]),
        source=" ".join(str(raw["source"]).split()),
        class_terms=tuple(str(t) for t in raw.get("class_terms") or ()),
        concepts=concepts,
    )


def build(data: Mapping[str, Any]) -> Vocabulary:
    """A vocabulary from parsed data (validated: known kinds, unique group ids, no blank term)."""
    groups = tuple(_group(g) for g in data["groups"])
    ids = [g.id for g in groups]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate vocabulary group ids")
    exact: dict[Kind, dict[str, list[_Entry]]] = {k: {} for k in KINDS}
    for g in groups:
        pairs: list[tuple[Concept | None, str]] = [(None, t) for t in g.class_terms]
        pairs += [(c, t) for c in g.concepts for t in (*c.terms, *c.misspellings)]
        for concept, term in pairs:
            key = _compact(term)
            if not key:
                raise ValueError(f"vocabulary group {g.id}: blank term {term!r}")
            exact[g.kind].setdefault(key, []).append(_Entry(g, concept, term))
    return Vocabulary(
        version=str(data["version"]),
        groups=groups,
        nothing_terms=frozenset(normalise(str(t)) for t in data.get("nothing_terms") or ()),
        _exact={k: {t: tuple(v) for t, v in idx.items()} for k, idx in exact.items()},
        _fuzzy={
            k: tuple(t for t in idx if len(t) >= FUZZY_MIN_TERM and t.isalpha())
            for k, idx in exact.items()
        },
    )


@cache
def load_vocabulary() -> Vocabulary:
    """The packaged vocabulary."""
    path = resources.files("glabella.clinic.vocabulary").joinpath("data/vocabulary.yaml")
    return build(yaml.safe_load(path.read_text("utf-8")))
