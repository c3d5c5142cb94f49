"""Plain-dict views of domain objects for the JSON API and templates."""

from __future__ import annotations

from glabella.clinic import instruments


def instrument_summary(instrument: instruments.Instrument) -> dict[str, object]:
    return {
        "id": instrument.id,
        "name": instrument.name,
        "short_name": instrument.short_name,
        "respondent": instrument.respondent,
        "items": len(instrument.items),
        "min_total": instrument.min_total,
        "max_total": instrument.max_total,
        "licence": instrument.licence,
    }


def instrument_detail(instrument: instruments.Instrument) -> dict[str, object]:
    return {
        **instrument_summary(instrument),
        "preamble": instrument.preamble,
        "licence_source": instrument.licence_source,
        "citation": instrument.citation,
        "loinc_panel": instrument.loinc_panel,
        "loinc_total": instrument.loinc_total,
        "max_missing": instrument.max_missing,
        "bands": [{"min": b.min, "max": b.max, "label": b.label} for b in instrument.bands],
        "item_list": [
            {
                "id": item.id,
                "number": item.number,
                "text": item.text,
                "scored": item.scored,
                "loinc": item.loinc,
                "options": [{"value": o.value, "label": o.label} for o in item.options],
            }
            for item in instrument.items
        ],
    }


def score_dict(score: instruments.Score) -> dict[str, object]:
    return {
        "instrument": score.instrument_id,
        "total": score.total,
        "band": score.band.label,
        "answers": dict(score.answers),
        "missing": list(score.missing),
    }
