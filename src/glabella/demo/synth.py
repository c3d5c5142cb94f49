"""Pure generation of the synthetic clinic: rows as plain dicts, no database.

The rows are shaped like the tables of ``glabella.store`` and pass the same rules the services
apply (an eligible screening and a consent in force before every treatment, re-treatment no
sooner than 12 weeks, lots in date, totals scored by the instrument engine). Ids are assigned
here from ``IdStart`` so that related rows can be bulk-inserted without round trips.

Simplifications (documented in ``docs/demo-data.md``): PHQ-9 item 9 is always 0 (no
suicide-risk answers, so no safety alerts are simulated); every screening is "eligible".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from glabella.clinic import consent, eligibility, instruments, protocol
from glabella.clinic.products import Dose, get_product
from glabella.demo.params import DemoParameters

Row = dict[str, Any]

GIVEN_FEMALE = (
    "Alice", "Beatrice", "Clara", "Dana", "Edith", "Fiona", "Greta", "Hanna", "Iris", "Julia",
    "Karin", "Lena", "Mara", "Nora", "Olga", "Paula", "Rosa", "Sofia", "Tessa", "Vera",
)  # fmt: skip
GIVEN_MALE = (
    "Adam", "Bruno", "Carl", "David", "Emil", "Felix", "Georg", "Henry", "Ivan", "Jonas",
    "Karl", "Leon", "Max", "Noah", "Oskar", "Paul", "Rafael", "Simon", "Tom", "Victor",
)  # fmt: skip
FAMILY = (
    "Ashdown", "Birchley", "Coldwell", "Dunmore", "Elsworth", "Fairholm", "Greystone",
    "Hollins", "Ingleby", "Jessop", "Kirkland", "Lowther", "Marwood", "Netherby", "Ormsby",
    "Pendle", "Quarrie", "Redfern", "Stainton", "Thornbury", "Upton", "Varley", "Westacre",
)  # fmt: skip

AE_TYPES: tuple[tuple[str, float], ...] = (
    ("injection_site_pain", 0.34),
    ("headache", 0.30),
    ("bruising", 0.18),
    ("eyelid_ptosis", 0.05),
    ("brow_ptosis", 0.04),
    ("asymmetry", 0.05),
    ("flu_like_symptoms", 0.04),
)
AE_GRADES: tuple[tuple[int, float], ...] = ((1, 0.80), (2, 0.18), (3, 0.02))
FIVE_SITES = (
    "procerus",
    "corrugator_medial_right",
    "corrugator_medial_left",
    "corrugator_lateral_right",
    "corrugator_lateral_left",
)
CUSTOM_29U = ("10", "6", "6", "4", "3")
"""A synthetic 29 U split for the 29 U protocols whose per-site units are not published."""


@dataclass(frozen=True)
class Regimen:
    protocol_id: str
    product_id: str
    vial_units: Decimal
    saline_ml: Decimal
    sites: tuple[tuple[str, str, str], ...]  # (site, units, volume_ml)
    total_units: str
    exceeds_label_dose: bool


def _regimen(protocol_id: str, vial_units: str, split: Sequence[str] | None = None) -> Regimen:
    proto = protocol.load_protocols()[protocol_id]
    product = proto.product
    recon = protocol.Reconstitution(product, Decimal(vial_units), Decimal("2.5"))
    if split is None:
        pairs = [(s.site_id, s.units) for s in proto.sites]
    else:
        pairs = [(site, Decimal(u)) for site, u in zip(FIVE_SITES, split, strict=True)]
    total = sum((u for _, u in pairs), Decimal(0))
    if total != proto.total_units:
        raise ValueError(f"synthetic split of {protocol_id} does not add up to its total")
    label = product.label_glabellar_dose
    return Regimen(
        protocol_id=proto.id,
        product_id=product.id,
        vial_units=recon.vial_units,
        saline_ml=recon.saline_ml,
        sites=tuple((s, str(u), str(recon.volume_ml(Dose(u, product)))) for s, u in pairs),
        total_units=str(total),
        exceeds_label_dose=label is not None and total > label,
    )


@cache
def regimens() -> Mapping[str, tuple[tuple[Regimen, float], ...]]:
    """Regimens by sex with their weights (female, male)."""
    xeomin = _regimen("label_xeomin_glabellar", "100")
    dysport = _regimen("label_dysport_glabellar", "300")
    return {
        "female": (
            (_regimen("finzi2014_female", "100", CUSTOM_29U), 0.6),
            (xeomin, 0.25),
            (dysport, 0.15),
        ),
        "male": ((_regimen("finzi2014_male", "100"), 0.6), (xeomin, 0.25), (dysport, 0.15)),
    }


@dataclass(frozen=True)
class ScoredPattern:
    answers: tuple[tuple[str, int], ...]
    band: str


@cache
def patterns(instrument_id: str, total: int) -> tuple[ScoredPattern, ...]:
    """A few answer patterns with this total (item 9 of the PHQ-9 always 0), engine-scored."""
    inst = instruments.get(instrument_id)
    items = [i.id for i in inst.items if i.scored and i.id != "phq9_9"]
    rng = random.Random(f"{instrument_id}:{total}")
    out = []
    for _ in range(6):
        values = dict.fromkeys(items, 0)
        for _ in range(total):
            free = [k for k, v in values.items() if v < 3]
            values[rng.choice(free)] += 1
        answers: dict[str, int] = {i.id: 0 for i in inst.items if i.scored}
        answers.update(values)
        scored = instruments.score(inst, answers)
        if scored.total != total:
            raise AssertionError("pattern total mismatch")
        out.append(ScoredPattern(tuple(sorted(scored.answers.items())), scored.band.label))
    return tuple(out)


def max_total(instrument_id: str) -> int:
    """Highest total the generator makes (PHQ-9 item 9 is never endorsed)."""
    inst = instruments.get(instrument_id)
    items = [i for i in inst.items if i.scored and i.id != "phq9_9"]
    return sum(i.max_value for i in items)


NO_ANSWERS = eligibility.ScreeningAnswers(
    prior_bont_reaction=False,
    allergies=(),
    infection_or_inflammation_at_sites=False,
    pregnant=False,
    breastfeeding=False,
    bont_last_12_weeks="no",
    prior_eyelid_ptosis=False,
    psychotic_symptoms_current=False,
    psychotic_disorder_history=False,
    suicide=eligibility.SuicideScreen(
        cssrs_1=False, cssrs_2=False, cssrs_3=False, cssrs_4=False, cssrs_5=False,
        cssrs_behaviour_3_months=False, phq9_item9=0,
    ),
)  # fmt: skip


@dataclass
class IdStart:
    """Next free id per table (the loader reads the current maxima)."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


@dataclass
class Batch:
    """Rows for a group of patients, by table name, in insert order."""

    rows: dict[str, list[Row]]

    def count(self, table: str) -> int:
        return len(self.rows.get(table, []))


TABLE_ORDER = (
    "patients",
    "screenings",
    "consents",
    "treatments",
    "treatment_sites",
    "assessments",
    "assessment_answers",
    "adverse_events",
)


@dataclass(frozen=True)
class Context:
    """What the generator needs from the clinic it fills."""

    clinic_id: int
    tz: ZoneInfo
    injectors: tuple[tuple[int, str, float], ...]  # (user id, name, effect)
    as_of: dt.datetime
    first_day: dt.date


def _weighted(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    pick = rng.random() * sum(w for _, w in options)
    for value, w in options:
        pick -= w
        if pick <= 0:
            return value
    return options[-1][0]


def _clip(value: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(value)))


def _at(day: dt.date, rng: random.Random, tz: ZoneInfo) -> dt.datetime:
    """A clinic-hours moment on a local day, as aware UTC."""
    minutes = rng.randint(9 * 60, 17 * 60)
    local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=tz)
    return local.astimezone(dt.UTC)


class _Gen:
    def __init__(self, params: DemoParameters, ctx: Context, ids: IdStart) -> None:
        self.p = params
        self.ctx = ctx
        self.ids = ids
        self.rng = random.Random(params.seed)
        self.phq_max = max_total("phq9")
        self.gad_max = max_total("gad7")
        self.decision = {
            product: self._decision(product)
            for product in {r.product_id for rs in regimens().values() for r, _ in rs}
        }

    def _decision(self, product_id: str) -> eligibility.Decision:
        facts = eligibility.PatientFacts(dt.date(1980, 1, 1), "female")
        decision = eligibility.screen(
            NO_ANSWERS, facts, get_product(product_id), self.ctx.first_day
        )
        if decision.outcome != "eligible":
            raise RuntimeError(f"synthetic screening for {product_id} is {decision.outcome}")
        return decision

    def batch(self, first_index: int, count: int) -> Batch:
        rows: dict[str, list[Row]] = {t: [] for t in TABLE_ORDER}
        for i in range(first_index, first_index + count):
            self._patient(i, rows)
        return Batch(rows)

    # --- one patient ------------------------------------------------------------------------

    def _patient(self, index: int, rows: dict[str, list[Row]]) -> None:
        rng, p, ctx = self.rng, self.p, self.ctx
        female = rng.random() < p.female_fraction
        sex = "female" if female else "male"
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        family = rng.choice(FAMILY)
        span = max((ctx.as_of.date() - ctx.first_day).days, 1)
        start = ctx.first_day + dt.timedelta(days=rng.randrange(min(p.history_days, span)))
        age = rng.randint(90, 96) if rng.random() < p.very_old_fraction else rng.randint(19, 82)
        dob = start - dt.timedelta(days=age * 365 + rng.randrange(365))
        pid = self.ids.take("patients")
        registered = _at(start - dt.timedelta(days=rng.randint(7, 20)), rng, ctx.tz)
        registered = min(registered, ctx.as_of)
        rows["patients"].append(
            {
                "id": pid,
                "clinic_id": ctx.clinic_id,
                "mrn": f"SYN-{pid:07d}",
                "given_name": given,
                "family_name": family,
                "date_of_birth": dob,
                "sex": sex,
                "phone": f"+44 7700 9{pid % 100000:05d}",
                "email": f"synthetic.{pid:07d}@example.invalid",
                "created_at": registered,
                "updated_at": registered,
            }
        )
        baseline = _clip(
            rng.gauss(p.baseline_phq9_mean, p.baseline_phq9_sd), p.baseline_phq9_min, self.phq_max
        )
        gad_base = _clip(0.6 * baseline + rng.gauss(1.5, 3.0), 3, self.gad_max)
        weights = [(r, w) for r, w in regimens()[sex]]
        regimen: Any = _weighted(rng, weights)
        injector = rng.choice(ctx.injectors)
        treated = rng.random() >= p.untreated_fraction
        day = start
        course = 0
        last_bont: dt.date | None = None
        while True:
            treat_at = _at(day, rng, ctx.tz)
            if treat_at > ctx.as_of:
                return
            if course == 0 and not treated:
                self._assessment(pid, "phq9", baseline, treat_at - dt.timedelta(days=2), rows)
                return
            tid = self._treatment(pid, sex, f"{given} {family}", dob, regimen, injector, treat_at,
                                  last_bont, rows)  # fmt: skip
            last_bont = treat_at.astimezone(ctx.tz).date()
            if rng.random() < p.adverse_event_probability:
                self._adverse_event(pid, tid, treat_at, injector[0], rows)
            f6 = rng.gauss(p.improvement_week6_mean + injector[2], p.improvement_week6_sd)
            f6 = max(-0.3, min(1.0, f6))
            lost = False
            for k, vday in enumerate(p.visit_days):
                if k == 0:
                    at = treat_at - dt.timedelta(days=rng.randint(0, 7), minutes=30)
                    frac = 0.0
                else:
                    jitter = rng.randint(-p.visit_jitter_days, p.visit_jitter_days)
                    at = treat_at + dt.timedelta(days=vday + jitter)
                    frac = f6 * (vday / 42) if vday <= 42 else f6 * p.week12_retention
                if at > ctx.as_of:
                    return
                noise = 0.0 if k == 0 else rng.gauss(0, p.score_noise_sd)
                phq = _clip(baseline * (1 - frac) + noise, 0, self.phq_max)
                gad_frac = frac + rng.gauss(0, 0.1)
                gad = _clip(gad_base * (1 - gad_frac) + rng.gauss(0, 1.2), 0, self.gad_max)
                self._assessment(pid, "phq9", phq, at, rows)
                self._assessment(pid, "gad7", gad, at + dt.timedelta(minutes=3), rows)
                if k > 0 and rng.random() < p.dropout_per_visit:
                    lost = True
                    break
            if lost or rng.random() >= p.retreat_probability:
                return
            course += 1
            day = last_bont + dt.timedelta(days=84 + rng.randint(1, 21))
            # a relapse between courses: the next course starts from a worse score
            baseline = _clip(baseline * (1 - f6 * 0.5) + rng.gauss(2, 2), p.baseline_phq9_min,
                             self.phq_max)  # fmt: skip

    def _treatment(
        self,
        pid: int,
        sex: str,
        signed_name: str,
        dob: dt.date,
        regimen: Regimen,
        injector: tuple[int, str, float],
        treat_at: dt.datetime,
        last_bont: dt.date | None,
        rows: dict[str, list[Row]],
    ) -> int:
        rng, ctx = self.rng, self.ctx
        local_day = treat_at.astimezone(ctx.tz).date()
        screened_at = treat_at - dt.timedelta(days=rng.randint(0, 10), hours=1)
        facts = eligibility.PatientFacts(dob, sex, last_bont)  # type: ignore[arg-type]
        decision = self.decision[regimen.product_id]
        sid = self.ids.take("screenings")
        rows["screenings"].append(
            {
                "id": sid,
                "patient_id": pid,
                "product_id": regimen.product_id,
                "screened_on": screened_at.astimezone(ctx.tz).date(),
                "screened_at": screened_at,
                "screened_by_id": injector[0],
                "answers_json": _ANSWERS_JSON,
                "facts_json": json.dumps(dataclasses.asdict(facts), default=str, sort_keys=True),
                "rules_version": decision.rules_version,
                "outcome": decision.outcome,
                "reasons_json": "[]",
            }
        )
        version = consent.current_version(local_day)
        cid = self.ids.take("consents")
        rows["consents"].append(
            {
                "id": cid,
                "patient_id": pid,
                "version": version.version,
                "text_sha256": version.sha256,
                "signed_at": treat_at - dt.timedelta(minutes=20),
                "signed_name": signed_name,
                "witnessed_by_id": injector[0],
            }
        )
        tid = self.ids.take("treatments")
        quarter = (local_day.month - 1) // 3 + 1
        expiry_year = local_day.year + 1
        rows["treatments"].append(
            {
                "id": tid,
                "patient_id": pid,
                "treated_at": treat_at,
                "treatment_date": local_day,
                "injector_id": injector[0],
                "injector_name": injector[1],
                "product_id": regimen.product_id,
                "protocol_id": regimen.protocol_id,
                "lot_number": f"SYN{regimen.product_id[:4].upper()}{local_day.year}Q{quarter}",
                "lot_expiry": protocol.expiry_from_month(expiry_year, quarter * 3),
                "vial_units": str(regimen.vial_units),
                "saline_ml": str(regimen.saline_ml),
                "total_units": regimen.total_units,
                "exceeds_label_dose": regimen.exceeds_label_dose,
                "screening_id": sid,
                "consent_id": cid,
                "notes": "synthetic record",
                "created_at": treat_at,
            }
        )
        for site, units, volume in regimen.sites:
            rows["treatment_sites"].append(
                {
                    "id": self.ids.take("treatment_sites"),
                    "treatment_id": tid,
                    "site_id": site,
                    "units": units,
                    "volume_ml": volume,
                }
            )
        return tid

    def _assessment(
        self, pid: int, instrument_id: str, total: int, at: dt.datetime, rows: dict[str, list[Row]]
    ) -> None:
        at = min(at, self.ctx.as_of)
        pattern = self.rng.choice(patterns(instrument_id, total))
        aid = self.ids.take("assessments")
        rows["assessments"].append(
            {
                "id": aid,
                "patient_id": pid,
                "instrument_id": instrument_id,
                "total": total,
                "band": pattern.band,
                "source": "clinician",
                "entered_by_id": None,
                "link_id": None,
                "submitted_at": at,
            }
        )
        if self.p.item_answers:
            answers = rows["assessment_answers"]
            for item_id, value in pattern.answers:
                answers.append(
                    {
                        "id": self.ids.take("assessment_answers"),
                        "assessment_id": aid,
                        "item_id": item_id,
                        "value": value,
                    }
                )

    def _adverse_event(
        self, pid: int, tid: int, treat_at: dt.datetime, user_id: int, rows: dict[str, list[Row]]
    ) -> None:
        rng = self.rng
        onset = treat_at + dt.timedelta(hours=rng.randint(2, 24 * 10))
        if onset > self.ctx.as_of:
            return
        grade = _weighted(rng, AE_GRADES)
        rows["adverse_events"].append(
            {
                "id": self.ids.take("adverse_events"),
                "patient_id": pid,
                "treatment_id": tid,
                "type": _weighted(rng, AE_TYPES),
                "description": "synthetic record",
                "onset": onset,
                "grade": grade,
                "seriousness": "",
                "relatedness": rng.choice(("possible", "probable", "definite")),
                "action": "none" if grade == 1 else "symptomatic_treatment",
                "outcome": "recovered",
                "reported_by": "staff",
                "recorded_by_id": user_id,
                "recorded_at": min(onset + dt.timedelta(days=1), self.ctx.as_of),
            }
        )


_ANSWERS_JSON = json.dumps(dataclasses.asdict(NO_ANSWERS), default=str, sort_keys=True)


def generate(params: DemoParameters, ctx: Context, ids: IdStart) -> Iterator[Batch]:
    """The synthetic clinic in batches of ``params.batch_patients`` patients (deterministic)."""
    gen = _Gen(params, ctx, ids)
    done = 0
    while done < params.patients:
        count = min(params.batch_patients, params.patients - done)
        yield gen.batch(done, count)
        done += count
