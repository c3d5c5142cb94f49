"""The glabellar injection map: an SVG face with one clickable point per injection site."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from glabella.clinic.protocol import InjectionSite


def injection_map_svg(sites: Mapping[str, InjectionSite], units: Mapping[str, str]) -> str:
    """A frontal face (viewer's view: the patient's right is on the left) with site buttons.

    Each site is a focusable group carrying ``data-site``; ``app.js`` links it to the number
    field of the same site and keeps the totals live. Units already entered are printed.
    """
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 140" class="injection-map" '
        'role="group" aria-label="Glabellar injection sites, viewed facing the patient">',
        '<ellipse cx="100" cy="72" rx="72" ry="67" fill="#fbe9e1" stroke="#c8a18f"/>',
        '<path d="M52 72 Q70 60 90 70" fill="none" stroke="#6d4c41" stroke-width="3"/>',
        '<path d="M110 70 Q130 60 148 72" fill="none" stroke="#6d4c41" stroke-width="3"/>',
        '<ellipse cx="72" cy="86" rx="12" ry="5" fill="#fff" stroke="#8d6e63"/>',
        '<ellipse cx="128" cy="86" rx="12" ry="5" fill="#fff" stroke="#8d6e63"/>',
        '<circle cx="72" cy="86" r="3" fill="#5d4037"/>',
        '<circle cx="128" cy="86" r="3" fill="#5d4037"/>',
        '<path d="M100 82 L94 112 Q100 116 106 112" fill="none" stroke="#c8a18f"/>',
        '<text x="4" y="12" font-size="7" fill="#6d4c41">patient\'s right</text>',
        '<text x="196" y="12" font-size="7" text-anchor="end" fill="#6d4c41">'
        "patient's left</text>",
    ]
    for site in sites.values():
        value = units.get(site.id, "")
        label = escape(site.label)
        parts.append(
            f'<g class="site" data-site="{escape(site.id)}" tabindex="0" role="button" '
            f'aria-label="{label}">'
            f"<title>{label}</title>"
            f'<circle cx="{site.x}" cy="{site.y}" r="6" class="site-dot"/>'
            f'<text x="{site.x}" y="{site.y - 9}" font-size="7" text-anchor="middle" '
            f'class="site-units" data-units-for="{escape(site.id)}">{escape(value)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)
