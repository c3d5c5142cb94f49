"""glabella.evidence: the evidence base and the meta-analysis engine (metafor parity).

Public API of the engine (names as in R's metafor):

* :func:`escalc` effect sizes and sampling variances;
* :func:`rma` equal-, fixed- and random-effects models and meta-regression (``rma.uni``);
* :func:`rma_mh`, :func:`rma_peto` Mantel-Haenszel and Peto pooling of 2x2 tables;
* :func:`qprofile_ci` Q-profile CI for tau², I², H² (``confint``);
* :func:`estimate_tau2` the tau² estimators;
* :func:`design_matrix`, :func:`meta_regression`, :func:`subgroups`;
* :func:`regtest`, :func:`ranktest`, :func:`trimfill`, :func:`leave1out`, :func:`cumulative`,
  :func:`influence`, :func:`fsn` (module :mod:`glabella.evidence.bias`);
* plots in :mod:`glabella.evidence.plots` (imported on demand: it loads matplotlib).
"""

from typing import TYPE_CHECKING, Any

from glabella.evidence.binary import rma_mh, rma_peto
from glabella.evidence.confint import HeterogeneityCI, qprofile_ci
from glabella.evidence.effects import MEASURES, EffectSizeError, EffectSizes, escalc
from glabella.evidence.meta import Coefficient, MetaError, MetaResult, rma
from glabella.evidence.regression import (
    SubgroupResult,
    design_matrix,
    meta_regression,
    subgroups,
)
from glabella.evidence.tau2 import METHODS, Tau2Error, Tau2Estimate, estimate_tau2

if TYPE_CHECKING:
    from glabella.evidence.bias import (
        cumulative,
        fsn,
        influence,
        leave1out,
        ranktest,
        regtest,
        trimfill,
    )

# The bias tests need scipy.stats (Kendall's tau, ranks), whose import costs about 0.4 s: a
# plain ``glabella meta`` never uses them, so they are imported on first use (PEP 562).
_BIAS_NAMES = frozenset(
    ("cumulative", "fsn", "influence", "leave1out", "ranktest", "regtest", "trimfill")
)


def __getattr__(name: str) -> Any:
    if name in _BIAS_NAMES:
        from glabella.evidence import bias

        return getattr(bias, name)
    raise AttributeError(f"module 'glabella.evidence' has no attribute {name!r}")


__all__ = [
    "MEASURES",
    "METHODS",
    "Coefficient",
    "EffectSizeError",
    "EffectSizes",
    "HeterogeneityCI",
    "MetaError",
    "MetaResult",
    "SubgroupResult",
    "Tau2Error",
    "Tau2Estimate",
    "cumulative",
    "design_matrix",
    "escalc",
    "estimate_tau2",
    "fsn",
    "influence",
    "leave1out",
    "meta_regression",
    "qprofile_ci",
    "ranktest",
    "regtest",
    "rma",
    "rma_mh",
    "rma_peto",
    "subgroups",
    "trimfill",
]
