"""Botulinum toxin type A products and product-bound doses.

Every BoNT-A product is dosed in its own units, measured with its own assay. The US labels
say so in section 2.1 (e.g. BOTOX Cosmetic PI 2.1: units "cannot be compared to nor
converted into units of any other botulinum toxin products"). This module therefore:

* names each product explicitly (INN, brand, the name of its unit);
* binds every quantity of toxin to its product in a :class:`Dose`;
* refuses arithmetic and comparison between doses of different products
  (:class:`CrossProductUnitsError`). Nothing here converts units between products, and
  nothing ever should: that conversion is a hazard (hazard log H-010).

Excipients are recorded for hypersensitivity checks only where a label source was found;
where no source was verified the tuple is empty and ``excipients_verified`` is False.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Final

__all__ = [
    "PRODUCTS",
    "PRODUCT_ALIASES",
    "CrossProductUnitsError",
    "Dose",
    "InvalidDoseError",
    "Product",
    "find_product",
    "get_product",
    "total_dose",
]


class CrossProductUnitsError(TypeError):
    """Raised when doses of two different BoNT-A products meet in arithmetic or comparison."""


class InvalidDoseError(ValueError):
    """Raised when a dose is not a finite, non-negative Decimal or int."""


@dataclass(frozen=True, repr=False)
class Product:
    """One botulinum toxin type A product.

    Attributes:
        id: the INN, e.g. ``"onabotulinumtoxinA"``; the key used everywhere else.
        brand: the trade name, e.g. ``"Botox"``.
        unit_name: what one unit of this product is called, e.g. ``"Allergan units"``.
        excipients: label-listed excipients relevant to hypersensitivity (lower case).
        excipients_verified: True only when ``excipients`` was checked against a label.
        excipients_source: where ``excipients`` came from, or why it is empty.
        label_glabellar_dose: the labelled total dose for glabellar lines, if any.
        label_source: where ``label_glabellar_dose`` came from.
        glabellar_ceiling: the highest total glabellar dose the clinic will record.
        ceiling_source: why the ceiling has that value.
    """

    id: str
    brand: str
    unit_name: str
    excipients: tuple[str, ...]
    excipients_verified: bool
    excipients_source: str
    label_glabellar_dose: Decimal | None
    label_source: str
    glabellar_ceiling: Decimal
    ceiling_source: str

    def __str__(self) -> str:
        return f"{self.id} ({self.brand})"

    def __repr__(self) -> str:
        return f"Product({self.id!r})"


_LABEL_CEILING = (
    "No depression trial found for this product; ceiling set to the labelled glabellar dose."
)

ONABOTULINUMTOXINA: Final = Product(
    id="onabotulinumtoxinA",
    brand="Botox",
    unit_name="Allergan units",
    excipients=("human albumin", "sodium chloride"),
    excipients_verified=True,
    excipients_source=(
        "openFDA SPL product data elements, BOTOX / BOTOX Cosmetic: ALBUMIN HUMAN, SODIUM CHLORIDE"
    ),
    label_glabellar_dose=Decimal(20),
    label_source="BOTOX Cosmetic PI 2.2, Table 1: glabellar lines 20 Units in 0.5 mL",
    glabellar_ceiling=Decimal(50),
    ceiling_source=(
        "Highest glabellar dose studied for depression: 50 U (Brin et al. 2020, "
        "Int Clin Psychopharmacol, doi:10.1097/YIC.0000000000000290). Above the 20 U label dose."
    ),
)

ABOBOTULINUMTOXINA: Final = Product(
    id="abobotulinumtoxinA",
    brand="Dysport",
    unit_name="Speywood units",
    excipients=("human albumin", "lactose", "cow's milk protein"),
    excipients_verified=True,
    excipients_source=(
        "Dysport PI section 11 (Description): 125 micrograms human serum albumin and 2.5 mg "
        "lactose per vial; may contain trace cow's milk proteins (section 4 Contraindications)"
    ),
    label_glabellar_dose=Decimal(50),
    label_source="Dysport PI 2 (glabellar lines): total 50 Units in five equal aliquots",
    glabellar_ceiling=Decimal(50),
    ceiling_source=_LABEL_CEILING,
)

INCOBOTULINUMTOXINA: Final = Product(
    id="incobotulinumtoxinA",
    brand="Xeomin",
    unit_name="incobotulinumtoxinA units",
    excipients=("human albumin", "sucrose"),
    excipients_verified=True,
    excipients_source="Xeomin SPL product data elements: Albumin Human, Sucrose",
    label_glabellar_dose=Decimal(20),
    label_source="Xeomin PI 2 (glabellar lines): 20 Units as five injections of 4 Units",
    glabellar_ceiling=Decimal(20),
    ceiling_source=_LABEL_CEILING,
)

PRABOTULINUMTOXINA: Final = Product(
    id="prabotulinumtoxinA",
    brand="Jeuveau",
    unit_name="prabotulinumtoxinA units",
    excipients=("human albumin", "sodium chloride"),
    excipients_verified=True,
    excipients_source=(
        "openFDA SPL product data elements, Jeuveau: ALBUMIN HUMAN, SODIUM CHLORIDE"
    ),
    label_glabellar_dose=Decimal(20),
    label_source="JEUVEAU PI 2.2-2.3: 0.1 mL (4 Units) into each of five sites, total 20 Units",
    glabellar_ceiling=Decimal(20),
    ceiling_source=_LABEL_CEILING,
)

DAXIBOTULINUMTOXINA: Final = Product(
    id="daxibotulinumtoxinA",
    brand="Daxxify",
    unit_name="daxibotulinumtoxinA units",
    excipients=("histidine", "trehalose", "polysorbate 20"),
    excipients_verified=True,
    excipients_source=(
        "openFDA SPL product data elements, DAXXIFY: HISTIDINE, TREHALOSE DIHYDRATE, "
        "POLYSORBATE 20. The SPL list may be incomplete (e.g. the formulation peptide); "
        "check the current PI."
    ),
    label_glabellar_dose=Decimal(40),
    label_source="DAXXIFY PI 2 (glabellar lines): 40 Units",
    glabellar_ceiling=Decimal(40),
    ceiling_source=_LABEL_CEILING,
)

LETIBOTULINUMTOXINA: Final = Product(
    id="letibotulinumtoxinA",
    brand="Letybo",
    unit_name="letibotulinumtoxinA units",
    excipients=(),
    excipients_verified=False,
    excipients_source=(
        "Not verified: the SPL product data elements found list no inactive ingredients. "
        "Check the current PI/SmPC before treating a patient with allergies."
    ),
    label_glabellar_dose=Decimal(20),
    label_source="LETYBO PI 2: 0.1 mL (4 Units) into each of five sites, total 20 Units",
    glabellar_ceiling=Decimal(20),
    ceiling_source=_LABEL_CEILING,
)

PRODUCTS: Final[Mapping[str, Product]] = MappingProxyType(
    {
        p.id: p
        for p in (
            ONABOTULINUMTOXINA,
            ABOBOTULINUMTOXINA,
            INCOBOTULINUMTOXINA,
            PRABOTULINUMTOXINA,
            DAXIBOTULINUMTOXINA,
            LETIBOTULINUMTOXINA,
        )
    }
)


def get_product(product_id: str) -> Product:
    """Return the product with INN ``product_id``; raise KeyError naming the known ids."""
    try:
        return PRODUCTS[product_id]
    except KeyError:
        known = ", ".join(sorted(PRODUCTS))
        raise KeyError(f"unknown BoNT-A product {product_id!r}; known: {known}") from None


PRODUCT_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Trade names under which each product is sold for glabellar lines (the name on its
        # label or SmPC); the INN and the US brand of each product are matched anyway.
        "botox cosmetic": "onabotulinumtoxinA",  # BOTOX Cosmetic PI (Allergan, US)
        "vistabel": "onabotulinumtoxinA",  # Vistabel SmPC (Allergan/AbbVie, EU)
        "azzalure": "abobotulinumtoxinA",  # Azzalure SmPC (Galderma/Ipsen, EU)
        "bocouture": "incobotulinumtoxinA",  # Bocouture SmPC (Merz, EU)
        "nuceiva": "prabotulinumtoxinA",  # Nuceiva SmPC (Evolus, EU)
    }
)


def _name_key(text: str) -> str:
    """``text`` lower case with everything but letters and digits removed."""
    return "".join(ch for ch in text.casefold() if ch.isascii() and ch.isalnum())


_BY_NAME: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{_name_key(p.id): p.id for p in PRODUCTS.values()},
        **{_name_key(p.brand): p.id for p in PRODUCTS.values()},
        **{_name_key(alias): pid for alias, pid in PRODUCT_ALIASES.items()},
    }
)


def find_product(text: str) -> Product | None:
    """The product a person meant by ``text``: its INN or a trade name, in any case, with or
    without spaces, hyphens or a trailing registered-trademark sign ("Botox", "botox",
    "onabotulinumtoxin A", "Dysport®" all work); None when nothing matches. No fuzzy
    matching: a product is never guessed."""
    if len(text) > 80:
        return None
    product_id = _BY_NAME.get(_name_key(text))
    return PRODUCTS[product_id] if product_id else None


def _as_units(value: object) -> Decimal:
    """Coerce an int or Decimal to a finite non-negative Decimal; refuse floats and others."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidDoseError(
            f"units must be Decimal or int (got {type(value).__name__}); "
            "binary floats cannot hold doses such as 0.725 exactly"
        )
    units = Decimal(value)
    if not units.is_finite():
        raise InvalidDoseError(f"units must be finite, got {units}")
    if units < 0:
        raise InvalidDoseError(f"units must not be negative, got {units}")
    return units


@dataclass(frozen=True)
class Dose:
    """A quantity of toxin in the units of one named product.

    Doses of the same product add, subtract and compare; doses of different products raise
    :class:`CrossProductUnitsError`. Mixing a dose with a bare number also raises: a number
    without its product is exactly the ambiguity this type exists to remove.
    """

    units: Decimal
    product: Product

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", _as_units(self.units))

    def _same_product(self, other: object, op: str) -> Dose:
        if not isinstance(other, Dose):
            raise CrossProductUnitsError(
                f"cannot {op} a {self.product.id} dose and a {type(other).__name__}: "
                "state the product of every dose"
            )
        if other.product.id != self.product.id:
            raise CrossProductUnitsError(
                f"cannot {op} {self.product.unit_name} ({self.product.id}) and "
                f"{other.product.unit_name} ({other.product.id}): units of different "
                "BoNT-A products are not interchangeable and are never converted"
            )
        return other

    def __add__(self, other: object) -> Dose:
        o = self._same_product(other, "add")
        return Dose(self.units + o.units, self.product)

    def __radd__(self, other: object) -> Dose:
        # sum() starts from int 0; refuse so callers use total_dose(), which names the product.
        raise CrossProductUnitsError(
            "use total_dose(doses, product) instead of sum(): a bare 0 has no product"
        )

    def __sub__(self, other: object) -> Dose:
        o = self._same_product(other, "subtract")
        return Dose(self.units - o.units, self.product)

    def __lt__(self, other: object) -> bool:
        return self.units < self._same_product(other, "compare").units

    def __le__(self, other: object) -> bool:
        return self.units <= self._same_product(other, "compare").units

    def __gt__(self, other: object) -> bool:
        return self.units > self._same_product(other, "compare").units

    def __ge__(self, other: object) -> bool:
        return self.units >= self._same_product(other, "compare").units

    def __str__(self) -> str:
        return f"{self.units} U {self.product.id} ({self.product.unit_name})"


def total_dose(doses: tuple[Dose, ...] | list[Dose], product: Product) -> Dose:
    """Sum ``doses``, all of which must be of ``product``; an empty sequence gives 0 U.

    Raises:
        CrossProductUnitsError: if any dose is of another product.
    """
    total = Dose(Decimal(0), product)
    for dose in doses:
        total = total + dose
    return total
