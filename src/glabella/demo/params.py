"""The documented, seeded parameters of the synthetic clinic (see ``docs/demo-data.md``).

None of these numbers is evidence. They were chosen so that a demonstration clinic looks
plausible (a week-6 response rate near the 50 % seen in the BoNT-A arms of the small trials,
some drop-out, mostly mild local adverse events) and so that every analytics view has
something to show (one injector whose patients do worse, to light up the funnel plot).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class InjectorSpec:
    """A synthetic injector and the shift added to their patients' week-6 improvement."""

    name: str
    effect: float


DEFAULT_INJECTORS: tuple[InjectorSpec, ...] = (
    InjectorSpec("Dr Synthetic Avery", 0.0),
    InjectorSpec("Dr Synthetic Brook", 0.03),
    InjectorSpec("Dr Synthetic Carver", -0.02),
    InjectorSpec("Nurse Synthetic Dale", 0.0),
    InjectorSpec("Dr Synthetic Ellis", -0.25),  # the outlier the funnel plot should show
    InjectorSpec("Nurse Synthetic Frost", 0.02),
)


@dataclass(frozen=True)
class DemoParameters:
    """Everything that shapes the synthetic clinic; the same seed gives the same clinic."""

    patients: int = 200
    seed: int = 1
    as_of: dt.datetime | None = None
    """The clinic's "now": nothing is dated after it (default: the current time)."""
    history_days: int = 330
    """First treatments are spread over this many days before ``as_of`` (never before the
    first consent version came into force)."""
    female_fraction: float = 0.7
    very_old_fraction: float = 0.01
    """Share of patients aged 90-96 (exercises the research export's age grouping)."""
    untreated_fraction: float = 0.08
    """Registered and screened-in patients who never reach a treatment."""
    baseline_phq9_mean: float = 16.5
    baseline_phq9_sd: float = 3.5
    baseline_phq9_min: int = 10
    """Trials enrolled at least moderate depression; the synthetic clinic does the same."""
    improvement_week6_mean: float = 0.47
    improvement_week6_sd: float = 0.28
    """Fractional PHQ-9 improvement at week 6 ~ Normal(mean + injector effect, sd)."""
    week12_retention: float = 0.85
    """Week-12 improvement = this x week-6 improvement (the effect wanes a little)."""
    score_noise_sd: float = 1.5
    visit_days: tuple[int, ...] = (0, 14, 28, 42, 63, 84)
    """Assessment days of each course: baseline, weeks 2, 4, 6, 9 and 12 (PHQ-9 and GAD-7)."""
    visit_jitter_days: int = 5
    dropout_per_visit: float = 0.06
    """Chance of being lost to follow-up after each visit."""
    retreat_probability: float = 0.7
    """Chance of a further course after week 12 (if not lost to follow-up)."""
    adverse_event_probability: float = 0.12
    """Chance that a treatment is followed by at least one adverse event."""
    injectors: tuple[InjectorSpec, ...] = field(default=DEFAULT_INJECTORS)
    item_answers: bool = True
    """Store item-level answers (True) or totals only (False: faster bulk loads; the analytics
    and benchmarks read totals only)."""
    batch_patients: int = 2000

    def __post_init__(self) -> None:
        if self.patients < 1:
            raise ValueError("patients must be at least 1")
        if self.patients > 2_000_000:
            raise ValueError("patients must be at most 2,000,000")
        if self.history_days < 30:
            raise ValueError("history_days must be at least 30")
        if not self.injectors:
            raise ValueError("at least one injector is needed")
        if self.as_of is not None and self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
