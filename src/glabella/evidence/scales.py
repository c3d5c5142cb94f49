"""External reference numbers used to re-express pooled effects on a scale a patient knows.

Each number carries its citation and where it was read, like every trial number of the
evidence base. Pure constants: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PHQ9_MID", "PHQ9_SD", "ScaleReference"]


@dataclass(frozen=True)
class ScaleReference:
    """A reference value of a scale (an SD or a minimal important difference) with its source."""

    scale: str
    value: float
    what: str
    citation: str
    location: str
    url: str
    note: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return dict(self.__dict__)


#: SD of PHQ-9 totals among adults treated for depression by psychiatrists (n = 960 with a
#: PHQ-9 of 10 or more at their first visit). Baseline SDs of samples selected on PHQ-9 >= 10
#: are narrowed by the selection (follow-up SDs in other trials are about 5-6), so points
#: computed with it are, if anything, conservative.
PHQ9_SD = ScaleReference(
    scale="PHQ-9",
    value=4.6,
    what="SD of PHQ-9 total scores in depressed outpatients (n = 960)",
    citation="Psychiatr Serv 2011;62(8):929-935, doi:10.1176/ps.62.8.pss6208_0929",
    location="Abstract, Results: 'Of the 1,763 patients with a depressive disorder, 960 had "
    "PHQ-9 scores >= 10 (mean±SD of 16.4±4.6) on their first study visit'",
    url="https://psychiatryonline.org/doi/10.1176/ps.62.8.pss6208_0929",
    note="author list not shown on the page read; only the abstract was read",
)

#: Minimal clinically important difference of the PHQ-9 (2 standard errors of measurement).
PHQ9_MID = ScaleReference(
    scale="PHQ-9",
    value=5.0,
    what="minimal clinically important difference on the 0-27 PHQ-9",
    citation="Löwe B, Unützer J, Callahan CM, Perkins AJ, Kroenke K. Med Care "
    "2004;42(12):1194-1201, doi:10.1097/00005650-200412000-00006, PMID 15550799",
    location="Abstract: minimal important difference 'estimated as 2 standard errors of "
    "measurement, was 5 points on the 0 to 27 point PHQ-9 scale'",
    url="https://medluna.com/article/15550799",
    note="derived in the IMPACT trial of late-life depression (n = 434)",
)
