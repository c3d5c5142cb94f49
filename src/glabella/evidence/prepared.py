"""The input of the meta-analysis engine: the studies an analysis uses, ready to fit.

Made by :func:`glabella.interop.csvinput.prepare` from a study table and read by
:func:`glabella.evidence.fit.fit`. It lives in ``evidence`` so that the engine does not import
the exchange layer (``interop``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from glabella.evidence.effects import EffectSizes

__all__ = ["FloatArray", "PreparedData"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PreparedData:
    """The studies an analysis uses: labels, effect sizes, input columns, moderators, groups."""

    labels: tuple[str, ...]
    rows: tuple[int, ...]
    effects: EffectSizes
    inputs: dict[str, FloatArray]
    moderators: dict[str, list[str | float | None]]
    groups: list[str | float | None] | None
    dropped: tuple[int, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def k(self) -> int:
        """Number of studies used."""
        return len(self.rows)
