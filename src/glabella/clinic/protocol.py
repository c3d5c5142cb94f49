"""Injection sites, named glabellar protocols, reconstitution and treatment validation.

Sites and protocols are packaged data (``clinic/data/protocols.yaml``); a clinic can add its
own by passing further :class:`Protocol` objects around. Units always belong to a product
(:class:`~glabella.clinic.products.Dose`) and are never converted between products.

Reconstitution arithmetic (exact, with :class:`fractions.Fraction`):

* concentration (U/mL) = vial units / saline mL
* units per 0.1 mL = concentration x 0.1
* volume for a dose (mL) = dose units x saline mL / vial units

e.g. 100 U in 2.5 mL -> 40 U/mL -> 4 U per 0.1 mL; 29 U -> 29 x 2.5 / 100 = 0.725 mL.

Lot expiry: a lot may be used up to and including its expiry date, in the clinic's calendar;
on any later treatment date it is refused. A label giving only a month ("EXP 2026-11") is
entered as the last day of that month (:func:`expiry_from_month`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

import yaml

from glabella.clinic.products import Dose, Product, get_product, total_dose

__all__ = [
    "NO_SITE_UNITS_NOTE",
    "Citation",
    "InjectionSite",
    "Lot",
    "Problem",
    "Protocol",
    "Reconstitution",
    "SiteDose",
    "SiteInjection",
    "TemplateSite",
    "TreatmentPlan",
    "TreatmentRefusedError",
    "ValidatedTreatment",
    "check_plan",
    "expiry_from_month",
    "load_protocols",
    "load_sites",
    "site_template",
    "validate_treatment",
]

NO_SITE_UNITS_NOTE = "This protocol's source gives no per-site units: enter them."

Side = Literal["left", "right", "midline"]
Sex = Literal["female", "male", "any"]


@dataclass(frozen=True)
class InjectionSite:
    """A named injection point with SVG coordinates (viewBox 0 0 200 140, viewer's view)."""

    id: str
    label: str
    muscle: str
    side: Side
    x: int
    y: int


@dataclass(frozen=True)
class Citation:
    """A bibliographic reference; ``doi`` is None when it was not verified."""

    authors: str
    year: int
    title: str
    journal: str
    doi: str | None


@dataclass(frozen=True)
class SiteDose:
    """Units at one site of a protocol template, in the protocol's product units."""

    site_id: str
    units: Decimal


@dataclass(frozen=True)
class Protocol:
    """A named template: product, total units and (when verified) units per site."""

    id: str
    name: str
    product: Product
    sex: Sex
    total_units: Decimal
    sites: tuple[SiteDose, ...]
    verified: bool
    verification_note: str
    citation: Citation | None

    @property
    def site_units_known(self) -> bool:
        """True when the per-site split was verified and can be used as a template."""
        return self.verified and bool(self.sites)

    @property
    def total(self) -> Dose:
        """The protocol's total as a product-bound dose."""
        return Dose(self.total_units, self.product)

    def injections(self) -> tuple[SiteInjection, ...]:
        """The template as site injections; refused when the per-site split is unknown."""
        if not self.site_units_known:
            raise ValueError(
                f"protocol {self.id!r} has no verified per-site split; "
                "enter the units at each site by hand"
            )
        return tuple(SiteInjection(s.site_id, Dose(s.units, self.product)) for s in self.sites)


@dataclass(frozen=True)
class SiteInjection:
    """Units actually given (or planned) at one site."""

    site_id: str
    dose: Dose


@dataclass(frozen=True)
class Reconstitution:
    """A vial of ``vial_units`` reconstituted with ``saline_ml`` of 0.9 % saline."""

    product: Product
    vial_units: Decimal
    saline_ml: Decimal

    def __post_init__(self) -> None:
        for name in ("vial_units", "saline_ml"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | Decimal):
                raise TypeError(f"{name} must be Decimal or int, got {type(value).__name__}")
            if not Decimal(value).is_finite() or Decimal(value) <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value}")
            object.__setattr__(self, name, Decimal(value))

    @property
    def units_per_ml(self) -> Fraction:
        """Concentration in units per mL, exact."""
        return Fraction(self.vial_units) / Fraction(self.saline_ml)

    @property
    def units_per_0_1_ml(self) -> Fraction:
        """Units in 0.1 mL, exact (the usual syringe graduation)."""
        return self.units_per_ml / 10

    def volume_ml_exact(self, dose: Dose) -> Fraction:
        """Volume in mL that holds ``dose``, exact; refuses a dose of another product."""
        if dose.product.id != self.product.id:
            raise ValueError(
                f"dose is {dose.product.id} but the vial is {self.product.id}; "
                "units are never converted between products"
            )
        return Fraction(dose.units) / self.units_per_ml

    def volume_ml(self, dose: Dose, places: int = 3) -> Decimal:
        """Volume in mL rounded half-even to ``places`` decimals (exact when it terminates)."""
        exact = self.volume_ml_exact(dose)
        quantum = Decimal(1).scaleb(-places)
        return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            quantum, rounding=ROUND_HALF_EVEN
        )


@dataclass(frozen=True)
class Lot:
    """A product lot with its expiry date (usable up to and including that date)."""

    product: Product
    number: str
    expiry: date

    def usable_on(self, day: date) -> bool:
        """True when ``day`` is on or before the expiry date."""
        return day <= self.expiry


def expiry_from_month(year: int, month: int) -> date:
    """Last day of ``year``-``month``: how a month-only expiry ("EXP 2026-11") is read."""
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class TreatmentPlan:
    """What the injector intends to record for one session."""

    product: Product
    treatment_date: date
    lot: Lot
    reconstitution: Reconstitution
    injections: tuple[SiteInjection, ...]


@dataclass(frozen=True)
class Problem:
    """One reason a treatment cannot be recorded (``code`` is stable, for tests and UI).

    ``field`` names where the problem is: a request field (``"vial_units"``) or an injection
    site (``"sites.procerus"``); None when it concerns the treatment as a whole.
    """

    code: str
    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class TreatmentRefusedError(ValueError):
    """Raised by :func:`validate_treatment` with every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


@dataclass(frozen=True)
class ValidatedTreatment:
    """A plan that passed every check, with totals and per-site volumes."""

    plan: TreatmentPlan
    total: Dose
    volumes_ml: tuple[tuple[str, Decimal], ...]
    exceeds_label_dose: bool


def check_plan(
    plan: TreatmentPlan, sites: Mapping[str, InjectionSite], ceiling: Dose
) -> list[Problem]:
    """Every problem of ``plan`` (see :func:`validate_treatment`), without raising."""
    problems: list[Problem] = []
    pid = plan.product.id
    if plan.lot.product.id != pid:
        problems.append(
            Problem(
                "lot_product",
                f"lot {plan.lot.number} is {plan.lot.product.id}, not {pid}",
                "lot_number",
            )
        )
    if plan.reconstitution.product.id != pid:
        problems.append(
            Problem("vial_product", f"reconstituted vial is {plan.reconstitution.product.id}")
        )
    if not plan.lot.usable_on(plan.treatment_date):
        problems.append(
            Problem(
                "lot_expired",
                f"lot {plan.lot.number} expired on {plan.lot.expiry.isoformat()}; "
                f"refused on {plan.treatment_date.isoformat()}",
                "lot_expiry",
            )
        )
    if not plan.injections:
        problems.append(Problem("no_sites", "no injection sites recorded", "sites"))
    seen: set[str] = set()
    for inj in plan.injections:
        if inj.site_id not in sites:
            problems.append(
                Problem(
                    "unknown_site",
                    f"unknown injection site {inj.site_id!r}",
                    f"sites.{inj.site_id}",
                )
            )
        if inj.site_id in seen:
            problems.append(
                Problem(
                    "duplicate_site", f"site {inj.site_id!r} recorded twice", f"sites.{inj.site_id}"
                )
            )
        seen.add(inj.site_id)
        if inj.dose.product.id != pid:
            problems.append(
                Problem(
                    "site_product",
                    f"site {inj.site_id!r} dose is {inj.dose.product.id}, treatment is {pid}",
                )
            )
        elif inj.dose.units <= 0:
            problems.append(
                Problem(
                    "site_units",
                    f"site {inj.site_id!r} must have units > 0",
                    f"sites.{inj.site_id}",
                )
            )
    if ceiling.product.id != pid:
        problems.append(Problem("ceiling_product", f"ceiling is {ceiling.product.id}"))
    elif not any(p.code == "site_product" for p in problems):
        total = total_dose([i.dose for i in plan.injections], plan.product)
        if total.units > plan.reconstitution.vial_units:
            problems.append(
                Problem(
                    "exceeds_vial",
                    f"total {total} is more than the {plan.reconstitution.vial_units} U "
                    "in the reconstituted vial",
                    "vial_units",
                )
            )
        if total > ceiling:
            problems.append(
                Problem(
                    "total_above_ceiling",
                    f"total {total} exceeds the glabellar ceiling of {ceiling.units} U for {pid}",
                    "sites",
                )
            )
    return problems


def validate_treatment(
    plan: TreatmentPlan,
    sites: Mapping[str, InjectionSite] | None = None,
    ceiling: Dose | None = None,
) -> ValidatedTreatment:
    """Check a plan and return totals and volumes, or raise :class:`TreatmentRefusedError`.

    Checks: lot, vial and every site dose are of the plan's product; the lot is not expired
    on the treatment date; sites are known and not repeated; units per site > 0; the total
    is within the vial's units and within ``ceiling`` (default: the product's
    ``glabellar_ceiling``).
    """
    site_map = sites if sites is not None else load_sites()
    limit = ceiling if ceiling is not None else Dose(plan.product.glabellar_ceiling, plan.product)
    problems = check_plan(plan, site_map, limit)
    if problems:
        raise TreatmentRefusedError(problems)
    total = total_dose([i.dose for i in plan.injections], plan.product)
    volumes = tuple((i.site_id, plan.reconstitution.volume_ml(i.dose)) for i in plan.injections)
    label = plan.product.label_glabellar_dose
    return ValidatedTreatment(
        plan=plan,
        total=total,
        volumes_ml=volumes,
        exceeds_label_dose=label is not None and total.units > label,
    )


# --- packaged data ---------------------------------------------------------------------


def _read_yaml() -> dict[str, Any]:
    text = resources.files("glabella.clinic").joinpath("data/protocols.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("protocols.yaml must be a mapping")
    return data


@cache
def load_sites() -> Mapping[str, InjectionSite]:
    """The packaged injection sites by id."""
    out: dict[str, InjectionSite] = {}
    for raw in _read_yaml()["sites"]:
        site = InjectionSite(
            id=str(raw["id"]),
            label=str(raw["label"]),
            muscle=str(raw["muscle"]),
            side=raw["side"],
            x=int(raw["x"]),
            y=int(raw["y"]),
        )
        if site.side not in ("left", "right", "midline"):
            raise ValueError(f"site {site.id}: bad side {site.side!r}")
        out[site.id] = site
    return MappingProxyType(out)


def _citation(raw: Mapping[str, Any] | None) -> Citation | None:
    if raw is None:
        return None
    return Citation(
        authors=str(raw["authors"]),
        year=int(raw["year"]),
        title=str(raw["title"]),
        journal=str(raw["journal"]),
        doi=None if raw.get("doi") is None else str(raw["doi"]),
    )


def _protocol(raw: Mapping[str, Any], citations: Mapping[str, Any]) -> Protocol:
    product = get_product(str(raw["product"]))
    cite_key = raw.get("citation")
    sites = tuple(SiteDose(str(s["site"]), Decimal(str(s["units"]))) for s in raw["sites"])
    proto = Protocol(
        id=str(raw["id"]),
        name=str(raw["name"]),
        product=product,
        sex=raw["sex"],
        total_units=Decimal(str(raw["total_units"])),
        sites=sites,
        verified=bool(raw["verified"]),
        verification_note=" ".join(str(raw["verification_note"]).split()),
        citation=None if cite_key is None else _citation(citations[cite_key]),
    )
    if sites and sum((s.units for s in sites), Decimal(0)) != proto.total_units:
        raise ValueError(f"protocol {proto.id}: per-site units do not add up to the total")
    return proto


@cache
def load_protocols() -> Mapping[str, Protocol]:
    """The packaged named protocols by id (data checked: per-site units sum to the total)."""
    data = _read_yaml()
    site_ids = set(load_sites())
    out: dict[str, Protocol] = {}
    for raw in data["protocols"]:
        proto = _protocol(raw, data["citations"])
        unknown = {s.site_id for s in proto.sites} - site_ids
        if unknown:
            raise ValueError(f"protocol {proto.id}: unknown sites {sorted(unknown)}")
        out[proto.id] = proto
    return MappingProxyType(out)


def protocols_for(product: Product, protocols: Iterable[Protocol] | None = None) -> list[Protocol]:
    """Protocols of one product (units are never carried over to another product)."""
    pool = load_protocols().values() if protocols is None else protocols
    return [p for p in pool if p.product.id == product.id]


_SIDE_ORDER: dict[str, int] = {"midline": 0, "right": 1, "left": 2}


@dataclass(frozen=True)
class TemplateSite:
    """One row of the treatment form's site table for a chosen protocol.

    ``units`` are the protocol's per-site units only when its split was verified against its
    source (``verified: true`` in protocols.yaml, with the source in ``verification_note``);
    otherwise None, never a share of the total worked out here. ``in_pattern`` says whether
    the protocol injects this site: None when the protocol's pattern is not known.
    """

    site: InjectionSite
    units: Decimal | None
    in_pattern: bool | None


def site_template(
    chosen: Protocol | None, sites: Mapping[str, InjectionSite] | None = None
) -> tuple[TemplateSite, ...]:
    """The sites in reading order (midline, then the patient's right, then left), each with
    the chosen protocol's verified units (see :class:`TemplateSite`)."""
    site_map = sites if sites is not None else load_sites()
    known = chosen is not None and chosen.site_units_known
    units = {s.site_id: s.units for s in chosen.sites} if chosen is not None and known else {}
    ordered = sorted(site_map.values(), key=lambda s: _SIDE_ORDER[s.side])
    return tuple(
        TemplateSite(site, units.get(site.id), (site.id in units) if known else None)
        for site in ordered
    )
