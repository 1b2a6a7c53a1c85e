"""Domain inference: split arithmetic, constrained assignment, determinism, cross-validation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crosstrace.domains import DOMAINS, RELEASE_DOMAIN_TOTALS, assign, infer_domains, lsa_features, split_counts
from crosstrace.errors import ErrorPolicy
from crosstrace.schema import TraceRecord
from crosstrace.sources.crosstrace_release import read_release


def test_release_split_arithmetic_gives_the_published_counts():
    counts = split_counts(RELEASE_DOMAIN_TOTALS, 0.85, 0.075)
    assert counts == {
        "train": {"ai_ml": 514, "biomedical": 440, "cross_domain": 226},
        "validation": {"ai_ml": 45, "biomedical": 38, "cross_domain": 19},
        "test": {"ai_ml": 46, "biomedical": 40, "cross_domain": 21},
    }


def test_assignment_meets_the_counts_and_is_optimal():
    rng = np.random.default_rng(0)
    log_p = np.log(rng.dirichlet(np.ones(3), size=7))
    counts = [3, 2, 2]
    labels = assign(log_p, counts)
    assert np.bincount(labels, minlength=3).tolist() == counts
    best = max(
        sum(log_p[i, c] for i, c in enumerate(choice))
        for choice in itertools.product(range(3), repeat=7)
        if np.bincount(choice, minlength=3).tolist() == counts
    )
    assert sum(log_p[i, c] for i, c in enumerate(labels)) == pytest.approx(best)


def test_assignment_refuses_counts_that_do_not_add_up():
    with pytest.raises(ValueError, match="sum to 4"):
        assign(np.zeros((5, 3)), [2, 1, 1])


def _record(domain: str | None, word: str) -> TraceRecord:
    return TraceRecord(
        f"context {word}", "assumption", [], word, ["a", "b", "c"], f"hypothesis {word}", "approach", domain=domain
    )


def blob_features(records):
    """Three well-separated clusters keyed by the record's spark (`ai-3` -> cluster of ai_ml)."""
    centres = {"ai": 0, "bio": 1, "cross": 2}
    rng = np.random.default_rng(1)
    rows = []
    for record in records:
        centre = np.zeros(8)
        centre[centres[record.spark.split("-")[0]]] = 3.0
        rows.append(centre + rng.normal(0, 0.5, 8))
    return np.array(rows)


def _population():
    prefixes = {"ai_ml": "ai", "biomedical": "bio", "cross_domain": "cross"}
    labelled = [_record(domain, f"{prefixes[domain]}-{i}") for domain in DOMAINS for i in range(6)]
    train = [
        _record(None, f"{prefixes[domain]}-t{i}")
        for domain, n in zip(DOMAINS, (8, 6, 4), strict=True)
        for i in range(n)
    ]
    # A few records that look like another domain: the counts constraint must still hold.
    train[0] = _record(None, "bio-odd")
    return labelled, {"train": train}, {"train": {"ai_ml": 8, "biomedical": 6, "cross_domain": 4}}


@pytest.mark.parametrize("rounds", [0, 2])
def test_inferred_labels_match_the_target_counts_exactly_and_deterministically(rounds):
    labelled, unlabelled, targets = _population()
    first = infer_domains(labelled, unlabelled, targets, seed=3, rounds=rounds, folds=3, featurize=blob_features)
    second = infer_domains(labelled, unlabelled, targets, seed=3, rounds=rounds, folds=3, featurize=blob_features)
    assert {d: first.labels["train"].count(d) for d in DOMAINS} == targets["train"]
    assert first.labels == second.labels and first.confidence == second.confidence
    assert all(0.0 <= p <= 1.0 for p in first.confidence["train"])
    assert first.cross_validation.accuracy == 1.0 and first.cross_validation.n == 18
    assert first.cross_validation.confusion["ai_ml"] == {"ai_ml": 6, "biomedical": 0, "cross_domain": 0}
    assert first.method["self_training_rounds"] == rounds


def test_cross_validation_uses_fewer_folds_or_none_with_few_labelled_records():
    labelled, unlabelled, targets = _population()
    result = infer_domains(
        labelled[:2] + labelled[6:8] + labelled[12:14], unlabelled, targets, folds=5, featurize=blob_features
    )
    assert result.cross_validation.folds == 2
    result = infer_domains(
        [labelled[0], labelled[6], labelled[12]], unlabelled, targets, folds=5, featurize=blob_features
    )
    assert result.cross_validation is None
    assert len(result.labels["train"]) == 18


def test_bad_inputs_are_refused():
    labelled, unlabelled, targets = _population()
    with pytest.raises(ValueError, match="counts sum to 17"):
        infer_domains(labelled, unlabelled, {"train": {**targets["train"], "ai_ml": 7}}, featurize=blob_features)
    with pytest.raises(ValueError, match="has domain 'physics'"):
        infer_domains([*labelled, _record("physics", "ai-x")], unlabelled, targets, featurize=blob_features)


def test_lsa_features_are_unit_rows(fixtures_dir):
    release = read_release(fixtures_dir / "crosstrace" / "release", ErrorPolicy())
    records = [item.record for items in release.splits.values() for item in items]
    features = lsa_features(records)
    assert features.shape[0] == len(records)
    assert np.allclose(np.linalg.norm(features, axis=1), 1.0)
