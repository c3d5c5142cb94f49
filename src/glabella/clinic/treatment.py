"""The treatment gate: may this injection session be recorded? Pure, no I/O.

:func:`check_treatment` takes what the injector typed (:class:`TreatmentDraft`, numbers still
as raw text) and what the record already holds (:class:`TreatmentContext`, loaded by the
service) and returns every :class:`~glabella.clinic.protocol.Problem`, each naming its field
or site. An empty list means the treatment may be recorded; :func:`prepare` then gives the
exact values to store.

Rules:

* **Numbers** are parsed by :func:`glabella.clinic.quantities.parse_quantity` (bounded, no
  exponent, never an exception). Units are in steps of 0.5 U (:data:`UNIT_STEP`, clinic
  policy: the smallest split the products are dosed in on a 0.1 mL graduation at the usual
  dilutions is well above it, so a finer number is a typing error).
* **Vial**: the vial size must be one the product is sold in (:data:`DOSE_LIMITS`, label).
* **Per site**: at most the product's per-site maximum (label or verified protocol, cited in
  :data:`DOSE_LIMITS`) and at most :data:`MAX_VOLUME_PER_SITE_ML` (0.25 mL).
* **Names**: the product is found by its INN or a trade name, in any case, with or without
  spaces (:func:`glabella.clinic.products.find_product`: "Botox", "onabotulinumtoxin A");
  a site by its id or label (:func:`site_id_of`: "Procerus", "corrugator medial left"); a
  protocol by its id in any case. Nothing is guessed: an unknown name is a problem.
* **Protocol**: a protocol can only be applied to its own product (units never convert).
* **Intervals** (:data:`~glabella.clinic.schedule.RETREATMENT_INTERVAL`, 84 days): to the
  nearest recorded treatment before *and* after this one, counted in clinic-local dates;
  two on the same day are refused.
* **Screening**: the treatment relies on the newest screening of its product made at or
  before it; it is refused when there is none (or only later ones: "dated before its
  screening"), when that screening is older than :data:`SCREENING_VALID_DAYS`, or when its
  outcome does not allow treatment.
* **Consent**: signed, not withdrawn by the patient (H-095), unused by any other treatment
  (one consent, one treatment), and valid by
  :func:`glabella.clinic.consent.can_record_treatment`.
* **Time**: a time without an offset is clinic-local (:func:`local_time`); not in the future
  (5 minutes' clock tolerance); more than :data:`BACKDATE_GRACE` (1 h) in
  the past needs a reason of at least :data:`MIN_BACKDATE_REASON` characters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from glabella.clinic import consent as consent_rules
from glabella.clinic import protocol, schedule
from glabella.clinic.products import PRODUCT_ALIASES, PRODUCTS, Dose, Product, find_product
from glabella.clinic.protocol import Problem
from glabella.clinic.quantities import HALF_UNIT, is_multiple_of, parse_quantity

__all__ = [
    "BACKDATE_GRACE",
    "DOSE_LIMITS",
    "FUTURE_TOLERANCE",
    "MAX_VOLUME_PER_SITE_ML",
    "MIN_BACKDATE_REASON",
    "SCREENING_VALID_DAYS",
    "UNIT_STEP",
    "ConsentFact",
    "DoseLimits",
    "PreparedTreatment",
    "ScreeningFact",
    "TreatmentContext",
    "TreatmentDraft",
    "check_treatment",
    "is_backdated",
    "local_time",
    "prepare",
    "site_id_of",
]

SCREENING_VALID_DAYS: Final = 30
"""A screening older than this must be repeated before treating (clinic policy)."""

UNIT_STEP: Final = HALF_UNIT
"""Units per site are whole multiples of 0.5 U (clinic policy, see module docstring)."""

MAX_VOLUME_PER_SITE_ML: Final = Decimal("0.25")
"""Clinic policy, derived, not a label value: the glabellar labels inject 0.1 mL per site
(e.g. BOTOX Cosmetic PI 2.2: 4 U in 0.1 mL; JEUVEAU PI 2.3: 0.1 mL into each of five sites);
a larger volume spreads further from the muscle (eyelid ptosis). 0.25 mL is 2.5 times the
labelled volume and refuses dilution mistakes such as 10 U drawn from a 100 U vial in 10 mL
(1 mL in one site)."""

BACKDATE_GRACE: Final = timedelta(hours=1)
"""A treatment recorded more than this long after it happened needs a stated reason."""

MIN_BACKDATE_REASON: Final = 10
FUTURE_TOLERANCE: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class DoseLimits:
    """What a product is sold in and the most that goes into one glabellar site."""

    vial_sizes: tuple[Decimal, ...]
    vial_source: str
    max_units_per_site: Decimal
    site_source: str


_ONA_SITE = (
    "Highest per-site dose in a verified protocol of protocols.yaml: Finzi & Rosenthal 2014, "
    "men, 10 U into the procerus (Supplemental Fig. 2). The label gives 4 U per site "
    "(BOTOX Cosmetic PI 2.2, Table 1)."
)

DOSE_LIMITS: Final[Mapping[str, DoseLimits]] = MappingProxyType(
    {
        "onabotulinumtoxinA": DoseLimits(
            (Decimal(50), Decimal(100), Decimal(200)),
            "BOTOX PI section 11 (Description): each vial contains 50, 100 or 200 Units",
            Decimal(10),
            _ONA_SITE,
        ),
        "abobotulinumtoxinA": DoseLimits(
            (Decimal(300), Decimal(500)),
            "Dysport PI sections 3 and 16 (How Supplied): single-dose vials of 300 Units or "
            "500 Units",
            Decimal(10),
            "Dysport PI 2 (glabellar lines): 50 Units in five equal aliquots of 10 Units",
        ),
        "incobotulinumtoxinA": DoseLimits(
            (Decimal(50), Decimal(100), Decimal(200)),
            "Xeomin PI section 3 (Dosage forms and strengths): 50, 100 or 200 Units per "
            "single-dose vial",
            Decimal(4),
            "Xeomin PI 2 (glabellar lines): five injections of 4 Units",
        ),
        "prabotulinumtoxinA": DoseLimits(
            (Decimal(100),),
            "JEUVEAU PI 2.2: supplied in a single-dose 100 Unit vial",
            Decimal(4),
            "JEUVEAU PI 2.2-2.3: 0.1 mL (4 Units) into each of five sites",
        ),
        "daxibotulinumtoxinA": DoseLimits(
            (Decimal(50), Decimal(100)),
            "DAXXIFY PI section 3: 50 Units or 100 Units per single-dose vial",
            Decimal(8),
            "DAXXIFY PI 2 (glabellar lines): 8 Units (0.1 mL) into each of five sites",
        ),
        "letibotulinumtoxinA": DoseLimits(
            (Decimal(50), Decimal(100)),
            "LETYBO PI section 3: 50 Units or 100 Units freeze-dried powder in a single-dose vial",
            Decimal(4),
            "LETYBO PI 2: 0.1 mL (4 Units) into each of five sites",
        ),
    }
)


@dataclass(frozen=True)
class TreatmentDraft:
    """What the injector entered; numbers are still raw (str, int or float from JSON)."""

    product_id: str
    lot_number: str
    lot_expiry: date
    vial_units: object
    saline_ml: object
    sites: Mapping[str, object]
    treated_at: datetime
    protocol_id: str | None = None
    backdate_reason: str = ""


@dataclass(frozen=True)
class ScreeningFact:
    """A stored screening as the gate needs it."""

    id: int
    product_id: str
    screened_at: datetime
    screened_on: date
    can_treat: bool
    outcome: str
    open_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentFact:
    """A stored consent as the gate needs it."""

    id: int
    signed_at: datetime
    version: str
    used_by_treatment: int | None = None
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class TreatmentContext:
    """What the record already holds about this patient, and the clock and calendar."""

    now: datetime
    clinic_tz: ZoneInfo
    screenings: Sequence[ScreeningFact]
    consent: ConsentFact | None
    other_treatments: Sequence[datetime] = field(default_factory=tuple)


@dataclass(frozen=True)
class PreparedTreatment:
    """The exact values to store once :func:`check_treatment` found no problem."""

    product: Product
    protocol_id: str | None
    treated_at: datetime
    treatment_date: date
    vial_units: Decimal
    saline_ml: Decimal
    site_units: tuple[tuple[str, Decimal], ...]
    site_volumes_ml: tuple[tuple[str, Decimal], ...]
    total_units: Decimal
    exceeds_label_dose: bool
    screening_id: int
    backdated: bool


def _site_field(site_id: str) -> str:
    return f"sites.{site_id}"


def _words(text: str) -> str:
    return " ".join("".join(c if c.isascii() and c.isalnum() else " " for c in text).split())


def site_id_of(typed: str) -> str:
    """The injection site a person meant: its id or its label, in any case, with spaces,
    hyphens or underscores ("Procerus", "corrugator medial left", "Left corrugator, medial"
    all work); an unknown name is returned trimmed, to be refused as an unknown site."""
    key = _words(typed.casefold()[:80])
    for site in protocol.load_sites().values():
        if key in (_words(site.id), _words(site.label.casefold())):
            return site.id
    return typed.strip()


def local_time(at: datetime, clinic_tz: ZoneInfo) -> datetime:
    """``at`` as an aware time: a time without an offset is read as clinic-local time."""
    return (
        at if at.tzinfo is not None and at.utcoffset() is not None else at.replace(tzinfo=clinic_tz)
    )


def is_backdated(treated_at: datetime, now: datetime) -> bool:
    """Whether a treatment at ``treated_at`` is recorded more than 1 h after it happened."""
    return now - treated_at > BACKDATE_GRACE


@dataclass
class _Doses:
    vial: Decimal | None = None
    saline: Decimal | None = None
    sites: list[tuple[str, Decimal]] = field(default_factory=list)


def _parse_doses(draft: TreatmentDraft, problems: list[Problem]) -> _Doses:
    out = _Doses()
    vial = parse_quantity(draft.vial_units, "vial units")
    if vial.value is None:
        problems.append(Problem("vial_units_invalid", str(vial.error), "vial_units"))
    else:
        out.vial = vial.value
    saline = parse_quantity(draft.saline_ml, "saline mL")
    if saline.value is None:
        problems.append(Problem("saline_invalid", str(saline.error), "saline_ml"))
    elif saline.value <= 0:
        problems.append(Problem("saline_invalid", "saline mL must be more than 0", "saline_ml"))
    else:
        out.saline = saline.value
    for typed_site, raw in sorted(draft.sites.items()):
        site_id = site_id_of(typed_site)
        where = _site_field(site_id)
        if isinstance(raw, str) and raw.strip() in ("", "0"):
            continue  # an empty box on the form: nothing injected there
        parsed = parse_quantity(raw, f"units at {site_id}")
        if parsed.value is None:
            problems.append(Problem("site_units_invalid", str(parsed.error), where))
        elif parsed.value == 0:
            continue
        elif not is_multiple_of(parsed.value, UNIT_STEP):
            problems.append(
                Problem(
                    "site_units_step",
                    f"units at {site_id}: {parsed.value} is not in steps of {UNIT_STEP} U",
                    where,
                )
            )
        else:
            out.sites.append((site_id, parsed.value))
    return out


def _check_doses(
    product: Product, doses: _Doses, draft: TreatmentDraft, day: date, problems: list[Problem]
) -> None:
    limits = DOSE_LIMITS[product.id]
    if doses.vial is not None and doses.vial not in limits.vial_sizes:
        sizes = ", ".join(f"{v} U" for v in limits.vial_sizes)
        problems.append(
            Problem(
                "vial_size",
                f"{product.brand} ({product.id}) is sold in vials of {sizes}, "
                f"not {doses.vial} U ({limits.vial_source})",
                "vial_units",
            )
        )
    for site_id, units in doses.sites:
        if units > limits.max_units_per_site:
            problems.append(
                Problem(
                    "site_units_max",
                    f"units at {site_id}: {units} U is more than the "
                    f"{limits.max_units_per_site} U per site allowed for {product.id} "
                    f"({limits.site_source})",
                    _site_field(site_id),
                )
            )
        if doses.vial is not None and doses.saline is not None and doses.vial > 0:
            volume = Fraction(units) * Fraction(doses.saline) / Fraction(doses.vial)
            if volume > Fraction(MAX_VOLUME_PER_SITE_ML):
                shown = Decimal(volume.numerator) / Decimal(volume.denominator)
                problems.append(
                    Problem(
                        "site_volume_max",
                        f"volume at {site_id}: {shown.quantize(Decimal('0.001'))} mL is more "
                        f"than {MAX_VOLUME_PER_SITE_ML} mL per site (clinic policy)",
                        _site_field(site_id),
                    )
                )
    if doses.vial is None or doses.saline is None or doses.vial <= 0:
        return
    plan = protocol.TreatmentPlan(
        product=product,
        treatment_date=day,
        lot=protocol.Lot(product, draft.lot_number.strip(), draft.lot_expiry),
        reconstitution=protocol.Reconstitution(product, doses.vial, doses.saline),
        injections=tuple(protocol.SiteInjection(s, Dose(u, product)) for s, u in doses.sites),
    )
    seen = {(p.code, p.field) for p in problems}
    for p in protocol.check_plan(
        plan, protocol.load_sites(), Dose(product.glabellar_ceiling, product)
    ):
        if p.code == "no_sites" and any(q.field and q.field.startswith("sites.") for q in problems):
            continue  # a site was typed but refused above: "no sites" would mislead
        if (p.code, p.field) not in seen:
            problems.append(p)


def _find_protocol(protocol_id: str | None) -> protocol.Protocol | None:
    wanted = (protocol_id or "").strip().casefold()
    return next((p for p in protocol.load_protocols().values() if p.id.casefold() == wanted), None)


def _check_protocol(draft: TreatmentDraft, product: Product, problems: list[Problem]) -> None:
    if not draft.protocol_id or not draft.protocol_id.strip():
        return
    chosen = _find_protocol(draft.protocol_id)
    if chosen is None:
        problems.append(
            Problem("protocol_unknown", f"unknown protocol {draft.protocol_id!r}", "protocol_id")
        )
    elif chosen.product.id != product.id:
        problems.append(
            Problem(
                "protocol_product",
                f"protocol {chosen.id!r} is for {chosen.product.id} ({chosen.product.brand}); "
                f"it cannot be applied to {product.id} ({product.brand}): units are never "
                "converted between products",
                "protocol_id",
            )
        )


def _check_time(draft: TreatmentDraft, ctx: TreatmentContext, problems: list[Problem]) -> None:
    at = local_time(draft.treated_at, ctx.clinic_tz)
    if at > ctx.now + FUTURE_TOLERANCE:
        problems.append(
            Problem(
                "treated_at_future", "a treatment cannot be recorded in the future", "treated_at"
            )
        )
    if is_backdated(at, ctx.now) and len(draft.backdate_reason.strip()) < MIN_BACKDATE_REASON:
        problems.append(
            Problem(
                "backdate_reason",
                "a treatment recorded more than 1 hour after it happened needs a reason "
                f"(at least {MIN_BACKDATE_REASON} characters)",
                "backdate_reason",
            )
        )


def _check_intervals(at: datetime, ctx: TreatmentContext, problems: list[Problem]) -> None:
    tz = ctx.clinic_tz
    day = schedule.local_date(at, tz)
    days = sorted(schedule.local_date(t, tz) for t in ctx.other_treatments)
    gap = schedule.RETREATMENT_INTERVAL
    before = [d for d in days if d < day]
    after = [d for d in days if d > day]
    if day in days:
        problems.append(
            Problem(
                "same_day",
                f"another treatment is already recorded on {day.isoformat()}",
                "treated_at",
            )
        )
    if before and day - before[-1] < gap:
        allowed = before[-1] + gap
        problems.append(
            Problem(
                "interval_before",
                f"re-treatment is allowed from {allowed.isoformat()} "
                f"(12 weeks after {before[-1].isoformat()})",
                "treated_at",
            )
        )
    if after and after[0] - day < gap:
        latest = after[0] - gap
        problems.append(
            Problem(
                "interval_after",
                f"a treatment is recorded on {after[0].isoformat()}, less than 12 weeks later; "
                f"a treatment before it must be on or before {latest.isoformat()}",
                "treated_at",
            )
        )


def _screening_for(
    product: Product, at: datetime, ctx: TreatmentContext
) -> tuple[ScreeningFact | None, ScreeningFact | None]:
    """(the newest screening of ``product`` at or before ``at``, the earliest later one)."""
    own = sorted(
        (s for s in ctx.screenings if s.product_id == product.id),
        key=lambda s: (s.screened_at, s.id),
    )
    earlier = [s for s in own if s.screened_at <= at]
    later = [s for s in own if s.screened_at > at]
    return (earlier[-1] if earlier else None, later[0] if later else None)


def _check_screening(
    product: Product, at: datetime, day: date, ctx: TreatmentContext, problems: list[Problem]
) -> ScreeningFact | None:
    screening, later = _screening_for(product, at, ctx)
    if screening is None:
        if later is not None:
            problems.append(
                Problem(
                    "before_screening",
                    f"the treatment is dated before its screening ({later.screened_on.isoformat()}"
                    f"); a treatment must follow the screening it relies on",
                    "treated_at",
                )
            )
        else:
            problems.append(
                Problem(
                    "no_screening",
                    f"no eligibility screening for {product.id}: screen the patient first",
                    "product",
                )
            )
        return None
    if (day - screening.screened_on).days > SCREENING_VALID_DAYS:
        problems.append(
            Problem(
                "screening_expired",
                f"the screening of {screening.screened_on.isoformat()} is more than "
                f"{SCREENING_VALID_DAYS} days before the treatment: screen again",
                "treated_at",
            )
        )
    if not screening.can_treat:
        items = ", ".join(screening.open_items)
        problems.append(
            Problem(
                "screening_outcome",
                f"screening outcome is {screening.outcome.replace('_', ' ')}"
                + (f" ({items})" if items else ""),
                "screening",
            )
        )
    return screening


def _check_consent(at: datetime, ctx: TreatmentContext, problems: list[Problem]) -> None:
    consent = ctx.consent
    if consent is None:
        problems.append(
            Problem("no_consent", "no signed consent selected for this treatment", "consent_id")
        )
        return
    if consent.withdrawn_at is not None:
        # H-095: the patient took this consent back; treating on it would be without consent.
        problems.append(
            Problem(
                "consent_withdrawn",
                "the patient withdrew this consent; a new consent must be signed",
                "consent_id",
            )
        )
    if consent.used_by_treatment is not None:
        problems.append(
            Problem(
                "consent_used",
                "that consent was already used for another treatment; sign again",
                "consent_id",
            )
        )
    check = consent_rules.can_record_treatment(
        consent.signed_at, consent.version, at, ctx.clinic_tz
    )
    problems.extend(Problem("consent", reason, "consent_id") for reason in check.reasons)


def check_treatment(draft: TreatmentDraft, ctx: TreatmentContext) -> list[Problem]:
    """Every reason the draft cannot be recorded; empty when it can (rules: module docstring)."""
    problems: list[Problem] = []
    product = find_product(draft.product_id)
    if product is None:
        known = ", ".join(f"{p.id} ({p.brand})" for p in PRODUCTS.values())
        problems.append(
            Problem(
                "product_unknown",
                f"unknown product {draft.product_id[:80]!r}; known: {known} "
                f"(also {', '.join(sorted(a.title() for a in PRODUCT_ALIASES))})",
                "product",
            )
        )
    if not draft.lot_number.strip():
        problems.append(Problem("lot_number", "lot number is required", "lot_number"))
    doses = _parse_doses(draft, problems)
    _check_time(draft, ctx, problems)
    if product is None:
        return problems
    at = local_time(draft.treated_at, ctx.clinic_tz)
    day = schedule.local_date(at, ctx.clinic_tz)
    _check_protocol(draft, product, problems)
    _check_doses(product, doses, draft, day, problems)
    _check_screening(product, at, day, ctx, problems)
    _check_consent(at, ctx, problems)
    _check_intervals(at, ctx, problems)
    return problems


def prepare(draft: TreatmentDraft, ctx: TreatmentContext) -> PreparedTreatment:
    """The values to store; raise ValueError unless :func:`check_treatment` found nothing."""
    problems = check_treatment(draft, ctx)
    if problems:
        raise ValueError("; ".join(p.message for p in problems))
    product = find_product(draft.product_id)
    assert product is not None  # checked above
    scratch: list[Problem] = []
    doses = _parse_doses(draft, scratch)
    assert doses.vial is not None and doses.saline is not None  # checked above
    at = local_time(draft.treated_at, ctx.clinic_tz)
    day = schedule.local_date(at, ctx.clinic_tz)
    recon = protocol.Reconstitution(product, doses.vial, doses.saline)
    screening, _ = _screening_for(product, at, ctx)
    assert screening is not None  # checked above
    total = sum((u for _, u in doses.sites), Decimal(0))
    label = product.label_glabellar_dose
    return PreparedTreatment(
        product=product,
        protocol_id=chosen.id if (chosen := _find_protocol(draft.protocol_id)) else None,
        treated_at=at,
        treatment_date=day,
        vial_units=doses.vial,
        saline_ml=doses.saline,
        site_units=tuple(doses.sites),
        site_volumes_ml=tuple((s, recon.volume_ml(Dose(u, product))) for s, u in doses.sites),
        total_units=total,
        exceeds_label_dose=label is not None and total > label,
        screening_id=screening.id,
        backdated=is_backdated(at, ctx.now),
    )
