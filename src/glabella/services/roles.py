"""Roles and what each may do (coarse rules; the route-by-route matrix is in the web layer)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    CLINICIAN = "clinician"
    NURSE = "nurse"
    RECEPTIONIST = "receptionist"
    RESEARCHER = "researcher"


CLINICAL_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN, Role.NURSE})
"""Roles that see clinical data (scores, answers, alerts)."""

PATIENT_ADMIN_ROLES = CLINICAL_ROLES | {Role.RECEPTIONIST}
"""Roles that register patients and send self-report links."""

ALERT_ACTION_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN, Role.NURSE})
"""Roles that may record the action taken on a safety alert."""

INJECTOR_ROLES = frozenset({Role.CLINICIAN, Role.NURSE})
"""Roles whose holders may be recorded as the person who injected (README: the clinician is
the prescriber, the nurse the injector; an administrator or receptionist account never is)."""

ROLE_LABELS: dict[str, str] = {
    Role.ADMIN: "Administrator",
    Role.CLINICIAN: "Clinician",
    Role.NURSE: "Nurse",
    Role.RECEPTIONIST: "Receptionist",
    Role.RESEARCHER: "Researcher",
}
"""What a person reads for each role code."""


def role_label(role: str) -> str:
    """The role as a person reads it (the code itself when unknown)."""
    return ROLE_LABELS.get(role, role)
