"""Validation of study documents: every problem with the study, the field and what is wrong.

:func:`check` runs on the raw mappings read from the YAML files (before any record is built)
and returns every :class:`~glabella.evidence.studies.model.Problem` it finds, so one run lists
all of them; :func:`~glabella.evidence.studies.loading.load_evidence` refuses data with any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from glabella.evidence.convert import ConversionError
from glabella.evidence.derived import DIRECTIONS, ROUTES, compute_effect
from glabella.evidence.studies.files import load_raw_documents
from glabella.evidence.studies.model import (
    ARM_ROLES,
    DESIGNS,
    DISORDERS,
    OUTCOME_KINDS,
    PERIODS,
    POPULATION_NUMS,
    RANDOMISED_DESIGNS,
    ROB_DOMAINS,
    ROB_JUDGEMENTS,
    SOURCE_KINDS,
    SPONSORS,
    Problem,
)

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_BOUND_RE = re.compile(r"\b[pP]\s*[<≤]")
_NUM_KEYS = frozenset({"value", "source", "location", "verified", "derivation", "note"})


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


class _Checker:
    """Collects problems of one study document."""

    def __init__(self, doc: Mapping[str, Any], file_name: str | None) -> None:
        self.doc = doc
        raw_id = doc.get("id")
        self.sid = raw_id if isinstance(raw_id, str) and raw_id else (file_name or "<unknown>")
        self.file_name = file_name
        self.problems: list[Problem] = []
        src = doc.get("sources")
        self.source_keys: set[str] = set()
        if isinstance(src, list):
            for s in src:
                if isinstance(s, Mapping) and isinstance(s.get("key"), str):
                    self.source_keys.add(s["key"])

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.sid, path, message))

    # -- primitives ----------------------------------------------------------------------------
    def num(self, path: str, raw: object, *, required: bool = False) -> float | None:
        """Check a provenance object; return its value when usable."""
        if raw is None:
            if required:
                self.add(path, "required number is missing")
            return None
        if _is_number(raw):
            self.add(path, "number without provenance (use {value, source, location, verified})")
            return None
        if not isinstance(raw, Mapping):
            self.add(path, f"expected a provenance object, got {type(raw).__name__}")
            return None
        unknown = set(raw) - _NUM_KEYS
        if unknown:
            self.add(path, f"unknown provenance keys: {sorted(unknown)}")
        value = raw.get("value")
        ok = True
        if not _is_number(value):
            self.add(f"{path}.value", "value must be a number")
            ok = False
        src = raw.get("source")
        if not isinstance(src, str) or not src:
            self.add(f"{path}.source", "number without provenance: source is missing")
            ok = False
        elif src not in self.source_keys:
            self.add(f"{path}.source", f"broken reference: no source with key {src!r}")
        loc = raw.get("location")
        if not isinstance(loc, str) or not loc.strip():
            self.add(f"{path}.location", "number without provenance: location is missing")
            ok = False
        verified = raw.get("verified")
        if not isinstance(verified, bool):
            self.add(f"{path}.verified", "verified must be true or false")
            ok = False
        elif not verified:
            note = raw.get("note")
            if not isinstance(note, str) or not note.strip():
                self.add(f"{path}.note", "an unverified number must say why in note")
        deriv = raw.get("derivation")
        if deriv is not None and (not isinstance(deriv, str) or not deriv.strip()):
            self.add(f"{path}.derivation", "derivation must be a non-empty text")
        if ok and isinstance(value, int | float):
            return float(value)
        return None

    def text(self, path: str, raw: object, *, required: bool = False) -> None:
        if raw is None:
            if required:
                self.add(path, "required text is missing")
            return
        if not isinstance(raw, str) or not raw.strip():
            self.add(path, "expected a non-empty text")

    def choice(self, path: str, raw: object, options: Iterable[str], *, required: bool) -> None:
        opts = tuple(options)
        if raw is None:
            if required:
                self.add(path, f"required; one of {list(opts)}")
            return
        if raw not in opts:
            self.add(path, f"{raw!r} is not one of {list(opts)}")

    def items(self, path: str, raw: object) -> list[Mapping[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add(path, "expected a list")
            return []
        out: list[Mapping[str, Any]] = []
        for i, item in enumerate(raw):
            if isinstance(item, Mapping):
                out.append(item)
            else:
                self.add(f"{path}[{i}]", "expected a mapping")
        return out

    # -- the document --------------------------------------------------------------------------
    def run(self) -> list[Problem]:
        d = self.doc
        sid = d.get("id")
        if not isinstance(sid, str) or not _ID_RE.match(sid):
            self.add("id", "id must be lower-case words joined by '-'")
        elif self.file_name is not None:
            stem = self.file_name.rsplit(".", 1)[0]
            if stem != sid:
                self.add("id", f"file name {self.file_name!r} does not match id {sid!r}")
        self.text("short", d.get("short"), required=True)
        self.text("title", d.get("title"), required=True)
        self.text("summary", d.get("summary"), required=True)
        year = d.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2100:
            self.add("year", "year must be a four-digit integer")
        authors = d.get("authors")
        if (
            not isinstance(authors, list)
            or not authors
            or not all(isinstance(a, str) and a for a in authors)
        ):
            self.add("authors", "authors must be a non-empty list of names")
        self.choice("design", d.get("design"), DESIGNS, required=True)
        self.choice("disorder", d.get("disorder"), DISORDERS, required=True)
        for key in ("journal", "citation", "doi", "pmid", "country", "blinding", "control"):
            self.text(key, d.get(key))
        self.text("funding", d.get("funding"))
        self.choice("sponsor", d.get("sponsor"), SPONSORS, required=False)
        indep = d.get("independent")
        if indep is not None and not isinstance(indep, bool):
            self.add("independent", "must be true, false or absent")
        if indep is False:
            self.text("independence_note", d.get("independence_note"), required=True)
        for key in ("inconsistencies", "includes"):
            val = d.get(key, [])
            if not isinstance(val, list) or not all(isinstance(x, str) and x for x in val):
                self.add(key, f"{key} must be a list of texts")
        if d.get("includes") and d.get("design") not in ("meta_analysis", "pooled_analysis"):
            self.add("includes", "only a meta-analysis or pooled analysis includes other studies")
        tpw = d.get("timepoint_weeks")
        if tpw is not None and (not _is_number(tpw) or tpw < 0):
            self.add("timepoint_weeks", "timepoint must be a non-negative number")
        self.text("difference_note", d.get("difference_note"))
        fu = d.get("functional_unblinding")
        placebo = "placebo" in str(d.get("control") or "").lower()
        if fu is None and placebo and d.get("design") in RANDOMISED_DESIGNS:
            self.add(
                "functional_unblinding",
                "a placebo-controlled trial needs a judgement of participant blinding against "
                "the visible loss of frowning (judgement and reason)",
            )
        elif fu is not None:
            if not isinstance(fu, Mapping):
                self.add("functional_unblinding", "expected {judgement, reason}")
            else:
                self.choice(
                    "functional_unblinding.judgement",
                    fu.get("judgement"),
                    ROB_JUDGEMENTS,
                    required=True,
                )
                self.text("functional_unblinding.reason", fu.get("reason"), required=True)
        self.text("indirectness", d.get("indirectness"))
        reg = d.get("registry_ids", [])
        if not isinstance(reg, list) or not all(isinstance(r, str) for r in reg):
            self.add("registry_ids", "registry_ids must be a list of identifiers")
        pem = d.get("primary_endpoint_met")
        if pem is not None and not isinstance(pem, bool):
            self.add("primary_endpoint_met", "must be true, false or absent")
        notes = d.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            self.add("notes", "notes must be a list of texts")

        self._sources()
        self._population()
        arm_n = self._arms()
        self._outcomes(arm_n)
        self._adverse_events(arm_n)
        self._reported()
        self._rob()
        return self.problems

    def _sources(self) -> None:
        srcs = self.items("sources", self.doc.get("sources"))
        if not srcs:
            self.add("sources", "at least one source is required")
        seen: set[str] = set()
        for i, s in enumerate(srcs):
            key = s.get("key")
            if not isinstance(key, str) or not key:
                self.add(f"sources[{i}].key", "source key is required")
            elif key in seen:
                self.add(f"sources[{i}].key", f"duplicate source key {key!r}")
            else:
                seen.add(key)
            self.choice(f"sources[{i}].kind", s.get("kind"), SOURCE_KINDS, required=True)
            url = s.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "file:")):
                self.add(f"sources[{i}].url", "url must be an http(s) address")

    def _population(self) -> None:
        pop = self.doc.get("population", {})
        if pop is None:
            return
        if not isinstance(pop, Mapping):
            self.add("population", "population must be a mapping")
            return
        for key, val in pop.items():
            path = f"population.{key}"
            if key in POPULATION_NUMS:
                v = self.num(path, val)
                if v is not None and (v < 0 or v != int(v)):
                    self.add(path, "impossible value: a count must be a non-negative integer")
            elif _is_number(val):
                self.add(path, "number without provenance")
            elif val is not None and not isinstance(val, str):
                self.add(path, "population entries are texts or provenance objects")
        n_total = pop.get("n_total")
        n_an = pop.get("n_analysed_total")
        if isinstance(n_total, Mapping) and isinstance(n_an, Mapping):
            t, a = n_total.get("value"), n_an.get("value")
            if isinstance(t, int | float) and isinstance(a, int | float) and a > t:
                self.add("population.n_analysed_total", "impossible value: analysed > randomised")

    def _arms(self) -> dict[str, float | None]:
        arms = self.items("arms", self.doc.get("arms"))
        arm_n: dict[str, float | None] = {}
        for i, a in enumerate(arms):
            aid = a.get("id")
            path = f"arms[{i}]"
            if not isinstance(aid, str) or not _ID_RE.match(aid):
                self.add(f"{path}.id", "arm id must be lower-case words joined by '-'")
                continue
            if aid in arm_n:
                self.add(f"{path}.id", f"duplicate arm id {aid!r}")
            path = f"arms.{aid}"
            self.text(f"{path}.label", a.get("label"), required=True)
            self.text(f"{path}.product", a.get("product"), required=True)
            self.text(f"{path}.sites", a.get("sites"))
            self.choice(f"{path}.role", a.get("role"), ARM_ROLES, required=True)
            n_r = self.num(f"{path}.n_randomised", a.get("n_randomised"))
            n_a = self.num(f"{path}.n_analysed", a.get("n_analysed"))
            for name, v in (("n_randomised", n_r), ("n_analysed", n_a)):
                if v is not None and (v <= 0 or v != int(v)):
                    self.add(f"{path}.{name}", "impossible value: N must be a positive integer")
            if n_r is not None and n_a is not None and n_a > n_r:
                self.add(f"{path}.n_analysed", "impossible value: N analysed > N randomised")
            for name in ("dose_units", "dose_units_women", "dose_units_men"):
                v = self.num(f"{path}.{name}", a.get(name))
                if v is not None and v < 0:
                    self.add(f"{path}.{name}", "impossible value: negative dose")
            arm_n[aid] = n_r
        return arm_n

    def _outcomes(self, arm_n: Mapping[str, float | None]) -> None:
        outs = self.items("outcomes", self.doc.get("outcomes"))
        seen: set[str] = set()
        crossover = self.doc.get("design") == "crossover_rct"
        for i, o in enumerate(outs):
            oid = o.get("id")
            if not isinstance(oid, str) or not _ID_RE.match(oid):
                self.add(f"outcomes[{i}].id", "outcome id must be lower-case words joined by '-'")
                continue
            if oid in seen:
                self.add(f"outcomes[{i}].id", f"duplicate outcome id {oid!r}")
            seen.add(oid)
            path = f"outcomes.{oid}"
            kind = o.get("kind")
            self.choice(f"{path}.kind", kind, OUTCOME_KINDS, required=True)
            self.text(f"{path}.label", o.get("label"), required=True)
            self.text(f"{path}.instrument", o.get("instrument"))
            self.text(f"{path}.definition", o.get("definition"))
            self.text(f"{path}.note", o.get("note"))
            period = o.get("period", "parallel")
            self.choice(f"{path}.period", period, PERIODS, required=True)
            if crossover and period == "parallel":
                self.add(f"{path}.period", "a crossover trial must say which period an outcome is")
            if not crossover and period not in ("parallel", None):
                self.add(f"{path}.period", "only crossover trials have periods")
            tp = o.get("timepoint_weeks")
            if tp is not None and (not _is_number(tp) or tp < 0):
                self.add(f"{path}.timepoint_weeks", "timepoint must be a non-negative number")
            if not isinstance(o.get("primary", False), bool):
                self.add(f"{path}.primary", "primary must be true or false")
            arms_used: set[str] = set()
            for j, r in enumerate(self.items(f"{path}.results", o.get("results"))):
                arm = r.get("arm")
                rpath = f"{path}.results[{j}]"
                if not isinstance(arm, str) or arm not in arm_n:
                    self.add(f"{rpath}.arm", f"broken reference: no arm {arm!r}")
                    continue
                if arm in arms_used:
                    self.add(f"{rpath}.arm", f"arm {arm!r} appears twice")
                arms_used.add(arm)
                rpath = f"{path}.{arm}"
                ev = self.num(f"{rpath}.events", r.get("events"))
                n = self.num(f"{rpath}.n", r.get("n"))
                self.num(f"{rpath}.mean", r.get("mean"))
                sd = self.num(f"{rpath}.sd", r.get("sd"))
                pct = self.num(f"{rpath}.percent", r.get("percent"))
                if ev is not None and (ev < 0 or ev != int(ev)):
                    self.add(f"{rpath}.events", "impossible value: events must be a count")
                if n is not None and (n <= 0 or n != int(n)):
                    self.add(f"{rpath}.n", "impossible value: N must be a positive integer")
                if ev is not None and n is not None and ev > n:
                    self.add(f"{rpath}.events", "impossible value: events > N")
                if sd is not None and sd <= 0:
                    self.add(f"{rpath}.sd", "impossible value: SD <= 0")
                if kind in ("response", "remission", "dropout", "adverse_events") and (
                    pct is not None and not 0 <= pct <= 100
                ):
                    self.add(f"{rpath}.percent", "impossible value: a rate outside 0-100%")
                n_r = arm_n.get(arm)
                if n is not None and n_r is not None and n > n_r and not crossover:
                    self.add(f"{rpath}.n", "impossible value: N analysed > N randomised")
            if o.get("effect") is not None:
                self._effect(f"{path}.effect", o.get("effect"), kind)

    def _effect(self, path: str, raw: object, kind: object) -> None:
        """A derived effect: known route, arms, direction, every input with provenance."""
        if not isinstance(raw, Mapping):
            self.add(path, "expected a mapping (statistic, intervention, control, inputs)")
            return
        if kind != "change":
            self.add(path, "a derived effect size belongs to a continuous (change) outcome")
        allowed = {"statistic", "intervention", "control", "direction", "inputs"}
        unknown = set(raw) - allowed - {"assumptions", "note"}
        if unknown:
            self.add(path, f"unknown keys {sorted(unknown)}")
        route = raw.get("statistic")
        self.choice(f"{path}.statistic", route, ROUTES, required=True)
        self.choice(f"{path}.direction", raw.get("direction"), DIRECTIONS, required=True)
        roles = {
            a.get("id"): a.get("role") for a in self.doc.get("arms") or [] if isinstance(a, Mapping)
        }
        for side, role in (("intervention", "intervention"), ("control", "control")):
            arm = raw.get(side)
            if arm not in roles:
                self.add(f"{path}.{side}", f"broken reference: no arm {arm!r}")
            elif roles[arm] != role:
                self.add(f"{path}.{side}", f"arm {arm!r} is not a {role} arm")
        assumptions = raw.get("assumptions", [])
        if not isinstance(assumptions, list) or not all(
            isinstance(a, str) and a.strip() for a in assumptions
        ):
            self.add(f"{path}.assumptions", "assumptions must be a list of texts")
        self.text(f"{path}.note", raw.get("note"))
        inputs = raw.get("inputs")
        if not isinstance(inputs, Mapping) or not inputs:
            self.add(f"{path}.inputs", "a derived number must record its inputs")
            return
        if route not in ROUTES:
            return
        spec = ROUTES[route]
        known = set(spec.required) | set(spec.optional) | set(spec.one_of)
        values: dict[str, float] = {}
        for name, val in inputs.items():
            ipath = f"{path}.inputs.{name}"
            if name not in known:
                self.add(ipath, f"not an input of statistic {route} (expected {sorted(known)})")
                continue
            v = self.num(ipath, val)
            if v is not None:
                values[str(name)] = v
        missing = [name for name in spec.required if name not in inputs]
        for name in missing:
            self.add(f"{path}.inputs.{name}", "derived number whose input is missing")
        p_raw = inputs.get("p")
        bound = isinstance(p_raw, Mapping) and _BOUND_RE.search(str(p_raw.get("location", "")))
        if route in ("p", "md") and bound:
            self.add(
                f"{path}.inputs.p",
                "the source prints a bound (p < x), not an exact p: use statistic "
                "p_bound, which keeps it as a labelled, conservative value",
            )
            return
        if missing or len(values) != len(inputs) or raw.get("direction") not in DIRECTIONS:
            return
        try:
            compute_effect(route, values, str(raw["direction"]))
        except ConversionError as exc:
            self.add(f"{path}.inputs.{exc.field}", str(exc))

    def _adverse_events(self, arm_n: Mapping[str, float | None]) -> None:
        for i, ae in enumerate(self.items("adverse_events", self.doc.get("adverse_events"))):
            path = f"adverse_events[{i}]"
            self.text(f"{path}.term", ae.get("term"), required=True)
            self.text(f"{path}.note", ae.get("note"))
            self.text(f"{path}.note_de", ae.get("note_de"))
            if ae.get("note_de") is not None and ae.get("note") is None:
                self.add(f"{path}.note_de", "a German note needs the English note it translates")
            arm = ae.get("arm")
            if arm is not None and arm not in arm_n:
                self.add(f"{path}.arm", f"broken reference: no arm {arm!r}")
            ev = self.num(f"{path}.events", ae.get("events"))
            n = self.num(f"{path}.n", ae.get("n"))
            if ev is not None and n is not None and ev > n:
                self.add(f"{path}.events", "impossible value: events > N")
            if ev is not None and ev < 0:
                self.add(f"{path}.events", "impossible value: negative count")

    def _reported(self) -> None:
        for i, rr in enumerate(self.items("reported_results", self.doc.get("reported_results"))):
            path = f"reported_results[{i}]"
            self.text(f"{path}.label", rr.get("label"), required=True)
            self.text(f"{path}.measure", rr.get("measure"))
            self.num(f"{path}.value", rr.get("value"), required=True)
            lb = self.num(f"{path}.ci_lb", rr.get("ci_lb"))
            ub = self.num(f"{path}.ci_ub", rr.get("ci_ub"))
            if lb is not None and ub is not None and lb > ub:
                self.add(f"{path}.ci_lb", "impossible value: CI lower bound > upper bound")
            for name in ("k", "n", "p"):
                self.num(f"{path}.{name}", rr.get(name))

    def _rob(self) -> None:
        rob = self.doc.get("risk_of_bias")
        design = self.doc.get("design")
        if rob is None:
            if design in RANDOMISED_DESIGNS:
                self.add("risk_of_bias", "a randomised trial needs a RoB 2 judgement")
            return
        if not isinstance(rob, Mapping):
            self.add("risk_of_bias", "expected a mapping of RoB 2 domains")
            return
        for dom in ROB_DOMAINS:
            entry = rob.get(dom)
            path = f"risk_of_bias.{dom}"
            if not isinstance(entry, Mapping):
                self.add(path, "missing RoB 2 domain")
                continue
            self.choice(f"{path}.judgement", entry.get("judgement"), ROB_JUDGEMENTS, required=True)
            self.text(f"{path}.reason", entry.get("reason"), required=True)
        extra = set(rob) - set(ROB_DOMAINS)
        if extra:
            self.add("risk_of_bias", f"unknown RoB 2 domains {sorted(extra)}")


def check(
    documents: Iterable[tuple[str | None, Mapping[str, Any]]] | None = None,
) -> list[Problem]:
    """Validate study documents; an empty list means the data are sound.

    ``documents`` are ``(file name or None, mapping)`` pairs; by default the packaged data files.
    Fails on: a number without provenance (bare number, missing source/location/verified, an
    unverified number without a note), impossible values (events > N, SD <= 0, N analysed > N
    randomised, negative counts, rates outside 0-100 %, CI bounds reversed), broken references
    (an arm or source key that does not exist), duplicate ids (studies, arms, outcomes, sources)
    and missing required fields (RoB 2 for randomised trials, with a reason per domain).
    """
    docs: list[tuple[str | None, Mapping[str, Any]]]
    if documents is None:
        docs = [(name, doc) for name, doc in load_raw_documents()]
    else:
        docs = list(documents)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for name, doc in docs:
        checker = _Checker(doc, name)
        problems.extend(checker.run())
        sid = doc.get("id")
        if isinstance(sid, str):
            if sid in seen:
                problems.append(Problem(sid, "id", f"duplicate study id (also in {seen[sid]})"))
            else:
                seen[sid] = name or "<document>"
    for _name, doc in docs:
        inc = doc.get("includes")
        if isinstance(inc, list):
            for ref in inc:
                if isinstance(ref, str) and ref not in seen:
                    problems.append(
                        Problem(
                            str(doc.get("id")), "includes", f"broken reference: no study {ref!r}"
                        )
                    )
    return problems
