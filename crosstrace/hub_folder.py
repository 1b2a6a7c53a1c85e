"""Hub-ready dataset folders: one parquet file per config and split, a manifest, a card.

Every builder (`python -m crosstrace.builders ...`) writes through `DatasetFolder`, so all our
datasets share one layout:

    <out>/<config>/<split>.parquet      one format for the whole folder (datasets 5.x needs that)
    <out>/manifest.json                 counts, build parameters, sha256 of every data file
    <out>/README.md                     the dataset card, whose YAML `configs:` lists the files

Folders are deterministic: the same rows give the same bytes (no timestamps anywhere; the
provenance is the source's checksum and the code's version). The folder is assembled beside
its destination and moved into place at the end, so an interrupted build leaves no half folder.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard

from crosstrace.jsonio import dumps, read_json_object
from crosstrace.provenance import library_versions

MANIFEST_NAME = "manifest.json"
CARD_NAME = "README.md"
# Versions of what decides the bytes of a folder; recorded so a rebuild can be matched.
_RECORDED_LIBRARIES = ("datasets", "pyarrow", "huggingface_hub")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DatasetFolder:
    """Collects the splits of a dataset's configs, then writes the folder in one go.

    >>> folder = DatasetFolder(schema)
    >>> folder.add_split("all", "train", rows)
    >>> manifest = folder.manifest(name="crosstrace", extra={"seed": 42})
    >>> folder.write(out_dir, card_for(manifest))
    """

    def __init__(self, schema: pa.Schema, config_schemas: dict[str, pa.Schema] | None = None):
        # One explicit schema for every config: the same columns and types everywhere, and no
        # column typed `null` because it happened to be empty in one split. A folder whose
        # configs are different tables (a results dataset: runs and per-sample details) names
        # each config's schema in `config_schemas`.
        self.schema = schema
        self.config_schemas = config_schemas or {}
        self._tables: dict[str, dict[str, pa.Table]] = {}

    def schema_for(self, config: str) -> pa.Schema:
        return self.config_schemas.get(config, self.schema)

    def add_split(self, config: str, split: str, rows: Sequence[dict[str, Any]]) -> None:
        schema = self.schema_for(config)
        missing = [name for name in schema.names if rows and name not in rows[0]]
        if missing:
            raise ValueError(f"config {config!r} split {split!r}: rows lack columns {missing}")
        table = pa.Table.from_pylist(list(rows), schema=schema)
        self._tables.setdefault(config, {})[split] = table

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        return {config: {split: t.num_rows for split, t in splits.items()} for config, splits in self._tables.items()}

    def configs_metadata(self, default: str) -> list[dict[str, Any]]:
        """The card's YAML `configs:` entries, `default: true` on one config."""
        if default not in self._tables:
            raise ValueError(f"default config {default!r} has no splits")
        entries = []
        for config, splits in self._tables.items():
            entry: dict[str, Any] = {"config_name": config}
            if config == default:
                entry["default"] = True
            entry["data_files"] = [{"split": split, "path": f"{config}/{split}.parquet"} for split in splits]
            entries.append(entry)
        return entries

    def manifest(self, name: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The manifest without file checksums (those are added by `write`)."""
        return {
            "name": name,
            "counts": self.counts,
            "columns": self.schema.names,
            **(
                {"config_columns": {c: s.names for c, s in self.config_schemas.items()}} if self.config_schemas else {}
            ),
            "library_versions": library_versions(_RECORDED_LIBRARIES),
            **(extra or {}),
        }

    def write(self, out_dir: str | Path, manifest: dict[str, Any], card: DatasetCard | str) -> dict[str, Any]:
        """Write parquet files, manifest (with sha256 of every data file) and card.

        Replaces `out_dir` as a whole. Returns the manifest as written.
        """
        out_dir = Path(out_dir)
        staging = out_dir.with_name(out_dir.name + ".partial")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        files = {}
        for config, splits in self._tables.items():
            (staging / config).mkdir()
            for split, table in splits.items():
                relative = f"{config}/{split}.parquet"
                pq.write_table(table, staging / relative, compression="zstd")
                files[relative] = sha256_file(staging / relative)
        manifest = {**manifest, "files": files}
        (staging / MANIFEST_NAME).write_text(dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        card_text = str(card) if isinstance(card, DatasetCard) else card
        (staging / CARD_NAME).write_text(card_text if card_text.endswith("\n") else card_text + "\n", encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
        return manifest


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket for a dataset of `rows` rows (card metadata)."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M"


def read_manifest(folder: str | Path) -> dict[str, Any]:
    return read_json_object(Path(folder) / MANIFEST_NAME)


def verify_checksums(folder: str | Path) -> list[str]:
    """Data files whose sha256 differs from the manifest's, or that are missing."""
    folder = Path(folder)
    expected = read_manifest(folder)["files"]
    return [
        rel for rel, digest in expected.items() if not (folder / rel).is_file() or sha256_file(folder / rel) != digest
    ]


def local_split_files(folder: str | Path, config: str | None, split: str) -> list[Path]:
    """The parquet files of one config/split of a local dataset folder, from its card's `configs:`.

    Readers of local folders use this instead of `datasets.load_dataset(folder, config)`:
    datasets 5.2 caches a local folder under its folder name and config only, so a rebuilt
    folder (or another folder of the same name) silently loads the old rows. Without a card
    (or a card without `configs:`), the layout `DatasetFolder` writes is assumed.
    Raises `DataError` when the config or split does not exist.
    """
    from crosstrace.errors import DataError

    folder = Path(folder)
    card = folder / CARD_NAME
    entries = DatasetCard.load(card).data.to_dict().get("configs") or [] if card.is_file() else []
    if not entries:
        patterns = [f"{config or 'default'}/{split}.parquet"]
    else:
        chosen = next(
            (e for e in entries if e.get("config_name") == config or (config is None and e.get("default"))), None
        )
        if chosen is None:
            raise DataError(
                card,
                None,
                "configs",
                f"no config {config!r}; this dataset has {[e.get('config_name') for e in entries]}",
            )
        data_files = [
            item for item in chosen.get("data_files") or [] if isinstance(item, dict) and item.get("split") == split
        ]
        if not data_files:
            raise DataError(card, None, "configs", f"config {chosen.get('config_name')!r} has no split {split!r}")
        paths = data_files[0].get("path")
        patterns = [paths] if isinstance(paths, str) else list(paths or [])
    files = sorted({path for pattern in patterns for path in folder.glob(pattern)})
    if not files:
        raise DataError(
            folder, None, None, f"no data files for config {config!r} split {split!r} (looked for {patterns})"
        )
    return files


def manifest_sha256(folder: str | Path) -> str | None:
    """sha256 of a folder's manifest.json (which lists the sha256 of every data file, so it pins them all), else None."""
    manifest = Path(folder) / MANIFEST_NAME
    return sha256_file(manifest) if manifest.is_file() else None


def dataset_fingerprint(dataset: Any) -> str:
    """The `datasets` fingerprint of a loaded dataset: what identifies its data in run metadata and results.

    datasets 5.2 sets it through public routes (the `Dataset(..., fingerprint=)` constructor, `new_fingerprint`
    of `map`) but offers no public reader, so this one function reads the attribute datasets itself keeps it
    in; "" for an object that has none (e.g. an `IterableDataset`)."""
    return getattr(dataset, "_fingerprint", None) or ""


@dataclass(frozen=True)
class BuiltSplit:
    """One config/split of a local dataset folder, read from its parquet files and checked against its manifest."""

    folder: Path
    config: str | None
    split: str
    files: tuple[Path, ...]
    checksums: tuple[str, ...]  # sha256 of each file, as read (and, with a manifest, as it lists them)
    manifest_sha256: str | None
    table: pa.Table

    @property
    def fingerprint(self) -> str:
        """The one identity of a split's data: the same files give the same value, whoever reads them.

        A digest of the data files' checksums (not of paths or times), prefixed with folder, config
        and split so it reads well in metadata; it is also the `datasets` fingerprint of `dataset()`.
        """
        digest = hashlib.sha256("".join(self.checksums).encode()).hexdigest()[:16]
        return f"{self.folder.name}-{self.config}-{self.split}-{digest}"

    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()

    def dataset(self):
        """The split as a `datasets.Dataset` whose fingerprint is `self.fingerprint`."""
        from datasets import Dataset

        return Dataset(self.table, fingerprint=self.fingerprint)

    def data_info(self) -> dict[str, Any]:
        """What identifies the split in a results file or run metadata."""
        info: dict[str, Any] = {
            "source": self.folder.name,
            "config": self.config,
            "split": self.split,
            "rows": self.table.num_rows,
            "files": [
                {"file": path.relative_to(self.folder).as_posix(), "sha256": digest}
                for path, digest in zip(self.files, self.checksums, strict=True)
            ],
            "fingerprint": self.fingerprint,
        }
        if self.manifest_sha256 is not None:
            info["manifest_sha256"] = self.manifest_sha256
        return info


def read_built_split(folder: str | Path, config: str | None, split: str) -> BuiltSplit:
    """The one reader of a local dataset folder's config/split, for training, evaluation and publishing.

    The files come from the card's `configs:` (see `local_split_files`: not `load_dataset`, whose
    cache would serve a previous build). When the folder has a manifest.json (every folder our
    builders write), each file must be listed there with the same sha256, so a folder changed after
    its build is refused rather than read as if it were the build. Raises `DataError`.
    """
    from crosstrace.errors import DataError

    folder = Path(folder)
    files = local_split_files(folder, config, split)
    checksums = tuple(sha256_file(path) for path in files)
    manifest = read_manifest(folder) if (folder / MANIFEST_NAME).is_file() else None
    if manifest is not None:
        listed = manifest.get("files") or {}
        for path, digest in zip(files, checksums, strict=True):
            relative = path.relative_to(folder).as_posix()
            if listed.get(relative) != digest:
                state = "is not listed there" if relative not in listed else "has another sha256 there"
                raise DataError(
                    folder / MANIFEST_NAME,
                    None,
                    f"files.{relative}",
                    f"the data file {state}: the folder changed after it was built; rebuild it",
                )
    table = pa.concat_tables([pq.read_table(path) for path in files])
    return BuiltSplit(folder, config, split, tuple(files), checksums, manifest_sha256(folder), table)
