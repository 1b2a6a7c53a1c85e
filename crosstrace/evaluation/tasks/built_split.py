"""Rows of one config/split of a built (hub-ready) dataset: a local folder or a Hub id.

Used by the tasks that read built datasets (crosstrace, mcq); each row list comes with what
identifies the data read (files and checksums, or datasets' fingerprint) for results.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace.errors import DataError
from crosstrace.hub_folder import dataset_fingerprint, read_built_split


def load_built_split(source: str, config: str | None, split: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of one config/split of a hub-ready dataset (local folder or Hub id), and what identifies them."""
    if Path(source).is_dir():
        return _read_local_split(Path(source), config, split)
    import datasets

    try:
        dataset = datasets.load_dataset(source, config, split=split)
    except (OSError, ValueError) as error:  # OSError covers missing files and an unreachable Hub
        raise DataError(
            source, None, None, f"cannot load config {config!r} split {split!r} with datasets: {error}"
        ) from None
    # datasets' fingerprint hashes the downloaded data files: the same data gives the same value.
    return [dict(row) for row in dataset], {
        "source": source,
        "config": config,
        "split": split,
        "rows": len(dataset),
        "fingerprint": dataset_fingerprint(dataset),
    }


def _read_local_split(folder: Path, config: str | None, split: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A local folder's config/split through the one reader of built folders (`read_built_split`)."""
    built = read_built_split(folder, config, split)
    return built.rows(), built.data_info()
