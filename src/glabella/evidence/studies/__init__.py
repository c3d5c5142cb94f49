"""The curated evidence base: trials, arms, outcomes, adverse events, each number with its source.

One YAML file per study lives in ``glabella/evidence/data/studies/``. Every clinical number in
a file is a *provenance object*::

    {value: 15, source: abstract, location: "Abstract, Methods", verified: true}

``source`` names an entry of the study's ``sources`` list (a URL and what kind of document it
is), ``location`` says where in that document the number was read (table, figure, page,
abstract sentence), ``verified`` says whether the number was read in the primary source by the
curator, and an optional ``derivation`` explains how a derived number was computed. A number
that is not verified must say why in ``note``. Missing numbers are simply absent: nothing is
imputed.

The package is pure: it only reads its own packaged data files (``importlib.resources``) or a
directory it is given. Its modules, one concern each:

- :mod:`~glabella.evidence.studies.model`: the vocabularies and the frozen records;
- :mod:`~glabella.evidence.studies.files`: reading the YAML files and the data version;
- :mod:`~glabella.evidence.studies.validation`: :func:`check` validates raw documents and
  returns a list of :class:`Problem`;
- :mod:`~glabella.evidence.studies.loading`: :func:`load_studies` / :func:`load_evidence` parse
  the files into records and refuse invalid data;
- :mod:`~glabella.evidence.studies.views`: plain-dict views for the CLI, API and web pages;
- :mod:`~glabella.evidence.studies.diff`: the difference between two versions of a document.

The names below are re-exported so that ``from glabella.evidence.studies import ...`` works.
"""

from glabella.evidence.studies.diff import Change, diff_documents
from glabella.evidence.studies.files import (
    evidence_version,
    load_raw_documents,
    packaged_data_dir,
    read_yaml_file,
)
from glabella.evidence.studies.loading import load_evidence, load_studies, parse_study
from glabella.evidence.studies.model import (
    ARM_ROLES,
    DESIGNS,
    DISORDERS,
    OUTCOME_KINDS,
    ROB_DOMAINS,
    SPONSORS,
    AdverseEvent,
    Arm,
    ArmResult,
    DerivedEffect,
    EvidenceBase,
    EvidenceDataError,
    Num,
    Outcome,
    Problem,
    Provenance,
    ReportedResult,
    RiskOfBias,
    RobDomain,
    Source,
    Study,
)
from glabella.evidence.studies.validation import check
from glabella.evidence.studies.views import (
    effect_to_dict,
    num_to_dict,
    study_summary,
    study_to_dict,
)

__all__ = [
    "ARM_ROLES",
    "DESIGNS",
    "DISORDERS",
    "OUTCOME_KINDS",
    "ROB_DOMAINS",
    "SPONSORS",
    "AdverseEvent",
    "Arm",
    "ArmResult",
    "Change",
    "DerivedEffect",
    "EvidenceBase",
    "EvidenceDataError",
    "Num",
    "Outcome",
    "Problem",
    "Provenance",
    "ReportedResult",
    "RiskOfBias",
    "RobDomain",
    "Source",
    "Study",
    "check",
    "diff_documents",
    "effect_to_dict",
    "evidence_version",
    "load_evidence",
    "load_raw_documents",
    "load_studies",
    "num_to_dict",
    "packaged_data_dir",
    "parse_study",
    "read_yaml_file",
    "study_summary",
    "study_to_dict",
]
