"""Discipline / Nature Communications domain / subdomain labels for our questions.

WildSci labels each question with a `discipline` and with the subject area (`nc_domain`) and
subject (`nc_subdomain`) of the Nature Communications paper it came from. Our questions come
from CrossTrace papers (arXiv / bioRxiv, labelled only with a coarse domain) and from the
challenge engine's synthetic domains, so this table assigns the labels by hand, following
the names of Nature's subject taxonomy (subject area > subject). It is a mapping of our own:
WildSci publishes no table to match exactly, and a CrossTrace domain is coarser than a
Nature subject, so every paper of a domain gets the same labels.

Every name the engine can generate (`crosstrace.engine.DOMAINS`) must have a row here; a test
checks it, and `labels_for` names this file when one is missing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Labels:
    discipline: str
    nc_domain: str
    nc_subdomain: str


_COMPUTER_SCIENCE = Labels("Computer Science", "Physical sciences", "Mathematics and computing")

# CrossTrace record domains (`domain` column of the CrossTrace dataset).
CROSSTRACE_DOMAINS: dict[str, Labels] = {
    "ai_ml": _COMPUTER_SCIENCE,
    # HypoGen's papers are computer-science / machine-learning papers, labelled cs_ml upstream.
    "cs_ml": _COMPUTER_SCIENCE,
    "biomedical": Labels("Medicine", "Health sciences", "Medical research"),
    # Methods carried from one field into another (mostly machine learning into biology,
    # medicine and engineering): Nature files such work under computational science.
    "cross_domain": Labels("Interdisciplinary Science", "Physical sciences", "Computational science"),
}

# Engine document domains (`document.domain` of an engine challenge).
ENGINE_DOMAINS: dict[str, Labels] = {
    "physics": Labels("Physics", "Physical sciences", "Physics"),  # gamma-ray detectors
    "chemistry": Labels("Chemistry", "Physical sciences", "Chemistry"),  # heterogeneous catalysts
    "biology": Labels("Biology", "Biological sciences", "Microbiology"),  # environmental isolates
    "medicine": Labels("Medicine", "Health sciences", "Cardiology"),  # hypertension trials
    "materials_science": Labels("Materials Science", "Physical sciences", "Materials science"),  # structural alloys
    "climate_science": Labels(
        "Earth and Environmental Sciences", "Earth and environmental sciences", "Climate sciences"
    ),  # monitoring stations
    "economics": Labels("Economics", "Humanities and social sciences", "Economics"),  # regional economies
    "cs_ml": _COMPUTER_SCIENCE,  # language model evaluation
    "astronomy": Labels("Astronomy", "Physical sciences", "Astronomy and planetary science"),  # exoplanets
    "ecology": Labels("Biology", "Biological sciences", "Ecology"),  # freshwater lakes
}


def labels_for(kind: str, domain: str) -> Labels:
    """The labels of a CrossTrace (`kind="crosstrace"`) or engine (`kind="engine"`) domain."""
    table = {"crosstrace": CROSSTRACE_DOMAINS, "engine": ENGINE_DOMAINS}[kind]
    try:
        return table[domain]
    except KeyError:
        raise KeyError(
            f"no discipline labels for {kind} domain {domain!r}: add a row to crosstrace/mcq/labels.py"
        ) from None
